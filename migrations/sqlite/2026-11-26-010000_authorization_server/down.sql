DROP INDEX access_tokens_grant_id;
ALTER TABLE access_tokens DROP COLUMN grant_id;
ALTER TABLE access_tokens DROP COLUMN user_id;
DROP TABLE refresh_tokens;
DROP TABLE authorization_codes;
DROP TABLE grants;
