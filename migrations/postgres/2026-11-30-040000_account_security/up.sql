-- Proven addresses, authenticator apps and when each session last proved who it is.

-- NULL: not proven yet. Accounts from before verification existed count as proven.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
UPDATE users SET email_verified_at = created_at;
-- The authenticator app's key is derived from the server's key and this random seed, so the
-- database alone does not give it away.
ALTER TABLE users ADD COLUMN totp_seed TEXT;
-- The last 30-second step whose code was accepted: a code is good once.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- When two-factor authentication was turned on (an authenticator app or a passkey); NULL while
-- it is off.
ALTER TABLE users ADD COLUMN two_factor_since TIMESTAMP;

-- When the session last gave the password or a second factor ("sudo mode").
ALTER TABLE sessions ADD COLUMN authenticated_at TIMESTAMP;
UPDATE sessions SET authenticated_at = created_at;

-- Mailed single-use links: verify an address, reset a password. Only the SHA-256 is kept.
CREATE TABLE account_links (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX account_links_user_id ON account_links (user_id);
CREATE INDEX account_links_expires_at ON account_links (expires_at);

-- Ten single-use codes for a lost second factor, as SHA-256 (each carries 79 random bits).
CREATE TABLE recovery_codes (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    UNIQUE (user_id, code_hash)
);
