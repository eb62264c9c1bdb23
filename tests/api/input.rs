//! Hostile input: oversized bodies and fields, a `next` or an authorization request that would
//! send the user elsewhere, absurd page numbers, and a token claiming a longer life than
//! configured.

use crate::helpers::{
    app_with_owner, csrf_token, form_encode, location, spawn_app, spawn_app_with,
    start_server_with_clock, test_settings, PASSWORD,
};
use reqwest::{Client, StatusCode};

#[tokio::test]
async fn oversized_bodies_and_fields_get_clear_errors() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = csrf_token(&app.browser.get_html("/apps/new").await);

    let huge = "x".repeat(100_000);
    let body = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", &huge),
                ("redirect_uris", ""),
            ],
        )
        .await;
    let long_name = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", &"n".repeat(101)),
                ("redirect_uris", ""),
            ],
        )
        .await;
    let long_uri = format!("https://a.example/{}", "p".repeat(2000));
    let uri = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", "Ok"),
                ("redirect_uris", &long_uri),
            ],
        )
        .await;
    let email = app
        .new_browser()
        .sign_up(&format!("{}@example.com", "e".repeat(250)), PASSWORD)
        .await;

    assert_eq!(body.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body
        .text()
        .await
        .unwrap()
        .contains("The form is too large."));
    assert_eq!(long_name.status(), StatusCode::BAD_REQUEST);
    assert!(long_name
        .text()
        .await
        .unwrap()
        .contains("Name must be at most 100 characters."));
    assert_eq!(uri.status(), StatusCode::BAD_REQUEST);
    assert!(uri.text().await.unwrap().contains("too long"));
    assert_eq!(email.status(), StatusCode::BAD_REQUEST);
    assert!(email
        .text()
        .await
        .unwrap()
        .contains("Email must be at most 254 characters."));
}

#[tokio::test]
async fn next_after_log_in_never_leaves_keyturn() {
    let app = spawn_app_with(|_| {}).await;
    let email = app.browser.signed_up().await;
    let attempts = [
        "/\t/evil.example",
        "/%09/evil.example",
        "/%0a/evil.example",
        "/ /evil.example",
        "/%20/evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "//evil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        "https://evil.example/",
        "/\u{85}/evil.example",
    ];
    for next in attempts {
        let browser = app.new_browser();
        let token = csrf_token(&browser.get_html("/login").await);
        let answer = browser
            .post(
                "/login",
                &[
                    ("csrf_token", token.as_str()),
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&answer), "/apps", "next={next:?}");
    }
    let browser = app.new_browser();
    let token = csrf_token(&browser.get_html("/login").await);
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", email.as_str()),
        ("password", PASSWORD),
        ("next", "/authorized-apps?x=1"),
    ];
    assert_eq!(
        location(&browser.post("/login", &fields).await),
        "/authorized-apps?x=1"
    );
}

#[tokio::test]
async fn the_authorization_endpoint_sends_errors_to_the_client_only_for_a_signed_in_user() {
    let app = spawn_app_with(|_| {}).await;
    let (_, client_id) = app_with_owner(&app).await;
    let bad = format!(
        "/oauth/authorize?response_type=token&client_id={client_id}&redirect_uri={}",
        form_encode("https://client.example/callback")
    );

    let stranger = app.new_browser().get(&bad).await;
    let owner = app.browser.get(&bad).await;

    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert!(stranger.headers().get("location").is_none());
    assert!(stranger
        .text()
        .await
        .unwrap()
        .contains("Only response_type=code is supported."));
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    assert!(location(&owner)
        .starts_with("https://client.example/callback?error=unsupported_response_type"));
}

#[tokio::test]
async fn a_huge_admin_page_number_is_a_bad_request() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_browser().await;
    for page in ["9223372036854775807", "184467440737095516", "1000001"] {
        let answer = admin.get(&format!("/admin?page={page}")).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "page={page}");
    }
    assert_eq!(
        admin.get("/admin?page=1000000").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_token_claiming_a_longer_life_than_configured_is_refused() {
    let app = spawn_app_with(|s| s.access_token_ttl_seconds = 3600).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token = app.access_token(&client_id, &secret).await;
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);

    // The same database and key, with a shorter configured lifetime.
    let mut settings = test_settings(&app.database_url);
    settings.access_token_ttl_seconds = 600;
    let (shorter, _) = start_server_with_clock(settings, app.clock.clone()).await;
    let me = Client::new()
        .get(format!("{shorter}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}
