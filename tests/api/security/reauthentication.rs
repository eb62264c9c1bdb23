//! "Confirm access": sensitive actions more than 15 minutes after the session last gave the
//! password or a second factor ask for one again, then continue where the user was.

use super::{code_at, next_step, turn_on_authenticator};
use crate::helpers::{
    csrf_token, element_text, input_value, location, secret_row, spawn_app, Browser, PASSWORD,
};
use chrono::TimeDelta;
use reqwest::StatusCode;

fn sixteen_minutes_later(app: &crate::helpers::TestApp) {
    app.clock.advance(TimeDelta::minutes(16));
}

/// Confirms access with `field` (password or code) on the page `confirm` leads to.
async fn confirm(browser: &Browser, confirm: &str, field: (&str, &str)) -> reqwest::Response {
    browser
        .submit(
            confirm,
            "/account/confirm-access",
            &[field, ("next", &next_of(confirm))],
        )
        .await
}

/// The `next` of a Confirm access URL, as the page's hidden field carries it.
fn next_of(confirm: &str) -> String {
    let query = confirm.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn generating_a_secret_after_15_minutes_asks_for_the_password_and_keeps_the_choices() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    // Within 15 minutes of logging in, no question.
    let first = app.browser.press_confirm_generate(&app_id).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = element_text(&first.text().await.unwrap(), "new-secret");

    sixteen_minutes_later(&app);
    let page = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let nonce = input_value(&page, "request_nonce");
    let asked = app
        .browser
        .post(
            &format!("/apps/{app_id}/secrets"),
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("request_nonce", nonce.as_str()),
                ("label", "production"),
                ("expires_after", "90"),
                ("old_secret", "24h"),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let to_confirm = location(&asked);
    assert!(
        to_confirm.starts_with("/account/confirm-access?next="),
        "{to_confirm}"
    );
    let overview = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let secrets_table = overview
        .split("<table class=\"secrets\">")
        .nth(1)
        .and_then(|table| table.split("</table>").next())
        .unwrap();
    assert_eq!(
        secrets_table.matches("<tr").count(),
        2,
        "a header and the one secret: nothing generated"
    );

    let page = app.browser.get_html(&to_confirm).await;
    assert!(page.contains("Confirm access"));
    let wrong = confirm(&app.browser, &to_confirm, ("password", "not my password")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let confirmed = confirm(&app.browser, &to_confirm, ("password", PASSWORD)).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let back = location(&confirmed);
    assert!(
        back.starts_with(&format!("/apps/{app_id}/secrets/new?")),
        "{back}"
    );

    // The confirmation page again, with what was chosen.
    let page = app.browser.get_html(&back).await;
    assert!(page.contains("value=\"production\""));
    assert!(page.contains("id=\"expires-after-90\" name=\"expires_after\" value=\"90\" checked"));
    assert!(page.contains("id=\"old-secret-24h\" name=\"old_secret\" value=\"24h\" checked"));
    let generated = app
        .browser
        .post(
            &format!("/apps/{app_id}/secrets"),
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                (
                    "request_nonce",
                    input_value(&page, "request_nonce").as_str(),
                ),
                ("label", "production"),
                ("expires_after", "90"),
                ("old_secret", "24h"),
            ],
        )
        .await;
    assert_eq!(generated.status(), StatusCode::OK);
    let security = app.browser.get_html("/account/security").await;
    assert!(security.contains("Confirmed access with the password"));
    // For the next 15 minutes, no question.
    app.clock.advance(TimeDelta::minutes(14));
    let path = app.browser.revoke_path(&app_id, &first).await;
    let revoked = app
        .browser
        .submit(&path, &path, &[("confirm_hint", &first[first.len() - 4..])])
        .await;
    assert_eq!(location(&revoked), format!("/apps/{app_id}"));
}

#[tokio::test]
async fn revoking_after_15_minutes_asks_again_and_returns_to_the_confirmation_as_chosen() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let secret = app.browser.generate_secret(&app_id).await;
    sixteen_minutes_later(&app);
    let path = app.browser.revoke_path(&app_id, &secret).await;
    let asked = app
        .browser
        .submit(
            &path,
            &path,
            &[
                ("confirm_hint", &secret[secret.len() - 4..]),
                ("revoke_tokens", "on"),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let to_confirm = location(&asked);
    assert_eq!(next_of(&to_confirm), format!("{path}?revoke_tokens=on"));
    let token = app
        .access_token(&app.browser.client_id(&app_id).await, &secret)
        .await;
    assert!(!token.is_empty(), "the secret still works");

    // A second factor confirms too, for an account that has one.
    let (setup_key, _) = turn_on_authenticator_after_confirming(&app).await;
    sixteen_minutes_later(&app);
    next_step(&app);
    let confirmed = confirm(
        &app.browser,
        &to_confirm,
        ("code", &code_at(&setup_key, &app)),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let page = app.browser.get_html(&location(&confirmed)).await;
    assert!(page.contains("name=\"revoke_tokens\" value=\"on\" checked"));
    let revoked = app
        .browser
        .submit(
            &path,
            &path,
            &[
                ("confirm_hint", &secret[secret.len() - 4..]),
                ("revoke_tokens", "on"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&revoked), format!("/apps/{app_id}"));
}

/// Turns on an authenticator, confirming access first if asked.
async fn turn_on_authenticator_after_confirming(
    app: &crate::helpers::TestApp,
) -> (String, Vec<String>) {
    let confirmed = app
        .browser
        .submit(
            "/account/confirm-access?next=/account/security",
            "/account/confirm-access",
            &[("password", PASSWORD), ("next", "/account/security")],
        )
        .await;
    assert_eq!(location(&confirmed), "/account/security");
    turn_on_authenticator(app, &app.browser).await
}

#[tokio::test]
async fn an_admin_revoke_after_15_minutes_asks_again() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let secret = app.browser.generate_secret(&app_id).await;
    let admin = app.admin_browser().await;
    sixteen_minutes_later(&app);
    let page = admin.get_html("/admin").await;
    let row = secret_row(&page, &secret);
    let start = row.find("/admin/secrets/").unwrap();
    let path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let asked = admin
        .submit(
            &path,
            &path,
            &[("confirm_hint", &secret[secret.len() - 4..])],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let to_confirm = location(&asked);
    assert!(to_confirm.starts_with("/account/confirm-access"));
    assert_eq!(next_of(&to_confirm), path);
    let confirmed = confirm(&admin, &to_confirm, ("password", PASSWORD)).await;
    assert_eq!(location(&confirmed), path);
    let revoked = admin
        .submit(
            &path,
            &path,
            &[("confirm_hint", &secret[secret.len() - 4..])],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn confirm_access_only_returns_to_pages_on_keyturn() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    for evil in [
        "https://evil.example/",
        "//evil.example",
        "/\t/evil.example",
        "/%5cevil",
    ] {
        let page = app
            .browser
            .get_html(&format!(
                "/account/confirm-access?next={}",
                crate::helpers::form_encode(evil)
            ))
            .await;
        let confirmed = app
            .browser
            .post(
                "/account/confirm-access",
                &[
                    ("csrf_token", csrf_token(&page).as_str()),
                    ("password", PASSWORD),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(location(&confirmed), "/apps", "{evil}");
    }
}

#[tokio::test]
async fn redirect_uris_and_the_admin_policy_ask_again_after_15_minutes() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let admin = app.admin_browser().await;
    sixteen_minutes_later(&app);

    let uris = format!("/apps/{app_id}/redirect-uris");
    let asked = app
        .browser
        .submit(
            &uris,
            &uris,
            &[("redirect_uris", "https://attacker.example/cb")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(next_of(&location(&asked)), uris);
    let page = app.browser.get_html(&uris).await;
    assert!(!page.contains("attacker.example"), "nothing changed");

    let asked = admin
        .submit(
            "/admin/policy",
            "/admin/policy",
            &[("max_lifetime_days", ""), ("warning_days", "14")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(next_of(&location(&asked)), "/admin/policy");
}
