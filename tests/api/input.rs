//! Oversized input: request bodies and form fields beyond their limits get clear errors.

use crate::helpers::{csrf_token, spawn_app, PASSWORD};
use reqwest::StatusCode;

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
