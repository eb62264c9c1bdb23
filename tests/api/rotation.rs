//! Rotating a secret: scheduling the old secret's revocation, labels, where and how often a
//! secret was used, and following a rotation until the old secret goes quiet.

use crate::helpers::{
    app_with_owner, csrf_token, element_text, location, secret_row, spawn_app, TestApp,
};
use chrono::TimeDelta;
use reqwest::StatusCode;

fn hint(secret: &str) -> String {
    format!("••••{}", &secret[secret.len() - 4..])
}

/// An app with an old secret in use and a fresh one generated with `extra` form fields.
async fn rotated(app: &TestApp, extra: &[(&str, &str)]) -> (String, String, String, String) {
    let (app_id, client_id) = app_with_owner(app).await;
    let old = app.browser.generate_secret(&app_id).await;
    app.token_basic(&client_id, &old).await;
    let new = app.browser.generate_secret_with(&app_id, extra).await;
    (app_id, client_id, old, new)
}

#[tokio::test]
async fn the_generate_confirmation_offers_to_schedule_the_old_secrets_revocation() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let first_time = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    app.browser.generate_secret(&app_id).await;

    let second_time = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;

    assert!(
        !first_time.contains("Revoke the old secret"),
        "nothing to schedule yet"
    );
    assert!(second_time.contains("<legend>Revoke the old secret</legend>"));
    for choice in [
        "manually (default)",
        "in 1 hour",
        "in 24 hours",
        "in 7 days",
    ] {
        assert!(second_time.contains(choice), "{choice}");
    }
    assert!(second_time.contains(r#"value="manual" checked"#));
}

#[tokio::test]
async fn a_scheduled_secret_stops_authenticating_at_that_moment_exactly() {
    let app = spawn_app().await;
    let (app_id, client_id, old, new) = rotated(&app, &[("old_secret", "1h")]).await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&page, &old);
    assert!(row.contains(">Expires</span> <time"), "{row}");
    assert!(row.contains(">in 1 hour</time>"), "{row}");
    assert!(secret_row(&page, &new).contains(">Active</span>"));

    app.clock.advance(TimeDelta::seconds(3595));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );
    app.clock.advance(TimeDelta::seconds(5));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );

    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&after, &old).contains(">Expired</span>"));
    assert!(!secret_row(&after, &old).contains(">Revoke</button>"));
    // The expired secret no longer counts towards the limit of two.
    let third = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &third).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_schedule_of_24_hours_or_7_days_is_honoured_too() {
    let app = spawn_app().await;
    let (_, client_id, old, _) = rotated(&app, &[("old_secret", "7d")]).await;

    app.clock.advance(TimeDelta::days(6));
    let day_six = app.token_basic(&client_id, &old).await.status();
    app.clock.advance(TimeDelta::days(1));
    let day_seven = app.token_basic(&client_id, &old).await.status();

    assert_eq!(day_six, StatusCode::OK);
    assert_eq!(day_seven, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_schedule_can_be_cancelled_or_brought_forward_to_now() {
    let app = spawn_app().await;
    let (app_id, client_id, old, new) = rotated(&app, &[("old_secret", "24h")]).await;
    let detail = |secret: &str| {
        let page_path = format!("/apps/{app_id}");
        let secret = secret.to_owned();
        let browser = &app.browser;
        async move {
            let page = browser.get_html(&page_path).await;
            let row = secret_row(&page, &secret);
            let start = row.find("href=\"/apps/").unwrap() + 6;
            row[start..start + row[start..].find('"').unwrap()].to_owned()
        }
    };

    let old_detail = detail(&old).await;
    let page = app.browser.get_html(&old_detail).await;
    assert!(page.contains(">Cancel schedule</button>") && page.contains(">Revoke now</button>"));
    let schedule = format!("{old_detail}/schedule");
    let cancel = app
        .browser
        .post(
            &schedule,
            &[("csrf_token", &csrf_token(&page)), ("action", "cancel")],
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::SEE_OTHER);
    app.clock.advance(TimeDelta::hours(25));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK,
        "cancelled: still active"
    );
    let flash = app.browser.get_html(&location(&cancel)).await;
    assert!(flash.contains("was cancelled"));

    // Schedule again through a new rotation, then bring it forward.
    app.browser.revoke_secret(&app_id, &new).await;
    let newer = app
        .browser
        .generate_secret_with(&app_id, &[("old_secret", "7d")])
        .await;
    let page = app.browser.get_html(&old_detail).await;
    let now = app
        .browser
        .post(
            &schedule,
            &[("csrf_token", &csrf_token(&page)), ("action", "now")],
        )
        .await;
    assert_eq!(now.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.token_basic(&client_id, &newer).await.status(),
        StatusCode::OK
    );
    let bad = app
        .browser
        .post(
            &schedule,
            &[("csrf_token", &csrf_token(&page)), ("action", "later")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unknown_schedule_or_an_overlong_label_is_refused_and_nothing_is_generated() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    app.browser.generate_secret(&app_id).await;
    let page = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let token = csrf_token(&page);
    let action = format!("/apps/{app_id}/secrets");

    let bad_schedule = app
        .browser
        .post(&action, &[("csrf_token", &token), ("old_secret", "2h")])
        .await;
    let long = "x".repeat(41);
    let long_label = app
        .browser
        .post(&action, &[("csrf_token", &token), ("label", &long)])
        .await;

    assert_eq!(bad_schedule.status(), StatusCode::BAD_REQUEST);
    assert_eq!(long_label.status(), StatusCode::BAD_REQUEST);
    let form = long_label.text().await.unwrap();
    assert!(form.contains("A label must be at most 40 characters."));
    assert!(
        form.contains(&format!("value=\"{long}\"")),
        "the typed label is kept"
    );
    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert_eq!(after.matches(">Active</span>").count(), 1);
}

#[tokio::test]
async fn the_secret_page_shows_where_and_how_often_it_was_used() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let use_with = |agent: &'static str| {
        app.machine()
            .post(format!("{}/oauth/token", app.address))
            .header("user-agent", agent)
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };

    for _ in 0..3 {
        assert_eq!(
            use_with("billing-worker/1.0").await.unwrap().status(),
            StatusCode::OK
        );
    }
    app.clock.advance(TimeDelta::hours(25));
    use_with("billing-worker/2.0").await.unwrap();
    app.clock.advance(TimeDelta::days(7));
    use_with("billing-worker/2.0").await.unwrap();

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&page, &secret);
    let start = row.find("href=\"/apps/").unwrap() + 6;
    let detail_path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let detail = app.browser.get_html(&detail_path).await;

    assert_eq!(element_text(&detail, "last-used-ip"), "127.0.0.1");
    assert!(detail.contains("<code>billing-worker/2.0</code>"));
    assert!(detail.contains("Z\">"), "exact RFC 3339 time");
    assert_eq!(element_text(&detail, "uses-24h"), "1");
    assert_eq!(
        element_text(&detail, "uses-7d"),
        "1",
        "the first four uses were over a week ago"
    );

    // Counts within the windows: four uses in the last 7 days, two in the last 24 hours.
    app.clock.advance(TimeDelta::hours(2));
    use_with("billing-worker/2.0").await.unwrap();
    let detail = app.browser.get_html(&detail_path).await;
    assert_eq!(element_text(&detail, "uses-24h"), "2");
    assert_eq!(element_text(&detail, "uses-7d"), "2");
}

#[tokio::test]
async fn uses_within_a_minute_are_counted_without_writing_last_used_each_time() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    for _ in 0..5 {
        app.token_basic(&client_id, &secret).await;
    }

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&page, &secret);
    let start = row.find("href=\"/apps/").unwrap() + 6;
    let detail = app
        .browser
        .get_html(&row[start..start + row[start..].find('"').unwrap()])
        .await;
    assert_eq!(element_text(&detail, "uses-24h"), "5");
}

#[tokio::test]
async fn labels_are_set_when_generating_and_editable_later_and_the_creator_is_shown() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let secret = app
        .browser
        .generate_secret_with(&app_id, &[("label", "production")])
        .await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&page, &secret);
    assert!(
        row.contains("<span class=\"label\">production</span>"),
        "{row}"
    );
    assert!(row.contains(" by dev"), "created by: {row}");

    let start = row.find("href=\"/apps/").unwrap() + 6;
    let detail_path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let detail = app.browser.get_html(&detail_path).await;
    let response = app
        .browser
        .post(
            &format!("{detail_path}/label"),
            &[("csrf_token", &csrf_token(&detail)), ("label", "staging")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page, &secret).contains("<span class=\"label\">staging</span>"));
    assert!(
        page.contains("Labelled"),
        "the change is in the activity log"
    );
}

#[tokio::test]
async fn revoking_a_secret_used_in_the_last_day_asks_for_its_hint() {
    let app = spawn_app().await;
    let (app_id, client_id, old, new) = rotated(&app, &[]).await;
    let path = app.browser.revoke_path(&app_id, &old).await;

    let confirm = app.browser.get_html(&path).await;
    assert!(confirm.contains(&format!(
        "Type <code>{}</code> to confirm",
        &old[old.len() - 4..]
    )));
    assert!(confirm.contains("This secret is in use: it was last used"));
    let token = csrf_token(&confirm);
    let without = app.browser.post(&path, &[("csrf_token", &token)]).await;
    let wrong = app
        .browser
        .post(&path, &[("csrf_token", &token), ("confirm_hint", "zzzz")])
        .await;

    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    let reshown = wrong.text().await.unwrap();
    assert!(reshown.contains("This secret was last used just now. Type its last four characters"));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK,
        "nothing revoked"
    );

    let right = app
        .browser
        .post(
            &path,
            &[
                ("csrf_token", &token),
                ("confirm_hint", &old[old.len() - 4..]),
            ],
        )
        .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A secret not used for a day needs no typing.
    app.clock.advance(TimeDelta::hours(25));
    let quiet_path = app.browser.revoke_path(&app_id, &new).await;
    let quiet = app.browser.get_html(&quiet_path).await;
    assert!(!quiet.contains("to confirm</label>"));
    let response = app
        .browser
        .post(&quiet_path, &[("csrf_token", &csrf_token(&quiet))])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_app_page_tracks_a_rotation_until_the_old_secret_goes_quiet() {
    let app = spawn_app().await;
    let (app_id, _, old, _) = rotated(&app, &[]).await;

    let during = app.browser.get_html(&format!("/apps/{app_id}")).await;
    app.clock.advance(TimeDelta::minutes(5));
    let five_minutes = app.browser.get_html(&format!("/apps/{app_id}")).await;
    app.clock.advance(TimeDelta::hours(24));
    let a_day_later = app.browser.get_html(&format!("/apps/{app_id}")).await;

    assert!(during.contains("Rotation in progress: the older secret was last used just now."));
    assert!(five_minutes
        .contains("Rotation in progress: the older secret was last used 5 minutes ago."));
    let done = element_text(&a_day_later, "rotation-status");
    assert!(
        done.contains(&format!(
            "The older secret {} has not been used for a day",
            hint(&old)
        )),
        "{done}"
    );
    assert!(done.contains("safe to revoke it"));
}
