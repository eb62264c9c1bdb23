//! Proving an address by a mailed link, and resetting a forgotten password.

use crate::helpers::{
    csrf_token, element_text, input_value, link_in, location, spawn_app, spawn_mailing_app,
    Browser, PASSWORD,
};
use crate::notifications::MailServer;
use crate::teams::{create_team, invite};
use chrono::TimeDelta;
use reqwest::StatusCode;

#[tokio::test]
async fn a_new_address_is_proven_by_the_mailed_link_before_apps_secrets_or_teams() {
    let mail = MailServer::start().await;
    let app = spawn_mailing_app(&mail, |_| {}).await;
    let owner = app.new_browser();
    owner.signed_up().await;
    let team = create_team(&owner, "Payments").await;

    let newcomer = app.new_browser();
    let email = "newcomer@example.com";
    assert_eq!(
        newcomer.sign_up(email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let first_mail = newcomer.take_mail(email, "/verify-email?token=").await;
    assert!(first_mail.contains("24 hours"));

    // Signed in, told, and held back.
    let apps = newcomer.get_html("/apps").await;
    assert!(apps.contains("id=\"verify-email-banner\""));
    assert!(apps.contains("Resend verification email"));
    for page in ["/apps/new", "/account/security/authenticator"] {
        let refused = newcomer.get(page).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{page}");
    }
    let no_team = newcomer
        .submit("/teams/new", "/teams", &[("name", "Squatters")])
        .await;
    assert_eq!(no_team.status(), StatusCode::FORBIDDEN);
    let refused = newcomer.get("/apps/new").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Verify your email address first"));
    let csrf = csrf_token(&apps);
    let refused = newcomer
        .post(
            "/apps",
            &[
                ("csrf_token", csrf.as_str()),
                ("name", "Sneaky"),
                ("redirect_uris", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // An Owner inviting the unproven address records an invitation; nobody joins yet.
    assert_eq!(
        invite(&owner, &team, email, "developer").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        newcomer.get(&format!("/teams/{team}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // A resent mail replaces the first link.
    let resent = newcomer
        .post(
            "/account/verify-email/resend",
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    let second_mail = newcomer.take_mail(email, "/verify-email?token=").await;
    let old_link = link_in(&first_mail, "/verify-email?token=");
    let new_link = link_in(&second_mail, "/verify-email?token=");
    assert_ne!(old_link, new_link);
    assert_eq!(
        press(&newcomer, &old_link).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(newcomer
        .get_html("/apps")
        .await
        .contains("verify-email-banner"));
    assert_eq!(
        press(&newcomer, &new_link).await.status(),
        StatusCode::SEE_OTHER
    );
    let apps = newcomer.get_html("/apps").await;
    assert!(!apps.contains("verify-email-banner"));
    assert_eq!(newcomer.get("/apps/new").await.status(), StatusCode::OK);
    let page = newcomer.get_html(&format!("/teams/{team}")).await;
    assert_eq!(element_text(&page, "my-role"), "Developer");
    // Once only.
    let again = press(&newcomer, &new_link).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("does not work"));
    let security = newcomer.get_html("/account/security").await;
    assert!(element_text(&security, "email-status").contains("verified."));
    assert!(security.contains("Verified the email address"));
}

/// Opens a verification link and presses its button. Opening it changes nothing: mail
/// scanners open links too.
async fn press(browser: &Browser, link: &str) -> reqwest::Response {
    let page = browser.get_html(link).await;
    browser
        .post(
            "/verify-email",
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("token", input_value(&page, "token").as_str()),
            ],
        )
        .await
}

#[tokio::test]
async fn a_verification_link_ends_after_24_hours() {
    let mail = MailServer::start().await;
    let app = spawn_mailing_app(&mail, |_| {}).await;
    let browser = app.new_browser();
    let email = "late@example.com";
    browser.sign_up(email, PASSWORD).await;
    let link = link_in(
        &browser.take_mail(email, "/verify-email?token=").await,
        "/verify-email?token=",
    );
    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    assert_eq!(
        press(&browser, &link).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn without_mail_an_address_counts_as_verified() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let apps = app.browser.get_html("/apps").await;
    assert!(!apps.contains("verify-email-banner"));
    assert_eq!(app.browser.get("/apps/new").await.status(), StatusCode::OK);
}

/// Asks for a reset link on the Forgot password page and returns the page's answer.
async fn forgot(browser: &Browser, email: &str) -> reqwest::Response {
    browser
        .submit("/forgot-password", "/forgot-password", &[("email", email)])
        .await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_mailed_link_that_ends_every_session() {
    let mail = MailServer::start().await;
    let app = spawn_mailing_app(&mail, |_| {}).await;
    let email = app.browser.signed_up().await;
    let elsewhere = app.new_browser();
    elsewhere.log_in(&email, PASSWORD).await;
    assert_eq!(elsewhere.get("/apps").await.status(), StatusCode::OK);

    let stranger = app.new_browser();
    let login = stranger.get_html("/login").await;
    assert!(login.contains("href=\"/forgot-password\""));
    assert!(login.contains("Forgot password?"));
    // The same answer for an address with an account and one without.
    let known = forgot(&stranger, &email).await;
    assert_eq!(known.status(), StatusCode::OK);
    let known = element_text(&known.text().await.unwrap(), "reset-sent");
    let unknown = forgot(&stranger, "nobody@example.com").await;
    assert_eq!(unknown.status(), StatusCode::OK);
    assert_eq!(
        element_text(&unknown.text().await.unwrap(), "reset-sent"),
        known
    );
    let message = stranger.take_mail(&email, "/reset-password?token=").await;
    assert!(message.contains("1 hour"));
    assert!(!message.contains(PASSWORD));
    let link = link_in(&message, "/reset-password?token=");

    let form = stranger.get(&link).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()["referrer-policy"], "no-referrer");
    let form = form.text().await.unwrap();
    let token = input_value(&form, "token");
    let csrf = csrf_token(&form);
    let too_short = stranger
        .post(
            "/reset-password",
            &[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("new_password", "short"),
            ],
        )
        .await;
    assert_eq!(too_short.status(), StatusCode::BAD_REQUEST);
    let reset = stranger
        .post(
            "/reset-password",
            &[
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&reset), "/login");

    // Every session ended; only the new password works; the link works once.
    for browser in [&app.browser, &elsewhere] {
        let response = browser.get("/apps").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/login"));
    }
    let old = app.new_browser().log_in(&email, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.new_browser();
    assert_eq!(
        new.log_in(&email, "a brand new passphrase").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(stranger.get(&link).await.status(), StatusCode::BAD_REQUEST);
    let security = new.get_html("/account/security").await;
    assert!(security.contains("Reset the password through a mailed link"));
}

#[tokio::test]
async fn a_reset_link_ends_after_an_hour_and_only_the_latest_works() {
    let mail = MailServer::start().await;
    let app = spawn_mailing_app(&mail, |_| {}).await;
    let email = app.browser.signed_up().await;
    let stranger = app.new_browser();
    forgot(&stranger, &email).await;
    let first = link_in(
        &stranger.take_mail(&email, "/reset-password?token=").await,
        "/reset-password?token=",
    );
    forgot(&stranger, &email).await;
    let second = link_in(
        &stranger.take_mail(&email, "/reset-password?token=").await,
        "/reset-password?token=",
    );
    assert_eq!(stranger.get(&first).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stranger.get(&second).await.status(), StatusCode::OK);
    app.clock
        .advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert_eq!(
        stranger.get(&second).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn reset_requests_are_throttled_per_email_even_when_sent_at_once() {
    let mail = MailServer::start().await;
    let app = spawn_mailing_app(&mail, |s| s.throttle_failures = 4).await;
    let email = app.browser.signed_up().await;
    let page = app.browser.get_html("/forgot-password").await;
    let csrf = csrf_token(&page);
    // Concurrent requests for one address, as if from many places: 2 of them are answered.
    let requests = (0..6).map(|_| {
        let (browser, csrf, email) = (&app.browser, csrf.clone(), email.clone());
        async move {
            browser
                .post(
                    "/forgot-password",
                    &[("csrf_token", csrf.as_str()), ("email", email.as_str())],
                )
                .await
        }
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let sent = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(sent, 2, "{statuses:?}");
    let refused = forgot(&app.browser, &email).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn without_mail_an_address_left_unproven_counts_as_verified_after_a_restart() {
    let mail = MailServer::start().await;
    let database = crate::helpers::TestDatabase::new();
    let mut settings = crate::helpers::test_settings(&database.url);
    settings.smtp_url = Some(mail.url().into());
    let (with_mail, _) = crate::helpers::start_server(settings).await;
    let browser = Browser::new(&with_mail);
    browser.sign_up("later@example.com", PASSWORD).await;
    assert_eq!(
        browser.get("/apps/new").await.status(),
        StatusCode::FORBIDDEN
    );

    let (without_mail, _) =
        crate::helpers::start_server(crate::helpers::test_settings(&database.url)).await;
    let browser = Browser::new(&without_mail);
    browser.log_in("later@example.com", PASSWORD).await;
    assert!(!browser
        .get_html("/apps")
        .await
        .contains("verify-email-banner"));
    assert_eq!(browser.get("/apps/new").await.status(), StatusCode::OK);
}
