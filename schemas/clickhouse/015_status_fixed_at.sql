-- When the fix a cluster's fixed status (fix_available, resolved) stands for was marked: its regression
-- watch (grace, window, pre-fix rate) counts from then. changed_at moves with every change, so a fix marked
-- fix_available and later resolved restarted the watch at the second change, read its pre-fix rate from the
-- post-fix days in between, and dropped a regression's cooldown. NULL when the status is not a fixed one; rows
-- written before this column read it as NULL too, and their readers take changed_at, as before.
ALTER TABLE cluster_status ADD COLUMN IF NOT EXISTS fixed_at Nullable(DateTime64(3, 'UTC'));
