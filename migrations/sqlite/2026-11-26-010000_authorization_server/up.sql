-- One row per time a user authorized an app (a "token family"): the authorization code, and
-- every access and refresh token that descends from it, hang off this row, so revoking it
-- (code reuse, refresh-token reuse, "Revoke access") ends them all at once.
CREATE TABLE grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX grants_user_app ON grants (user_id, app_id);

CREATE TABLE authorization_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- SHA-256 of the code; the code itself is only ever in the redirect.
    code_hash TEXT NOT NULL UNIQUE,
    grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    -- Whether the authorization request named the redirect URI (then the token request must too).
    redirect_uri_explicit BOOLEAN NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX authorization_codes_grant_id ON authorization_codes (grant_id);

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    -- The client secret used for the request that issued this token.
    secret_id INTEGER REFERENCES client_secrets (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Set when the token is exchanged for a new one; presenting it again is reuse.
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_secret_id ON refresh_tokens (secret_id);

-- Access tokens issued for a user carry the user and the grant they descend from;
-- client_credentials tokens have neither.
ALTER TABLE access_tokens ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE access_tokens ADD COLUMN grant_id INTEGER REFERENCES grants (id) ON DELETE CASCADE;
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id);
