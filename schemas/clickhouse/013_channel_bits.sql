-- The counts projection, made again for two reasons:
-- 1. It kept each bucket's channels as a groupUniqArray state: a hash set in every cluster-hour, the larger
--    part of what merging assignments' parts cost in memory (embedded chDB, 1,000,000 events over 9,530
--    clusters: ~300 MB per merge, ~170-200 MB after this; the README's peak RSS). A channel is one of CHANNELS
--    (src/events/schema.ts; ingest refuses any other), so a bucket's channels are now a bitmask: bit i set when
--    CHANNELS[i] (1-based, as indexOf counts) was seen. The lists below must stay CHANNELS in its order,
--    appended to only (a unit test compares them); bitShiftLeft makes the mask a UInt64. A channel not in the
--    list would set bit 0, which the view does not read: recur's write paths store only checked events.
-- 2. No read of customers ever used it: ClickHouse reads `customer_id != ''` in a query as
--    notEmpty(customer_id), which did not match the projection's expression, so v_cluster_trends,
--    v_cluster_daily, v_cluster_weekly and v_top_clusters aggregated the whole assignments table. Both sides
--    now say notEmpty(customer_id), and those views read the projection.
-- The views come first: they read assignments' own columns, so they answer (from the whole table, until the
-- projection is built) at every point of this migration, and a failure part way leaves nothing broken.
-- The projection takes a new name: DROP PROJECTION is a mutation, and the old one's parts go with it.
-- MATERIALIZE runs in the background (no mutations_sync): on a large table it outlasts a client's request
-- timeout, and a migration that failed on it would queue another at every start. Until it is done, parts
-- without the projection are read from their rows.
-- While the migration runs, v_cluster_trends aggregates its own copy of cluster_counts' new query, so it never
-- reads a cluster_counts of the other shape, whichever is replaced first; its last statement points it at
-- cluster_counts again, the one definition of the counts the other views read too. Channels come back in
-- CHANNELS order (groupUniqArray gave them in no order).
CREATE OR REPLACE VIEW v_cluster_trends AS
SELECT cluster_id, bucket, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases,
       uniqExactMerge(customers) AS customers,
       arrayFilter((c, i) -> bitTest(groupBitOrMerge(channel_bits), i), ['phone', 'email', 'chat', 'social', 'web', 'other'], arrayEnumerate(['phone', 'email', 'chat', 'social', 'web', 'other'])) AS channels,
       sum(cost) AS cost, sum(handle_seconds) AS handle_seconds,
       if(sum(csat_n) = 0, NULL, sum(csat_sum) / sum(csat_n)) AS csat_avg,
       if(sum(nps_n) = 0, NULL, 100 * (sum(nps_promoters) - sum(nps_detractors)) / sum(nps_n)) AS nps,
       if(sum(effort_n) = 0, NULL, sum(effort_sum) / sum(effort_n)) AS effort_avg
FROM
(
    SELECT
        cluster_id,
        toStartOfHour(occurred_at) AS bucket,
        count() AS contacts,
        uniqExactState(case_id) AS cases,
        uniqExactStateIf(customer_id, notEmpty(customer_id)) AS customers,
        groupBitOrState(bitShiftLeft(toUInt32(1), indexOf(['phone', 'email', 'chat', 'social', 'web', 'other'], toString(channel)))) AS channel_bits,
        sum(ifNull(cost, 0)) AS cost,
        sum(ifNull(handle_seconds, 0)) AS handle_seconds,
        sum(ifNull(csat, 0)) AS csat_sum,
        countIf(isNotNull(csat)) AS csat_n,
        countIf(nps >= 9) AS nps_promoters,
        countIf(nps <= 6) AS nps_detractors,
        countIf(isNotNull(nps)) AS nps_n,
        sum(ifNull(effort, 0)) AS effort_sum,
        countIf(isNotNull(effort)) AS effort_n
    FROM assignments
    GROUP BY cluster_id, bucket
)
GROUP BY cluster_id, bucket;

CREATE OR REPLACE VIEW cluster_counts AS
SELECT
    cluster_id,
    toStartOfHour(occurred_at) AS bucket,
    count() AS contacts,
    uniqExactState(case_id) AS cases,
    uniqExactStateIf(customer_id, notEmpty(customer_id)) AS customers,
    groupBitOrState(bitShiftLeft(toUInt32(1), indexOf(['phone', 'email', 'chat', 'social', 'web', 'other'], toString(channel)))) AS channel_bits,
    sum(ifNull(cost, 0)) AS cost,
    sum(ifNull(handle_seconds, 0)) AS handle_seconds,
    sum(ifNull(csat, 0)) AS csat_sum,
    countIf(isNotNull(csat)) AS csat_n,
    countIf(nps >= 9) AS nps_promoters,
    countIf(nps <= 6) AS nps_detractors,
    countIf(isNotNull(nps)) AS nps_n,
    sum(ifNull(effort, 0)) AS effort_sum,
    countIf(isNotNull(effort)) AS effort_n
FROM assignments
GROUP BY cluster_id, bucket;

ALTER TABLE assignments DROP PROJECTION IF EXISTS hourly_counts SETTINGS mutations_sync = 2;

ALTER TABLE assignments ADD PROJECTION IF NOT EXISTS bucket_counts
(
    SELECT
        cluster_id,
        toStartOfHour(occurred_at),
        count(),
        uniqExactState(case_id),
        uniqExactStateIf(customer_id, notEmpty(customer_id)),
        groupBitOrState(bitShiftLeft(toUInt32(1), indexOf(['phone', 'email', 'chat', 'social', 'web', 'other'], toString(channel)))),
        sum(ifNull(cost, 0)),
        sum(ifNull(handle_seconds, 0)),
        sum(ifNull(csat, 0)),
        countIf(isNotNull(csat)),
        countIf(nps >= 9),
        countIf(nps <= 6),
        countIf(isNotNull(nps)),
        sum(ifNull(effort, 0)),
        countIf(isNotNull(effort))
    GROUP BY cluster_id, toStartOfHour(occurred_at)
);

ALTER TABLE assignments MATERIALIZE PROJECTION bucket_counts;

CREATE OR REPLACE VIEW v_cluster_trends AS
SELECT cluster_id, bucket, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases,
       uniqExactMerge(customers) AS customers,
       arrayFilter((c, i) -> bitTest(groupBitOrMerge(channel_bits), i), ['phone', 'email', 'chat', 'social', 'web', 'other'], arrayEnumerate(['phone', 'email', 'chat', 'social', 'web', 'other'])) AS channels,
       sum(cost) AS cost, sum(handle_seconds) AS handle_seconds,
       if(sum(csat_n) = 0, NULL, sum(csat_sum) / sum(csat_n)) AS csat_avg,
       if(sum(nps_n) = 0, NULL, 100 * (sum(nps_promoters) - sum(nps_detractors)) / sum(nps_n)) AS nps,
       if(sum(effort_n) = 0, NULL, sum(effort_sum) / sum(effort_n)) AS effort_avg
FROM cluster_counts GROUP BY cluster_id, bucket;
