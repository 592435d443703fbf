-- Raw masked case events, one row per valid message. Replayed batches carry the same
-- insert_deduplication_token, so the window below must outlast the longest replay (see README).
CREATE TABLE IF NOT EXISTS case_events
(
    event_id String,
    case_id String,
    customer_id String,
    channel LowCardinality(String),
    event_type LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    description String,
    subject String,
    product LowCardinality(String),
    category LowCardinality(String),
    tags Array(String),
    language LowCardinality(String),
    csat Nullable(Float32),
    nps Nullable(Int8),
    effort Nullable(Float32),
    handle_seconds Nullable(Float32),
    cost Nullable(Float64),
    extra String,
    pii_masked UInt16,
    source_topic LowCardinality(String),
    source_partition Int32,
    source_offset Int64,
    ingested_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, case_id, event_id)
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Every rejected message, with why and where it came from.
CREATE TABLE IF NOT EXISTS dead_letters
(
    source_topic LowCardinality(String),
    source_partition Int32,
    source_offset Int64,
    reason_code LowCardinality(String),
    reason String,
    payload String,
    payload_bytes UInt32,
    received_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Intent ledger: the offset range of each batch, written before its rows. On replay the same range
-- is re-inserted under the same tokens, so ClickHouse drops what had already landed.
CREATE TABLE IF NOT EXISTS ingest_ledger
(
    source_topic LowCardinality(String),
    source_partition Int32,
    first_offset Int64,
    last_offset Int64,
    model_version UInt32,
    written_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (source_topic, source_partition, first_offset)
SETTINGS non_replicated_deduplication_window = {dedup_window};

-- Model snapshots (clusterer state) with the offsets they cover; the newest one is restored on start.
CREATE TABLE IF NOT EXISTS model_snapshots
(
    pipeline LowCardinality(String),
    model_version UInt32,
    offsets String,
    events UInt64,
    state String CODEC(ZSTD(3)),
    taken_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (pipeline, taken_at);
