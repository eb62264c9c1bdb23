//! The API tokens page: creating (shown once, after confirming access), listing, revoking;
//! admins see and revoke everybody's.

use super::{api_token, call, redirected_to};
use crate::helpers::{csrf_token, input_value, spawn_app, PASSWORD};
use chrono::TimeDelta;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn a_token_is_shown_once_listed_with_its_scopes_and_works_until_revoked() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    app.browser.create_app("Shop").await;

    let token = api_token(&app.browser, "deploy pipeline", &["apps:read"]).await;

    assert!(token.starts_with("ktp_"), "{token}");
    let page = app.browser.get("/account/tokens").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(!page.contains(&token), "shown only once");
    assert!(!page.contains("id=\"new-token\""));
    assert!(page.contains("deploy pipeline"));
    assert!(page.contains("<code>apps:read</code>"));
    assert!(page.contains("Never"), "not used yet: {page}");
    let apps = call(&app, Method::GET, "/api/v1/apps", &token, None).await;
    assert_eq!(apps.status(), StatusCode::OK);
    let apps: serde_json::Value = apps.json().await.unwrap();
    assert_eq!(apps["apps"][0]["name"], "Shop");
    let page = app.browser.get_html("/account/tokens").await;
    assert!(
        !page.contains(">Never</td>\n      <td><time"),
        "last used is shown"
    );

    let id = token_id(&page, "deploy pipeline");
    let revoked = app
        .browser
        .post(
            &format!("/account/tokens/{id}/revoke"),
            &[("csrf_token", &csrf_token(&page))],
        )
        .await;

    assert_eq!(redirected_to(&revoked), "/account/tokens");
    let refused = call(&app, Method::GET, "/api/v1/apps", &token, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let page = app.browser.get_html("/account/tokens").await;
    assert!(page.contains("Revoked"));
    let security = app.browser.get_html("/account/security").await;
    assert!(security.contains("Created the API token"), "{email}");
}

/// The id in the Revoke form of the row naming `name`.
fn token_id(page: &str, name: &str) -> String {
    let row_start = page.find(&format!("<td>{name}</td>")).expect("the row");
    let action = page[row_start..]
        .find("/account/tokens/")
        .map(|i| i + row_start + "/account/tokens/".len())
        .or_else(|| {
            page[row_start..]
                .find("/admin/tokens/")
                .map(|i| i + row_start + "/admin/tokens/".len())
        })
        .expect("a Revoke form");
    page[action..action + page[action..].find('/').unwrap()].to_owned()
}

#[tokio::test]
async fn creating_a_token_asks_to_confirm_access_and_keeps_the_choices() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    app.clock.advance(TimeDelta::minutes(16));
    let fields = [
        ("name", "ci"),
        ("secrets_write", "on"),
        ("expires_after", "90"),
    ];

    let asked = app
        .browser
        .submit("/account/tokens", "/account/tokens", &fields)
        .await;

    let confirm = redirected_to(&asked);
    assert!(
        confirm.starts_with("/account/confirm-access?next="),
        "{confirm}"
    );
    // The hidden field as a browser sends it: unescaped.
    let next = input_value(&app.browser.get_html(&confirm).await, "next").replace("&#38;", "&");
    let back = app
        .browser
        .submit(
            &confirm,
            "/account/confirm-access",
            &[("password", PASSWORD), ("next", &next)],
        )
        .await;
    let back_to = redirected_to(&back);
    assert!(back_to.starts_with("/account/tokens?"), "{back_to}");
    let form = app.browser.get_html(&back_to).await;
    assert!(form.contains("value=\"ci\""), "the name is kept");
    assert!(form.contains("id=\"scope-secrets-write\" name=\"secrets_write\" value=\"on\" checked"));
    assert!(!form.contains("id=\"scope-apps-read\" name=\"apps_read\" value=\"on\" checked"));
    assert!(form.contains("value=\"90\" checked"));
    assert!(
        !form.contains("ktp_"),
        "nothing was created before confirming"
    );
}

#[tokio::test]
async fn bad_token_forms_are_reshown_with_a_message() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    for (fields, message) in [
        (
            vec![("name", " "), ("apps_read", "on"), ("expires_after", "30")],
            "Give the token a name",
        ),
        (
            vec![("name", "ci"), ("expires_after", "30")],
            "Choose at least one scope.",
        ),
        (
            vec![("name", "ci"), ("apps_read", "on"), ("expires_after", "7")],
            "Choose when the token expires.",
        ),
        (
            vec![
                ("name", "ci\u{202E}"),
                ("apps_read", "on"),
                ("expires_after", "30"),
            ],
            "invisible characters",
        ),
    ] {
        let response = app
            .browser
            .submit("/account/tokens", "/account/tokens", &fields)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(!page.contains("id=\"new-token\""));
    }
}

#[tokio::test]
async fn the_policy_maximum_lifetime_limits_tokens_too() {
    let app = spawn_app().await;
    let admin = app.admin_browser().await;
    let saved = admin
        .submit(
            "/admin/policy",
            "/admin/policy",
            &[("max_lifetime_days", "90"), ("warning_days", "14")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    app.browser.signed_up().await;

    let page = app.browser.get_html("/account/tokens").await;
    assert!(!page.contains("value=\"never\""), "Never is not offered");
    assert!(!page.contains("value=\"365\""));
    assert!(page.contains("value=\"90\""));
    let response = app
        .browser
        .submit(
            "/account/tokens",
            "/account/tokens",
            &[
                ("name", "ci"),
                ("apps_read", "on"),
                ("expires_after", "never"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("may live at most 90 days"));
}

#[tokio::test]
async fn a_token_stops_at_its_expiry() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = api_token(&app.browser, "short", &["apps:read"]).await;
    app.clock
        .advance(TimeDelta::days(30) + TimeDelta::seconds(1));

    let refused = call(&app, Method::GET, "/api/v1/apps", &token, None).await;

    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(app
        .browser
        .get_html("/account/tokens")
        .await
        .contains("Expired"));
}

#[tokio::test]
async fn admins_see_and_revoke_every_token_and_others_cannot() {
    let app = spawn_app().await;
    let owner = app.browser.signed_up().await;
    let token = api_token(&app.browser, "owner token", &["apps:read"]).await;
    let other = app.new_browser();
    other.signed_up().await;
    let mine = other.get_html("/account/tokens").await;
    assert!(!mine.contains("owner token"));
    assert_eq!(
        other.get("/admin/tokens").await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = app.admin_browser().await;

    let list = admin.get_html("/admin/tokens").await;
    assert!(list.contains(&owner), "the owner is named");
    let id = token_id(&list, "owner token");
    let by_other = other
        .post(
            &format!("/account/tokens/{id}/revoke"),
            &[("csrf_token", &csrf_token(&mine))],
        )
        .await;
    assert_eq!(by_other.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        call(&app, Method::GET, "/api/v1/apps", &token, None)
            .await
            .status(),
        StatusCode::OK
    );
    let revoked = admin
        .post(
            &format!("/admin/tokens/{id}/revoke"),
            &[("csrf_token", &csrf_token(&list))],
        )
        .await;

    assert_eq!(redirected_to(&revoked), "/admin/tokens");
    assert_eq!(
        call(&app, Method::GET, "/api/v1/apps", &token, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(app
        .browser
        .get_html("/account/tokens")
        .await
        .contains("Revoked"));
}

#[tokio::test]
async fn when_two_factor_is_required_a_token_of_an_account_without_it_is_refused() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = api_token(&app.browser, "ci", &["apps:read"]).await;
    let admin = app.admin_browser().await;
    let saved = admin
        .submit(
            "/admin/policy",
            "/admin/policy",
            &[
                ("max_lifetime_days", ""),
                ("warning_days", "14"),
                ("require_two_factor", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let refused = call(&app, Method::GET, "/api/v1/apps", &token, None).await;

    let body = super::problem(refused, StatusCode::FORBIDDEN).await;
    assert_eq!(body["error"], "two_factor_required");
    crate::security::turn_on_authenticator(&app, &app.browser).await;
    assert_eq!(
        call(&app, Method::GET, "/api/v1/apps", &token, None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_reset_revokes_every_api_token_of_the_account() {
    let mail = crate::notifications::MailServer::start().await;
    let app = crate::helpers::spawn_mailing_app(&mail, |_| {}).await;
    let email = app.browser.signed_up().await;
    // Whoever had the account made a token; the owner takes it back with a reset.
    let token = api_token(&app.browser, "left behind", &["secrets:write"]).await;
    let owner = app.new_browser();
    owner
        .submit("/forgot-password", "/forgot-password", &[("email", &email)])
        .await;
    let message = owner.take_mail(&email, "/reset-password?token=").await;
    let link = crate::helpers::link_in(&message, "/reset-password?token=");
    let form = owner.get_html(&link).await;
    let reset = owner
        .post(
            "/reset-password",
            &[
                ("csrf_token", csrf_token(&form).as_str()),
                ("token", input_value(&form, "token").as_str()),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);

    let refused = call(&app, Method::GET, "/api/v1/apps", &token, None).await;

    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_resubmitted_form_creates_no_second_token() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let page = app.browser.get_html("/account/tokens").await;
    let nonce = input_value(&page, "request_nonce");
    let fields = [
        ("csrf_token", csrf_token(&page)),
        ("request_nonce", nonce),
        ("name", "once".to_owned()),
        ("apps_read", "on".to_owned()),
        ("expires_after", "30".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let first = app.browser.post("/account/tokens", &fields).await;
    let again = app.browser.post("/account/tokens", &fields).await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(redirected_to(&again), "/account/tokens");
    let list = app.browser.get_html("/account/tokens").await;
    assert!(list.contains("already used"), "{list}");
    assert_eq!(list.matches("<td>once</td>").count(), 1);
}
