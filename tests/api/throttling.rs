//! Throttling of failed log-ins: per account, with the same answer for accounts that do not
//! exist, and per address across accounts.

use crate::helpers::{csrf_token, spawn_app_with, TestApp, PASSWORD};
use chrono::TimeDelta;
use reqwest::StatusCode;

async fn throttled_app() -> TestApp {
    spawn_app_with(|s| s.throttle_failures = 10).await
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_with_the_same_answer_for_unknown_accounts() {
    let app = throttled_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let attacker = app.new_browser();

    for _ in 0..10 {
        assert_eq!(
            attacker
                .log_in("ada@example.com", "wrong password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            attacker
                .log_in("ghost@example.com", "wrong password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let known = app.new_browser().log_in("ada@example.com", PASSWORD).await;
    let unknown = app
        .new_browser()
        .log_in("ghost@example.com", PASSWORD)
        .await;

    for response in [&known, &unknown] {
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
    }
    let known = known.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(known.contains("Too many failed attempts. Try again in 15 minutes."));
    let strip = |page: &str, email: &str| page.replace(email, "").replace(&csrf_token(page), "");
    assert_eq!(
        strip(&known, "ada@example.com"),
        strip(&unknown, "ghost@example.com")
    );

    app.clock.advance(TimeDelta::minutes(15));
    assert_eq!(
        app.new_browser()
            .log_in("ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address_across_accounts() {
    let app = throttled_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let attacker = app.new_browser();

    // Addresses get five times the allowance of an account (offices and carrier NAT share one).
    for n in 0..50 {
        let response = attacker
            .log_in(&format!("guess{n}@example.com"), "password1")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let next = attacker.log_in("ada@example.com", PASSWORD).await;

    assert_eq!(next.status(), StatusCode::TOO_MANY_REQUESTS);
}
