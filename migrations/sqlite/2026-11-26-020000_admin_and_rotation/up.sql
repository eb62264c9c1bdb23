-- Scheduled revocation: the secret stops authenticating at this moment, checked on every use.
ALTER TABLE client_secrets ADD COLUMN expires_at TIMESTAMP;
-- A free-text label such as "production", and who generated the secret.
ALTER TABLE client_secrets ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE client_secrets ADD COLUMN created_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
-- Where the most recent use came from (written with "Last Used", at most once a minute unless
-- the address or client changes).
ALTER TABLE client_secrets ADD COLUMN last_used_ip TEXT;
ALTER TABLE client_secrets ADD COLUMN last_used_user_agent TEXT;

-- Uses per secret per hour, flushed from memory with the "Last Used" write instead of one
-- write per request.
CREATE TABLE secret_usage (
    secret_id INTEGER NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    hour TIMESTAMP NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (secret_id, hour)
);

-- Who did what to which app and secret. Never holds a secret.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
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

-- For the admin review: sorting by Last Used, searching names.
CREATE INDEX client_secrets_last_used_at ON client_secrets (last_used_at);
CREATE INDEX client_secrets_created_at ON client_secrets (created_at);
CREATE INDEX apps_name ON apps (name);
