-- What each alert sink has been given: per sink and episode, the highest version delivered (or refused for
-- good by the receiver). An episode's state is in trend_alerts before it is handed to the sinks, so on start
-- a pipeline re-sends, per sink, the episodes whose latest version that sink never got: those that waited in
-- memory (a kill, a drain that timed out, a queue that overflowed, a routing read that failed).
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    sink String,
    episode_id String,
    version Int64,
    outcome LowCardinality(String),
    at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (sink, episode_id);

-- When each sink was first configured: a sink added later is not sent the episodes from before it.
CREATE TABLE IF NOT EXISTS alert_sinks
(
    sink String,
    since DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY sink;
