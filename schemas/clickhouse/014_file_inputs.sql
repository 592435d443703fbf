-- What each run of a file input read, under the topic it was stored as: its size and the SHA-256 of its content
-- (the first 16 hex digits). A file run again, grown by lines at its end or copied under another name, keeps the
-- topic of the input whose latest content it continues, so its lines are stored once; one that continues an
-- earlier state of it but not the latest (a tail regenerated) is a new input, so no line of it is skipped.
CREATE TABLE IF NOT EXISTS file_inputs
(
    source_topic String,
    bytes UInt64,
    sha String,
    recorded_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (source_topic, bytes, sha);
