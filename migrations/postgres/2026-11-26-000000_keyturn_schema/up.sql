-- The whole schema of migrations/sqlite (000000 to 060000) in one step, in PostgreSQL's terms.
-- Later changes get a migration in each folder, under the same name.

CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    -- Stored lower-cased so "A@x.io" and "a@x.io" are one account.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    -- Bumped when the password changes: sessions that carry an older epoch are ended.
    session_epoch INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE apps (
    id SERIAL PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    -- One absolute URI per line, compared by exact string match.
    redirect_uris TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX apps_owner_id ON apps (owner_id);
CREATE INDEX apps_name ON apps (name);

CREATE TABLE client_secrets (
    id SERIAL PRIMARY KEY,
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
    request_nonce TEXT UNIQUE,
    -- Scheduled revocation: the secret stops authenticating at this moment.
    expires_at TIMESTAMP,
    label TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    last_used_ip TEXT,
    last_used_user_agent TEXT,
    -- Set by "Also revoke tokens issued with this secret": every signed token of the secret dies.
    tokens_revoked_at TIMESTAMP
);
CREATE INDEX client_secrets_app_id ON client_secrets (app_id, revoked_at);
CREATE INDEX client_secrets_last_used_at ON client_secrets (last_used_at);
CREATE INDEX client_secrets_created_at ON client_secrets (created_at);

-- At most two active secrets per app, enforced by the database as well as by the write
-- transaction in the application, so no code path (and no other instance) can get round it.
-- The row lock on the app makes concurrent inserts for one app take turns, so the count each
-- one sees includes the others' committed rows.
CREATE FUNCTION client_secrets_max_two_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked_at IS NULL THEN
        PERFORM 1 FROM apps WHERE id = NEW.app_id FOR UPDATE;
        IF (SELECT COUNT(*) FROM client_secrets
            WHERE app_id = NEW.app_id AND revoked_at IS NULL) >= 2 THEN
            RAISE EXCEPTION 'max_two_active_secrets';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER client_secrets_max_two_active_insert
BEFORE INSERT ON client_secrets
FOR EACH ROW EXECUTE FUNCTION client_secrets_max_two_active();

-- Revocation is final: a revoked secret can never become active again.
CREATE FUNCTION client_secrets_revocation_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'revocation_is_final';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER client_secrets_revocation_is_final
BEFORE UPDATE OF revoked_at ON client_secrets
FOR EACH ROW EXECUTE FUNCTION client_secrets_revocation_is_final();

-- One row per time a user authorized an app (a "token family"); see the SQLite migration.
CREATE TABLE grants (
    id SERIAL PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX grants_user_app ON grants (user_id, app_id);

CREATE TABLE access_tokens (
    id SERIAL PRIMARY KEY,
    -- SHA-256 of the token: tokens carry 256 random bits, so a fast hash is enough at rest.
    token_hash TEXT NOT NULL UNIQUE,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    secret_id INTEGER REFERENCES client_secrets (id) ON DELETE SET NULL,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    grant_id INTEGER REFERENCES grants (id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_secret_id ON access_tokens (secret_id);
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id);

CREATE TABLE authorization_codes (
    id SERIAL PRIMARY KEY,
    -- SHA-256 of the code; the code itself is only ever in the redirect.
    code_hash TEXT NOT NULL UNIQUE,
    grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    redirect_uri_explicit BOOLEAN NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX authorization_codes_grant_id ON authorization_codes (grant_id);

CREATE TABLE refresh_tokens (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    secret_id INTEGER REFERENCES client_secrets (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_secret_id ON refresh_tokens (secret_id);

-- Server-wide values that must survive restarts, such as the generated session key.
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Uses per secret per hour.
CREATE TABLE secret_usage (
    secret_id INTEGER NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    hour TIMESTAMP NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (secret_id, hour)
);

-- Who did what to which app and secret. Never holds a secret.
CREATE TABLE audit_events (
    id SERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_email TEXT NOT NULL,
    actor_is_admin BOOLEAN NOT NULL,
    action TEXT NOT NULL,
    app_id INTEGER REFERENCES apps (id) ON DELETE CASCADE,
    secret_id INTEGER REFERENCES client_secrets (id) ON DELETE SET NULL,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT
);
CREATE INDEX audit_events_app_id ON audit_events (app_id, id);

-- Client credentials access tokens revoked on their own (RFC 7009), until they expire.
CREATE TABLE revoked_client_tokens (
    token_id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);

-- Bumped by every change to what the admin review and the app pages show (src/cache.rs).
CREATE TABLE review_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO review_generation (id, generation) VALUES (1, 0);

-- Deferred to commit: the one generation row is locked only while a transaction commits, so a
-- writer never holds it while it waits for another lock (no deadlocks between writers), and the
-- new generation becomes visible together with the change it counts.
CREATE FUNCTION bump_review_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE review_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER apps_bumps_review
AFTER INSERT OR UPDATE OR DELETE ON apps DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_review_generation();
CREATE CONSTRAINT TRIGGER client_secrets_bumps_review
AFTER INSERT OR UPDATE OR DELETE ON client_secrets DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_review_generation();
CREATE CONSTRAINT TRIGGER users_bumps_review
AFTER INSERT OR UPDATE OR DELETE ON users DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_review_generation();
CREATE CONSTRAINT TRIGGER audit_events_bumps_review
AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_review_generation();
