DROP INDEX client_secrets_expires_at;
DROP TABLE secret_notices;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
