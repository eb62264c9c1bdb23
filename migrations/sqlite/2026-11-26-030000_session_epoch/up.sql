-- Bumped when the password changes: sessions that carry an older epoch are ended.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
