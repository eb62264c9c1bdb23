//! The revocation (RFC 7009) and introspection (RFC 7662) endpoints for the tokens of the
//! code flow.

use super::{api, discover, setup, tokens_for};
use oauth2::{StandardRevocableToken, TokenIntrospectionResponse, TokenResponse};
use reqwest::StatusCode;

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_tokens_too() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    s.client
        .revoke_token(StandardRevocableToken::RefreshToken(
            tokens.refresh_token().unwrap().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();

    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn clients_can_neither_introspect_nor_revoke_each_others_tokens() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;
    let other_app = s.app.browser.create_app("Other").await;
    let other_id = s.app.browser.client_id(&other_app).await;
    let other_secret = s.app.browser.generate_secret(&other_app).await;
    let other = discover(&s.app, &other_id, &other_secret).await;

    let peek = s
        .app
        .machine()
        .post(format!("{}/oauth/introspect", s.app.address))
        .basic_auth(&other_id, Some(&other_secret))
        .form(&[("token", tokens.access_token().secret().as_str())])
        .send()
        .await
        .unwrap();
    other
        .revoke_token(StandardRevocableToken::AccessToken(
            tokens.access_token().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    other
        .revoke_token(StandardRevocableToken::RefreshToken(
            tokens.refresh_token().unwrap().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();

    assert_eq!(peek.text().await.unwrap(), r#"{"active":false}"#);
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    let info = s
        .client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
}

#[tokio::test]
async fn revocation_and_introspection_answer_unknown_tokens_quietly_and_need_client_auth() {
    let s = setup().await;
    let post = |path: &str, auth: Option<(&str, &str)>| {
        let mut request = s.app.machine().post(format!("{}{path}", s.app.address));
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        request.form(&[("token", "kta_unknown")]).send()
    };

    let revoke = post("/oauth/revoke", Some((&s.client_id, &s.secret)))
        .await
        .unwrap();
    let introspect = post("/oauth/introspect", Some((&s.client_id, &s.secret)))
        .await
        .unwrap();
    let anonymous_revoke = post("/oauth/revoke", None).await.unwrap();
    let anonymous_introspect = post("/oauth/introspect", None).await.unwrap();

    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(introspect.text().await.unwrap(), r#"{"active":false}"#);
    assert_eq!(anonymous_revoke.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous_introspect.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn introspection_names_the_user_only_to_a_grant_that_includes_profile() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let without_profile = tokens_for(&s, &["apps:read"]).await;
    let with_profile = tokens_for(&s, &["profile"]).await;

    let (client, http) = (&s.client, &http);
    let about = |tokens: oauth2::basic::BasicTokenResponse| async move {
        client
            .introspect(tokens.access_token())
            .request_async(http)
            .await
            .unwrap()
    };
    let apps_only = about(without_profile).await;
    let profile = about(with_profile).await;

    assert!(apps_only.active());
    assert_eq!(apps_only.username(), None);
    assert_eq!(profile.username(), Some("user@example.com"));
}
