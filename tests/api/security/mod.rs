//! Account security: proven addresses, password resets, two-factor authentication, confirming
//! access before sensitive actions, and the admin's two-factor requirement.

mod email;
mod passkeys;
mod reauthentication;
mod two_factor;

use crate::helpers::{csrf_token, element_text, Browser, TestApp};
use reqwest::StatusCode;
use totp_rs::{Algorithm, Builder, Secret};

/// The code an authenticator app shows for `setup_key` at the server's `now`, computed here as
/// an app computes it (RFC 6238: HMAC-SHA1, 6 digits, 30 seconds).
pub fn code_at(setup_key: &str, app: &TestApp) -> String {
    let key = Secret::try_from_base32(setup_key.replace(' ', "")).expect("a base32 key");
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(key)
        .build_noncompliant();
    let now = app.clock.now().and_utc().timestamp();
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// Sets up an authenticator app on the Security page; returns its setup key and the recovery
/// codes shown once.
pub async fn turn_on_authenticator(app: &TestApp, browser: &Browser) -> (String, Vec<String>) {
    let page = browser.get_html("/account/security/authenticator").await;
    let setup_key = element_text(&page, "setup-key");
    let response = browser
        .post(
            "/account/security/authenticator",
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("code", code_at(&setup_key, app).as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let codes = crate::teams::inner(&page, "recovery-codes")
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect();
    (setup_key, codes)
}

/// The next 30-second step, so the app shows a new code.
pub fn next_step(app: &TestApp) {
    app.clock.advance(chrono::TimeDelta::seconds(30));
}
