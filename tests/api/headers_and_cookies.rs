//! What responses carry: the security headers on every response, `Cache-Control: no-store` on
//! a signed-in user's pages, HSTS and a `__Host-` session cookie over https, the session
//! cookie's attributes on plain http, and a new cookie only when the session changed.

use crate::helpers::{app_with_owner, serve_over_https, spawn_app, spawn_app_with};
use chrono::TimeDelta;
use reqwest::StatusCode;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;

    for path in ["/login", "/no/such/page", "/static/app.css"] {
        let response = app.browser.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn pages_of_a_signed_in_user_are_never_cached() {
    let app = spawn_app_with(|_| {}).await;
    let (app_id, _) = app_with_owner(&app).await;
    for path in [
        "/apps",
        &format!("/apps/{app_id}"),
        "/account/sessions",
        "/authorized-apps",
    ] {
        let page = app.browser.get(path).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_hsts_is_sent() {
    let https = spawn_app_with(|s| serve_over_https(s, "https://keyturn.example")).await;
    let http = spawn_app().await;

    let secure = https.browser.get("/login").await;
    let plain = http.browser.get("/login").await;

    let cookie = secure.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-keyturn="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
    assert!(secure.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    assert!(!plain.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;

    let response = app.browser.get("/login").await;

    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("keyturn="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback cannot use Secure cookies"
    );
}

#[tokio::test]
async fn pages_send_a_new_session_cookie_only_when_the_session_changed() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Quiet Cookies").await;
    let sets_cookie = |response: &reqwest::Response| response.headers().contains_key("set-cookie");

    // The redirect after creating the app carried a flash; showing it removes it once.
    let with_flash = app.browser.get(&format!("/apps/{app_id}")).await;
    let again = app.browser.get(&format!("/apps/{app_id}")).await;
    let list = app.browser.get("/apps").await;
    app.clock.advance(TimeDelta::seconds(61));
    let a_minute_later = app.browser.get("/apps").await;

    assert!(with_flash.status().is_success() && sets_cookie(&with_flash));
    assert!(
        again.status().is_success() && !sets_cookie(&again),
        "nothing changed"
    );
    assert!(list.status().is_success() && !sets_cookie(&list));
    assert!(
        a_minute_later.status().is_success() && !sets_cookie(&a_minute_later),
        "the idle clock is kept on the server, not in the cookie"
    );
}
