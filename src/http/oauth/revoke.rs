//! `POST /oauth/revoke` (RFC 7009).

use super::client_auth::ClientRequest;
use super::OAuthError;
use crate::service::audit::Actor;
use crate::service::tokens;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// 200 whether or not the token existed, so the endpoint cannot be used to probe for tokens.
pub async fn revoke(
    req: HttpRequest,
    ClientRequest { client, params }: ClientRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let token = params
        .get("token")
        .ok_or(OAuthError::InvalidRequest("token is required."))?;
    tokens::revoke(
        state.pool(),
        state.token_key(),
        client.clone(),
        token.to_owned(),
        Actor::client(&client.client_id, crate::http::client_ip(&req)),
        state.clock().now(),
    )
    .await?;
    Ok(HttpResponse::Ok().finish())
}
