//! Passkeys, with a software authenticator that does what a browser and a device do:
//! registration, logging in without a password, and the second step of log-in.

use super::turn_on_authenticator;
use crate::helpers::{csrf_token, element_text, location, spawn_app, Browser, TestApp, PASSWORD};
use crate::teams::inner;
use reqwest::StatusCode;
use serde_json::Value;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

/// Where the browser is, as the authenticator sees it: a loopback server is `localhost`.
fn origin(app: &TestApp) -> url::Url {
    let port = url::Url::parse(&app.address).unwrap().port().unwrap();
    url::Url::parse(&format!("http://localhost:{port}")).unwrap()
}

/// Asks `options` for a ceremony, as the page's script does: the handle and the options.
async fn options(
    browser: &Browser,
    page: &str,
    options: &str,
    extra: &[(&str, &str)],
) -> (String, Value) {
    let page = browser.get_html(page).await;
    let mut fields = vec![("csrf_token", csrf_token(&page))];
    fields.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.post(options, &fields).await;
    assert_eq!(response.status(), StatusCode::OK, "{options}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    (
        body["handle"].as_str().unwrap().to_owned(),
        body["options"].clone(),
    )
}

/// Posts the authenticator's answer with the form's hidden fields.
async fn answer(
    browser: &Browser,
    page: &str,
    action: &str,
    (handle, credential): (&str, &str),
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![("handle", handle), ("credential", credential)];
    fields.extend_from_slice(extra);
    browser.submit(page, action, &fields).await
}

/// Adds a passkey through the Security page. The first second factor of an account turns
/// two-factor authentication on: the answer is then the recovery codes, shown once.
async fn add_passkey(app: &TestApp, browser: &Browser, key: &mut SoftPasskey, name: &str) {
    let (handle, challenge) = options(
        browser,
        "/account/security",
        "/account/security/passkeys/options",
        &[],
    )
    .await;
    let challenge: CreationChallengeResponse = serde_json::from_value(challenge).unwrap();
    let credential = key.do_registration(origin(app), challenge).unwrap();
    let credential = serde_json::to_string(&credential).unwrap();
    let added = answer(
        browser,
        "/account/security",
        "/account/security/passkeys",
        (&handle, &credential),
        &[("name", name)],
    )
    .await;
    let had_two_factor = browser
        .get_html("/account/security")
        .await
        .contains("recovery-codes-left");
    match added.status() {
        StatusCode::OK => assert!(added
            .text()
            .await
            .unwrap()
            .contains("id=\"recovery-codes\"")),
        status => assert_eq!(status, StatusCode::SEE_OTHER),
    }
    assert!(had_two_factor, "a passkey is a second factor");
    // The same answer again finds no ceremony.
    let replayed = answer(
        browser,
        "/account/security",
        "/account/security/passkeys",
        (&handle, &credential),
        &[("name", name)],
    )
    .await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
}

/// Logs in with a passkey instead of the password; the response to the answer.
async fn passkey_log_in(
    app: &TestApp,
    browser: &Browser,
    key: &mut SoftPasskey,
    email: &str,
) -> (reqwest::Response, String, String) {
    let (handle, challenge) = options(
        browser,
        "/login",
        "/login/passkey/options",
        &[("email", email)],
    )
    .await;
    let challenge: RequestChallengeResponse = serde_json::from_value(challenge).unwrap();
    let credential = match key.do_authentication(origin(app), challenge) {
        Ok(credential) => serde_json::to_string(&credential).unwrap(),
        // An authenticator without a matching credential answers nothing the server accepts.
        Err(_) => "{}".to_owned(),
    };
    let response = answer(
        browser,
        "/login",
        "/login/passkey",
        (&handle, &credential),
        &[("next", "/apps")],
    )
    .await;
    (response, handle, credential)
}

#[tokio::test]
async fn a_passkey_is_registered_and_logs_in_without_a_password_once_per_challenge() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    let security = app.browser.get_html("/account/security").await;
    assert!(security.contains("Add a passkey"));
    let mut key = SoftPasskey::new(true);
    add_passkey(&app, &app.browser, &mut key, "Work laptop").await;
    let security = app.browser.get_html("/account/security").await;
    let table = inner(&security, "passkeys");
    assert!(table.contains("Work laptop"));
    assert!(table.contains("Never"));
    assert!(table.contains("Remove"));
    assert!(security.contains("Added the passkey Work laptop"));

    // Passwordless log-in.
    let browser = app.new_browser();
    assert!(browser
        .get_html("/login")
        .await
        .contains("Log in with a passkey"));
    let (response, handle, credential) = passkey_log_in(&app, &browser, &mut key, &email).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/apps");
    assert_eq!(browser.get("/apps").await.status(), StatusCode::OK);
    let security = browser.get_html("/account/security").await;
    assert!(
        !inner(&security, "passkeys").contains("Never"),
        "Last used moved"
    );
    assert!(security.contains("Signed in with a passkey"));

    // A copied answer does not log anyone in again.
    let copycat = app.new_browser();
    let replayed = answer(
        &copycat,
        "/login",
        "/login/passkey",
        (&handle, &credential),
        &[("next", "/apps")],
    )
    .await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(copycat.get("/apps").await.status(), StatusCode::SEE_OTHER);

    // Another person's device holds no passkey of this account.
    let mut stranger_key = SoftPasskey::new(true);
    let (response, _, _) =
        passkey_log_in(&app, &app.new_browser(), &mut stranger_key, &email).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The first passkey turned two-factor authentication on; removing the last one turns it off.
    let security = browser.get_html("/account/security").await;
    assert!(element_text(&security, "two-factor-status").starts_with("On"));
    let table = inner(&security, "passkeys");
    let start = table.find("/account/security/passkeys/").unwrap();
    let remove = &table[start..start + table[start..].find('"').unwrap()];
    let removed = browser.submit("/account/security", remove, &[]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let security = browser.get_html("/account/security").await;
    assert!(security.contains("two-factor authentication is off"));
    assert!(element_text(&security, "two-factor-status").starts_with("Off"));
}

#[tokio::test]
async fn an_email_without_passkeys_gets_options_that_look_the_same() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    let with = app.new_browser();
    let mut key = SoftPasskey::new(true);
    add_passkey(&app, &app.browser, &mut key, "Phone").await;
    let (_, real) = options(
        &with,
        "/login",
        "/login/passkey/options",
        &[("email", &email)],
    )
    .await;
    let (_, unknown) = options(
        &with,
        "/login",
        "/login/passkey/options",
        &[("email", "nobody@example.com")],
    )
    .await;
    let (_, unknown_again) = options(
        &with,
        "/login",
        "/login/passkey/options",
        &[("email", "nobody@example.com")],
    )
    .await;
    let allowed = |v: &Value| {
        v["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(allowed(&real).len(), 1);
    assert_eq!(allowed(&unknown).len(), 1);
    assert_eq!(allowed(&unknown)[0]["id"], allowed(&unknown_again)[0]["id"]);
    assert_ne!(allowed(&unknown)[0]["id"], allowed(&real)[0]["id"]);
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&real), keys(&unknown));
}

#[tokio::test]
async fn a_passkey_answers_the_second_step_and_can_be_removed() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    turn_on_authenticator(&app, &app.browser).await;
    let mut key = SoftPasskey::new(true);
    add_passkey(&app, &app.browser, &mut key, "Security key").await;

    let browser = app.new_browser();
    let response = browser.log_in(&email, PASSWORD).await;
    assert_eq!(location(&response), "/login/two-factor");
    let step = browser.get_html("/login/two-factor").await;
    assert!(step.contains("Use a passkey"));
    let (handle, challenge) = options(
        &browser,
        "/login/two-factor",
        "/login/two-factor/passkey/options",
        &[],
    )
    .await;
    let challenge: RequestChallengeResponse = serde_json::from_value(challenge).unwrap();
    let credential =
        serde_json::to_string(&key.do_authentication(origin(&app), challenge).unwrap()).unwrap();
    // A passwordless ceremony's answer is not a second step's, nor the other way round.
    let wrong_place = answer(
        &app.new_browser(),
        "/login",
        "/login/passkey",
        (&handle, &credential),
        &[],
    )
    .await;
    assert_eq!(wrong_place.status(), StatusCode::UNAUTHORIZED);
    // That attempt used nothing up: the answer still completes the second step.
    let done = answer(
        &browser,
        "/login/two-factor",
        "/login/two-factor/passkey",
        (&handle, &credential),
        &[],
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/apps");
    let security = browser.get_html("/account/security").await;
    assert!(security.contains("Signed in with a passkey after the password"));

    // Removed, it logs in nobody.
    let table = inner(&security, "passkeys");
    let start = table.find("/account/security/passkeys/").unwrap();
    let remove = &table[start..start + table[start..].find('"').unwrap()];
    let removed = browser.submit("/account/security", remove, &[]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let security = browser.get_html("/account/security").await;
    assert!(!security.contains("id=\"passkeys\""));
    assert!(security.contains("Removed the passkey Security key"));
    let (response, _, _) = passkey_log_in(&app, &app.new_browser(), &mut key, &email).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
