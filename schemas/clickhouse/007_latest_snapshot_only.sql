-- Model snapshots were kept forever: one every `ingest.snapshotMinIntervalMs` (30 s), each up to tens of MB
-- at thousands of clusters, so a pipeline grew model_snapshots by gigabytes a day although only the newest
-- snapshot is ever restored. Now one row per pipeline and model version survives: a ReplacingMergeTree keyed
-- on them keeps the newest by taken_at when parts merge, and the restore query already picks the newest of
-- whatever is not merged yet. CREATE OR REPLACE swaps the table atomically, so a crash leaves the old one.
CREATE OR REPLACE TABLE model_snapshots
(
    pipeline LowCardinality(String),
    model_version UInt32,
    offsets String,
    events UInt64,
    state String CODEC(ZSTD(3)),
    taken_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(taken_at)
ORDER BY (pipeline, model_version)
AS SELECT pipeline, model_version, offsets, events, state, taken_at
FROM model_snapshots
ORDER BY taken_at DESC, events DESC
LIMIT 1 BY pipeline, model_version;
