//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use crate::domain::Scope;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = &state.public_url();
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": scopes,
            "authorization_response_iss_parameter_supported": true,
        }))
}
