//! Sessions, kept on the server: a new one at log-in, and how they end (log-out, the Sessions
//! page, a password change, `create-admin`, 30 idle minutes, 12 hours), after which a copied
//! cookie no longer works; and over https, no start without a session key.

use crate::forwarded::behind_proxy;
use crate::helpers::{csrf_token, location, spawn_app, spawn_app_with, TestApp, PASSWORD};
use chrono::TimeDelta;
use reqwest::{Response, StatusCode};
use std::time::Instant;

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

/// The session cookie a response set, as a `Cookie` header value.
fn session_cookie(response: &Response) -> String {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn get_with_cookie(app: &TestApp, cookie: &str, path: &str) -> Response {
    app.machine()
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cookie_replayed_after_log_out_gets_the_log_in_page() {
    let app = spawn_app_with(|_| {}).await;
    let email = app.browser.signed_up().await;
    let logged_in = app.browser.log_in(&email, PASSWORD).await;
    let copied = session_cookie(&logged_in);
    assert_eq!(
        get_with_cookie(&app, &copied, "/apps").await.status(),
        StatusCode::OK
    );

    let page = app.browser.get_html("/apps").await;
    let out = app
        .browser
        .post("/logout", &[("csrf_token", &csrf_token(&page))])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let replayed = get_with_cookie(&app, &copied, "/apps").await;

    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert!(location(&replayed).starts_with("/login"));
}

#[tokio::test]
async fn the_sessions_page_lists_every_session_and_ends_them() {
    let app = spawn_app_with(behind_proxy).await;
    let email = app.browser.signed_up().await;
    let laptop = app.new_browser();
    let token = csrf_token(&laptop.get_html("/login").await);
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ];
    let signed_in = laptop
        .client
        .post(format!("{}/login", app.address))
        .header("x-forwarded-for", "203.0.113.77")
        .header("user-agent", "Laptop Browser/1.0")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let phone = app.new_browser();
    assert_eq!(
        phone.log_in(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let page = app.browser.get_html("/account/sessions").await;
    assert!(
        page.contains("href=\"/account/sessions\""),
        "linked from the account menu"
    );
    assert!(page.contains("Laptop Browser/1.0"));
    assert!(page.contains("203.0.113.77"));
    assert_eq!(page.matches(">End session</button>").count(), 3);
    assert!(page.contains("(this session)"));
    // The End session form in the laptop's row.
    let after = &page[page.find("Laptop Browser/1.0").unwrap()..];
    let start = after.find("action=\"").unwrap() + "action=\"".len();
    let laptop_action = after[start..].split('"').next().unwrap().to_owned();

    let ended = app
        .browser
        .post(&laptop_action, &[("csrf_token", &csrf_token(&page))])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let laptop_now = laptop.get("/apps").await;
    assert_eq!(
        laptop_now.status(),
        StatusCode::SEE_OTHER,
        "ended on its next request"
    );
    assert!(location(&laptop_now).starts_with("/login"));
    assert_eq!(phone.get("/apps").await.status(), StatusCode::OK);

    let page = app.browser.get_html("/account/sessions").await;
    let all_others = app
        .browser
        .post(
            "/account/sessions/end-others",
            &[("csrf_token", &csrf_token(&page))],
        )
        .await;
    assert_eq!(all_others.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/apps").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);
    let page = app.browser.get_html("/account/sessions").await;
    assert_eq!(page.matches(">End session</button>").count(), 1);
}

#[tokio::test]
async fn create_admin_ends_every_session_of_the_account() {
    let app = spawn_app_with(|_| {}).await;
    app.browser.sign_up("admin@example.com", PASSWORD).await;
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);

    // The code behind `keyturn create-admin`, on the account that is signed in.
    let _admin = app.admin_browser().await;

    assert_eq!(
        app.browser.get("/apps").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn over_https_keyturn_refuses_to_start_without_a_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("keyturn.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .env_remove("KEYTURN_SESSION_KEY")
        .env("DATABASE_URL", &database)
        .env("KEYTURN_BIND", "127.0.0.1:0")
        .env("KEYTURN_PUBLIC_URL", "https://keyturn.example")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts anyway would never exit: give it 30 seconds.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("keyturn started without KEYTURN_SESSION_KEY behind https");
    }
    let started = child.wait_with_output().unwrap();

    assert!(!started.status.success());
    let said = String::from_utf8_lossy(&started.stderr);
    assert!(said.contains("KEYTURN_SESSION_KEY must be set"), "{said}");
    assert!(
        said.contains("openssl rand"),
        "says how to make one: {said}"
    );
}
