-- A keyed digest (HMAC-SHA256) of a secret bcrypt has accepted, so a restarted server, or
-- another instance, proves that same secret again without a bcrypt. The key is derived from
-- KEYTURN_SESSION_KEY and is never stored here.
ALTER TABLE client_secrets ADD COLUMN proof TEXT;
