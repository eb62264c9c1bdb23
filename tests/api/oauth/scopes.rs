//! Scopes and whom a token speaks for: the default `profile` scope, scopes enforced by the
//! API, no widening on refresh, and a client credentials token that speaks for the app alone.

use super::{api, server_error, setup, tokens_for};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{Scope, TokenResponse};
use reqwest::StatusCode;

#[tokio::test]
async fn without_a_scope_the_default_profile_scope_applies_and_other_scopes_are_enforced() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let default = tokens_for(&s, &[]).await;
    let apps_only = tokens_for(&s, &["apps:read"]).await;

    assert_eq!(default.scopes().unwrap()[0].as_str(), "profile");
    assert_eq!(
        api(&s, "/api/v1/me", default.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    let forbidden = api(&s, "/api/v1/me", apps_only.access_token().secret()).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(forbidden.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert_eq!(
        forbidden.json::<serde_json::Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
    let apps = api(&s, "/api/v1/apps", apps_only.access_token().secret()).await;
    assert_eq!(apps.status(), StatusCode::OK);
    assert_eq!(
        apps.json::<serde_json::Value>().await.unwrap()["apps"],
        serde_json::json!([])
    );
    // Narrowing on refresh is allowed; widening is not.
    let wider = s
        .client
        .exchange_refresh_token(apps_only.refresh_token().unwrap())
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(wider.unwrap_err()),
        BasicErrorResponseType::InvalidScope
    );
}

#[tokio::test]
async fn a_client_credentials_token_speaks_for_the_app() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);

    let token = s
        .client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();

    let me: serde_json::Value = api(&s, "/api/v1/me", token.access_token().secret())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["client_id"], s.client_id.as_str());
    assert_eq!(me["app_name"], "Photo Printer");
    assert!(me.get("email").is_none());
    let scoped = s
        .client
        .exchange_client_credentials()
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(scoped.unwrap_err()),
        BasicErrorResponseType::InvalidScope
    );
}

#[tokio::test]
async fn the_apps_api_lists_the_teams_apps_while_the_user_is_a_member() {
    use crate::teams::{create_team, create_team_app, invite, member_id};
    let s = setup().await;
    let owner = &s.app.browser;
    let team = create_team(owner, "Data").await;
    create_team_app(owner, &team, "Warehouse").await;
    assert_eq!(
        invite(owner, &team, "user@example.com", "viewer")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let token = tokens_for(&s, &["apps:read"]).await;
    let apps = api(&s, "/api/v1/apps", token.access_token().secret()).await;
    assert_eq!(
        apps.json::<serde_json::Value>().await.unwrap()["apps"],
        serde_json::json!([{"name": "Warehouse", "client_id": apps_client_id(&s, "Warehouse").await, "team": "Data"}])
    );

    // Removed from the team: the same token no longer lists the team's app.
    let page = owner.get_html(&format!("/teams/{team}")).await;
    let user = member_id(&page, "user@example.com");
    let removed = owner
        .submit(
            &format!("/teams/{team}"),
            &format!("/teams/{team}/members/{user}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let apps = api(&s, "/api/v1/apps", token.access_token().secret()).await;
    assert_eq!(
        apps.json::<serde_json::Value>().await.unwrap()["apps"],
        serde_json::json!([])
    );
}

/// The client id of the team app named `name`, from its owner's My Apps page.
async fn apps_client_id(s: &super::Setup, name: &str) -> String {
    let page = s.app.browser.get_html("/apps").await;
    let row = page.split(&format!(">{name}</a>")).nth(1).unwrap();
    row.split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_owned()
}
