DROP TABLE review_generation, revoked_client_tokens, audit_events, secret_usage,
    server_settings, refresh_tokens, authorization_codes, access_tokens, grants,
    client_secrets, apps, users CASCADE;
DROP FUNCTION bump_review_generation, client_secrets_revocation_is_final,
    client_secrets_max_two_active;
