//! Throttling: password checks (log-in and Change password), secret checks and sign-ups, per
//! account, secret and address, counting attempts still in flight; and a flood of sign-ups
//! that stays bounded without delaying log-ins. Addresses other than the test's own are sent
//! through a trusted proxy (see `forwarded`).

use crate::forwarded::{behind_proxy, post_from, token_from};
use crate::helpers::{
    app_with_owner, csrf_token, spawn_app_with, start_server_with_clock, test_settings, TestApp,
    PASSWORD,
};
use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::{Response, StatusCode};
use std::time::Instant;

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

fn retry_after(response: &Response) -> i64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A well-formed secret (valid checksum) with `real`'s public id and other random bits: a guess
/// only someone who has seen the secret's id could make.
pub fn guess_with_the_id_of(real: &str, n: usize) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random: String = (0..43).map(|i| BASE62[(i * 7 + n) % 62] as char).collect();
    let body = format!("{}{random}", &real[..17]);
    let mut sum = crc32fast::hash(body.as_bytes()) as usize;
    let mut checksum = [b'0'; 6];
    for slot in checksum.iter_mut().rev() {
        *slot = BASE62[sum % 62];
        sum /= 62;
    }
    body + std::str::from_utf8(&checksum).unwrap()
}

#[tokio::test]
async fn concurrent_wrong_passwords_get_at_most_the_allowance_of_checks_and_the_right_one_waits() {
    // A slower hash widens the window in which attempts are in flight together.
    let app = spawn_app_with(|s| {
        s.throttle_failures = 10;
        s.bcrypt_cost = 8;
    })
    .await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let attacker = app.new_browser();
    let token = csrf_token(&attacker.get_html("/login").await);

    let attempts = (0..61).map(|n| {
        let password = if n == 30 { PASSWORD } else { "wrong password" };
        let (attacker, token) = (&attacker, &token);
        async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", "ada@example.com"),
                ("password", password),
            ];
            attacker.post("/login", &fields).await
        }
    });
    let answers = join_all(attempts).await;

    let checked = answers
        .iter()
        .filter(|r| r.status() != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 10, "{checked} passwords were checked");
    let owner_got_in = answers[30].status() == StatusCode::SEE_OTHER;
    for refused in answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    {
        assert!((1..=900).contains(&retry_after(refused)));
    }
    // Unless the right password was among the first ten (which proves the owner and forgets the
    // failures), the allowance is spent: even the right password now waits for the window.
    if !owner_got_in {
        let owner = app.new_browser().log_in("ada@example.com", PASSWORD).await;
        assert_eq!(owner.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn the_current_password_check_is_throttled_like_log_in() {
    let app = spawn_app_with(|s| s.throttle_failures = 3).await;
    app.browser.signed_up().await;
    let browser = &app.browser;
    let change = |current: &'static str| async move {
        let fields = [
            ("current_password", current),
            ("new_password", "a new password!"),
        ];
        browser
            .submit("/account/password", "/account/password", &fields)
            .await
    };

    for _ in 0..3 {
        assert_eq!(
            change("wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = change(PASSWORD).await;

    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=900).contains(&retry_after(&throttled)));
    assert!(throttled
        .text()
        .await
        .unwrap()
        .contains("Too many failed attempts"));
    app.clock.advance(TimeDelta::minutes(15));
    assert_eq!(change(PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn concurrent_guesses_at_one_secret_get_at_most_the_allowance_of_checks() {
    let app = spawn_app_with(|s| {
        behind_proxy(s);
        s.bcrypt_cost = 8;
    })
    .await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let target = app.browser.generate_secret(&app_id).await;
    let other = app.browser.generate_secret(&app_id).await;

    let guesses = (0..60).map(|n| {
        let guess = guess_with_the_id_of(&target, n);
        let address = format!("198.51.100.{n}");
        let (app, client_id) = (&app, &client_id);
        async move { token_from(&app.address, &address, client_id, &guess).await }
    });
    let answers = join_all(guesses).await;

    let checked = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 10, "{checked} guesses were checked by bcrypt");
    assert_eq!(checked + refused, 60);
    // That secret's allowance is spent, but only that secret's: the client's other one works.
    let target_now = token_from(&app.address, "203.0.113.7", &client_id, &target).await;
    assert_eq!(target_now.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        token_from(&app.address, "203.0.113.7", &client_id, &other)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn guesses_that_match_no_secret_never_lock_out_the_client_after_a_restart() {
    let app = spawn_app_with(behind_proxy).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    // A second server on the same database: nothing proven, nothing remembered.
    let mut settings = test_settings(&app.database_url);
    behind_proxy(&mut settings);
    let (restarted, _) = start_server_with_clock(settings, app.clock.clone()).await;

    let unknown_id = guess_with_the_id_of("kts_ZZZZZZZZZZZZ_", 1);
    let last = if secret.ends_with('x') { "y" } else { "x" };
    let bad_checksum = format!("{}{last}", &secret[..secret.len() - 1]);
    for n in 0..100 {
        let guess = match n % 3 {
            0 => unknown_id.as_str(),
            1 => bad_checksum.as_str(),
            _ => "not a secret at all",
        };
        let address = format!("192.0.2.{}", n % 10);
        let answer = token_from(&restarted, &address, &client_id, guess).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // Each address has its own allowance (five times the account's) ...
    for _ in 0..40 {
        token_from(&restarted, "192.0.2.1", &client_id, "guess").await;
    }
    let guesser = token_from(&restarted, "192.0.2.1", &client_id, &secret).await;
    assert_eq!(guesser.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... and the client's own valid secret, never used since the restart, is not touched.
    let client = token_from(&restarted, "203.0.113.50", &client_id, &secret).await;
    assert_eq!(client.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_ups_are_throttled_per_address() {
    let app = spawn_app_with(|s| {
        behind_proxy(s);
        s.throttle_failures = 2;
    })
    .await;
    let app = &app;
    let sign_up = |n: usize, address: &'static str| async move {
        let browser = app.new_browser();
        let token = csrf_token(&browser.get_html("/signup").await);
        let email = format!("person{n}@example.com");
        let fields = [
            ("csrf_token", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ];
        post_from(&browser, address, "/signup", &fields).await
    };

    for n in 0..10 {
        assert_eq!(
            sign_up(n, "192.0.2.1").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let eleventh = sign_up(10, "192.0.2.1").await;
    let elsewhere = sign_up(11, "192.0.2.2").await;

    assert_eq!(eleventh.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=900).contains(&retry_after(&eleventh)));
    assert!(eleventh.text().await.unwrap().contains("Too many"));
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_flood_of_sign_ups_is_bounded_and_log_in_does_not_queue_behind_it() {
    // Slow enough that 120 hashes in a row would take many seconds.
    let app = spawn_app_with(|s| {
        behind_proxy(s);
        s.bcrypt_cost = 10;
    })
    .await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let flood: Vec<_> = (0..120)
        .map(|n| {
            let browser = app.new_browser();
            async move {
                let token = csrf_token(&browser.get_html("/signup").await);
                let email = format!("flood{n}@example.com");
                let fields = [
                    ("csrf_token", token.as_str()),
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                ];
                let answer = post_from(
                    &browser,
                    &format!("10.1.{}.{}", n / 200, n % 200),
                    "/signup",
                    &fields,
                )
                .await;
                (answer, Instant::now())
            }
        })
        .collect();
    let user = app.new_browser();
    let token = csrf_token(&user.get_html("/login").await);
    let log_in = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let fields = [
            ("csrf_token", token.as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ];
        let answer = post_from(&user, "203.0.113.1", "/login", &fields).await;
        (answer, Instant::now())
    };

    let (sign_ups, (logged_in, logged_in_at)) = tokio::join!(join_all(flood), log_in);

    assert_eq!(logged_in.status(), StatusCode::SEE_OTHER);
    let accepted: Vec<Instant> = sign_ups
        .iter()
        .filter(|(r, _)| r.status() == StatusCode::SEE_OTHER)
        .map(|(_, at)| *at)
        .collect();
    let busy: Vec<&Response> = sign_ups
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(accepted.len() + busy.len(), 120, "only 303 or 503");
    assert!(!busy.is_empty(), "the sign-up queue is bounded");
    assert!(busy.iter().all(|r| retry_after(r) >= 1));
    // The log-in did not wait for the sign-ups queued before it.
    let last_sign_up = accepted.iter().max().unwrap();
    assert!(
        logged_in_at < *last_sign_up,
        "log-in answered before the queued sign-ups"
    );
}
