ALTER TABLE authorization_codes DROP COLUMN nonce;
ALTER TABLE grants DROP COLUMN auth_time;
DROP TABLE openid_subjects;
DROP TABLE signing_keys;
