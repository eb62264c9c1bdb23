ALTER TABLE client_secrets DROP COLUMN proof;
