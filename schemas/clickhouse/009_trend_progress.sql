-- How far the trend stage has evaluated buckets and written their alerts, per pipeline: the start of the
-- first bucket not yet evaluated. A restart replays the stored counts silently up to it, and announces the
-- episodes of the buckets after it, which the stopped process closed nowhere (it stopped between storing a
-- batch and writing that batch's alerts).
CREATE TABLE IF NOT EXISTS trend_progress
(
    pipeline String,
    closed_through DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY pipeline;
