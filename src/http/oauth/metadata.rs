//! The discovery documents: `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0). One function builds
//! both, so they cannot drift apart; the OpenID document adds only what OpenID Connect requires.

use crate::domain::client_key::ASSERTION_ALGORITHMS;
use crate::domain::{Scope, ID_TOKEN_ALGORITHM};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// How clients authenticate at the token, revocation and introspection endpoints.
const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// The claims an ID token or the UserInfo endpoint can carry.
const CLAIMS: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "email",
    "email_verified",
];

/// The metadata of the server at `base` (its issuer); with `openid`, the OpenID Provider's.
fn document(base: &str, openid: bool) -> Value {
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let mut m = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "userinfo_endpoint": format!("{base}/oauth/userinfo"),
        "jwks_uri": format!("{base}/oauth/jwks"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": true,
    });
    if openid {
        if let Some(fields) = m.as_object_mut() {
            fields.insert("subject_types_supported".into(), json!(["public"]));
            fields.insert(
                "id_token_signing_alg_values_supported".into(),
                json!([ID_TOKEN_ALGORITHM]),
            );
            fields.insert("claims_supported".into(), json!(CLAIMS));
            fields.insert("claims_parameter_supported".into(), json!(false));
            fields.insert("request_parameter_supported".into(), json!(false));
            fields.insert("request_uri_parameter_supported".into(), json!(false));
        }
    }
    m
}

fn answer(document: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(document)
}

/// `GET /.well-known/oauth-authorization-server`
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    answer(document(state.public_url(), false))
}

/// `GET /.well-known/openid-configuration`
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    answer(document(state.public_url(), true))
}
