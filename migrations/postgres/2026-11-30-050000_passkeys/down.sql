DROP INDEX webauthn_challenges_expires_at;
DROP TABLE webauthn_challenges;
DROP INDEX passkeys_user_id;
DROP TABLE passkeys;
