-- 003: the indexes the dashboard's queries and the click-stream API need. The names are those of
-- ../shared/bench/schema/ab.sql where it has the same index, so that applying this file there is a no-op for them.

SET client_min_messages = warning;
SET ROLE ab_owner;

-- Latest events of a variant (GET /events?variant=eq.A&order=created_at.desc) and the time-bounded scans.
CREATE INDEX IF NOT EXISTS events_variant_created_at_idx ON events (variant, created_at DESC);
-- Foreign key lookups (deleting a user, a user's history).
CREATE INDEX IF NOT EXISTS events_user_id_idx ON events (user_id);
-- Covering index of the funnel refresh: an index-only scan instead of reading the jsonb-heavy heap.
CREATE INDEX IF NOT EXISTS events_funnel_idx ON events (variant, event_name, user_id);
-- recent_completions(): the newest rows without a sort.
CREATE INDEX IF NOT EXISTS completions_created_at_idx ON completions (created_at DESC);
-- A user's runs (the leaderboard refresh groups by it; a profile page would look one up).
CREATE INDEX IF NOT EXISTS completions_username_idx ON completions (username);

RESET ROLE;
