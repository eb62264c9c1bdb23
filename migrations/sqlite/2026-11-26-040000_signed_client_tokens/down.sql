ALTER TABLE client_secrets DROP COLUMN tokens_revoked_at;
DROP TABLE revoked_client_tokens;
