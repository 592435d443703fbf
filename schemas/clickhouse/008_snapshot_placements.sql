-- A model learns an event when it places it, before its rows are stored. When a batch is abandoned between
-- the two (partition revoked, stop), the model holds events its snapshot offsets do not cover, and their
-- re-delivery was learned a second time. A snapshot now also records how far the model has learned per
-- partition and the placements it made that are not stored yet (JSON; '' in older snapshots: learned up to
-- `offsets`, nothing unstored), so a re-delivery reuses them instead of learning again.
ALTER TABLE model_snapshots ADD COLUMN IF NOT EXISTS placements String DEFAULT '' CODEC(ZSTD(3));
