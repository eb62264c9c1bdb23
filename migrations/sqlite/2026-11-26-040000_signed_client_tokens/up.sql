-- Client credentials access tokens are signed instead of stored (src/domain/client_token.rs).
-- One revoked on its own (RFC 7009) is listed here by its random id until it expires.
CREATE TABLE revoked_client_tokens (
    token_id TEXT PRIMARY KEY NOT NULL,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);
-- Set by "Also revoke tokens issued with this secret": every signed token of the secret dies.
ALTER TABLE client_secrets ADD COLUMN tokens_revoked_at TIMESTAMP;
