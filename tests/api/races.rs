//! Races: concurrent generates never leave more than two active secrets per app, and a revoke
//! racing token requests lets nothing through once it has answered.

use crate::helpers::{app_with_owner, csrf_token, spawn_app};
use reqwest::StatusCode;
use std::time::Instant;

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
