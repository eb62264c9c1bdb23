-- OpenID Connect.

-- The keys that sign ID tokens (RS256). The public half is published at /oauth/jwks; the
-- private half is sealed (AES-256-GCM, the kid as associated data) under a key derived from
-- KEYTURN_SESSION_KEY, which is never stored here. A key signs from signs_from until the next
-- key's signs_from, and stays published for an ID token lifetime after that.
CREATE TABLE signing_keys (
    id SERIAL PRIMARY KEY,
    -- The order keys were added in. Unique, so two instances adding "the next key" (or the
    -- first one) at once cannot both succeed.
    sequence INTEGER NOT NULL UNIQUE,
    -- RFC 7638 thumbprint of the public key.
    kid TEXT NOT NULL UNIQUE,
    -- The public key as a JWK (JSON).
    public_jwk TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    signs_from TIMESTAMP NOT NULL
);

-- Each account's OpenID subject (the id_token's sub): random, stable, and telling nothing about
-- the account's row id or how many accounts there are. Created when first needed.
CREATE TABLE openid_subjects (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT NOT NULL UNIQUE
);

-- When the user last gave their password or second factor before approving: the ID token's
-- auth_time, for this grant's code and every refresh.
ALTER TABLE grants ADD COLUMN auth_time TIMESTAMP;
-- The authorization request's nonce, echoed in the ID token.
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
