DROP TABLE recovery_codes;
DROP INDEX account_links_expires_at;
DROP INDEX account_links_user_id;
DROP TABLE account_links;
ALTER TABLE sessions DROP COLUMN authenticated_at;
ALTER TABLE users DROP COLUMN two_factor_since;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_seed;
ALTER TABLE users DROP COLUMN email_verified_at;
