//! The OpenAPI document: generated from the code, version 3.1, and in step with the routes:
//! every operation it lists answers, and every API route is listed.

use super::{call, developer_with_token, secrets_of};
use crate::helpers::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

/// The API's routes (method and path template), as clients and this suite use them.
const API_ROUTES: [(&str, &str); 8] = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/apps"),
    ("get", "/api/v1/apps/{client_id}/secrets"),
    ("post", "/api/v1/apps/{client_id}/secrets"),
    ("delete", "/api/v1/apps/{client_id}/secrets/{id}"),
    ("get", "/api/v1/apps/{client_id}/keys"),
    ("post", "/api/v1/apps/{client_id}/keys"),
    ("delete", "/api/v1/apps/{client_id}/keys/{id}"),
];

#[tokio::test]
async fn the_document_lists_exactly_the_api_routes_and_each_of_them_answers() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    app.browser.generate_secret(&app_id).await;
    let key = crate::keys::ed25519_key("openapi");
    let added = call(
        &app,
        Method::POST,
        &format!("/api/v1/apps/{client_id}/keys"),
        &token,
        Some(json!({"public_key": key.public_jwk})),
    )
    .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let key_id = added.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let response = app
        .machine()
        .get(format!("{}/api/v1/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: serde_json::Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );

    let mut listed = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            listed.insert((method.clone(), path.clone()));
            let documented: BTreeSet<u16> = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            let id = match path.contains("/keys") {
                true => key_id,
                false => latest_secret(&app, &client_id, &token).await,
            };
            let concrete = path
                .replace("{client_id}", &client_id)
                .replace("{id}", &id.to_string());
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = call(&app, method.clone(), &concrete, &token, Some(json!({}))).await;
            let status = answer.status().as_u16();
            assert!(
                documented.contains(&status),
                "{method} {path} answered {status}, documented {documented:?}"
            );
            assert_ne!(answer.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(
                answer.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
    let expected: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        listed, expected,
        "the document lists exactly the API routes"
    );
    // And the server has nothing else on those paths (405), nor elsewhere under /api/v1 (404).
    for (method, path, status) in [
        (
            Method::PUT,
            format!("/api/v1/apps/{client_id}/secrets"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::PATCH,
            format!("/api/v1/apps/{client_id}/secrets/1"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::POST,
            "/api/v1/apps".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "/api/v1/tokens".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/apps/{client_id}"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let answer = call(&app, method.clone(), &path, &token, None).await;
        assert_eq!(answer.status(), status, "{method} {path}");
    }
    for schema in [
        "SecretItem",
        "CreatedSecret",
        "NewSecret",
        "KeyItem",
        "NewKeyRequest",
        "Problem",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let delete = &document["paths"]["/api/v1/apps/{client_id}/secrets/{id}"]["delete"];
    let revoke_tokens = delete["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "revoke_tokens")
        .unwrap();
    assert_eq!(revoke_tokens["in"], "query");
    assert_ne!(revoke_tokens["required"], true);
}

/// The newest secret's id, so DELETE has something to revoke (POST may have added one).
async fn latest_secret(app: &crate::helpers::TestApp, client_id: &str, token: &str) -> i64 {
    let listed = secrets_of(app, client_id, token).await;
    listed["secrets"][0]["id"].as_i64().unwrap()
}
