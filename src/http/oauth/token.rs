//! `POST /oauth/token`: authorization_code (with PKCE), refresh_token and client_credentials.

use super::client_auth::ClientRequest;
use super::{no_store_json, OAuthError};
use crate::service::tokens::{self, CodeExchange, Lifetimes};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

pub async fn token(
    ClientRequest { client, params }: ClientRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let ttl = state.access_token_ttl_seconds();
    let lifetimes = Lifetimes {
        access_ttl_seconds: ttl,
        refresh_max_age: state.refresh_token_max_age(),
    };
    let now = state.clock().now();
    let owned = |name: &str| params.get(name).map(str::to_owned);
    let response = match params.get("grant_type") {
        None => return Err(OAuthError::InvalidRequest("grant_type is required.")),
        Some("client_credentials") => {
            tokens::client_credentials(state.token_key(), &client, params.get("scope"), ttl, now)?
        }
        Some("authorization_code") => {
            let code = owned("code").ok_or(OAuthError::InvalidRequest("code is required."))?;
            let exchange = CodeExchange {
                code,
                redirect_uri: owned("redirect_uri"),
                code_verifier: owned("code_verifier"),
            };
            tokens::exchange_code(state.pool(), client, exchange, lifetimes, now).await?
        }
        Some("refresh_token") => {
            let refresh_token = owned("refresh_token")
                .ok_or(OAuthError::InvalidRequest("refresh_token is required."))?;
            let scope = owned("scope");
            tokens::refresh(state.pool(), client, refresh_token, scope, lifetimes, now).await?
        }
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    };
    Ok(no_store_json(&response))
}
