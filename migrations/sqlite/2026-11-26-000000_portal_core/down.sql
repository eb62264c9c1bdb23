DROP TABLE server_settings;
DROP TABLE access_tokens;
DROP TABLE client_secrets;
DROP TABLE apps;
DROP TABLE users;
