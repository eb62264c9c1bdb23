//! Mail and webhooks: a real SMTP listener and a real HTTP receiver started by the tests, the
//! signature checked with the Standard Webhooks algorithm, deliveries that survive an outage
//! and a restart, and time-based notifications driven by the manual clock.

use crate::faults::Process;
use crate::helpers::{
    app_with_owner, csrf_token, spawn_mailing_app, Browser, TestApp, TestDatabase,
};
use base64::Engine;
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One webhook request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The Standard Webhooks check: HMAC-SHA256 over `id.timestamp.body`, keyed with the
    /// base64-decoded part after `whsec_`, compared with each `v1,` signature.
    pub fn signed_by(&self, whsec: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(whsec.strip_prefix("whsec_").unwrap())
            .unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        self.signature
            .split(' ')
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
    }
}

/// A webhook endpoint: an HTTP server on a loopback port that records what it receives. It
/// keeps its port while "down" (answering 503 and recording nothing), so no other test's
/// server can take the port between a stop and a resume.
pub struct Receiver {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (recorded, serving) = (received.clone(), up.clone());
        let server = actix_web::HttpServer::new(move || {
            let (received, up) = (recorded.clone(), serving.clone());
            actix_web::App::new().default_service(actix_web::web::to(
                move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let (received, up) = (received.clone(), up.clone());
                    async move {
                        if !up.load(std::sync::atomic::Ordering::SeqCst) {
                            return actix_web::HttpResponse::ServiceUnavailable().finish();
                        }
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default()
                        };
                        received.lock().unwrap().push(Received {
                            id: header("webhook-id"),
                            timestamp: header("webhook-timestamp"),
                            signature: header("webhook-signature"),
                            body: String::from_utf8(body.to_vec()).unwrap(),
                        });
                        actix_web::HttpResponse::NoContent().finish()
                    }
                },
            ))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver { port, received, up }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Answers again.
    pub async fn resume(&mut self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Fails every delivery (503) until resumed.
    pub async fn stop(&mut self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn of_type(&self, event_type: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.json()["type"] == event_type)
            .cloned()
            .collect()
    }
}

/// A mail server: just enough SMTP to accept messages, on a loopback port it keeps while
/// "down" (then it closes every connection at once, so sending fails).
pub struct MailServer {
    pub port: u16,
    pub inbox: Arc<Mutex<Vec<String>>>,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl MailServer {
    pub async fn start() -> MailServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = MailServer {
            port,
            inbox: Arc::default(),
            up: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        server.serve(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub async fn resume(&mut self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn stop(&mut self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (inbox, up) = (self.inbox.clone(), self.up.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                if !up.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(socket);
                    continue;
                }
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let command = line.to_ascii_uppercase();
                        let reply: &[u8] = if command.starts_with("DATA") {
                            write.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut message = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                message.push_str(&line);
                                message.push('\n');
                            }
                            // Unfolded headers and no quoted-printable soft breaks, so tests
                            // can search the text as written.
                            let message = message
                                .replace("\n ", " ")
                                .replace("\n\t", " ")
                                .replace("=\n", "");
                            inbox.lock().unwrap().push(message);
                            b"250 queued\r\n"
                        } else if command.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
    }

    pub fn mails_to(&self, address: &str) -> Vec<String> {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(&format!("To: {address}")))
            .cloned()
            .collect()
    }
}

/// Waits (up to 15 seconds) until `done` holds.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..150 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Adds a webhook through the app page's form and returns the signing secret shown once.
pub async fn add_webhook(browser: &Browser, app_id: &str, url: &str) -> String {
    let page = browser.get_html(&format!("/apps/{app_id}")).await;
    let response = browser
        .post(
            &format!("/apps/{app_id}/webhooks"),
            &[("csrf_token", csrf_token(&page).as_str()), ("url", url)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    crate::helpers::element_text(&html, "webhook-secret")
}

async fn notifying_app(mail: &MailServer) -> TestApp {
    spawn_mailing_app(mail, |s| s.webhook_allow_private = true).await
}

#[tokio::test]
async fn the_owner_is_mailed_and_the_app_gets_signed_webhooks_for_each_change() {
    let mail = MailServer::start().await;
    let receiver = Receiver::start().await;
    let app = notifying_app(&mail).await;
    let to = app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    let whsec = add_webhook(&app.browser, &app_id, &receiver.url()).await;
    assert!(whsec.starts_with("whsec_"), "{whsec}");

    let first = app
        .browser
        .generate_secret_with(&app_id, &[("label", "production")])
        .await;
    eventually("secret.created", || {
        receiver.of_type("secret.created").len() == 1
    })
    .await;
    let created = &receiver.of_type("secret.created")[0];
    assert!(created.signed_by(&whsec), "the signature verifies");
    assert!(!created.signed_by("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    assert!(created.id.starts_with("msg_"));
    let data = &created.json()["data"];
    assert_eq!(data["client_id"], client_id.as_str());
    assert_eq!(data["label"], "production");
    assert_eq!(data["hint"], format!("••••{}", &first[first.len() - 4..]));
    assert!(data["secret_id"].is_number());
    assert!(!created.body.contains(&first), "never the secret");

    let second = app.browser.generate_secret(&app_id).await;
    app.browser.revoke_secret(&app_id, &first).await;
    eventually("the revoke and the completed rotation", || {
        receiver.of_type("secret.revoked").len() == 1
            && receiver.of_type("rotation.completed").len() == 1
    })
    .await;

    // The owner's mail: one per generate and revoke, naming the app and the hint, never a secret.
    eventually("three mails", || mail.mails_to(&to).len() == 3).await;
    let mails = mail.mails_to(&to).join("\n");
    assert!(mails.contains("New client secret for Shop"), "{mails}");
    assert!(
        mails.contains(&format!("ending in {}", &first[first.len() - 4..])),
        "{mails}"
    );
    assert!(mails.contains("revoked"));
    assert!(mails.contains(&format!("/apps/{app_id}")));
    assert!(!mails.contains(&first) && !mails.contains(&second));

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let deliveries = &page[page.find("id=\"webhook-deliveries\"").unwrap()..];
    assert!(deliveries.contains("rotation.completed"));
    assert!(deliveries.contains("<td>204</td>"));
    assert!(deliveries.contains("Delivered"));
}

#[tokio::test]
async fn a_webhook_on_a_private_address_is_refused_unless_allowed() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains(">Add webhook</button>"));
    assert!(page.contains("Endpoint URL"));

    for url in [
        "http://127.0.0.1:9/hooks",
        "http://10.0.0.1/",
        "ftp://example.com/",
        "nonsense",
    ] {
        let response = app
            .browser
            .post(
                &format!("/apps/{app_id}/webhooks"),
                &[("csrf_token", csrf_token(&page).as_str()), ("url", url)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        let html = response.text().await.unwrap();
        assert!(html.contains("webhook-error"), "{html}");
    }
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(!page.contains("/remove\""), "no webhook was added");
}

#[tokio::test]
async fn notifications_arrive_by_retry_once_the_receiver_and_the_mail_server_are_back() {
    let mut mail = MailServer::start().await;
    let mut receiver = Receiver::start().await;
    let app = notifying_app(&mail).await;
    let (app_id, _) = app_with_owner(&app).await;
    let whsec = add_webhook(&app.browser, &app_id, &receiver.url()).await;
    receiver.stop().await;
    mail.stop();

    app.browser.generate_secret(&app_id).await;
    // The first attempt fails while both are down.
    let page = || async {
        let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
        page[page.find("id=\"webhooks-heading\"").unwrap()..].to_owned()
    };
    for _ in 0..100 {
        if page().await.contains("Retrying") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page().await.contains("Retrying"), "{}", page().await);

    receiver.resume().await;
    mail.resume().await;
    app.clock.advance(TimeDelta::seconds(30));

    eventually("the retried webhook", || {
        receiver.of_type("secret.created").len() == 1
    })
    .await;
    assert!(receiver.of_type("secret.created")[0].signed_by(&whsec));
    eventually("the retried mail", || mail.inbox.lock().unwrap().len() == 1).await;
    let deliveries = page().await;
    assert!(
        deliveries.contains("<td>2</td>"),
        "two attempts: {deliveries}"
    );

    // Delivered notifications are purged after 30 days; what is still pending never is.
    let mut conn = app.pool().get().unwrap();
    keyturn::db::notifications::purge(&mut conn, app.clock.now() - TimeDelta::days(30)).unwrap();
    assert!(page().await.contains("Delivered"), "kept while recent");
    keyturn::db::notifications::purge(&mut conn, app.clock.now() + TimeDelta::days(1)).unwrap();
    assert!(page().await.contains("No deliveries yet."));
}

#[tokio::test]
async fn a_notification_survives_a_restart_of_keyturn() {
    let mut receiver = Receiver::start().await;
    let database = TestDatabase::new();
    let env = [("KEYTURN_WEBHOOK_ALLOW_PRIVATE", "true")];
    let first = Process::start_with(&database.url, 4, &env);
    let browser = first.browser();
    browser.signed_up().await;
    let app_id = browser.create_app("Shop").await;
    add_webhook(&browser, &app_id, &receiver.url()).await;
    receiver.stop().await;
    browser.generate_secret(&app_id).await;
    // Let the first attempt fail, then stop Keyturn before any retry.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    drop(first);
    assert!(receiver.received.lock().unwrap().is_empty());

    receiver.resume().await;
    let _second = Process::start_with(&database.url, 4, &env);

    // The first retry is due 10 seconds after the failed attempt.
    for _ in 0..250 {
        if receiver.of_type("secret.created").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.of_type("secret.created").len(), 1);
}

#[tokio::test]
async fn time_tells_the_owner_and_the_app_once_each_when_a_secret_nears_its_end_and_ends() {
    let mail = MailServer::start().await;
    let receiver = Receiver::start().await;
    let app = notifying_app(&mail).await;
    let (app_id, _) = app_with_owner(&app).await;
    add_webhook(&app.browser, &app_id, &receiver.url()).await;
    app.browser
        .generate_secret_with(&app_id, &[("expires_after", "30")])
        .await;
    eventually("secret.created", || {
        receiver.of_type("secret.created").len() == 1
    })
    .await;
    assert!(receiver.of_type("secret.expiring").is_empty());

    app.clock.advance(TimeDelta::days(17));
    eventually("the warning", || {
        receiver.of_type("secret.expiring").len() == 1
    })
    .await;
    app.clock.advance(TimeDelta::hours(1));
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        receiver.of_type("secret.expiring").len(),
        1,
        "once, not every round"
    );

    app.clock.advance(TimeDelta::days(12));
    eventually("the last day", || {
        receiver.of_type("secret.expiring").len() == 2
    })
    .await;
    app.clock.advance(TimeDelta::days(2));
    eventually("the expiry", || {
        receiver.of_type("secret.expired").len() == 1
    })
    .await;
    let expired = &receiver.of_type("secret.expired")[0].json();
    assert!(expired["data"]["expires_at"].is_string());
    eventually("the owner's mails", || {
        let inbox = mail.inbox.lock().unwrap();
        inbox.iter().filter(|m| m.contains("expires soon")).count() == 2
            && inbox.iter().any(|m| m.contains("expired"))
    })
    .await;
}

#[tokio::test]
async fn a_scheduled_revocation_a_day_away_of_a_secret_still_in_use_is_mailed_then_completes_the_rotation(
) {
    let mail = MailServer::start().await;
    let receiver = Receiver::start().await;
    let app = notifying_app(&mail).await;
    let owner = app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    add_webhook(&app.browser, &app_id, &receiver.url()).await;
    let old = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );

    app.browser
        .generate_secret_with(&app_id, &[("old_secret", "24h")])
        .await;

    eventually("the reminder", || {
        mail.mails_to(&owner)
            .iter()
            .any(|m| m.contains("still in use"))
    })
    .await;
    assert!(
        receiver.of_type("secret.expiring").is_empty(),
        "the owner chose the moment: no expiring event"
    );
    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    eventually("the end of the schedule", || {
        receiver.of_type("secret.expired").len() == 1
            && receiver.of_type("rotation.completed").len() == 1
    })
    .await;
    let expired = receiver.of_type("secret.expired")[0].json();
    assert_eq!(expired["data"]["ends_by"], "scheduled_revocation");
    assert_eq!(
        mail.mails_to(&owner)
            .iter()
            .filter(|m| m.contains("still in use"))
            .count(),
        1,
        "reminded once"
    );
}
