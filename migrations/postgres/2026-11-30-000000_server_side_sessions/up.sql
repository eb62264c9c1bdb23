-- Signed-in sessions, kept on the server so that logging out (or being logged out) ends them
-- everywhere at once. The cookie carries a random session id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Attempts counted by the throttles (log-in, client authentication, sign-up), shared by every
-- instance. One row per attempt within the window; older rows are deleted as they age out.
CREATE TABLE throttle_attempts (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL
);
CREATE INDEX throttle_attempts_key ON throttle_attempts (scope, key, attempted_at);
CREATE INDEX throttle_attempts_at ON throttle_attempts (attempted_at);
