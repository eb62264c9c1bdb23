//! Secrets that expire: Expires after, the Expires column and status, the admin's policy, and
//! what the token endpoint tells a client whose secret is ending (Sunset, Deprecation, Link).

use crate::helpers::{app_with_owner, csrf_token, input_value, secret_row, spawn_app, Browser};
use chrono::TimeDelta;
use reqwest::StatusCode;

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn http_date(at: chrono::NaiveDateTime) -> String {
    at.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Posts the generate confirmation with these extra fields; returns the response.
async fn generate_with(
    browser: &Browser,
    app_id: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let token = csrf_token(&page);
    let nonce = input_value(&page, "request_nonce");
    let mut fields = vec![
        ("csrf_token", token.as_str()),
        ("request_nonce", nonce.as_str()),
    ];
    fields.extend_from_slice(extra);
    browser
        .post(&format!("/apps/{app_id}/secrets"), &fields)
        .await
}

async fn save_policy(admin: &Browser, max: &str, warning: &str) -> reqwest::Response {
    let page = admin.get_html("/admin/policy").await;
    admin
        .post(
            "/admin/policy",
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("max_lifetime_days", max),
                ("warning_days", warning),
            ],
        )
        .await
}

#[tokio::test]
async fn a_secret_that_expires_after_30_days_warns_its_app_then_fails_like_a_revoked_one() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let generated_at = app.clock.now();
    let secret = app
        .browser
        .generate_secret_with(&app_id, &[("expires_after", "30")])
        .await;
    let end = generated_at + TimeDelta::days(30);

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&page, &secret);
    let iso = end
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        row.contains(&format!("<td class=\"expires\"><time datetime=\"{iso}\"")),
        "{row}"
    );
    let fresh = app.token_basic(&client_id, &secret).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(header(&fresh, "sunset"), Some(http_date(end)));
    assert_eq!(
        header(&fresh, "deprecation"),
        None,
        "30 days is outside the warning period"
    );
    assert_eq!(header(&fresh, "link"), None);

    app.clock.advance(TimeDelta::days(17));
    let warned = app.token_basic(&client_id, &secret).await;
    assert_eq!(warned.status(), StatusCode::OK);
    let warned_from = (end - TimeDelta::days(14)).and_utc().timestamp();
    assert_eq!(
        header(&warned, "deprecation"),
        Some(format!("@{warned_from}"))
    );
    assert_eq!(
        header(&warned, "link"),
        Some(format!(
            "<{}/apps/{app_id}>; rel=\"deprecation\"",
            app.address
        ))
    );
    assert_eq!(header(&warned, "sunset"), Some(http_date(end)));

    app.clock
        .advance(TimeDelta::days(13) + TimeDelta::seconds(1));
    let expired = app.token_basic(&client_id, &secret).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = expired.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page, &secret).contains(">Expired</span>"));

    let admin = app.admin_browser().await;
    let expired_only = admin.get_html("/admin?status=expired").await;
    assert!(
        expired_only.contains(&client_id),
        "the expired filter lists it"
    );
    let revoked_only = admin.get_html("/admin?status=revoked").await;
    assert!(
        !revoked_only.contains(&client_id),
        "expired is not revoked by hand"
    );
    let csv = admin
        .get("/admin/export.csv?status=expired")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(",Expired,"), "{csv}");
}

#[tokio::test]
async fn a_secret_without_an_end_gets_neither_header() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let response = app.token_basic(&client_id, &secret).await;

    assert_eq!(response.status(), StatusCode::OK);
    for name in ["sunset", "deprecation", "link"] {
        assert_eq!(header(&response, name), None, "{name}");
    }
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page, &secret).contains("<td class=\"expires\">Never</td>"));
}

#[tokio::test]
async fn a_scheduled_revocation_deprecates_the_old_secret_at_once_and_sunsets_it_then() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    let now = app.clock.now();

    let new = app
        .browser
        .generate_secret_with(&app_id, &[("old_secret", "7d")])
        .await;

    let response = app.token_basic(&client_id, &old).await;
    assert_eq!(response.status(), StatusCode::OK);
    let end = now + TimeDelta::days(7);
    assert_eq!(header(&response, "sunset"), Some(http_date(end)));
    let since = (end - TimeDelta::days(14)).and_utc().timestamp();
    assert_eq!(header(&response, "deprecation"), Some(format!("@{since}")));
    assert!(header(&response, "link")
        .unwrap()
        .ends_with("; rel=\"deprecation\""));
    let new_response = app.token_basic(&client_id, &new).await;
    assert_eq!(
        header(&new_response, "sunset"),
        None,
        "the new secret has no end"
    );
}

#[tokio::test]
async fn the_policy_limits_expires_after_and_its_changes_are_in_the_audit_log() {
    let app = spawn_app().await;
    let admin = app.admin_browser().await;
    assert!(admin
        .get_html("/admin")
        .await
        .contains("href=\"/admin/policy\""));
    let policy_page = admin.get_html("/admin/policy").await;
    assert!(policy_page.contains("Maximum secret lifetime (days)"));
    assert!(policy_page.contains("Warn owners this many days before expiry"));
    assert!(policy_page.contains(">Save policy</button>"));

    let typo = save_policy(&admin, "ninety", "7").await;
    assert_eq!(typo.status(), StatusCode::BAD_REQUEST);
    assert!(
        typo.text().await.unwrap().contains("value=\"ninety\""),
        "the form keeps what was typed"
    );
    let saved = save_policy(&admin, "90", "7").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let policy_page = admin.get_html("/admin/policy").await;
    assert!(policy_page.contains("value=\"90\""));
    assert!(policy_page.contains("maximum lifetime 90 days, warn 7 days before expiry"));
    assert!(policy_page.contains("admin@example.com"));

    let (app_id, client_id) = app_with_owner(&app).await;
    let confirm = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    assert!(confirm.contains("value=\"30\""));
    assert!(confirm.contains("id=\"expires-after-90\" name=\"expires_after\" value=\"90\" checked"));
    assert!(!confirm.contains("value=\"never\""));
    assert!(!confirm.contains("value=\"180\""));
    for too_long in ["365", "never"] {
        let refused = generate_with(&app.browser, &app_id, &[("expires_after", too_long)]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{too_long}");
        assert!(refused.text().await.unwrap().contains("at most 90 days"));
    }
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(!page.contains("kts_"), "nothing was generated");

    // A form that does not say takes the longest allowed.
    let now = app.clock.now();
    let secret = app.browser.generate_secret(&app_id).await;
    let response = app.token_basic(&client_id, &secret).await;
    assert_eq!(
        header(&response, "sunset"),
        Some(http_date(now + TimeDelta::days(90)))
    );
}

#[tokio::test]
async fn the_stale_view_lists_secrets_that_stop_within_the_warning_period() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let soon = app
        .browser
        .generate_secret_with(&app_id, &[("expires_after", "30"), ("label", "soon")])
        .await;
    let admin = app.admin_browser().await;
    let hint = format!("••••{}", &soon[soon.len() - 4..]);
    let expiring_section = |html: &str| {
        let start = html.find("id=\"expiring-heading\"").unwrap();
        let end = html.find("id=\"half-done-heading\"").unwrap();
        html[start..end].to_owned()
    };
    let before = expiring_section(&admin.get_html("/admin/stale").await);
    assert!(before.contains("stop within 14 days"));
    assert!(!before.contains(&hint), "{before}");

    app.clock.advance(TimeDelta::days(20));

    let after = expiring_section(&admin.get_html("/admin/stale").await);
    assert!(after.contains(&hint), "{after}");
    assert!(after.contains("in 10 days"), "{after}");
}
