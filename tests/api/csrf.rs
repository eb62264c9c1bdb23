//! Cross-site request forgery: a state-changing form needs the session's CSRF token and a
//! same-site origin, and a GET changes nothing.

use crate::helpers::{csrf_token, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    let response = app
        .browser
        .post("/apps", &[("name", "Forged"), ("redirect_uris", "")])
        .await;
    let wrong_token = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", "guessed"),
                ("name", "Forged"),
                ("redirect_uris", ""),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    assert!(!app.browser.get_html("/apps").await.contains("Forged"));
}

#[tokio::test]
async fn a_forged_post_about_someone_elses_secret_is_refused_before_anything_is_looked_up() {
    let app = spawn_app().await;
    let owner = app.new_browser();
    owner.signed_up().await;
    let app_id = owner.create_app("Theirs").await;
    owner.generate_secret(&app_id).await;
    app.browser.signed_up().await;

    for path in [
        format!("/apps/{app_id}/secrets"),
        format!("/apps/{app_id}/secrets/1/revoke"),
        format!("/apps/{app_id}/secrets/1/label"),
        format!("/apps/{app_id}/secrets/1/schedule"),
    ] {
        let response = app
            .browser
            .post(&path, &[("csrf_token", "guessed"), ("action", "now")])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let page = owner.get_html(&format!("/apps/{app_id}")).await;
    assert!(!page.contains("Revoked"), "the secret is still active");
}

#[tokio::test]
async fn a_post_from_a_foreign_origin_is_refused_even_with_the_token() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = csrf_token(&app.browser.get_html("/apps/new").await);

    let response = app
        .browser
        .client
        .post(format!("{}/apps", app.address))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Forged"),
            ("redirect_uris", ""),
        ])
        .send()
        .await
        .unwrap();
    let same_origin = app
        .browser
        .client
        .post(format!("{}/apps", app.address))
        .header("origin", &app.address)
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Legit"),
            ("redirect_uris", ""),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
    let apps = app.browser.get_html("/apps").await;
    assert!(!apps.contains("Forged"));
    assert!(apps.contains("Legit"));
}

#[tokio::test]
async fn a_null_origin_relies_on_the_token_and_a_cross_site_fetch_is_refused() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = csrf_token(&app.browser.get_html("/apps/new").await);
    let post = |headers: &'static [(&'static str, &'static str)], name: &'static str| {
        let mut request = app.browser.client.post(format!("{}/apps", app.address));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request
            .form(&[
                ("csrf_token", token.as_str()),
                ("name", name),
                ("redirect_uris", ""),
            ])
            .send()
    };

    // Chrome sends `Origin: null` for same-site form posts under Referrer-Policy: no-referrer.
    let chrome_like = post(
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        "Mine",
    )
    .await
    .unwrap();
    let cross_site = post(
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        "Forged",
    )
    .await
    .unwrap();

    assert_eq!(chrome_like.status(), StatusCode::SEE_OTHER);
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let apps = app.browser.get_html("/apps").await;
    assert!(apps.contains("Mine"));
    assert!(!apps.contains("Forged"));
}

#[tokio::test]
async fn logging_out_and_revoking_also_need_the_token() {
    let app = spawn_app().await;
    let app_id = {
        app.browser.signed_up().await;
        app.browser.create_app("Shop").await
    };
    let secret = app.browser.generate_secret(&app_id).await;
    let revoke_path = app.browser.revoke_path(&app_id, &secret).await;

    let logout = app.browser.post("/logout", &[]).await;
    let revoke = app.browser.post(&revoke_path, &[]).await;

    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        page.contains(">Active</span>"),
        "still logged in and still active"
    );
}

#[tokio::test]
async fn state_never_changes_on_get() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;

    for _ in 0..3 {
        app.browser
            .get(&format!("/apps/{app_id}/secrets/new"))
            .await;
        app.browser.get("/logout").await;
    }

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        page.contains("No secrets yet."),
        "no secret was generated and we are still logged in"
    );
}
