-- Rolling counts per cluster and hourly event-time bucket, fed by assignments. Distinct cases and
-- customers are exact states, so daily and weekly roll-ups merge them without double counting a case
-- that spans channels or hours. Deduplicated inserts into assignments are not counted again.
CREATE TABLE IF NOT EXISTS cluster_counts
(
    cluster_id String,
    bucket DateTime('UTC'),
    contacts SimpleAggregateFunction(sum, UInt64),
    cases AggregateFunction(uniqExact, String),
    customers AggregateFunction(uniqExact, String),
    channels AggregateFunction(groupUniqArray, String),
    cost SimpleAggregateFunction(sum, Float64),
    handle_seconds SimpleAggregateFunction(sum, Float64),
    csat_sum SimpleAggregateFunction(sum, Float64),
    csat_n SimpleAggregateFunction(sum, UInt64),
    nps_promoters SimpleAggregateFunction(sum, UInt64),
    nps_detractors SimpleAggregateFunction(sum, UInt64),
    nps_n SimpleAggregateFunction(sum, UInt64),
    effort_sum SimpleAggregateFunction(sum, Float64),
    effort_n SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (cluster_id, bucket)
SETTINGS non_replicated_deduplication_window = {dedup_window};

CREATE MATERIALIZED VIEW IF NOT EXISTS cluster_counts_mv TO cluster_counts AS
SELECT
    cluster_id,
    toStartOfHour(occurred_at) AS bucket,
    count() AS contacts,
    uniqExactState(case_id) AS cases,
    uniqExactStateIf(customer_id, customer_id != '') AS customers,
    groupUniqArrayState(toString(channel)) AS channels,
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

-- Analysts' views: hourly, daily and weekly counts with finished aggregates.
CREATE VIEW IF NOT EXISTS v_cluster_trends AS
SELECT cluster_id, bucket, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases,
       uniqExactMerge(customers) AS customers, groupUniqArrayMerge(channels) AS channels,
       sum(cost) AS cost, sum(handle_seconds) AS handle_seconds,
       if(sum(csat_n) = 0, NULL, sum(csat_sum) / sum(csat_n)) AS csat_avg,
       if(sum(nps_n) = 0, NULL, 100 * (sum(nps_promoters) - sum(nps_detractors)) / sum(nps_n)) AS nps,
       if(sum(effort_n) = 0, NULL, sum(effort_sum) / sum(effort_n)) AS effort_avg
FROM cluster_counts GROUP BY cluster_id, bucket;

CREATE VIEW IF NOT EXISTS v_cluster_daily AS
SELECT cluster_id, toStartOfDay(bucket) AS day, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases,
       uniqExactMerge(customers) AS customers, sum(cost) AS cost
FROM cluster_counts GROUP BY cluster_id, day;

CREATE VIEW IF NOT EXISTS v_cluster_weekly AS
SELECT cluster_id, toMonday(bucket) AS week, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases,
       uniqExactMerge(customers) AS customers, sum(cost) AS cost
FROM cluster_counts GROUP BY cluster_id, week;

CREATE VIEW IF NOT EXISTS v_top_clusters AS
SELECT c.cluster_id AS cluster_id, any(v.label) AS label, sum(c.contacts) AS contacts,
       uniqExactMerge(c.cases) AS cases, uniqExactMerge(c.customers) AS customers, sum(c.cost) AS cost,
       min(c.bucket) AS first_bucket, max(c.bucket) AS last_bucket
FROM cluster_counts AS c LEFT JOIN v_clusters AS v ON v.cluster_id = c.cluster_id
GROUP BY c.cluster_id ORDER BY cases DESC;
