//! Abuse, races, faults and bad input, all through real HTTP.

use crate::helpers::{
    app_with_owner, captured_logs, csrf_token, element_text, location, secret_row,
    serve_over_https, spawn_app, spawn_app_with, Browser, TestApp, PASSWORD,
};
use chrono::TimeDelta;
use reqwest::StatusCode;
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

#[tokio::test]
async fn pages_send_a_new_session_cookie_only_when_the_session_changed() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Quiet Cookies").await;
    let sets_cookie = |response: &reqwest::Response| response.headers().contains_key("set-cookie");

    // The redirect after creating the app carried a flash; showing it removes it once.
    let with_flash = app.browser.get(&format!("/apps/{app_id}")).await;
    let again = app.browser.get(&format!("/apps/{app_id}")).await;
    let list = app.browser.get("/apps").await;
    app.clock.advance(TimeDelta::seconds(61));
    let a_minute_later = app.browser.get("/apps").await;

    assert!(with_flash.status().is_success() && sets_cookie(&with_flash));
    assert!(
        again.status().is_success() && !sets_cookie(&again),
        "nothing changed"
    );
    assert!(list.status().is_success() && !sets_cookie(&list));
    assert!(
        a_minute_later.status().is_success() && !sets_cookie(&a_minute_later),
        "the idle clock is kept on the server, not in the cookie"
    );
}

#[tokio::test]
async fn an_ended_session_is_sent_to_log_in_before_learning_whether_an_app_exists() {
    let app = spawn_app_with(|s| s.session_idle_seconds = 30 * 60).await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Mine").await;
    assert_eq!(
        app.browser.get("/apps/999999").await.status(),
        StatusCode::NOT_FOUND
    );

    app.clock.advance(TimeDelta::minutes(31));
    let missing = app.browser.get("/apps/999999").await;
    let mine = app.browser.get(&format!("/apps/{app_id}")).await;

    assert_eq!(missing.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&missing).starts_with("/login"),
        "{}",
        location(&missing)
    );
    assert_eq!(mine.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&mine).contains(&app_id),
        "back to the app after logging in"
    );
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes_and_after_12_hours() {
    let app = spawn_app_with(|s| {
        s.session_idle_seconds = 30 * 60;
        s.session_max_age_seconds = 12 * 3600;
    })
    .await;
    app.browser.signed_up().await;
    let busy = app.new_browser();
    let email = format!("busy{}@example.com", crate::helpers::rand_suffix());
    busy.sign_up(&email, PASSWORD).await;

    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(app.browser.get("/apps").await.status(), StatusCode::OK);
    app.clock.advance(TimeDelta::minutes(31));
    let idle = app.browser.get("/apps").await;
    assert_eq!(idle.status(), StatusCode::SEE_OTHER, "idle for 31 minutes");
    assert!(location(&idle).starts_with("/login"));

    // A busy session (a request every 20 minutes) still ends 12 hours after login.
    busy.log_in(&email, PASSWORD).await;
    // (Margins of a minute: real time passes too while the test runs.)
    for _ in 0..35 {
        app.clock.advance(TimeDelta::minutes(20));
        assert_eq!(busy.get("/apps").await.status(), StatusCode::OK);
    }
    app.clock.advance(TimeDelta::minutes(19));
    assert_eq!(
        busy.get("/apps").await.status(),
        StatusCode::OK,
        "11 h 59 min"
    );
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(
        busy.get("/apps").await.status(),
        StatusCode::SEE_OTHER,
        "past 12 hours"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_users_other_sessions() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let laptop = app.new_browser();
    laptop.log_in("ada@example.com", PASSWORD).await;

    let wrong = app
        .browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "nope"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser.get("/apps").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        laptop.get("/apps").await.status(),
        StatusCode::SEE_OTHER,
        "the other one ended"
    );
    let old = app.new_browser().log_in("ada@example.com", PASSWORD).await;
    let new = app
        .new_browser()
        .log_in("ada@example.com", "a brand new password")
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_hsts_is_sent() {
    let https = spawn_app_with(|s| serve_over_https(s, "https://keyturn.example")).await;
    let http = spawn_app().await;

    let secure = https.browser.get("/login").await;
    let plain = http.browser.get("/login").await;

    let cookie = secure.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-keyturn="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
    assert!(secure.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    assert!(!plain.headers().contains_key("strict-transport-security"));
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

#[tokio::test]
async fn oversized_bodies_and_fields_get_clear_errors() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let token = csrf_token(&app.browser.get_html("/apps/new").await);

    let huge = "x".repeat(100_000);
    let body = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", &huge),
                ("redirect_uris", ""),
            ],
        )
        .await;
    let long_name = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", &"n".repeat(101)),
                ("redirect_uris", ""),
            ],
        )
        .await;
    let long_uri = format!("https://a.example/{}", "p".repeat(2000));
    let uri = app
        .browser
        .post(
            "/apps",
            &[
                ("csrf_token", &token),
                ("name", "Ok"),
                ("redirect_uris", &long_uri),
            ],
        )
        .await;
    let email = app
        .new_browser()
        .sign_up(&format!("{}@example.com", "e".repeat(250)), PASSWORD)
        .await;

    assert_eq!(body.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body
        .text()
        .await
        .unwrap()
        .contains("The form is too large."));
    assert_eq!(long_name.status(), StatusCode::BAD_REQUEST);
    assert!(long_name
        .text()
        .await
        .unwrap()
        .contains("Name must be at most 100 characters."));
    assert_eq!(uri.status(), StatusCode::BAD_REQUEST);
    assert!(uri.text().await.unwrap().contains("too long"));
    assert_eq!(email.status(), StatusCode::BAD_REQUEST);
    assert!(email
        .text()
        .await
        .unwrap()
        .contains("Email must be at most 254 characters."));
}

#[tokio::test]
async fn fifty_concurrent_generates_across_five_apps_never_exceed_two_active_per_app() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let mut app_ids = Vec::new();
    for n in 0..5 {
        app_ids.push(app.browser.create_app(&format!("Race {n}")).await);
    }
    let token = csrf_token(&app.browser.get_html("/apps").await);

    let actions: Vec<String> = (0..50)
        .map(|n| format!("/apps/{}/secrets", app_ids[n % 5]))
        .collect();
    let fields = [("csrf_token", token.as_str())];
    let responses =
        futures_util::future::join_all(actions.iter().map(|a| app.browser.post(a, &fields))).await;

    let ok = responses
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 10, "two per app");
    assert!(responses
        .iter()
        .all(|r| r.status() == StatusCode::OK || r.status() == StatusCode::CONFLICT));
    for app_id in &app_ids {
        let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
        assert_eq!(page.matches(">Active</span>").count(), 2, "app {app_id}");
    }
}

#[tokio::test]
async fn a_revoke_racing_token_requests_never_lets_the_secret_through_after_the_revoke_answered() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let path = app.browser.revoke_path(&app_id, &secret).await;
    let confirm = app.browser.get_html(&path).await;
    let token = csrf_token(&confirm);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    let hammer = (0..4).map(|_| {
        let (address, client_id, secret, stop) = (
            app.address.clone(),
            client_id.clone(),
            secret.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut results = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let sent = Instant::now();
                let status = client
                    .post(format!("{address}/oauth/token"))
                    .basic_auth(&client_id, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap()
                    .status();
                results.push((sent, status));
            }
            results
        })
    });
    let hammer: Vec<_> = hammer.collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let revoke = app
        .browser
        .post(
            &path,
            &[
                ("csrf_token", token.as_str()),
                ("confirm_hint", &secret[secret.len() - 4..]),
            ],
        )
        .await;
    let answered = Instant::now();
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);

    let mut after = 0;
    for task in hammer {
        for (sent, status) in task.await.unwrap() {
            if sent > answered {
                after += 1;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "a request sent after the revoke got through"
                );
            }
        }
    }
    assert!(after > 0, "some requests were sent after the revoke");
}

#[tokio::test]
async fn token_revocation_and_app_creation_are_in_the_owners_activity() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();

    app.machine()
        .post(format!("{}/oauth/revoke", app.address))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", token["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        page.contains(&format!(
            "Revoked an access token, by client {client_id} from 127.0.0.1"
        )),
        "{page}"
    );
    assert!(
        page.contains("Created the app &#34;Shop&#34;")
            || page.contains("Created the app &quot;Shop&quot;")
    );
}

/// Every kind of traffic the product has, then a search for every plaintext it saw.
#[tokio::test]
async fn no_plaintext_secret_token_or_password_reaches_the_logs_or_the_database() {
    let app = spawn_app_with(|s| s.public_url = None).await;
    let password = "a password only this test uses";
    let dev = app.new_browser();
    dev.sign_up("scan@example.com", password).await;
    let app_id = dev.create_app("Scanned").await;
    let client_id = dev.client_id(&app_id).await;
    let first = dev
        .generate_secret_with(&app_id, &[("label", "production")])
        .await;
    let second = dev
        .generate_secret_with(&app_id, &[("old_secret", "1h")])
        .await;
    let mut plaintexts = vec![password.to_owned(), first.clone(), second.clone()];
    for (id, secret) in [(&client_id, &first), (&client_id, &second)] {
        let token: serde_json::Value = app.token_basic(id, secret).await.json().await.unwrap();
        plaintexts.push(token["access_token"].as_str().unwrap().to_owned());
    }
    app.token_post(&client_id, &format!("{}0", &first[..first.len() - 1]))
        .await;
    // The code flow.
    let user = app.new_browser();
    user.sign_up("owner@example.com", password).await;
    let verifier = "v".repeat(43) + "erifier-for-the-scan-test";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let consent = user
        .get_html(&format!(
            "/oauth/authorize?response_type=code&client_id={client_id}&state=s&code_challenge={challenge}&code_challenge_method=S256"
        ))
        .await;
    let token = csrf_token(&consent);
    let decision = user
        .post(
            "/oauth/authorize",
            &[
                ("csrf_token", token.as_str()),
                ("response_type", "code"),
                ("client_id", &client_id),
                ("state", "s"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("decision", "allow"),
            ],
        )
        .await;
    let code = url::Url::parse(&location(&decision))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refreshed: serde_json::Value = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for t in [&tokens, &refreshed] {
        plaintexts.push(t["access_token"].as_str().unwrap().to_owned());
        plaintexts.push(t["refresh_token"].as_str().unwrap().to_owned());
    }
    plaintexts.push(code);
    app.machine()
        .post(format!("{}/oauth/introspect", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[("token", refreshed["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    dev.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", password),
            ("new_password", "another password for the scan"),
        ],
    )
    .await;
    plaintexts.push("another password for the scan".into());
    dev.revoke_secret(&app_id, &first).await;

    let logs = captured_logs();
    let database = app.database_bytes();
    assert!(
        logs.contains("/oauth/token") && logs.contains("/oauth/authorize"),
        "the log capture works"
    );
    for plaintext in &plaintexts {
        // The last four characters of a secret are its displayed hint; everything before them is secret.
        let secret_part = &plaintext[..plaintext.len() - 4];
        assert!(!logs.contains(secret_part), "a plaintext reached the logs");
        assert!(
            !database
                .windows(secret_part.len())
                .any(|w| w == secret_part.as_bytes()),
            "a plaintext reached the database"
        );
    }
    let _ = (element_text, secret_row, Browser::new);
}
