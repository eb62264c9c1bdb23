//! What the people who run Keyturn see: metrics on their own listener, request ids in the log
//! and the response, and the stored proofs that spare bcrypt after a restart.

use crate::helpers::{app_with_owner, launch, spawn_app, spawn_app_with, test_settings, TestApp};
use crate::throttling::guess_with_the_id_of;
use keyturn::infra::clock::Clock;
use reqwest::StatusCode;

/// The metrics page's text.
async fn scrape(metrics: &str) -> String {
    let response = reqwest::get(metrics).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of one series (name and labels exactly as exposed), 0 when it is not there yet.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// How much each series grew between two scrapes.
struct Growth(String, String);

impl Growth {
    fn of(&self, series: &str) -> f64 {
        metric(&self.1, series) - metric(&self.0, series)
    }
}

/// Runs `work`, and returns how the metrics at `metrics` grew meanwhile.
async fn growth_during(metrics: &str, work: impl std::future::Future<Output = ()>) -> Growth {
    let before = scrape(metrics).await;
    work.await;
    Growth(before, scrape(metrics).await)
}

const ISSUED: &str = r#"keyturn_token_requests_total{grant="client_credentials",outcome="issued"}"#;
const BCRYPT_ACCEPTED: &str = r#"keyturn_bcrypt_verifications_total{result="accepted"}"#;
const BCRYPT_REJECTED: &str = r#"keyturn_bcrypt_verifications_total{result="rejected"}"#;
const PROVEN_IN_MEMORY: &str = r#"keyturn_proven_secret_hits_total{source="memory"}"#;
const PROVEN_BY_STORED_PROOF: &str = r#"keyturn_proven_secret_hits_total{source="database"}"#;

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only_and_count_what_happens() {
    let app = spawn_app_with(|s| {
        s.metrics_bind = Some("127.0.0.1:0".into());
        s.throttle_failures = 1;
    })
    .await;
    let metrics = app.metrics.clone().unwrap();
    let on_public_port = app
        .machine()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(on_public_port.status(), StatusCode::NOT_FOUND);
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let grew = growth_during(&metrics, async {
        let status = |response: reqwest::Response| response.status();
        assert_eq!(
            status(app.token_basic(&client_id, &secret).await),
            StatusCode::OK
        );
        assert_eq!(
            status(app.token_basic(&client_id, &secret).await),
            StatusCode::OK
        );
        let malformed = app.token_basic(&client_id, "kts_not-a-secret").await;
        assert_eq!(status(malformed), StatusCode::UNAUTHORIZED);
        let wrong = app
            .token_basic(&client_id, &guess_with_the_id_of(&secret, 1))
            .await;
        assert_eq!(status(wrong), StatusCode::UNAUTHORIZED);
        let unsupported = app
            .machine()
            .post(format!("{}/oauth/token", app.address))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert_eq!(status(unsupported), StatusCode::BAD_REQUEST);
    })
    .await;

    assert_eq!(grew.of(ISSUED), 2.0);
    assert_eq!(
        grew.of(
            r#"keyturn_token_requests_total{grant="client_credentials",outcome="invalid_client"}"#
        ),
        2.0
    );
    assert_eq!(
        grew.of(
            r#"keyturn_token_requests_total{grant="unsupported",outcome="unsupported_grant_type"}"#
        ),
        1.0
    );
    assert_eq!(
        grew.of(r#"keyturn_client_auth_failures_total{reason="malformed"}"#),
        1.0
    );
    assert_eq!(
        grew.of(r#"keyturn_client_auth_failures_total{reason="wrong_secret"}"#),
        1.0
    );
    assert_eq!(grew.of(BCRYPT_ACCEPTED), 1.0, "the first use");
    assert_eq!(grew.of(BCRYPT_REJECTED), 1.0, "the wrong secret");
    assert_eq!(grew.of("keyturn_bcrypt_verification_seconds_count"), 2.0);
    // The second use, and the unsupported grant (the client authenticates first).
    assert_eq!(grew.of(PROVEN_IN_MEMORY), 2.0);
    assert_eq!(
        grew.of(r#"keyturn_http_request_duration_seconds_count{method="POST",route="/oauth/token",status="200"}"#),
        2.0
    );
    assert!(
        grew.of("keyturn_writer_batch_size_count") >= 1.0,
        "Last Used was written"
    );
    let now = &grew.1;
    assert!(metric(now, "keyturn_db_pool_wait_seconds_count") >= 1.0);
    assert!(now
        .lines()
        .any(|l| l.starts_with("keyturn_writer_queue_depth ")));
    assert!(!now.contains(&secret[..17]), "no secret id in the metrics");
    assert!(!now.contains(&client_id), "no client id in the metrics");

    // Guesses from one address until its allowance is used up.
    let grew = growth_during(&metrics, async {
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(app.token_basic(&client_id, "kts_guess").await.status());
        }
        assert!(
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
            "{statuses:?}"
        );
    })
    .await;
    assert!(grew.of(r#"keyturn_throttled_requests_total{throttle="client_address"}"#) >= 1.0);
    assert!(
        grew.of(r#"keyturn_token_requests_total{grant="client_credentials",outcome="temporarily_unavailable"}"#)
            >= 1.0
    );
}

#[tokio::test]
async fn every_response_has_a_request_id_which_its_log_lines_carry() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for path in ["/healthz", "/login", "/no-such-page"] {
        let response = app
            .machine()
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            id.len() >= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{id}"
        );
        ids.push((path, id));
    }
    assert_ne!(ids[0].1, ids[1].1, "one id per request");

    // A client's own id is not taken: only a trusted proxy's would be.
    let forged = app
        .machine()
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", &ids[0].1)
        .send()
        .await
        .unwrap();
    assert_ne!(forged.headers()["x-request-id"].to_str().unwrap(), ids[0].1);

    let logs = crate::helpers::captured_logs();
    for (path, id) in &ids {
        let line = logs
            .lines()
            .find(|line| line.contains(&format!("id={id}")))
            .unwrap_or_else(|| panic!("no log line with {id}"));
        assert!(line.contains(&format!("path=\"{path}\"")), "{line}");
    }
}

/// Another server on `app`'s database, with its own memory, with `session_key` and metrics.
async fn another_instance(app: &TestApp, session_key: &str) -> (String, String) {
    let mut settings = test_settings(&app.database_url);
    settings.metrics_bind = Some("127.0.0.1:0".into());
    settings.session_key = Some(session_key.to_owned().into());
    let (address, metrics) = launch(settings, Clock::system()).await;
    (address, metrics.unwrap())
}

async fn token_status(address: &str, client_id: &str, secret: &str) -> StatusCode {
    crate::scaling::token_status(address, client_id, secret)
        .await
        .0
}

#[tokio::test]
async fn a_stored_proof_spares_bcrypt_after_a_restart_and_on_other_instances_and_proves_nothing_else(
) {
    let key = |n: u8| format!("test-session-key-{n}-{:048}", 0);
    let app = spawn_app_with(|s| s.session_key = Some(key(1).into())).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let stale = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &secret).await.status(),
        StatusCode::OK
    );

    // A restarted server (or another instance) with the same key: no bcrypt.
    let (restarted, metrics) = another_instance(&app, &key(1)).await;
    let grew = growth_during(&metrics, async {
        assert_eq!(
            token_status(&restarted, &client_id, &secret).await,
            StatusCode::OK
        );
        assert_eq!(
            token_status(&restarted, &client_id, &secret).await,
            StatusCode::OK
        );
    })
    .await;
    assert_eq!(grew.of(BCRYPT_ACCEPTED) + grew.of(BCRYPT_REJECTED), 0.0);
    assert_eq!(grew.of(PROVEN_BY_STORED_PROOF), 1.0);
    assert_eq!(grew.of(PROVEN_IN_MEMORY), 1.0);

    // Another secret with the same id: the proof proves nothing about it, bcrypt refuses it.
    // And a secret never used has no proof: its first use costs a bcrypt.
    let grew = growth_during(&metrics, async {
        let guess = guess_with_the_id_of(&secret, 3);
        assert_eq!(
            token_status(&restarted, &client_id, &guess).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            token_status(&restarted, &client_id, &stale).await,
            StatusCode::OK
        );
    })
    .await;
    assert_eq!(grew.of(BCRYPT_REJECTED), 1.0);
    assert_eq!(grew.of(BCRYPT_ACCEPTED), 1.0);
    assert_eq!(grew.of(PROVEN_BY_STORED_PROOF), 0.0);

    // Under another key the stored proof proves nothing: one bcrypt, which stores a new one.
    let (rekeyed, metrics) = another_instance(&app, &key(2)).await;
    let grew = growth_during(&metrics, async {
        assert_eq!(
            token_status(&rekeyed, &client_id, &secret).await,
            StatusCode::OK
        );
    })
    .await;
    assert_eq!(grew.of(BCRYPT_ACCEPTED), 1.0);
    assert_eq!(grew.of(PROVEN_BY_STORED_PROOF), 0.0);

    // Revoked: refused on the very next request, by an instance holding a valid proof for it.
    let (fresh, metrics) = another_instance(&app, &key(2)).await;
    assert_eq!(
        app.browser.revoke_secret(&app_id, &secret).await.status(),
        StatusCode::SEE_OTHER
    );
    let grew = growth_during(&metrics, async {
        assert_eq!(
            token_status(&fresh, &client_id, &secret).await,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
    assert_eq!(grew.of(BCRYPT_ACCEPTED) + grew.of(BCRYPT_REJECTED), 0.0);
    assert_eq!(grew.of(PROVEN_BY_STORED_PROOF), 0.0);
    assert_eq!(
        grew.of(r#"keyturn_client_auth_failures_total{reason="inactive"}"#),
        1.0
    );
}

#[tokio::test]
async fn without_a_session_key_from_the_environment_no_proof_is_stored() {
    // The generated key lives in the database, where the proofs' key must never be.
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &secret).await.status(),
        StatusCode::OK
    );

    let mut settings = test_settings(&app.database_url);
    settings.metrics_bind = Some("127.0.0.1:0".into());
    let (restarted, metrics) = launch(settings, Clock::system()).await;
    let grew = growth_during(&metrics.unwrap(), async {
        assert_eq!(
            token_status(&restarted, &client_id, &secret).await,
            StatusCode::OK
        );
    })
    .await;
    assert_eq!(grew.of(BCRYPT_ACCEPTED), 1.0);
    assert_eq!(grew.of(PROVEN_BY_STORED_PROOF), 0.0);
}
