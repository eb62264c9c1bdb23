DROP INDEX client_secrets_last_used;
CREATE INDEX client_secrets_last_used_at ON client_secrets (last_used_at);
