//! What an attacker tries: many requests at once, from many addresses, with odd encodings and
//! replayed cookies. Addresses other than the test's own are sent through a trusted proxy
//! (`KEYTURN_TRUSTED_PROXIES=127.0.0.1` and `X-Forwarded-For`), as behind a load balancer.

use crate::helpers::{
    app_with_owner, csrf_token, form_encode, location, spawn_app_with, start_server_with_clock,
    test_settings, Browser, TestApp, PASSWORD,
};
use chrono::TimeDelta;
use futures_util::future::join_all;
use keyturn::config::{Settings, TrustedProxies};
use reqwest::{Client, Response, StatusCode};
use std::time::Instant;

/// Throttled at 10 (the default), behind a load balancer on 127.0.0.1.
fn behind_proxy(settings: &mut Settings) {
    settings.throttle_failures = 10;
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
}

fn retry_after(response: &Response) -> i64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// POSTs a form from `address` (through the trusted proxy) with the browser's cookies.
async fn post_from(
    browser: &Browser,
    address: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    browser
        .client
        .post(format!("{}{path}", browser.address))
        .header("x-forwarded-for", address)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A client credentials request with `secret` to the server at `base`, from `address`.
async fn token_from(base: &str, address: &str, client_id: &str, secret: &str) -> Response {
    Client::new()
        .post(format!("{base}/oauth/token"))
        .header("x-forwarded-for", address)
        .basic_auth(form_encode(client_id), Some(form_encode(secret)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// A well-formed secret (valid checksum) with `real`'s public id and other random bits: a guess
/// only someone who has seen the secret's id could make.
fn guess_with_the_id_of(real: &str, n: usize) -> String {
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

/// The session cookie a response set, as a `Cookie` header value.
fn session_cookie(response: &Response) -> String {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn get_with_cookie(app: &TestApp, cookie: &str, path: &str) -> Response {
    app.machine()
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cookie_replayed_after_log_out_gets_the_log_in_page() {
    let app = spawn_app_with(|_| {}).await;
    let email = app.browser.signed_up().await;
    let logged_in = app.browser.log_in(&email, PASSWORD).await;
    let copied = session_cookie(&logged_in);
    assert_eq!(
        get_with_cookie(&app, &copied, "/apps").await.status(),
        StatusCode::OK
    );

    let page = app.browser.get_html("/apps").await;
    let out = app
        .browser
        .post("/logout", &[("csrf_token", &csrf_token(&page))])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let replayed = get_with_cookie(&app, &copied, "/apps").await;

    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert!(location(&replayed).starts_with("/login"));
}

#[tokio::test]
async fn the_sessions_page_lists_every_session_and_ends_them() {
    let app = spawn_app_with(behind_proxy).await;
    let email = app.browser.signed_up().await;
    let laptop = app.new_browser();
    let token = csrf_token(&laptop.get_html("/login").await);
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ];
    let signed_in = laptop
        .client
        .post(format!("{}/login", app.address))
        .header("x-forwarded-for", "203.0.113.77")
        .header("user-agent", "Laptop Browser/1.0")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let phone = app.new_browser();
    assert_eq!(
        phone.log_in(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let page = app.browser.get_html("/account/sessions").await;
    assert!(
        page.contains("href=\"/account/sessions\""),
        "linked from the account menu"
    );
    assert!(page.contains("Laptop Browser/1.0"));
    assert!(page.contains("203.0.113.77"));
    assert_eq!(page.matches(">End session</button>").count(), 3);
    assert!(page.contains("(this session)"));
    // The End session form in the laptop's row.
    let after = &page[page.find("Laptop Browser/1.0").unwrap()..];
    let start = after.find("action=\"").unwrap() + "action=\"".len();
    let laptop_action = after[start..].split('"').next().unwrap().to_owned();

    let ended = app
        .browser
        .post(&laptop_action, &[("csrf_token", &csrf_token(&page))])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let laptop_now = laptop.get("/apps").await;
    assert_eq!(
        laptop_now.status(),
        StatusCode::SEE_OTHER,
        "ended on its next request"
    );
    assert!(location(&laptop_now).starts_with("/login"));
    assert_eq!(phone.get("/apps").await.status(), StatusCode::OK);

    let page = app.browser.get_html("/account/sessions").await;
    let all_others = app
        .browser
        .post(
            "/account/sessions/end-others",
            &[("csrf_token", &csrf_token(&page))],
        )
        .await;
    assert_eq!(all_others.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/apps").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);
    let page = app.browser.get_html("/account/sessions").await;
    assert_eq!(page.matches(">End session</button>").count(), 1);
}

#[tokio::test]
async fn create_admin_ends_every_session_of_the_account() {
    let app = spawn_app_with(|_| {}).await;
    app.browser.sign_up("admin@example.com", PASSWORD).await;
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);

    // The code behind `keyturn create-admin`, on the account that is signed in.
    let _admin = app.admin_browser().await;

    assert_eq!(
        app.browser.get("/apps").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn next_after_log_in_never_leaves_keyturn() {
    let app = spawn_app_with(|_| {}).await;
    let email = app.browser.signed_up().await;
    let attempts = [
        "/\t/evil.example",
        "/%09/evil.example",
        "/%0a/evil.example",
        "/ /evil.example",
        "/%20/evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "//evil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        "https://evil.example/",
        "/\u{85}/evil.example",
    ];
    for next in attempts {
        let browser = app.new_browser();
        let token = csrf_token(&browser.get_html("/login").await);
        let answer = browser
            .post(
                "/login",
                &[
                    ("csrf_token", token.as_str()),
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&answer), "/apps", "next={next:?}");
    }
    let browser = app.new_browser();
    let token = csrf_token(&browser.get_html("/login").await);
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", email.as_str()),
        ("password", PASSWORD),
        ("next", "/authorized-apps?x=1"),
    ];
    assert_eq!(
        location(&browser.post("/login", &fields).await),
        "/authorized-apps?x=1"
    );
}

#[tokio::test]
async fn the_authorization_endpoint_sends_errors_to_the_client_only_for_a_signed_in_user() {
    let app = spawn_app_with(|_| {}).await;
    let (_, client_id) = app_with_owner(&app).await;
    let bad = format!(
        "/oauth/authorize?response_type=token&client_id={client_id}&redirect_uri={}",
        form_encode("https://client.example/callback")
    );

    let stranger = app.new_browser().get(&bad).await;
    let owner = app.browser.get(&bad).await;

    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert!(stranger.headers().get("location").is_none());
    assert!(stranger
        .text()
        .await
        .unwrap()
        .contains("Only response_type=code is supported."));
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    assert!(location(&owner)
        .starts_with("https://client.example/callback?error=unsupported_response_type"));
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_a_trusted_proxy() {
    for trusted in [false, true] {
        let app = spawn_app_with(|s| {
            s.throttle_failures = 10;
            if trusted {
                s.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").unwrap();
            }
        })
        .await;
        app.browser.signed_up().await;
        let attacker = app.new_browser();
        let token = csrf_token(&attacker.get_html("/login").await);
        for n in 0..50 {
            let email = format!("guess{n}@example.com");
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", "wrong password"),
            ];
            let answer = post_from(&attacker, "198.51.100.1", "/login", &fields).await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        }
        let fields = [
            ("csrf_token", token.as_str()),
            ("email", "someone@example.com"),
            ("password", "wrong password"),
        ];
        let same = post_from(&attacker, "198.51.100.1", "/login", &fields).await;
        let other = post_from(&attacker, "198.51.100.2", "/login", &fields).await;

        assert_eq!(same.status(), StatusCode::TOO_MANY_REQUESTS);
        // Only a trusted proxy tells one client from another; without one, X-Forwarded-For
        // is anyone's to write, and everyone is the peer.
        let expected = if trusted {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(other.status(), expected, "trusted: {trusted}");
    }
}

#[tokio::test]
async fn the_csrf_origin_check_ignores_forwarded_hosts_from_untrusted_peers() {
    let app = spawn_app_with(|_| {}).await;
    app.browser.signed_up().await;
    let page = app.browser.get_html("/apps/new").await;
    let answer = app
        .browser
        .client
        .post(format!("{}/apps", app.address))
        .header("origin", "https://evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.example;proto=https")
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("name", "Forged"),
            ("redirect_uris", "https://client.example/callback"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(!app.browser.get_html("/apps").await.contains("Forged"));
}

#[tokio::test]
async fn pages_of_a_signed_in_user_are_never_cached() {
    let app = spawn_app_with(|_| {}).await;
    let (app_id, _) = app_with_owner(&app).await;
    for path in [
        "/apps",
        &format!("/apps/{app_id}"),
        "/account/sessions",
        "/authorized-apps",
    ] {
        let page = app.browser.get(path).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn a_huge_admin_page_number_is_a_bad_request() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_browser().await;
    for page in ["9223372036854775807", "184467440737095516", "1000001"] {
        let answer = admin.get(&format!("/admin?page={page}")).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "page={page}");
    }
    assert_eq!(
        admin.get("/admin?page=1000000").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_token_claiming_a_longer_life_than_configured_is_refused() {
    let app = spawn_app_with(|s| s.access_token_ttl_seconds = 3600).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token = app.access_token(&client_id, &secret).await;
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);

    // The same database and key, with a shorter configured lifetime.
    let mut settings = test_settings(&app.database_url);
    settings.access_token_ttl_seconds = 600;
    let (shorter, _) = start_server_with_clock(settings, app.clock.clone()).await;
    let me = Client::new()
        .get(format!("{shorter}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn over_https_keyturn_refuses_to_start_without_a_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("keyturn.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .env_remove("KEYTURN_SESSION_KEY")
        .env("DATABASE_URL", &database)
        .env("KEYTURN_BIND", "127.0.0.1:0")
        .env("KEYTURN_PUBLIC_URL", "https://keyturn.example")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts anyway would never exit: give it 30 seconds.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("keyturn started without KEYTURN_SESSION_KEY behind https");
    }
    let started = child.wait_with_output().unwrap();

    assert!(!started.status.success());
    let said = String::from_utf8_lossy(&started.stderr);
    assert!(said.contains("KEYTURN_SESSION_KEY must be set"), "{said}");
    assert!(
        said.contains("openssl rand"),
        "says how to make one: {said}"
    );
}

#[tokio::test]
async fn the_request_log_names_the_method_and_the_client_address() {
    let app = spawn_app_with(behind_proxy).await;
    let answer = token_from(&app.address, "203.0.113.99", "nobody", "nothing").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);

    let logs = crate::helpers::captured_logs();
    assert!(
        logs.contains("203.0.113.99 \"POST /oauth/token\" 401"),
        "{}",
        logs.lines()
            .filter(|l| l.contains("/oauth/token"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_last_used_and_the_activity_show_the_clients_address() {
    let app = spawn_app_with(behind_proxy).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let used = token_from(&app.address, "203.0.113.61", &client_id, &secret).await;
    assert_eq!(used.status(), StatusCode::OK);
    let revoke = app.browser.revoke_path(&app_id, &secret).await;
    let confirm = app.browser.get_html(&revoke).await;
    let revoked = post_from(
        &app.browser,
        "203.0.113.62",
        &revoke,
        &[
            ("csrf_token", csrf_token(&confirm).as_str()),
            ("confirm_hint", &secret[secret.len() - 4..]),
        ],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = crate::helpers::secret_row(&page, &secret);
    let start = row.find("href=\"/apps/").unwrap() + "href=\"".len();
    let detail_path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let detail = app.browser.get_html(&detail_path).await;

    assert_eq!(
        crate::helpers::element_text(&detail, "last-used-ip"),
        "203.0.113.61"
    );
    assert!(
        page.contains("203.0.113.62"),
        "the revoke's address in Activity"
    );
}
