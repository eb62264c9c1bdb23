//! Apps in the developer portal: creating one, My apps, input checks, and what a developer sees
//! of another developer's app.

use crate::helpers::{element_text, location, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn pages_behind_login_send_a_logged_out_visitor_to_log_in() {
    let app = spawn_app().await;

    for path in [
        "/apps",
        "/apps/new",
        "/apps/1",
        "/apps/1/secrets/new",
        "/apps/abc",
        "/apps/abc/secrets/new",
        "/apps/1/secrets/abc",
    ] {
        let response = app.browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/login?next="), "{path}");
    }
}

#[tokio::test]
async fn a_new_app_gets_a_client_id_and_shows_in_my_apps() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    let app_id = app.browser.create_app("Acme Shop").await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains("<h1>Acme Shop</h1>"));
    let client_id = element_text(&page, "client-id");
    assert!(client_id.starts_with("ktc_"), "{client_id}");
    assert!(page.contains("https://client.example/callback"));
    let my_apps = app.browser.get_html("/apps").await;
    assert!(my_apps.contains("Acme Shop"));
    assert!(my_apps.contains(&client_id));
    assert!(my_apps.contains(">New app</a>"));
}

#[tokio::test]
async fn my_apps_lists_only_the_developers_own_apps_with_secret_counts_and_last_used() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let mine = app.browser.create_app("Mine").await;
    let secret = app.browser.generate_secret(&mine).await;
    let client_id = app.browser.client_id(&mine).await;
    let other = app.new_browser();
    other.signed_up().await;
    other.create_app("Theirs").await;

    let before_use = app.browser.get_html("/apps").await;
    app.token_basic(&client_id, &secret).await;
    let after_use = app.browser.get_html("/apps").await;

    assert!(before_use.contains("Mine"));
    assert!(!before_use.contains("Theirs"));
    let row = |page: &str| {
        let at = page.find("Mine").unwrap();
        page[at..at + page[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row(&before_use).contains("<td>1</td>"), "one active secret");
    assert!(row(&before_use).contains("Never"));
    assert!(
        row(&after_use).contains("<time datetime=\""),
        "{}",
        row(&after_use)
    );
}

#[tokio::test]
async fn invalid_app_input_reshows_the_form_with_the_typed_values_and_a_message_per_field() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    let response = app
        .browser
        .submit(
            "/apps/new",
            "/apps",
            &[
                ("name", "   "),
                ("redirect_uris", "https://ok.example/cb\nnot a uri"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="name-error""#));
    assert!(page.contains("Enter a name for the app."));
    assert!(page.contains(r#"id="redirect_uris-error""#));
    assert!(page.contains("not a uri: not an absolute URI"));
    assert!(
        page.contains("https://ok.example/cb\nnot a uri</textarea>"),
        "typed URIs are kept"
    );
    assert!(!app
        .browser
        .get_html("/apps")
        .await
        .contains("<td><a href=\"/apps/"));
}

#[tokio::test]
async fn new_app_form_has_the_labelled_fields() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    let page = app.browser.get_html("/apps/new").await;

    assert!(page.contains(r#"<label for="name">Name</label>"#));
    assert!(page.contains(r#"<label for="redirect_uris">Redirect URIs</label>"#));
    assert!(page.contains(">Create app</button>"));
}

#[tokio::test]
async fn another_developers_app_and_a_missing_one_get_the_same_404() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let theirs = app.browser.create_app("Theirs").await;
    let intruder = app.new_browser();
    intruder.signed_up().await;

    let mut bodies = Vec::new();
    for id in [
        theirs.as_str(),
        "999999",
        "abc",
        "-1",
        "1.5",
        "99999999999999999999",
    ] {
        for path in [
            format!("/apps/{id}"),
            format!("/apps/{id}/secrets/new"),
            format!("/apps/{id}/secrets/1/revoke"),
        ] {
            let response = intruder.get(&path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            bodies.push(response.text().await.unwrap());
        }
    }

    assert!(bodies[0].contains("Page not found."));
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "every 404 is the same page"
    );
}

#[tokio::test]
async fn unknown_routes_get_the_sites_404_page() {
    let app = spawn_app().await;

    let response = app.browser.get("/no/such/page").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found."));
}

#[tokio::test]
async fn the_app_page_shows_every_change_on_the_next_request_even_within_the_same_second() {
    // A stopped clock: only the database's change generation can tell the page's cached reads
    // that they are out of date.
    let app =
        crate::helpers::spawn_app_with_clock(|_| {}, keyturn::infra::clock::Clock::stopped()).await;
    let dev = app.new_browser();
    dev.signed_up().await;
    let shop = dev.create_app("Same Second").await;
    let path = format!("/apps/{shop}");
    let before = dev.get_html(&path).await;
    let secret = dev.generate_secret(&shop).await;
    let with_secret = dev.get_html(&path).await;
    dev.revoke_secret(&shop, &secret).await;
    let after_revoke = dev.get_html(&path).await;
    // A change that only adds activity: a client revokes one of its tokens.
    let live = dev.generate_secret(&shop).await;
    let client_id = dev.client_id(&shop).await;
    let token = app.access_token(&client_id, &live).await;
    let before_token_revoke = dev.get_html(&path).await;
    app.about_token("revoke", (&client_id, &live), &token).await;
    let after_token_revoke = dev.get_html(&path).await;
    // Someone else's view of the same app is refused, cached or not.
    let stranger = app.new_browser();
    stranger.signed_up().await;
    let refused = stranger.get(&path).await;

    let hint = &secret[secret.len() - 4..];
    assert!(!before.contains(hint));
    assert!(crate::helpers::secret_row(&with_secret, &secret).contains("Active"));
    assert!(crate::helpers::secret_row(&after_revoke, &secret).contains("Revoked"));
    assert!(!before_token_revoke.contains("Revoked an access token"));
    assert!(after_token_revoke.contains("Revoked an access token"));
    assert_eq!(refused.status(), reqwest::StatusCode::NOT_FOUND);
}
