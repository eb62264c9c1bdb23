//! `POST /oauth/introspect` (RFC 7662).

use super::client_auth::ClientRequest;
use super::{no_store_json, OAuthError};
use crate::service::tokens;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// Active tokens of the calling client are described; anything else is exactly
/// `{"active":false}`, so callers learn nothing about other clients' tokens.
pub async fn introspect(
    ClientRequest { client, params }: ClientRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let token = params
        .get("token")
        .ok_or(OAuthError::InvalidRequest("token is required."))?;
    Ok(
        match tokens::introspect(
            state.pool(),
            state.token_key(),
            client,
            token.to_owned(),
            state.access_token_ttl_seconds(),
            state.clock().now(),
        )
        .await?
        {
            Some(active) => no_store_json(&active),
            None => no_store_json(&json!({"active": false})),
        },
    )
}
