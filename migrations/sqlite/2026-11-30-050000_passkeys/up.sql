-- Passkeys (WebAuthn credentials): a public key per authenticator, never a secret.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- base64url, as authenticators present it.
    credential_id TEXT NOT NULL UNIQUE,
    -- The credential as webauthn-rs keeps it (public key, counter), in JSON.
    credential TEXT NOT NULL,
    -- The account's WebAuthn user handle: random, the same for all its passkeys.
    user_handle TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A WebAuthn ceremony in progress: its challenge and state, used once (taken by deleting it).
CREATE TABLE webauthn_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    handle_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
