//! The user's Authorized apps page: the apps they granted access to, and revoking that access.

use super::{api, server_error, setup, tokens_for};
use oauth2::basic::BasicErrorResponseType;
use oauth2::TokenResponse;
use reqwest::StatusCode;

#[tokio::test]
async fn users_see_and_revoke_the_apps_they_authorized() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    let page = s.user.get_html("/authorized-apps").await;
    assert!(page.contains("Photo Printer"));
    assert!(page.contains("<code>profile</code>"));
    let form = page
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|action| action.starts_with("/authorized-apps/"))
        .expect("a Revoke access form")
        .to_owned();
    let response = s.user.submit("/authorized-apps", &form, &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = s.user.get_html("/authorized-apps").await;
    assert!(after.contains("Access revoked."));
    assert!(!after.contains("Photo Printer"));
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refresh.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}
