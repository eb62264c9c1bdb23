//! Faults: the real binary killed, stopped and starved of its database.

use crate::helpers::{
    app_with_owner, csrf_token, input_value, location, on_postgres, spawn_app_with, Browser,
    TestDatabase, PASSWORD,
};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The release or debug `keyturn` binary serving the database at `db` (a URL) on a free port.
pub struct Process {
    pub child: Child,
    pub address: String,
}

impl Process {
    pub fn start(db: &str, bcrypt_cost: u32) -> Process {
        Self::start_with(db, bcrypt_cost, &[])
    }

    pub fn start_with(db: &str, bcrypt_cost: u32, env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyturn"));
        command
            .env_remove("KEYTURN_SESSION_KEY")
            .env("KEYTURN_THROTTLE_FAILURES", "1000");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .env("DATABASE_URL", db)
            .env("KEYTURN_BIND", "127.0.0.1:0")
            .env("KEYTURN_BCRYPT_COST", bcrypt_cost.to_string())
            .env("RUST_LOG", "info")
            .env_remove("KEYTURN_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.split("address=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Process {
            child,
            address: format!("http://{address}"),
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn integrity_check(db: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = diesel::SqliteConnection::establish(db).unwrap();
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join(",")
}

async fn token(
    client: &reqwest::Client,
    address: &str,
    client_id: &str,
    secret: &str,
) -> Option<String> {
    let response = client
        .post(format!("{address}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["access_token"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn a_server_killed_under_write_load_restarts_with_every_acknowledged_change() {
    let database = TestDatabase::new();
    let db = database.url.as_str();
    let server = Process::start(db, 4);
    let browser = server.browser();
    browser.sign_up("durable@example.com", PASSWORD).await;
    let mut apps = Vec::new();
    for n in 0..15 {
        let app_id = browser.create_app(&format!("Durable {n}")).await;
        apps.push((app_id.clone(), browser.client_id(&app_id).await));
    }
    let (first_app, first_client) = apps[0].clone();
    let seed_secret = browser.generate_secret(&first_app).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    // Writers: token issuance on four connections, and secret generation across the apps.
    let issuers: Vec<_> = (0..4)
        .map(|_| {
            let (address, client_id, secret, stop) = (
                server.address.clone(),
                first_client.clone(),
                seed_secret.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut acknowledged = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    match token(&client, &address, &client_id, &secret).await {
                        Some(t) => acknowledged.push(t),
                        None => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    let generator = {
        let (address, apps) = (server.address.clone(), apps[1..].to_vec());
        let cookies = browser.client.clone();
        tokio::spawn(async move {
            let browser = Browser {
                address,
                client: cookies,
                inbox: None,
            };
            let mut acknowledged = Vec::new();
            for (app_id, client_id) in apps.iter().cycle().take(28) {
                let Ok(page) = browser
                    .client
                    .get(format!("{}/apps/{app_id}/secrets/new", browser.address))
                    .send()
                    .await
                else {
                    break;
                };
                let Ok(page) = page.text().await else { break };
                let fields = [
                    ("csrf_token", csrf_token(&page)),
                    ("request_nonce", input_value(&page, "request_nonce")),
                ];
                let Ok(response) = browser
                    .client
                    .post(format!("{}/apps/{app_id}/secrets", browser.address))
                    .form(&fields)
                    .send()
                    .await
                else {
                    break;
                };
                if response.status() != StatusCode::OK {
                    break;
                }
                let Ok(body) = response.text().await else {
                    break;
                };
                acknowledged.push((
                    client_id.clone(),
                    crate::helpers::element_text(&body, "new-secret"),
                ));
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(server); // SIGKILL, mid-write
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut tokens = Vec::new();
    for issuer in issuers {
        tokens.extend(issuer.await.unwrap());
    }
    let secrets = generator.await.unwrap();

    println!(
        "acknowledged before SIGKILL: {} tokens, {} secrets",
        tokens.len(),
        secrets.len()
    );
    if !on_postgres() {
        assert_eq!(integrity_check(db), "ok");
    }
    let restarted = Process::start(db, 4);
    let client = reqwest::Client::new();
    assert!(
        !tokens.is_empty() && !secrets.is_empty(),
        "the load was running when the server died"
    );
    for access_token in &tokens {
        let me = client
            .get(format!("{}/api/v1/me", restarted.address))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            me.status(),
            StatusCode::OK,
            "an acknowledged token was lost"
        );
    }
    for (client_id, secret) in &secrets {
        assert!(
            token(&client, &restarted.address, client_id, secret)
                .await
                .is_some(),
            "an acknowledged secret was lost"
        );
    }
    let page = restarted.browser();
    assert_eq!(
        page.log_in("durable@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let database = TestDatabase::new();
    // bcrypt at cost 13 keeps a signup busy long enough to be in flight.
    let mut server = Process::start(&database.url, 13);
    let browser = server.browser();
    let form = browser.get_html("/signup").await;
    let token = csrf_token(&form);

    let signup = tokio::spawn(async move {
        browser
            .post(
                "/signup",
                &[
                    ("csrf_token", token.as_str()),
                    ("email", "late@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = i32::try_from(server.child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);

    let response = signup.await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the in-flight signup completed"
    );
    assert_eq!(location(&response), "/apps");
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn when_the_database_cannot_commit_generate_and_revoke_report_failure_and_change_nothing() {
    let app = spawn_app_with(|s| s.database_busy_timeout_ms = 100).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let confirm_generate = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let revoke_path = app.browser.revoke_path(&app_id, &secret).await;
    let confirm_revoke = app.browser.get_html(&revoke_path).await;

    // Another process holds the write lock (on PostgreSQL: on the secrets table; reads go on).
    let mut blocker: Box<dyn SimpleConnection> = if on_postgres() {
        let mut conn = diesel::PgConnection::establish(&app.database_url).unwrap();
        conn.batch_execute("BEGIN; LOCK TABLE client_secrets IN EXCLUSIVE MODE")
            .unwrap();
        Box::new(conn)
    } else {
        let mut conn = diesel::SqliteConnection::establish(&app.database_url).unwrap();
        conn.batch_execute("BEGIN EXCLUSIVE").unwrap();
        Box::new(conn)
    };
    let generate = app
        .browser
        .post(
            &format!("/apps/{app_id}/secrets"),
            &[
                ("csrf_token", csrf_token(&confirm_generate).as_str()),
                (
                    "request_nonce",
                    &input_value(&confirm_generate, "request_nonce"),
                ),
            ],
        )
        .await;
    let revoke = app
        .browser
        .post(
            &revoke_path,
            &[
                ("csrf_token", csrf_token(&confirm_revoke).as_str()),
                ("confirm_hint", &secret[secret.len() - 4..]),
            ],
        )
        .await;
    blocker.batch_execute("ROLLBACK").unwrap();

    assert_eq!(generate.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // The operator finds the cause by the id the page was served with.
    let request_id = generate.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let logs = crate::helpers::captured_logs();
    assert!(
        logs.lines()
            .any(|l| l.contains(&format!("id={request_id}")) && l.contains("request failed")),
        "the failure's log line carries the request id {request_id}"
    );
    let page = generate.text().await.unwrap();
    assert!(page.contains("Nothing was changed"));
    assert!(!page.contains("id=\"new-secret\""));
    assert_eq!(revoke.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(revoke.text().await.unwrap().contains("Nothing was changed"));
    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert_eq!(after.matches(">Active</span>").count(), 1);
    assert_eq!(
        app.token_basic(&client_id, &secret).await.status(),
        StatusCode::OK
    );
    let ready = app
        .machine()
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn keyturn_session_key_signs_the_cookies_instead_of_the_generated_key() {
    let key = [(
        "KEYTURN_SESSION_KEY",
        "a session key of at least thirty-two bytes, for this test",
    )];
    let databases = [(); 3].map(|()| TestDatabase::new());
    let first = Process::start_with(&databases[0].url, 4, &key);
    let same_key = Process::start_with(&databases[1].url, 4, &key);
    let generated = Process::start(&databases[2].url, 4);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The anonymous session (holding the CSRF token) made by the first server...
    let session = {
        let response = client
            .get(format!("{}/login", first.address))
            .send()
            .await
            .unwrap();
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let page = response.text().await.unwrap();
        (
            set_cookie.split(';').next().unwrap().to_owned(),
            csrf_token(&page),
        )
    };
    let post = |address: String| {
        client
            .post(format!("{address}/login"))
            .header("cookie", &session.0)
            .form(&[
                ("csrf_token", session.1.as_str()),
                ("email", "nobody@example.com"),
                ("password", "wrong password"),
            ])
            .send()
    };

    // ...is understood by another server with the same key (a wrong password: 401, not a CSRF
    // refusal) and not by one with a generated key (403: it cannot read the cookie).
    assert_eq!(
        post(same_key.address.clone()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(generated.address.clone()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}
