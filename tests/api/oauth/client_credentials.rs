//! The token endpoint's client credentials grant: client authentication and its errors, the
//! access token at the API, its lifetime, and revoking and purging client tokens.

use crate::helpers::{app_with_owner, form_encode, spawn_app, spawn_app_with, TestApp};
use base64::Engine;
use reqwest::{Response, StatusCode};

async fn assert_invalid_client(response: Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Basic realm="keyturn""#
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"invalid_client"}"#
    );
}

async fn raw_token_request(app: &TestApp, authorization: Option<&str>, body: &str) -> Response {
    let mut request = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn client_credentials_with_basic_auth_issues_a_bearer_token() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let response = app.token_basic(&client_id, &secret).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().unwrap().starts_with("kta_"));
}

#[tokio::test]
async fn client_credentials_with_body_parameters_issues_a_bearer_token() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let response = app.token_post(&client_id, &secret).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    // Percent-encode every character, as RFC 6749 §2.3.1 allows; a raw-colon parser would fail.
    let encoded_id: String = client_id.bytes().map(|b| format!("%{b:02X}")).collect();
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{encoded_id}:{}", form_encode(&secret)))
    );

    let response = raw_token_request(&app, Some(&header), "grant_type=client_credentials").await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn basic_and_body_credentials_at_once_are_an_invalid_request() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let response = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn every_kind_of_bad_client_credential_gets_the_same_invalid_client_answer() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let revoked = app.browser.generate_secret(&app_id).await;
    app.browser.revoke_secret(&app_id, &revoked).await;
    app.browser.create_app("Other").await;
    let wrong = {
        // Same format and checksum rules, different random part: a well-formed wrong secret.
        let other_app = app.browser.create_app("Third").await;
        app.browser.generate_secret(&other_app).await
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);

    // Unknown client, another app's secret, revoked, garbage, empty, missing.
    assert_invalid_client(app.token_basic("ktc_nosuchclient000000000", &secret).await).await;
    assert_invalid_client(app.token_basic(&client_id, &wrong).await).await;
    assert_invalid_client(app.token_basic(&client_id, &revoked).await).await;
    assert_invalid_client(app.token_post(&client_id, "hunter2").await).await;
    assert_invalid_client(
        app.token_post(&client_id, &secret[..secret.len() - 1])
            .await,
    )
    .await;
    let empty_body = format!("grant_type=client_credentials&client_id={client_id}&client_secret=");
    assert_invalid_client(raw_token_request(&app, None, &empty_body).await).await;
    let missing = format!("grant_type=client_credentials&client_id={client_id}");
    assert_invalid_client(raw_token_request(&app, None, &missing).await).await;
    assert_invalid_client(raw_token_request(&app, None, "grant_type=client_credentials").await)
        .await;
    // Malformed Basic headers.
    for header in [
        "Basic".to_owned(),
        "Basic !!!notbase64".to_owned(),
        format!("Basic {}", b64("no-colon-here")),
        format!("Basic {}", b64(&format!("{client_id}:"))),
        format!("Basic {}", b64(&format!(":{secret}"))),
        "Bearer something".to_owned(),
    ] {
        assert_invalid_client(
            raw_token_request(&app, Some(&header), "grant_type=client_credentials").await,
        )
        .await;
    }
    // The right secret still works after all that.
    assert_eq!(
        app.token_basic(&client_id, &secret).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn grant_type_must_be_present_and_supported() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    );

    let missing = raw_token_request(&app, Some(&auth), "").await;
    let unsupported = raw_token_request(&app, Some(&auth), "grant_type=password").await;
    let repeated = raw_token_request(
        &app,
        Some(&auth),
        "grant_type=client_credentials&grant_type=client_credentials",
    )
    .await;

    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unsupported.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        repeated.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_json_body_is_an_invalid_request_not_a_server_error() {
    let app = spawn_app().await;

    let response = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn the_access_token_reaches_the_api_and_bad_tokens_are_refused() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();
    let me = |auth: Option<String>| {
        let mut request = app.machine().get(format!("{}/api/v1/me", app.address));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };

    let ok = me(Some(format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap()
    )))
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["app_name"], "Shop");

    for auth in [
        None,
        Some("Bearer kta_unknown".to_owned()),
        Some("Basic abc".to_owned()),
    ] {
        let refused = me(auth.clone()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#));
    }
}

#[tokio::test]
async fn an_access_token_works_for_its_lifetime_and_not_a_second_longer() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();
    let me = || app.me(token["access_token"].as_str().unwrap());

    app.clock.advance(chrono::TimeDelta::seconds(3595));
    let almost = me().await;
    app.clock.advance(chrono::TimeDelta::seconds(5));
    let expired = me().await;

    assert_eq!(almost.status(), StatusCode::OK);
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.headers()["www-authenticate"],
        r#"Bearer realm="keyturn", error="invalid_token""#
    );
}

#[tokio::test]
async fn the_access_token_lifetime_is_a_setting() {
    let app = spawn_app_with(|s| s.access_token_ttl_seconds = 120).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(token["expires_in"], 120);
}

#[tokio::test]
async fn tokens_issued_before_a_revoke_keep_working_so_rotation_logs_nobody_out() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();

    app.browser.revoke_secret(&app_id, &secret).await;

    let response = app.me(token["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn machine_endpoints_answer_json_even_for_errors_they_did_not_handle() {
    let app = spawn_app().await;

    let oversized = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&padding={}",
            "x".repeat(200_000)
        ))
        .send()
        .await
        .unwrap();
    let wrong_method = app
        .machine()
        .get(format!("{}/oauth/token", app.address))
        .send()
        .await
        .unwrap();
    let unknown = app
        .machine()
        .get(format!("{}/api/v1/nothing", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        oversized.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    assert!(wrong_method.status().is_client_error());
    assert_eq!(wrong_method.headers()["content-type"], "application/json");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // The API answers problem documents (RFC 9457), with the same `error` member.
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        unknown.json::<serde_json::Value>().await.unwrap()["error"],
        "not_found"
    );
}

#[tokio::test]
async fn a_client_token_is_refused_when_changed_or_signed_by_another_server() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token = app.access_token(&client_id, &secret).await;
    // The other server has its own key, and an app and secret with the same row ids.
    let (other_app_id, other_client_id) = app_with_owner(&other).await;
    let other_secret = other.browser.generate_secret(&other_app_id).await;
    let other_token = other.access_token(&other_client_id, &other_secret).await;
    assert_eq!(other_app_id, app_id);

    let mut changed = token.clone().into_bytes();
    changed[20] = if changed[20] == b'x' { b'y' } else { b'x' };
    let changed = String::from_utf8(changed).unwrap();

    assert_eq!(app.me(&token).await.status(), StatusCode::OK);
    assert_eq!(app.me(&changed).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(other.me(&other_token).await.status(), StatusCode::OK);
    assert_eq!(other.me(&token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.me(&other_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_client_token_revoked_on_its_own_fails_on_the_next_request_and_others_keep_working() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let revoked = app.access_token(&client_id, &secret).await;
    let kept = app.access_token(&client_id, &secret).await;
    let (stranger_id, stranger_client_id) = app_with_owner(&app).await;
    let stranger_secret = app.browser.generate_secret(&stranger_id).await;
    let stranger = (stranger_client_id.as_str(), stranger_secret.as_str());
    let owner = (client_id.as_str(), secret.as_str());

    // Another client can neither revoke nor see it (RFC 7009 §2.1 / RFC 7662 §4).
    assert_eq!(
        app.about_token("revoke", stranger, &revoked).await.status(),
        StatusCode::OK
    );
    let seen: serde_json::Value = app
        .about_token("introspect", stranger, &revoked)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen, serde_json::json!({"active": false}));
    assert_eq!(app.me(&revoked).await.status(), StatusCode::OK);

    let answer = app.about_token("revoke", owner, &revoked).await;
    assert_eq!(answer.status(), StatusCode::OK);

    assert_eq!(app.me(&revoked).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&kept).await.status(), StatusCode::OK);
    let gone: serde_json::Value = app
        .about_token("introspect", owner, &revoked)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gone, serde_json::json!({"active": false}));
    let live: serde_json::Value = app
        .about_token("introspect", owner, &kept)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(live["active"], true);
    assert_eq!(live["client_id"], client_id.as_str());
    assert_eq!(live["token_type"], "Bearer");
    assert_eq!(live["scope"], "");
    assert_eq!(
        live["exp"].as_i64().unwrap() - live["iat"].as_i64().unwrap(),
        3600
    );
    let issued_ago = app.clock.now().and_utc().timestamp() - live["iat"].as_i64().unwrap();
    assert!((0..=5).contains(&issued_ago), "issued {issued_ago} s ago");
}

#[tokio::test]
async fn revocations_of_client_tokens_are_purged_an_hour_after_the_token_expires() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token = app.access_token(&client_id, &secret).await;
    app.about_token("revoke", (&client_id, &secret), &token)
        .await;
    let pool = app.pool();
    let writer = keyturn::db::writer::Writer::start(
        pool,
        keyturn::db::Backend::of(&app.database_url),
        &Default::default(),
    )
    .unwrap();
    let now = app.clock.now();

    // The maintenance thread runs this once a minute.
    let too_early =
        keyturn::service::tokens::purge_expired(&writer, now + chrono::TimeDelta::minutes(119))
            .unwrap();
    let purged =
        keyturn::service::tokens::purge_expired(&writer, now + chrono::TimeDelta::minutes(121))
            .unwrap();
    let again =
        keyturn::service::tokens::purge_expired(&writer, now + chrono::TimeDelta::minutes(122))
            .unwrap();

    assert_eq!(too_early, 0, "expired less than an hour ago: kept");
    assert_eq!(purged, 1);
    assert_eq!(again, 0);
}
