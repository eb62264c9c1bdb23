-- Webhook endpoints of an app. The signing key is derived from key_id and the server's key
-- (KEYTURN_SESSION_KEY), so the database alone never holds it.
CREATE TABLE webhooks (
    id SERIAL PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX webhooks_app_id ON webhooks (app_id);

-- The outbox: what happened, written in the transaction of the change that caused it (or, for
-- time-based events, once each thanks to dedupe_key). A worker fans each event out into
-- deliveries, one per webhook and one per mail.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    event_type TEXT NOT NULL,
    app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    fanned_out_at TIMESTAMP,
    dedupe_key TEXT UNIQUE
);
CREATE INDEX events_pending ON events (fanned_out_at, id);

-- One message to one destination, retried with backoff until delivered or given up.
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id INTEGER REFERENCES webhooks (id) ON DELETE CASCADE,
    recipient TEXT,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    gave_up_at TIMESTAMP
);
CREATE INDEX deliveries_due ON deliveries (delivered_at, gave_up_at, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);

-- Time-based notifications already sent: one row per secret, kind and end, so each is sent
-- once, whichever instance finds it first, and the scan only reads secrets still to notify.
CREATE TABLE secret_notices (
    secret_id INTEGER NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    end_at TIMESTAMP NOT NULL,
    PRIMARY KEY (secret_id, kind, end_at)
);

-- Time-based notifications look for secrets by their end.
CREATE INDEX client_secrets_expires_at ON client_secrets (expires_at);
