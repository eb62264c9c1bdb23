CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- Stored lower-cased so "A@x.io" and "a@x.io" are one account.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    -- One absolute URI per line, compared by exact string match.
    redirect_uris TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX apps_owner_id ON apps (owner_id);

CREATE TABLE client_secrets (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- The id embedded in the secret itself, so verification finds one row instead of trying every hash.
    public_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    -- The last 4 characters of the secret, for display only.
    hint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    -- Set by the confirmation form so that a resubmitted form cannot mint a second secret.
    request_nonce TEXT UNIQUE
);
CREATE INDEX client_secrets_app_id ON client_secrets (app_id, revoked_at);

-- At most two active secrets per app, enforced by the database as well as by the
-- immediate transaction in the application, so no code path can get round it.
CREATE TRIGGER client_secrets_max_two_active_insert
BEFORE INSERT ON client_secrets
WHEN NEW.revoked_at IS NULL
    AND (SELECT COUNT(*) FROM client_secrets WHERE app_id = NEW.app_id AND revoked_at IS NULL) >= 2
BEGIN
    SELECT RAISE(ABORT, 'max_two_active_secrets');
END;

-- Revocation is final: a revoked secret can never become active again.
CREATE TRIGGER client_secrets_revocation_is_final
BEFORE UPDATE OF revoked_at ON client_secrets
WHEN OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS NULL OR NEW.revoked_at <> OLD.revoked_at)
BEGIN
    SELECT RAISE(ABORT, 'revocation_is_final');
END;

CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- SHA-256 of the token: tokens carry 256 random bits, so a fast hash is enough at rest.
    token_hash TEXT NOT NULL UNIQUE,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    -- The secret the client authenticated with, so a leaked secret's tokens can be found.
    secret_id INTEGER REFERENCES client_secrets (id) ON DELETE SET NULL,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX access_tokens_secret_id ON access_tokens (secret_id);

-- Server-wide values that must survive restarts, such as the generated session key.
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
