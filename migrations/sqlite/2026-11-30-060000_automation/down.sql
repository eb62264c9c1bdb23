DROP INDEX client_secrets_quiet_for;
DROP TABLE secret_callers;
ALTER TABLE client_secrets DROP COLUMN first_used_at;
ALTER TABLE client_secrets DROP COLUMN quiet_for_secret_id;
ALTER TABLE audit_events DROP COLUMN api_token_name;
DROP TABLE api_idempotency_keys;
DROP TABLE api_tokens;
