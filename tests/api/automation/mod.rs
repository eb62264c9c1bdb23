//! Rotation without a browser: API tokens, the secrets API and its OpenAPI document, and
//! rotations that finish themselves (Revoke when quiet, the Callers table).

mod api;
mod callers;
mod openapi;
mod tokens;
mod when_quiet;

use crate::helpers::{element_text, location, Browser, TestApp};
use reqwest::{Response, StatusCode};

/// Creates an API token on /account/tokens with these scopes ("apps:read", "secrets:write")
/// and returns it as shown once in #new-token.
pub async fn api_token(browser: &Browser, name: &str, scopes: &[&str]) -> String {
    let mut fields = vec![("name", name), ("expires_after", "30")];
    for scope in scopes {
        fields.push((scope_field(scope), "on"));
    }
    let mut response = browser
        .submit("/account/tokens", "/account/tokens", &fields)
        .await;
    if browser.confirmed_access(&response).await {
        response = browser
            .submit("/account/tokens", "/account/tokens", &fields)
            .await;
    }
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    element_text(&page, "new-token")
}

pub fn scope_field(scope: &str) -> &'static str {
    match scope {
        "apps:read" => "apps_read",
        "secrets:write" => "secrets_write",
        other => panic!("unknown scope {other}"),
    }
}

/// A signed-up developer with an app, and an API token with both scopes:
/// (app id, client id, token).
pub async fn developer_with_token(app: &TestApp) -> (String, String, String) {
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    let token = api_token(&app.browser, "deploy", &["apps:read", "secrets:write"]).await;
    (app_id, client_id, token)
}

/// An API request with a bearer token.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> Response {
    let mut request = app
        .machine()
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// `POST /api/v1/apps/{client_id}/secrets` with `body`; the answer as it comes.
pub async fn create_secret(
    app: &TestApp,
    client_id: &str,
    token: &str,
    body: serde_json::Value,
) -> Response {
    call(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/apps/{client_id}/secrets"),
        token,
        Some(body),
    )
    .await
}

/// `GET /api/v1/apps/{client_id}/secrets`, as JSON.
pub async fn secrets_of(app: &TestApp, client_id: &str, token: &str) -> serde_json::Value {
    let listed = call(
        app,
        reqwest::Method::GET,
        &format!("/api/v1/apps/{client_id}/secrets"),
        token,
        None,
    )
    .await;
    assert_eq!(listed.status(), StatusCode::OK);
    listed.json().await.unwrap()
}

/// A secret created through the API (201), as JSON: its fields and `secret`.
pub async fn created_secret(
    app: &TestApp,
    client_id: &str,
    token: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let created = create_secret(app, client_id, token, body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json().await.unwrap()
}

/// The problem document of an error answer, after checking its media type and status.
pub async fn problem(response: Response, status: StatusCode) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Where a POST redirected, asserting it did.
pub fn redirected_to(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(response)
}
