use crate::helpers::{csrf_token, serve_over_https, spawn_app, spawn_app_with, PASSWORD};
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
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(|s| serve_over_https(s, "https://keyturn.example")).await;

    let response = app.browser.get("/login").await;

    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

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
