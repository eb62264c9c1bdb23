//! The secrets API through real HTTP: list, create, revoke; idempotency, the two-secret limit,
//! scopes, what a stranger sees, throttling and the Activity entries.

use super::{
    api_token, call, create_secret, created_secret, developer_with_token, problem, secrets_of,
};
use crate::helpers::{spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_rotation_through_the_api_from_list_to_revoke() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    let first = app.browser.generate_secret(&app_id).await;
    let secrets_path = format!("/api/v1/apps/{client_id}/secrets");

    let apps = call(&app, Method::GET, "/api/v1/apps", &token, None).await;
    assert_eq!(apps.status(), StatusCode::OK);
    let apps: serde_json::Value = apps.json().await.unwrap();
    assert_eq!(apps["apps"][0]["client_id"], client_id.as_str());
    let listed = call(&app, Method::GET, &secrets_path, &token, None).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.headers()["cache-control"], "no-store");
    let listed: serde_json::Value = listed.json().await.unwrap();
    let old = &listed["secrets"][0];
    assert_eq!(old["hint"], format!("••••{}", &first[first.len() - 4..]));
    assert_eq!(old["status"], "active");
    assert!(old.get("secret").is_none(), "never the value: {old}");
    assert!(!listed.to_string().contains(&first));
    let old_id = old["id"].as_i64().unwrap();

    let created = create_secret(
        &app,
        &client_id,
        &token,
        json!({"label": "production", "expires_in_days": 90, "revoke_old_in": "24h"}),
    )
    .await;

    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created: serde_json::Value = created.json().await.unwrap();
    let new_secret = created["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("kts_"));
    assert_eq!(created["label"], "production");
    assert_eq!(created["status"], "active");
    assert!(created["expires_at"].is_string());
    assert_eq!(
        app.token_basic(&client_id, &new_secret).await.status(),
        StatusCode::OK
    );
    let listed: serde_json::Value = call(&app, Method::GET, &secrets_path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!listed.to_string().contains(&new_secret), "shown once");
    let old = listed["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == old_id)
        .unwrap();
    assert_eq!(old["status"], "active");
    assert!(old["revoke_at"].is_string(), "{old}");
    assert!(created["revoke_at"].is_null(), "{created}");

    let revoke_path = format!("{secrets_path}/{old_id}?revoke_tokens=true");
    let revoked = call(&app, Method::DELETE, &revoke_path, &token, None).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.token_basic(&client_id, &first).await.status(),
        StatusCode::UNAUTHORIZED,
        "the very next request"
    );
    let again = call(&app, Method::DELETE, &revoke_path, &token, None).await;
    assert_eq!(
        again.status(),
        StatusCode::NO_CONTENT,
        "a repeat is harmless"
    );

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let email_by_token = "(API token deploy)";
    assert!(page.contains(&format!(
        "Generated ••••{}",
        &new_secret[new_secret.len() - 4..]
    )));
    assert!(page.contains(email_by_token), "{page}");
    assert!(page.contains("and every token issued with it"));
}

#[tokio::test]
async fn a_repeated_idempotency_key_mints_nothing_and_replays_without_the_secret() {
    let app = spawn_app().await;
    let (_, client_id, token) = developer_with_token(&app).await;
    let send = |key: &'static str, body: serde_json::Value| {
        let request = app
            .machine()
            .post(format!("{}/api/v1/apps/{client_id}/secrets", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };

    let first = send("rotate-2026-11", json!({"label": "ci"})).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = first.json().await.unwrap();
    // The same request again, spelled differently: a retry.
    let replayed = send("rotate-2026-11", json!({ "label" : "ci" })).await;

    assert_eq!(replayed.status(), StatusCode::OK);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let replayed: serde_json::Value = replayed.json().await.unwrap();
    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(replayed["hint"], first["hint"]);
    assert!(replayed.get("secret").is_none(), "{replayed}");
    let listed = secrets_of(&app, &client_id, &token).await;
    assert_eq!(listed["secrets"].as_array().unwrap().len(), 1, "one secret");

    let other_body = send("rotate-2026-11", json!({"label": "other"})).await;
    let body = problem(other_body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"], "idempotency_key_reused");

    // After a day the key is forgotten.
    app.clock
        .advance(chrono::TimeDelta::hours(24) + chrono::TimeDelta::seconds(1));
    let later = send("rotate-2026-11", json!({ "label": "ci" })).await;
    assert_eq!(later.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_same_key_sent_many_times_at_once_creates_one_secret() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    // One live secret already: the losers must get the replay, never "at most 2 active".
    app.browser.generate_secret(&app_id).await;
    let requests = (0..12).map(|_| {
        app.machine()
            .post(format!("{}/api/v1/apps/{client_id}/secrets", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", "burst")
            .json(&json!({}))
            .send()
    });

    let answers = futures_util::future::join_all(requests).await;

    let statuses: Vec<StatusCode> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK),
        "{statuses:?}"
    );
    let listed = secrets_of(&app, &client_id, &token).await;
    assert_eq!(listed["secrets"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_third_secret_is_refused_with_the_pages_explanation() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    for _ in 0..2 {
        let created = create_secret(&app, &client_id, &token, json!({})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }

    let third = create_secret(&app, &client_id, &token, json!({})).await;

    let body = problem(third, StatusCode::CONFLICT).await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let explanation = body["detail"].as_str().unwrap();
    assert!(
        explanation.contains("maximum of 2 active secrets"),
        "{explanation}"
    );
    assert!(page.contains(explanation), "the page says the same");
}

#[tokio::test]
async fn bad_bodies_are_clear_400s() {
    let app = spawn_app().await;
    let (_, client_id, token) = developer_with_token(&app).await;
    for body in [
        json!({"revoke_old_in": "2d"}),
        json!({"expires_in_days": 0}),
        json!({"expires_in_days": 99999}),
        json!({"label": "x".repeat(41)}),
        json!({"lable": "typo"}),
        json!(["not", "an", "object"]),
        json!(["ci", 5, "when_quiet"]),
        json!([]),
        json!("label"),
    ] {
        let response = create_secret(&app, &client_id, &token, body.clone()).await;
        let problem = problem(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["error"], "invalid_request", "{body}");
    }
    let not_json = app
        .machine()
        .post(format!("{}/api/v1/apps/{client_id}/secrets", app.address))
        .bearer_auth(&token)
        .body("label=ci")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    let empty = app
        .machine()
        .post(format!("{}/api/v1/apps/{client_id}/secrets", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        empty.status(),
        StatusCode::CREATED,
        "every field is optional"
    );
}

#[tokio::test]
async fn each_endpoint_needs_its_scope() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    app.browser.generate_secret(&app_id).await;
    let reader = api_token(&app.browser, "reader", &["apps:read"]).await;
    let writer = api_token(&app.browser, "writer", &["secrets:write"]).await;
    let secrets = format!("/api/v1/apps/{client_id}/secrets");

    assert_eq!(
        call(&app, Method::GET, &secrets, &reader, None)
            .await
            .status(),
        StatusCode::OK
    );
    let created = call(&app, Method::POST, &secrets, &writer, Some(json!({}))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    for (method, path, token, needed) in [
        (Method::POST, secrets.clone(), &reader, "secrets:write"),
        (
            Method::DELETE,
            format!("{secrets}/1"),
            &reader,
            "secrets:write",
        ),
        (Method::GET, secrets.clone(), &writer, "apps:read"),
        (Method::GET, "/api/v1/apps".to_owned(), &writer, "apps:read"),
    ] {
        let response = call(&app, method.clone(), &path, token, Some(json!({}))).await;
        let www = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(www.contains(&format!("scope=\"{needed}\"")), "{www}");
        let body = problem(response, StatusCode::FORBIDDEN).await;
        assert_eq!(body["error"], "insufficient_scope", "{method} {path}");
        assert_eq!(body["type"], "urn:keyturn:problem:insufficient_scope");
    }
    let listed: serde_json::Value = call(&app, Method::GET, &secrets, &reader, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["secrets"].as_array().unwrap().len(),
        2,
        "nothing was revoked"
    );
}

#[tokio::test]
async fn somebody_elses_app_and_a_missing_one_are_the_same_404() {
    let app = spawn_app().await;
    let (_, client_id, _) = developer_with_token(&app).await;
    let created: serde_json::Value = {
        let owner_token = api_token(&app.browser, "owner", &["secrets:write"]).await;
        create_secret(&app, &client_id, &owner_token, json!({}))
            .await
            .json()
            .await
            .unwrap()
    };
    let secret_id = created["id"].as_i64().unwrap();
    let stranger = app.new_browser();
    stranger.signed_up().await;
    let theirs = api_token(&stranger, "stranger", &["apps:read", "secrets:write"]).await;

    let mut answers = Vec::new();
    for target in [client_id.as_str(), "kt_no_such_app", "..%2F..%2Fadmin"] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/apps/{target}/secrets")),
            (Method::POST, format!("/api/v1/apps/{target}/secrets")),
            (
                Method::DELETE,
                format!("/api/v1/apps/{target}/secrets/{secret_id}"),
            ),
        ] {
            let response = call(&app, method, &path, &theirs, Some(json!({}))).await;
            let body = problem(response, StatusCode::NOT_FOUND).await;
            answers.push(body["detail"].as_str().unwrap().to_owned());
        }
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "one answer for all: {answers:?}");
    assert_eq!(
        app.token_basic(&client_id, created["secret"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK,
        "still live"
    );
    let (_, _, owner_token) = (
        0,
        0,
        api_token(&app.browser, "again", &["secrets:write"]).await,
    );
    let missing_secret = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/apps/{client_id}/secrets/999999"),
        &owner_token,
        None,
    )
    .await;
    problem(missing_secret, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn refused_tokens_are_throttled_per_address_and_a_valid_one_never_is() {
    let app = spawn_app_with(|s| s.throttle_failures = 4).await;
    let (_, _, token) = developer_with_token(&app).await;
    let guess = format!("ktp_{}", "A".repeat(43));

    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(
            call(&app, Method::GET, "/api/v1/apps", &guess, None)
                .await
                .status(),
        );
    }

    // 4 failures x 5 per address.
    assert!(
        statuses[..20]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let throttled = call(&app, Method::GET, "/api/v1/apps", &guess, None).await;
    assert!(throttled.headers().contains_key("retry-after"));
    let body = problem(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(
        call(&app, Method::GET, "/api/v1/apps", &token, None)
            .await
            .status(),
        StatusCode::OK,
        "the real token still works from the same address"
    );
}

#[tokio::test]
async fn tokens_in_odd_shapes_are_refused_without_a_500() {
    let app = spawn_app().await;
    let (_, _, token) = developer_with_token(&app).await;
    for header in [
        format!("Bearer {token}x"),
        format!("Bearer\t{token}"),
        format!("Basic {token}"),
        format!("Bearer {}", token.to_uppercase()),
        format!("Bearer {}", token.replace('_', "%5F")),
        "Bearer ktp_".to_owned(),
        "Bearer".to_owned(),
        format!("Bearer {token}\\"),
    ] {
        let response = app
            .machine()
            .get(format!("{}/api/v1/apps", app.address))
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["error"], "invalid_token", "{header}");
    }
}

#[tokio::test]
async fn a_team_viewer_can_read_but_not_rotate() {
    let app = spawn_app().await;
    let crew = crate::teams::crew(&app).await;
    let app_id = crate::teams::create_team_app(&crew.owner, &crew.team, "Billing").await;
    let client_id = crew.owner.client_id(&app_id).await;
    let token = api_token(&crew.viewer, "viewer", &["apps:read", "secrets:write"]).await;
    let outsider = api_token(&crew.outsider, "outsider", &["apps:read"]).await;
    let hidden = call(
        &app,
        Method::GET,
        &format!("/api/v1/apps/{client_id}/secrets"),
        &outsider,
        None,
    )
    .await;
    problem(hidden, StatusCode::NOT_FOUND).await;

    let listed = call(
        &app,
        Method::GET,
        &format!("/api/v1/apps/{client_id}/secrets"),
        &token,
        None,
    )
    .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let created = create_secret(&app, &client_id, &token, json!({})).await;

    let body = problem(created, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"].as_str().unwrap().contains("Viewer"),
        "{body}"
    );
}

#[tokio::test]
async fn revoking_a_revoked_secret_again_with_its_tokens_revokes_the_tokens() {
    let app = spawn_app().await;
    let (_, client_id, token) = developer_with_token(&app).await;
    let created = created_secret(&app, &client_id, &token, json!({})).await;
    let secret = created["secret"].as_str().unwrap();
    let access = app.access_token(&client_id, secret).await;
    let path = format!("/api/v1/apps/{client_id}/secrets/{}", created["id"]);
    let revoked = call(&app, Method::DELETE, &path, &token, None).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.me(&access).await.status(),
        StatusCode::OK,
        "a routine revoke keeps tokens"
    );

    // Found in a paste later: its tokens go too.
    let with_tokens = format!("{path}?revoke_tokens=true");
    let again = call(&app, Method::DELETE, &with_tokens, &token, None).await;

    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me(&access).await.status(), StatusCode::UNAUTHORIZED);
    let bad = call(
        &app,
        Method::DELETE,
        &format!("{path}?revoke_tokens=maybe"),
        &token,
        None,
    )
    .await;
    problem(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn an_oauth_access_token_is_told_the_secrets_need_an_api_token() {
    let app = spawn_app().await;
    let (app_id, client_id, _) = developer_with_token(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let client_token = app.access_token(&client_id, &secret).await;

    let refused = call(
        &app,
        Method::GET,
        &format!("/api/v1/apps/{client_id}/secrets"),
        &client_token,
        None,
    )
    .await;

    let body = problem(refused, StatusCode::FORBIDDEN).await;
    assert_eq!(body["error"], "insufficient_scope");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("needs an API token"),
        "{body}"
    );
}

#[tokio::test]
async fn one_person_has_at_most_two_generations_in_flight() {
    // Real bcrypt cost, so that a generation takes long enough to be in flight.
    let app = spawn_app_with(|s| s.bcrypt_cost = 12).await;
    app.browser.signed_up().await;
    let mut client_ids = Vec::new();
    for n in 0..6 {
        let app_id = app.browser.create_app(&format!("App {n}")).await;
        client_ids.push(app.browser.client_id(&app_id).await);
    }
    let token = api_token(&app.browser, "burst", &["secrets:write"]).await;

    let answers = futures_util::future::join_all(
        client_ids
            .iter()
            .map(|client_id| create_secret(&app, client_id, &token, json!({}))),
    )
    .await;

    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert!(created >= 2, "{statuses:?}");
    let refused: Vec<&reqwest::Response> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(!refused.is_empty(), "{statuses:?}");
    assert!(refused.iter().all(|r| r.headers()["retry-after"] == "1"));
    assert_eq!(created + refused.len(), 6, "{statuses:?}");
}
