-- The end of a secret's lifetime, chosen when it is generated ("Expires after"); never changes.
-- `expires_at` stays the moment the secret stops: the earlier of this and a scheduled
-- revocation, so every liveness check reads one column.
ALTER TABLE client_secrets ADD COLUMN lifetime_ends_at TIMESTAMP;
