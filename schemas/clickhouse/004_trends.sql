-- One row per alert episode version: the latest (by updated_at) is the episode's state.
CREATE TABLE IF NOT EXISTS trend_alerts
(
    episode_id String,
    cluster_id String,
    kind LowCardinality(String),
    status LowCardinality(String),
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    observed Float64,
    expected Float64,
    score Float64,
    peak_score Float64,
    peak_observed Float64,
    customers UInt32,
    buckets UInt32,
    opened_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    closed_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY episode_id
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Owner decisions per cluster: status (open → acknowledged → fix_pending → fix_available → resolved).
CREATE TABLE IF NOT EXISTS cluster_status
(
    cluster_id String,
    status LowCardinality(String),
    note String,
    changed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY cluster_id;

CREATE VIEW IF NOT EXISTS v_trend_episodes AS
SELECT episode_id, cluster_id, kind, status, window_start, window_end, observed, expected, score, peak_score,
       peak_observed, customers, buckets, opened_at, updated_at, closed_at
FROM trend_alerts FINAL;

-- Owner pinned to a cluster by an analyst (`recur owner set`); overrides routing rules.
CREATE TABLE IF NOT EXISTS cluster_owner_pins
(
    cluster_id String,
    owner String,
    changed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY cluster_id;
