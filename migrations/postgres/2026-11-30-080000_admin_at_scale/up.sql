-- The admin review and the stale view list secrets never used first, then the longest unused,
-- and page through them: `ORDER BY last_used_at ASC NULLS FIRST, id` (and its reverse). This
-- index gives that order as it is stored, so a page reads its own rows instead of sorting every
-- secret. PostgreSQL's default puts NULL last ascending, so the plain last_used_at index could
-- not; this one serves its range scans as well and replaces it.
DROP INDEX client_secrets_last_used_at;
CREATE INDEX client_secrets_last_used ON client_secrets (last_used_at NULLS FIRST, id);
