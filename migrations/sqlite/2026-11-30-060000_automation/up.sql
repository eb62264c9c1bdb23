-- Personal API tokens: only the SHA-256 of the token is kept (256 random bits).
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- Space-separated: apps:read, secrets:write.
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    last_used_ip TEXT,
    revoked_at TIMESTAMP,
    -- From the creation form: a resubmitted form creates nothing.
    request_nonce TEXT UNIQUE
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

-- Idempotency-Key of a secret created through the API: a repeat within 24 hours answers with
-- the first secret instead of minting another. The key is kept as a SHA-256 digest.
CREATE TABLE api_idempotency_keys (
    api_token_id INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    secret_id INTEGER NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (api_token_id, key_hash)
);
CREATE INDEX api_idempotency_keys_created_at ON api_idempotency_keys (created_at);

-- "by <email> (API token <name>)" in an app's Activity.
ALTER TABLE audit_events ADD COLUMN api_token_name TEXT;

-- Revoke when quiet: the newer secret whose use, followed by a quiet day of this one, revokes
-- this one. The schedule (expires_at) is the hard deadline.
ALTER TABLE client_secrets ADD COLUMN quiet_for_secret_id INTEGER;
ALTER TABLE client_secrets ADD COLUMN first_used_at TIMESTAMP;
UPDATE client_secrets SET first_used_at = last_used_at;

-- Every distinct caller (address and User-Agent) of an app's secrets and which secret it last
-- used; written with "Last Used", kept a day.
CREATE TABLE secret_callers (
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    secret_id INTEGER NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, ip, user_agent)
);
CREATE INDEX secret_callers_last_seen_at ON secret_callers (last_seen_at);

-- The background round looks only at secrets waiting to go quiet.
CREATE INDEX client_secrets_quiet_for ON client_secrets (quiet_for_secret_id)
    WHERE quiet_for_secret_id IS NOT NULL AND revoked_at IS NULL;
