//! `POST /oauth/token` (RFC 6749 §4.4 client credentials grant).

use super::client_auth::{self, OAuthParams};
use super::OAuthError;
use crate::db::{self, tokens};
use crate::domain::AccessToken;
use crate::startup::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::Context;
use serde_json::json;

pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = OAuthParams::parse(&req, &body)?;
    let client = client_auth::authenticate(&state, &req, &params).await?;
    match params.get("grant_type") {
        None => Err(OAuthError::InvalidRequest("grant_type is required.")),
        Some("client_credentials") => {
            let ttl = state.access_token_ttl_seconds;
            let token = AccessToken::generate();
            let token_hash = token.hash();
            db::run(&state.pool, move |conn| {
                let now = db::now();
                tokens::insert(
                    conn,
                    &tokens::NewAccessToken {
                        token_hash: &token_hash,
                        app_id: client.app_id,
                        secret_id: Some(client.secret_id),
                        scope: "",
                        created_at: now,
                        expires_at: now + chrono::TimeDelta::seconds(ttl),
                    },
                )
                .context("storing an access token")
            })
            .await?;
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(json!({
                    "access_token": token.expose(),
                    "token_type": "Bearer",
                    "expires_in": ttl,
                })))
        }
        Some(_) => Err(OAuthError::UnsupportedGrantType),
    }
}
