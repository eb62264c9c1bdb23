// @generated automatically by Diesel CLI.

diesel::table! {
    access_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        app_id -> Integer,
        secret_id -> Nullable<Integer>,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        user_id -> Nullable<Integer>,
        grant_id -> Nullable<Integer>,
        key_id -> Nullable<Integer>,
    }
}

diesel::table! {
    client_keys (id) {
        id -> Integer,
        app_id -> Integer,
        kid -> Text,
        algorithm -> Text,
        public_jwk -> Nullable<Text>,
        jwks_url -> Nullable<Text>,
        fingerprint -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Integer>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        tokens_revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    client_assertions (app_id, jti_hash) {
        app_id -> Integer,
        jti_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    apps (id) {
        id -> Integer,
        owner_id -> Integer,
        name -> Text,
        client_id -> Text,
        redirect_uris -> Text,
        created_at -> Timestamp,
        team_id -> Nullable<Integer>,
    }
}

diesel::table! {
    authorization_codes (id) {
        id -> Integer,
        code_hash -> Text,
        grant_id -> Integer,
        redirect_uri -> Text,
        redirect_uri_explicit -> Bool,
        code_challenge -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        nonce -> Nullable<Text>,
    }
}

diesel::table! {
    client_secrets (id) {
        id -> Integer,
        app_id -> Integer,
        public_id -> Text,
        secret_hash -> Text,
        hint -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        request_nonce -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        label -> Text,
        created_by -> Nullable<Integer>,
        last_used_ip -> Nullable<Text>,
        last_used_user_agent -> Nullable<Text>,
        tokens_revoked_at -> Nullable<Timestamp>,
        lifetime_ends_at -> Nullable<Timestamp>,
        quiet_for_secret_id -> Nullable<Integer>,
        first_used_at -> Nullable<Timestamp>,
        proof -> Nullable<Text>,
    }
}

diesel::table! {
    review_generation (id) {
        id -> Integer,
        generation -> BigInt,
    }
}

diesel::table! {
    revoked_client_tokens (token_id) {
        token_id -> Text,
        app_id -> Integer,
        expires_at -> Timestamp,
        revoked_at -> Timestamp,
    }
}

diesel::table! {
    secret_usage (secret_id, hour) {
        secret_id -> Integer,
        hour -> Timestamp,
        uses -> Integer,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Integer,
        at -> Timestamp,
        actor_id -> Nullable<Integer>,
        actor_email -> Text,
        actor_is_admin -> Bool,
        action -> Text,
        app_id -> Nullable<Integer>,
        secret_id -> Nullable<Integer>,
        detail -> Text,
        ip -> Nullable<Text>,
        team_id -> Nullable<Integer>,
        api_token_name -> Nullable<Text>,
    }
}

diesel::table! {
    grants (id) {
        id -> Integer,
        app_id -> Integer,
        user_id -> Integer,
        scope -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        auth_time -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        grant_id -> Integer,
        secret_id -> Nullable<Integer>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        key_id -> Nullable<Integer>,
    }
}

diesel::table! {
    secret_notices (secret_id, kind, end_at) {
        secret_id -> Integer,
        kind -> Text,
        end_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Integer,
        sequence -> Integer,
        kid -> Text,
        public_jwk -> Text,
        sealed_private_key -> Text,
        created_at -> Timestamp,
        signs_from -> Timestamp,
    }
}

diesel::table! {
    openid_subjects (user_id) {
        user_id -> Integer,
        subject -> Text,
    }
}

diesel::table! {
    server_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        authenticated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        created_at -> Timestamp,
        session_epoch -> Integer,
        email_verified_at -> Nullable<Timestamp>,
        totp_seed -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        two_factor_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_links (id) {
        id -> Integer,
        user_id -> Integer,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        credential_id -> Text,
        credential -> Text,
        user_handle -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webauthn_challenges (id) {
        id -> Integer,
        handle_hash -> Text,
        user_id -> Nullable<Integer>,
        purpose -> Text,
        state -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Integer,
        user_id -> Integer,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        event_id -> BigInt,
        webhook_id -> Nullable<Integer>,
        recipient -> Nullable<Text>,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        event_type -> Text,
        app_id -> Integer,
        data -> Text,
        created_at -> Timestamp,
        fanned_out_at -> Nullable<Timestamp>,
        dedupe_key -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Integer,
        app_id -> Integer,
        url -> Text,
        key_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Integer>,
    }
}

diesel::table! {
    teams (id) {
        id -> Integer,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Integer,
        user_id -> Integer,
        role -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    team_invitations (id) {
        id -> Integer,
        team_id -> Integer,
        email -> Text,
        role -> Text,
        invited_by -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(access_tokens -> apps (app_id));
diesel::joinable!(access_tokens -> client_secrets (secret_id));
diesel::joinable!(access_tokens -> grants (grant_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::joinable!(apps -> users (owner_id));
diesel::joinable!(apps -> teams (team_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(team_invitations -> teams (team_id));
diesel::joinable!(authorization_codes -> grants (grant_id));
diesel::joinable!(client_secrets -> apps (app_id));
diesel::joinable!(client_keys -> apps (app_id));
diesel::joinable!(grants -> apps (app_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(refresh_tokens -> client_secrets (secret_id));
diesel::joinable!(revoked_client_tokens -> apps (app_id));
diesel::joinable!(refresh_tokens -> grants (grant_id));
diesel::joinable!(secret_usage -> client_secrets (secret_id));
diesel::joinable!(secret_notices -> client_secrets (secret_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(openid_subjects -> users (user_id));
diesel::joinable!(audit_events -> apps (app_id));
diesel::joinable!(deliveries -> events (event_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));
diesel::joinable!(events -> apps (app_id));
diesel::joinable!(webhooks -> apps (app_id));

diesel::joinable!(account_links -> users (user_id));
diesel::table! {
    api_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        request_nonce -> Nullable<Text>,
    }
}

diesel::table! {
    api_idempotency_keys (api_token_id, key_hash) {
        api_token_id -> Integer,
        key_hash -> Text,
        request_hash -> Text,
        secret_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    secret_callers (app_id, ip, user_agent) {
        app_id -> Integer,
        ip -> Text,
        user_agent -> Text,
        secret_id -> Integer,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(api_idempotency_keys -> api_tokens (api_token_id));
diesel::joinable!(secret_callers -> client_secrets (secret_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(webauthn_challenges -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_tokens,
    account_links,
    api_idempotency_keys,
    api_tokens,
    apps,
    audit_events,
    authorization_codes,
    client_assertions,
    client_keys,
    client_secrets,
    deliveries,
    events,
    grants,
    openid_subjects,
    passkeys,
    recovery_codes,
    refresh_tokens,
    review_generation,
    revoked_client_tokens,
    secret_callers,
    secret_notices,
    secret_usage,
    server_settings,
    sessions,
    signing_keys,
    team_invitations,
    team_members,
    teams,
    users,
    webauthn_challenges,
    webhooks,
);
