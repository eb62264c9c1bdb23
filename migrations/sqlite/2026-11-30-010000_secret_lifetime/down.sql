ALTER TABLE client_secrets DROP COLUMN lifetime_ends_at;
