//! The RFC 8414 metadata document at `/.well-known/oauth-authorization-server`, from which
//! the stock client learns every endpoint.

use super::ISSUER;
use crate::helpers::{serve_over_https, spawn_app_with};
use reqwest::StatusCode;

#[tokio::test]
async fn the_metadata_document_describes_every_endpoint() {
    let app = spawn_app_with(|s| serve_over_https(s, ISSUER)).await;

    let response = app
        .machine()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            app.address
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let m: serde_json::Value = response.json().await.unwrap();
    assert_eq!(m["issuer"], ISSUER);
    assert_eq!(
        m["authorization_endpoint"],
        format!("{ISSUER}/oauth/authorize")
    );
    assert_eq!(m["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(m["revocation_endpoint"], format!("{ISSUER}/oauth/revoke"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{ISSUER}/oauth/introspect")
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let methods = serde_json::json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt"
    ]);
    assert_eq!(m["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(m["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(m["introspection_endpoint_auth_methods_supported"], methods);
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            m["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&grant.into()),
            "{grant}"
        );
    }
    assert!(m["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"profile".into()));
}
