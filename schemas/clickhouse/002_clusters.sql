-- Event → cluster, one row per stored event, under the model version that assigned it.
CREATE TABLE IF NOT EXISTS assignments
(
    event_id String,
    case_id String,
    customer_id String,
    channel LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    cluster_id String,
    similarity Float32,
    model_version UInt32,
    cost Nullable(Float64),
    handle_seconds Nullable(Float32),
    csat Nullable(Float32),
    nps Nullable(Int8),
    effort Nullable(Float32),
    product LowCardinality(String),
    category LowCardinality(String),
    source_topic LowCardinality(String),
    source_partition Int32,
    source_offset Int64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (cluster_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Latest description of each cluster (ReplacingMergeTree: read with FINAL or through v_clusters).
CREATE TABLE IF NOT EXISTS clusters
(
    cluster_id String,
    label String,
    top_terms Array(String),
    examples Array(String),
    size UInt64,
    first_seen DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    model_version UInt32,
    state LowCardinality(String),
    merged_into String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY cluster_id
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Births, merges, retirements and re-fit splits across model versions.
CREATE TABLE IF NOT EXISTS cluster_lineage
(
    model_version UInt32,
    kind LowCardinality(String),
    from_ids Array(String),
    to_ids Array(String),
    similarity Float32,
    reason String,
    at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (at, kind)
SETTINGS non_replicated_deduplication_window = {dedup_window};

CREATE VIEW IF NOT EXISTS v_clusters AS
SELECT cluster_id, label, top_terms, examples, size, first_seen, last_seen, model_version, state, merged_into, updated_at
FROM clusters FINAL;
