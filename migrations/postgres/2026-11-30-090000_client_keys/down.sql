DROP INDEX refresh_tokens_key_id;
DROP INDEX access_tokens_key_id;
ALTER TABLE refresh_tokens DROP COLUMN key_id;
ALTER TABLE access_tokens DROP COLUMN key_id;
DROP TABLE client_assertions;
DROP TABLE client_keys;
