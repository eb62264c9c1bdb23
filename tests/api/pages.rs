//! Pages for people and probes: error pages in the site's layout, labelled controls and no
//! inline code, and the liveness and readiness endpoints.

use crate::helpers::{csrf_token, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn error_pages_are_friendly_pages_in_the_sites_layout() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    app.browser.generate_secret(&app_id).await;
    app.browser.generate_secret(&app_id).await;
    let token = csrf_token(&app.browser.get_html("/apps").await);

    let not_found = app.browser.get("/no/such/page").await;
    let forbidden = app.browser.post("/apps", &[("name", "x")]).await;
    let conflict = app
        .browser
        .post(
            &format!("/apps/{app_id}/secrets"),
            &[("csrf_token", &token)],
        )
        .await;

    for (response, status, message) in [
        (not_found, StatusCode::NOT_FOUND, "Page not found."),
        (
            forbidden,
            StatusCode::FORBIDDEN,
            "This form has expired or came from another site.",
        ),
        (
            conflict,
            StatusCode::CONFLICT,
            "You can only have a maximum of 2 active secrets.",
        ),
    ] {
        assert_eq!(response.status(), status);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(
            page.contains(r#"<link rel="stylesheet" href="/static/app.css">"#),
            "{status}"
        );
        assert!(
            page.contains(">Log out</button>"),
            "{status}: the navigation is kept"
        );
        assert!(page.contains(message), "{status}");
    }
}

/// Every visible form control has a label, every table header a scope, every field error is
/// tied to its field, and no page carries inline script or style (the CSP forbids both).
#[tokio::test]
async fn pages_are_labelled_and_free_of_inline_code() {
    let app = spawn_app().await;
    let signup_errors = app
        .new_browser()
        .sign_up("not-an-email", "short")
        .await
        .text()
        .await
        .unwrap();
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    app.browser.generate_secret(&app_id).await;
    let new_app_errors = app
        .browser
        .submit(
            "/apps/new",
            "/apps",
            &[("name", ""), ("redirect_uris", "nope")],
        )
        .await
        .text()
        .await
        .unwrap();
    let pages = [
        app.new_browser().get_html("/login").await,
        signup_errors.clone(),
        new_app_errors.clone(),
        app.browser.get_html("/apps").await,
        app.browser.get_html(&format!("/apps/{app_id}")).await,
        app.browser
            .get_html(&format!("/apps/{app_id}/secrets/new"))
            .await,
        app.browser.get_html("/account/password").await,
    ];

    assert!(signup_errors.contains(r#"aria-invalid="true" aria-describedby="email-error""#));
    assert!(new_app_errors.contains(r#"aria-describedby="name-error""#));
    assert!(new_app_errors.contains(r#"aria-describedby="redirect_uris-error""#));
    for page in &pages {
        assert!(!page.contains(" style="), "inline style");
        for script in page.split("<script").skip(1) {
            assert!(script.trim_start().starts_with("src="), "inline script");
        }
        for th in page
            .split("<th")
            .skip(1)
            .filter(|t| t.starts_with(' ') || t.starts_with('>'))
        {
            assert!(
                th.starts_with(" scope="),
                "a table header without scope: <th{}",
                &th[..20.min(th.len())]
            );
        }
        for input in page
            .split("<input")
            .skip(1)
            .chain(page.split("<textarea").skip(1))
            .chain(page.split("<select").skip(1))
        {
            let tag = &input[..input.find('>').unwrap()];
            if tag.contains(r#"type="hidden""#) {
                continue;
            }
            let id = tag
                .split(r#"id=""#)
                .nth(1)
                .map(|rest| &rest[..rest.find('"').unwrap()]);
            let id = id.unwrap_or_else(|| panic!("a control without an id: {tag}"));
            assert!(
                page.contains(&format!(r#"<label for="{id}""#)),
                "no label for #{id}"
            );
        }
    }
}

#[tokio::test]
async fn liveness_and_readiness_endpoints_answer() {
    let app = spawn_app().await;

    let live = app
        .machine()
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    let ready = app
        .machine()
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(
        live.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}
