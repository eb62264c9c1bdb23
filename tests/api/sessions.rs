//! Sessions: a new one at log-in, and how they end: after 30 idle minutes or 12 hours, and
//! when the password changes.

use crate::helpers::{csrf_token, location, spawn_app, spawn_app_with, PASSWORD};
use chrono::TimeDelta;
use reqwest::StatusCode;

#[tokio::test]
async fn logging_in_issues_a_new_session_cookie() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let browser = app.new_browser();
    let before = browser.get("/login").await;
    let anonymous = before.headers()["set-cookie"].to_str().unwrap().to_owned();
    let token = csrf_token(&before.text().await.unwrap());

    let response = browser
        .post(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;

    let signed_in = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(anonymous.split(';').next(), signed_in.split(';').next());
    // The pre-login CSRF token is replaced too.
    let new_token = csrf_token(&browser.get_html("/apps").await);
    assert_ne!(token, new_token);
}

#[tokio::test]
async fn an_ended_session_is_sent_to_log_in_before_learning_whether_an_app_exists() {
    let app = spawn_app_with(|s| s.session_idle_seconds = 30 * 60).await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Mine").await;
    assert_eq!(
        app.browser.get("/apps/999999").await.status(),
        StatusCode::NOT_FOUND
    );

    app.clock.advance(TimeDelta::minutes(31));
    let missing = app.browser.get("/apps/999999").await;
    let mine = app.browser.get(&format!("/apps/{app_id}")).await;

    assert_eq!(missing.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&missing).starts_with("/login"),
        "{}",
        location(&missing)
    );
    assert_eq!(mine.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&mine).contains(&app_id),
        "back to the app after logging in"
    );
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes_and_after_12_hours() {
    let app = spawn_app_with(|s| {
        s.session_idle_seconds = 30 * 60;
        s.session_max_age_seconds = 12 * 3600;
    })
    .await;
    app.browser.signed_up().await;
    let busy = app.new_browser();
    let email = format!("busy{}@example.com", crate::helpers::rand_suffix());
    busy.sign_up(&email, PASSWORD).await;

    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);
    app.clock.advance(TimeDelta::minutes(31));
    let idle = app.browser.get("/apps").await;
    assert_eq!(idle.status(), StatusCode::SEE_OTHER, "idle for 31 minutes");
    assert!(location(&idle).starts_with("/login"));

    // A busy session (a request every 20 minutes) still ends 12 hours after login.
    busy.log_in(&email, PASSWORD).await;
    // (Margins of a minute: real time passes too while the test runs.)
    for _ in 0..35 {
        app.clock.advance(TimeDelta::minutes(20));
        assert_eq!(busy.get("/apps").await.status(), StatusCode::OK);
    }
    app.clock.advance(TimeDelta::minutes(19));
    assert_eq!(
        busy.get("/apps").await.status(),
        StatusCode::OK,
        "11 h 59 min"
    );
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(
        busy.get("/apps").await.status(),
        StatusCode::SEE_OTHER,
        "past 12 hours"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_users_other_sessions() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let laptop = app.new_browser();
    laptop.log_in("ada@example.com", PASSWORD).await;

    let wrong = app
        .browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "nope"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser.get("/apps").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        laptop.get("/apps").await.status(),
        StatusCode::SEE_OTHER,
        "the other one ended"
    );
    let old = app.new_browser().log_in("ada@example.com", PASSWORD).await;
    let new = app
        .new_browser()
        .log_in("ada@example.com", "a brand new password")
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}
