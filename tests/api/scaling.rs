//! Several instances on one PostgreSQL database, as behind a load balancer (docs/scaling.md).
//! Needs a PostgreSQL cluster: KEYTURN_TEST_POSTGRES_URL (scripts/postgres starts one).

use crate::faults::Process;
use crate::helpers::{secret_row, Browser, TestDatabase, PASSWORD};
use reqwest::StatusCode;

/// A client credentials request to `address`, as an OAuth client sends it.
pub async fn token_status(address: &str, client_id: &str, secret: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(format!("{address}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set KEYTURN_TEST_POSTGRES_URL (scripts/postgres starts a cluster)"]
async fn two_instances_on_one_postgres_database_share_secrets_revocations_and_sessions() {
    let postgres = TestDatabase::postgres();
    let database = postgres.url.as_str();
    // Started together on an empty database: both migrate at once, and both generate a session
    // key; they must agree on one schema and one key.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Process::start(database, 4));
        let b = scope.spawn(|| Process::start(database, 4));
        (a.join().unwrap(), b.join().unwrap())
    });

    // A login on A is valid on B (cookies are per host, so one cookie jar serves both ports).
    let on_a = a.browser();
    on_a.signed_up().await;
    let on_b = Browser {
        address: b.address.clone(),
        client: on_a.client.clone(),
        inbox: None,
    };
    let my_apps = on_b.get("/apps").await;
    assert_eq!(my_apps.status(), StatusCode::OK, "B accepts A's session");
    assert!(my_apps.text().await.unwrap().contains("<h1>My Apps</h1>"));

    // A secret generated on A authenticates on B, and B's token works on A.
    let app_id = on_a.create_app("Scaled").await;
    let client_id = on_a.client_id(&app_id).await;
    let old = on_a.generate_secret(&app_id).await;
    let (status, body) = token_status(&b.address, &client_id, &old).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let me = reqwest::Client::new()
        .get(format!("{}/api/v1/me", a.address))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "a token from B works on A");

    // Rotation across instances: the new secret is generated on B, the old one revoked on A.
    let new = on_b.generate_secret(&app_id).await;
    let page_on_b = on_b.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page_on_b, &old).contains("Active"));
    assert_eq!(
        on_a.revoke_secret(&app_id, &old).await.status(),
        StatusCode::SEE_OTHER
    );

    // The very next request to B refuses the revoked secret, though B proved it moments ago.
    let (status, body) = token_status(&b.address, &client_id, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("invalid_client"));
    let (status, body) = token_status(&b.address, &client_id, &new).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // B's page shows the revocation at once, although B had just rendered it.
    let page_on_b = on_b.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page_on_b, &old).contains("Revoked"));
    assert!(secret_row(&page_on_b, &new).contains("Active"));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set KEYTURN_TEST_POSTGRES_URL (scripts/postgres starts a cluster)"]
async fn two_instances_share_one_allowance_of_failed_log_ins() {
    let postgres = TestDatabase::postgres();
    let database = postgres.url.as_str();
    let throttled = [("KEYTURN_THROTTLE_FAILURES", "10")];
    let a = Process::start_with(database, 4, &throttled);
    let b = Process::start_with(database, 4, &throttled);
    a.browser().sign_up("ada@example.com", PASSWORD).await;
    let (on_a, on_b) = (a.browser(), b.browser());

    for _ in 0..6 {
        let answer = on_a.log_in("ada@example.com", "wrong password").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..5 {
        let answer = on_b.log_in("ada@example.com", "wrong password").await;
        // The tenth failure in all is the last one allowed; the eleventh attempt waits.
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&answer.status())
        );
    }
    let next_on_a = a.browser().log_in("ada@example.com", PASSWORD).await;
    let next_on_b = b.browser().log_in("ada@example.com", PASSWORD).await;

    assert_eq!(next_on_a.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(next_on_b.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set KEYTURN_TEST_POSTGRES_URL (scripts/postgres starts a cluster)"]
async fn three_instances_send_each_notification_once() {
    use crate::notifications::{add_webhook, eventually, Receiver};
    let receiver = Receiver::start().await;
    let postgres = TestDatabase::postgres();
    let database = postgres.url.as_str();
    let env = [("KEYTURN_WEBHOOK_ALLOW_PRIVATE", "true")];
    let instances: Vec<Process> = (0..3)
        .map(|_| Process::start_with(database, 4, &env))
        .collect();
    let browser = instances[0].browser();
    browser.signed_up().await;
    let app_id = browser.create_app("Busy").await;
    add_webhook(&browser, &app_id, &receiver.url()).await;

    // Ten changes, made through every instance; all three workers race for the outbox.
    for round in 0..5 {
        let on = Browser {
            address: instances[round % 3].address.clone(),
            client: browser.client.clone(),
            inbox: None,
        };
        let secret = on.generate_secret(&app_id).await;
        assert_eq!(
            on.revoke_secret(&app_id, &secret).await.status(),
            StatusCode::SEE_OTHER
        );
    }

    eventually("ten deliveries", || {
        receiver.received.lock().unwrap().len() >= 10
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let received = receiver.received.lock().unwrap().clone();
    let mut ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(received.len(), 10, "each once: {received:?}");
    assert_eq!(ids.len(), 10);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set KEYTURN_TEST_POSTGRES_URL (scripts/postgres starts a cluster)"]
async fn a_member_removed_on_one_instance_is_refused_by_the_other_at_once() {
    use crate::teams::{create_team, create_team_app, invite, member_id};
    let postgres = TestDatabase::postgres();
    let database = postgres.url.as_str();
    let (a, b) = (Process::start(database, 4), Process::start(database, 4));
    let owner = a.browser();
    owner.signed_up().await;
    let team = create_team(&owner, "Shared").await;
    let app_id = create_team_app(&owner, &team, "Across").await;
    let member_on_a = a.browser();
    let email = member_on_a.signed_up().await;
    invite(&owner, &team, &email, "developer").await;
    let member_on_b = Browser {
        address: b.address.clone(),
        client: member_on_a.client.clone(),
        inbox: None,
    };
    // B has just shown the member the page (and keeps it in its cache).
    let page = member_on_b.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains("Generate new secret"));
    let csrf = crate::helpers::csrf_token(&page);

    let team_page = owner.get_html(&format!("/teams/{team}")).await;
    let member = member_id(&team_page, &email);
    let removed = owner
        .submit(
            &format!("/teams/{team}"),
            &format!("/teams/{team}/members/{member}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        member_on_b.get(&format!("/apps/{app_id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let forced = member_on_b
        .post(&format!("/apps/{app_id}/secrets"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(forced.status(), StatusCode::NOT_FOUND);
}
