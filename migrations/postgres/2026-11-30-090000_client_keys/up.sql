-- Public keys an app authenticates with (private_key_jwt): a pasted key, kept as a public JWK,
-- or a JWKS URL the app serves its keys at. At most two active per app, like secrets.
CREATE TABLE client_keys (
    id SERIAL PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- The key's kid (its RFC 7638 thumbprint when it came without one); empty for a JWKS URL.
    kid TEXT NOT NULL,
    -- What the table shows: the pinned JWS algorithm, the key type's default, or "JWKS".
    algorithm TEXT NOT NULL,
    -- Exactly one of the two.
    public_jwk TEXT,
    jwks_url TEXT,
    -- RFC 7638 thumbprint of a pasted key, SHA-256 of a JWKS URL: the same key twice is refused.
    fingerprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    -- Revoked with "also revoke tokens issued with this key".
    tokens_revoked_at TIMESTAMP
);
CREATE INDEX client_keys_app_id ON client_keys (app_id);

-- The jti of every accepted client assertion, until the assertion expires: each is accepted
-- once, by whichever instance sees it first. The jti is kept as a SHA-256 digest.
CREATE TABLE client_assertions (
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    jti_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, jti_hash)
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);

-- Which key a user's tokens were issued with, for "also revoke tokens issued with this key".
ALTER TABLE access_tokens ADD COLUMN key_id INTEGER REFERENCES client_keys (id) ON DELETE SET NULL;
ALTER TABLE refresh_tokens ADD COLUMN key_id INTEGER REFERENCES client_keys (id) ON DELETE SET NULL;
-- "Also revoke tokens issued with this key" finds them by it.
CREATE INDEX access_tokens_key_id ON access_tokens (key_id);
CREATE INDEX refresh_tokens_key_id ON refresh_tokens (key_id);
