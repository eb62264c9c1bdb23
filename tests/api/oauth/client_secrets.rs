//! Users' tokens when the client's secret changes: a rotation keeps the user's session alive,
//! and revoking a secret revokes its tokens only when asked to.

use super::{api, authorize, discover, server_error, setup, tokens_for};
use crate::helpers::location;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RequestTokenError, TokenResponse};
use reqwest::StatusCode;

#[tokio::test]
async fn rotating_the_client_secret_mid_session_keeps_the_users_session_alive() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    // Generate a second secret and switch the client to it.
    let new_secret = s.app.browser.generate_secret(&s.app_id).await;
    let rotated = discover(&s.app, &s.client_id, &new_secret).await;
    let refreshed = rotated
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    // Revoke the first secret (routine rotation: tokens stay valid).
    s.app.browser.revoke_secret(&s.app_id, &s.secret).await;

    let old = s
        .client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert!(
        matches!(old, Err(RequestTokenError::ServerResponse(ref e)) if *e.error() == BasicErrorResponseType::InvalidClient)
    );
    let again = rotated
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        api(&s, "/api/v1/me", again.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_a_secret_keeps_its_tokens_unless_asked_to_revoke_them_too() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let user_tokens = tokens_for(&s, &["profile"]).await;
    let app_token = s
        .client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    let second = s.app.browser.generate_secret(&s.app_id).await;
    let second_client = discover(&s.app, &s.client_id, &second).await;
    let (code, verifier) = authorize(&s, &["profile"]).await;
    let kept = second_client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();

    // The leaked-secret case: tick the box.
    let path = s.app.browser.revoke_path(&s.app_id, &s.secret).await;
    let confirm = s.app.browser.get_html(&path).await;
    assert!(confirm.contains("Also revoke tokens issued with this secret"));
    let response = s
        .app
        .browser
        .post(
            &path,
            &[
                ("csrf_token", crate::helpers::csrf_token(&confirm).as_str()),
                ("revoke_tokens", "on"),
                ("confirm_hint", &s.secret[s.secret.len() - 4..]),
            ],
        )
        .await;
    let page = s.app.browser.get_html(&location(&response)).await;

    assert!(
        page.contains("Every token issued with it was revoked too."),
        "{page}"
    );
    assert_eq!(
        api(&s, "/api/v1/me", user_tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api(&s, "/api/v1/me", app_token.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = second_client
        .exchange_refresh_token(user_tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refresh.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    // Tokens issued with the other secret are untouched.
    assert_eq!(
        api(&s, "/api/v1/me", kept.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
}
