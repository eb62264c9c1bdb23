//! Revoke when quiet: the old secret goes once the new one is in use and the old one has
//! then been unused for 24 hours; at the latest after 7 days, with the owner told.

use super::{create_secret, created_secret, developer_with_token};
use crate::helpers::{element_text, spawn_app, TestApp};
use crate::notifications::{eventually, MailServer};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

/// A developer with an API token, an app whose first secret is `old`, and a second secret
/// created through the API with the old one to be revoked when quiet.
struct Rotation {
    app_id: String,
    client_id: String,
    token: String,
    old: String,
    /// The API's answer: the new secret's fields and `secret`.
    created: serde_json::Value,
}

async fn rotation_when_quiet(app: &TestApp) -> Rotation {
    let (app_id, client_id, token) = developer_with_token(app).await;
    let old = app.browser.generate_secret(&app_id).await;
    let created = created_secret(
        app,
        &client_id,
        &token,
        json!({"revoke_old_in": "when_quiet"}),
    )
    .await;
    Rotation {
        app_id,
        client_id,
        token,
        old,
        created,
    }
}

async fn banner(app: &TestApp, app_id: &str) -> String {
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    element_text(&page, "rotation-status")
}

/// Waits for the background round to mark the secret revoked on the app page.
async fn revoked_on_page(app: &TestApp, app_id: &str, secret: &str) -> String {
    for _ in 0..100 {
        let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
        if crate::helpers::secret_row(&page, secret).contains("Revoked") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the old secret was not marked revoked");
}

#[tokio::test]
async fn the_old_secret_goes_a_quiet_day_after_the_new_one_is_used() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );

    let created = create_secret(
        &app,
        &client_id,
        &token,
        json!({"revoke_old_in": "when_quiet"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let new: serde_json::Value = created.json().await.unwrap();
    let new = new["secret"].as_str().unwrap().to_owned();

    let waiting = banner(&app, &app_id).await;
    assert!(waiting.contains("waiting for the new secret"), "{waiting}");
    assert!(waiting.contains("in 7 days"), "the deadline: {waiting}");
    // Two days without the new secret: nothing happens to the old one.
    app.clock.advance(TimeDelta::days(2));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );

    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );
    let quiet = banner(&app, &app_id).await;
    assert!(quiet.contains("is in use; waiting for"), "{quiet}");
    assert!(quiet.contains("unused for 24 hours"), "{quiet}");
    // A straggler uses the old secret 23 hours later: the quiet day starts again.
    app.clock.advance(TimeDelta::hours(23));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );
    app.clock.advance(TimeDelta::hours(23));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK,
        "only 23 quiet hours"
    );

    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));

    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED,
        "refused from the moment it is due"
    );
    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );
    let page = revoked_on_page(&app, &app_id, &old).await;
    assert!(
        page.contains("when quiet: unused for 24 hours since"),
        "{page}"
    );
    assert!(page.contains("by Keyturn"));
    assert!(
        !page.contains("id=\"callers\""),
        "one live secret: no Callers table"
    );
}

#[tokio::test]
async fn the_confirmation_page_offers_revoke_when_quiet() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    let old = app.browser.generate_secret(&app_id).await;
    let form = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    assert!(form.contains("value=\"when_quiet\""), "{form}");
    assert!(form.contains("when quiet"));

    let new = app
        .browser
        .generate_secret_with(&app_id, &[("old_secret", "when_quiet")])
        .await;

    assert!(banner(&app, &app_id).await.contains("Revoking"));
    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );
    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    revoked_on_page(&app, &app_id, &old).await;
}

#[tokio::test]
async fn cancelling_the_schedule_stops_the_quiet_revocation() {
    let app = spawn_app().await;
    let Rotation {
        app_id,
        client_id,
        old,
        created,
        ..
    } = rotation_when_quiet(&app).await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = crate::helpers::secret_row(&page, &old);
    let detail = row
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let detail_page = app.browser.get_html(&detail).await;
    assert!(
        detail_page.contains("This secret is revoked when quiet"),
        "{detail_page}"
    );
    let schedule = format!("{detail}/schedule");
    let mut cancelled = app
        .browser
        .submit(&detail, &schedule, &[("action", "cancel")])
        .await;
    if app.browser.confirmed_access(&cancelled).await {
        cancelled = app
            .browser
            .submit(&detail, &schedule, &[("action", "cancel")])
            .await;
    }
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);

    let new = created["secret"].as_str().unwrap();
    assert_eq!(
        app.token_basic(&client_id, new).await.status(),
        StatusCode::OK
    );
    app.clock.advance(TimeDelta::days(8));

    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_old_secret_that_never_goes_quiet_ends_at_the_deadline_and_the_owner_is_told() {
    let mail = MailServer::start().await;
    let app = crate::helpers::spawn_mailing_app(&mail, |_| {}).await;
    let Rotation {
        client_id,
        old,
        created,
        ..
    } = rotation_when_quiet(&app).await;
    let new = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );
    // A machine nobody moved keeps using the old secret every 12 hours.
    for _ in 0..13 {
        app.clock.advance(TimeDelta::hours(12));
        assert_eq!(
            app.token_basic(&client_id, &old).await.status(),
            StatusCode::OK
        );
    }
    eventually("the reminder a day before the deadline", || {
        mail.inbox
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("is revoked in 24 hours and still in use"))
    })
    .await;

    app.clock
        .advance(TimeDelta::hours(12) + TimeDelta::seconds(1));

    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    eventually("the deadline mail", || {
        mail.inbox.lock().unwrap().iter().any(|m| {
            m.contains("revoked at its 7-day deadline") && m.contains("still in use after 7 days")
        })
    })
    .await;
}

#[tokio::test]
async fn revoking_the_new_secret_stops_the_old_one_waiting_for_it() {
    let app = spawn_app().await;
    let Rotation {
        client_id,
        token,
        old,
        created,
        ..
    } = rotation_when_quiet(&app).await;
    let new = created["secret"].as_str().unwrap();
    assert_eq!(
        app.token_basic(&client_id, new).await.status(),
        StatusCode::OK
    );
    // The new secret leaked and is revoked: the old one must not be revoked for its sake.
    let revoked = super::call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/apps/{client_id}/secrets/{}", created["id"]),
        &token,
        None,
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    app.clock.advance(TimeDelta::hours(25));

    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );
}
