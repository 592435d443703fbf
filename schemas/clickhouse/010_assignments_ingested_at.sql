-- When each assignment was ingested. The trend stage keeps an event dated more than trends.maxFutureHours
-- after its arrival out of detection; a restart's rebuild reads the same rule from here, so it no longer
-- counts such an event once the clock has passed its date. Rows stored before this column read their own
-- event time (never from the future, as before).
ALTER TABLE assignments ADD COLUMN IF NOT EXISTS ingested_at DateTime64(3, 'UTC') DEFAULT occurred_at;
