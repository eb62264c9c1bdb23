//! Authenticator apps, the second step of log-in, recovery codes, turning it off, and the
//! admin's requirement.

use super::{code_at, next_step, turn_on_authenticator};
use crate::helpers::{
    csrf_token, element_text, location, spawn_app, spawn_app_with, Browser, PASSWORD,
};
use crate::teams::inner;
use reqwest::StatusCode;

/// Enters email and password; with two-factor authentication on, lands on the second step.
async fn password_step(browser: &Browser, email: &str) {
    let response = browser.log_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/two-factor");
}

async fn enter_code(browser: &Browser, code: &str) -> reqwest::Response {
    browser
        .submit("/login/two-factor", "/login/two-factor", &[("code", code)])
        .await
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_with_a_qr_code_and_asked_for_after_the_password() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    let security = app.browser.get_html("/account/security").await;
    assert!(element_text(&security, "two-factor-status").starts_with("Off"));
    assert!(app
        .browser
        .get_html("/apps")
        .await
        .contains("href=\"/account/security\""));

    // The setup page: a QR code drawn here, and the same key as text.
    let setup = app.browser.get("/account/security/authenticator").await;
    assert_eq!(setup.headers()["cache-control"], "no-store");
    let setup = setup.text().await.unwrap();
    assert!(inner(&setup, "qr-code").contains("<svg"));
    assert!(setup.contains("Setup key"));
    assert!(setup.contains("Authentication code"));
    let key = element_text(&setup, "setup-key");
    assert_eq!(key.replace(' ', "").len(), 32, "160 bits in base32: {key}");
    // Reloading shows the same key; a wrong code is refused and nothing changes.
    let again = app
        .browser
        .get_html("/account/security/authenticator")
        .await;
    assert_eq!(element_text(&again, "setup-key"), key);
    let wrong = app
        .browser
        .submit(
            "/account/security/authenticator",
            "/account/security/authenticator",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("not correct"));
    let not_digits = app
        .browser
        .submit(
            "/account/security/authenticator",
            "/account/security/authenticator",
            &[("code", "12ab")],
        )
        .await;
    assert_eq!(not_digits.status(), StatusCode::BAD_REQUEST);

    let (setup_key, codes) = turn_on_authenticator(&app, &app.browser).await;
    assert_eq!(setup_key, key);
    assert_eq!(codes.len(), 10);
    let security = app.browser.get_html("/account/security").await;
    assert!(element_text(&security, "two-factor-status").starts_with("On"));
    assert!(element_text(&security, "recovery-codes-left").starts_with("10 of 10"));
    assert!(!security.contains(&codes[0]), "shown once only");

    // Log-in: the password alone starts no session.
    let browser = app.new_browser();
    password_step(&browser, &email).await;
    let apps = browser.get("/apps").await;
    assert_eq!(apps.status(), StatusCode::SEE_OTHER);
    assert!(location(&apps).starts_with("/login"));
    let step = browser.get_html("/login/two-factor").await;
    assert!(step.contains("Authentication code"));
    let wrong = enter_code(&browser, "123456").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // The code that confirmed the setup was used: it does not work again.
    let replayed = enter_code(&browser, &code_at(&setup_key, &app)).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    next_step(&app);
    let code = code_at(&setup_key, &app);
    let signed_in = enter_code(&browser, &code).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/apps");
    assert_eq!(browser.get("/apps").await.status(), StatusCode::OK);

    // The same code, copied, does not sign anyone else in.
    let copycat = app.new_browser();
    password_step(&copycat, &email).await;
    assert_eq!(
        enter_code(&copycat, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let security = browser.get_html("/account/security").await;
    assert!(inner(&security, "security-activity").contains("Signed in with an authenticator code"));
}

#[tokio::test]
async fn each_recovery_code_works_once_and_new_ones_replace_the_old() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    let (_, codes) = turn_on_authenticator(&app, &app.browser).await;

    let browser = app.new_browser();
    password_step(&browser, &email).await;
    // Typed as people type them: upper case, no dashes.
    let typed = codes[0].replace('-', "").to_uppercase();
    assert_eq!(
        enter_code(&browser, &typed).await.status(),
        StatusCode::SEE_OTHER
    );
    let security = browser.get_html("/account/security").await;
    assert!(element_text(&security, "recovery-codes-left").starts_with("9 of 10"));
    assert!(security.contains("Used a recovery code (9 left)"));

    let again = app.new_browser();
    password_step(&again, &email).await;
    assert_eq!(
        enter_code(&again, &codes[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let page = browser.get_html("/account/security").await;
    let fresh = browser
        .post(
            "/account/security/recovery-codes",
            &[("csrf_token", csrf_token(&page).as_str())],
        )
        .await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()["cache-control"], "no-store");
    let fresh = inner(&fresh.text().await.unwrap(), "recovery-codes");
    assert!(!fresh.contains(&codes[1]));
    assert_eq!(
        enter_code(&again, &codes[1]).await.status(),
        StatusCode::UNAUTHORIZED,
        "the earlier codes stopped working"
    );
    let new_code = fresh
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    assert_eq!(
        enter_code(&again, new_code).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn second_factor_guesses_are_throttled_even_when_sent_at_once() {
    let app = spawn_app_with(|s| s.throttle_failures = 5).await;
    let email = app.browser.signed_up().await;
    let (setup_key, _) = turn_on_authenticator(&app, &app.browser).await;
    let guesser = app.new_browser();
    password_step(&guesser, &email).await;
    let page = guesser.get_html("/login/two-factor").await;
    let csrf = csrf_token(&page);
    let guesses = (0..12).map(|n| {
        let code = format!("{:06}", 100_000 + n);
        let guesser = &guesser;
        let csrf = csrf.clone();
        async move {
            guesser
                .post(
                    "/login/two-factor",
                    &[("csrf_token", csrf.as_str()), ("code", code.as_str())],
                )
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    // The code that confirmed the setup counted too: 4 guesses are left.
    assert_eq!(checked, 4, "{statuses:?}");
    // Now even the right code waits.
    next_step(&app);
    let right = enter_code(&guesser, &code_at(&setup_key, &app)).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn turning_two_factor_off_needs_the_password_and_a_current_code() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    let (setup_key, _) = turn_on_authenticator(&app, &app.browser).await;
    next_step(&app);
    let turn_off = |password: &'static str, code: String| {
        let browser = &app.browser;
        async move {
            browser
                .submit(
                    "/account/security",
                    "/account/security/two-factor/disable",
                    &[("password", password), ("code", code.as_str())],
                )
                .await
        }
    };
    let wrong_password = turn_off("not my password", code_at(&setup_key, &app)).await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert!(
        element_text(&wrong_password.text().await.unwrap(), "turn-off-error").contains("password")
    );
    next_step(&app);
    let wrong_code = turn_off(PASSWORD, "654321".into()).await;
    assert_eq!(wrong_code.status(), StatusCode::UNAUTHORIZED);
    next_step(&app);
    let done = turn_off(PASSWORD, code_at(&setup_key, &app)).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let security = app.browser.get_html("/account/security").await;
    assert!(element_text(&security, "two-factor-status").starts_with("Off"));
    assert!(security.contains("Turned off two-factor authentication"));
    let browser = app.new_browser();
    let response = browser.log_in(&email, PASSWORD).await;
    assert_eq!(location(&response), "/apps");
}

#[tokio::test]
async fn the_admin_can_require_two_factor_authentication_of_everyone_admins_included() {
    let app = spawn_app().await;
    let user_email = app.browser.signed_up().await;
    let admin = app.admin_browser().await;
    let policy = admin.get_html("/admin/policy").await;
    assert!(policy.contains("Require two-factor authentication"));
    let saved = admin
        .submit(
            "/admin/policy",
            "/admin/policy",
            &[
                ("max_lifetime_days", ""),
                ("warning_days", "14"),
                ("require_two_factor", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    for browser in [&app.browser, &admin] {
        for page in ["/apps", "/admin", "/teams/new", "/account/sessions"] {
            let response = browser.get(page).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
            assert_eq!(location(&response), "/account/security", "{page}");
        }
        let security = browser.get_html("/account/security").await;
        assert!(security.contains("id=\"two-factor-required\""));
    }
    turn_on_authenticator(&app, &app.browser).await;
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);
    let security = app.browser.get_html("/account/security").await;
    assert!(security.contains("cannot be turned off"));
    let refused = app
        .browser
        .submit(
            "/account/security",
            "/account/security/two-factor/disable",
            &[("password", PASSWORD), ("code", "123456")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    // Still required after signing in again.
    let again = app.new_browser();
    password_step(&again, &user_email).await;
    assert_eq!(admin.get("/admin").await.status(), StatusCode::SEE_OTHER);
    turn_on_authenticator(&app, &admin).await;
    assert_eq!(admin.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operator_turns_two_factor_off_for_somebody_who_lost_every_factor() {
    let app = spawn_app().await;
    let email = app.browser.signed_up().await;
    turn_on_authenticator(&app, &app.browser).await;
    // What `keyturn turn-off-two-factor --email ...` runs.
    let turned_off = keyturn::service::two_factor::turn_off_by_operator(
        &app.pool(),
        keyturn::domain::Email::parse(&email).unwrap(),
        app.clock.now(),
    )
    .await
    .unwrap();
    assert!(turned_off);
    let ended = app.browser.get("/apps").await;
    assert!(
        location(&ended).starts_with("/login"),
        "every session ended"
    );
    let browser = app.new_browser();
    assert_eq!(location(&browser.log_in(&email, PASSWORD).await), "/apps");
    let security = browser.get_html("/account/security").await;
    assert!(element_text(&security, "two-factor-status").starts_with("Off"));
    assert!(security.contains("turned off by an operator"));
    let nobody = keyturn::service::two_factor::turn_off_by_operator(
        &app.pool(),
        keyturn::domain::Email::parse("nobody@example.com").unwrap(),
        app.clock.now(),
    )
    .await
    .unwrap();
    assert!(!nobody);
}

#[tokio::test]
async fn a_log_in_half_done_with_the_old_password_cannot_be_finished_after_a_reset() {
    let mail = crate::notifications::MailServer::start().await;
    let app = crate::helpers::spawn_mailing_app(&mail, |_| {}).await;
    let email = app.browser.signed_up().await;
    let (setup_key, _) = turn_on_authenticator(&app, &app.browser).await;
    // Somebody who knows the old password gets to the second step and waits there.
    let intruder = app.new_browser();
    password_step(&intruder, &email).await;
    let waiting = intruder.get_html("/login/two-factor").await;

    // The owner resets the password.
    let owner = app.new_browser();
    owner
        .submit("/forgot-password", "/forgot-password", &[("email", &email)])
        .await;
    let link = crate::helpers::link_in(
        &owner.take_mail(&email, "/reset-password?token=").await,
        "/reset-password?token=",
    );
    let form = owner.get_html(&link).await;
    let token = crate::helpers::input_value(&form, "token");
    let reset = owner
        .submit(
            &link,
            "/reset-password",
            &[
                ("token", &token),
                ("new_password", "a new and longer passphrase"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);

    next_step(&app);
    let finished = intruder
        .post(
            "/login/two-factor",
            &[
                ("csrf_token", csrf_token(&waiting).as_str()),
                ("code", code_at(&setup_key, &app).as_str()),
            ],
        )
        .await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&finished).starts_with("/login"),
        "sent to log in again"
    );
    let step = intruder.get("/login/two-factor").await;
    assert!(location(&step).starts_with("/login"));
    assert!(location(&intruder.get("/apps").await).starts_with("/login"));
}
