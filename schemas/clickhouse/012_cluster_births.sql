-- Which event started each cluster of a live model, and the id it took. A model relearns the events stored
-- after its checkpoint on a restart, in the order they are delivered again: with two or more partitions that
-- order differs, so a cluster could take another id than its stored rows carry, and a later one the id those
-- rows gave another problem (cluster_counts would add the two). On start, a model reserves every id born here
-- and gives each event that started a cluster after its checkpoint that cluster's id again. Written before the
-- rows that name the cluster.
CREATE TABLE IF NOT EXISTS cluster_births
(
    pipeline String,
    model_version UInt32,
    cluster_id String,
    seq UInt64,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    born_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (pipeline, model_version, seq);
