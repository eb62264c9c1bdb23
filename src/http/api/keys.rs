//! An app's public keys through the API: list, add and revoke, so a key rotation can be
//! scripted like a secret rotation. The rules are the portal's: the same service calls, the
//! same limit of two active keys, the same audit entries.

use super::secrets::{rfc3339, AppPath, RevokeQuery};
use super::{no_store, token_with, ApiError, Problem};
use crate::db::client_keys::ClientKeyRow;
use crate::domain::access::AppAction;
use crate::domain::ApiScope;
use crate::http::client_ip;
use crate::service::apps;
use crate::service::keys::{self, KeyError, NewKey};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::TooManyActive | KeyError::AlreadyActive | KeyError::KidInUse(_) => {
                ApiError::Conflict(e.to_string())
            }
            KeyError::Input(_) | KeyError::Jwks(_) => ApiError::BadRequest(e.to_string()),
            KeyError::TooManyTries(wait) => ApiError::Throttled(wait, e.to_string()),
            KeyError::NotFound => ApiError::NotFound,
            KeyError::Forbidden(message) => ApiError::Forbidden(message.to_owned()),
            KeyError::Unexpected(cause) => ApiError::Unexpected(cause),
        }
    }
}

/// A public key (or JWKS URL) as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct KeyItem {
    pub id: i32,
    /// The key's `kid` (its RFC 7638 thumbprint when it came without one); `null` for a JWKS URL.
    pub kid: Option<String>,
    /// The JWKS URL; `null` for a pasted key.
    pub jwks_url: Option<String>,
    /// The JWS algorithm (the key's `alg`, or its type's default); `JWKS` for a URL.
    #[schema(example = "ES256")]
    pub algorithm: String,
    /// The public key as a JWK; `null` for a JWKS URL.
    #[schema(value_type = Option<Object>)]
    pub jwk: Option<serde_json::Value>,
    /// `active` or `revoked`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl KeyItem {
    fn new(row: &ClientKeyRow) -> Self {
        KeyItem {
            id: row.id,
            kid: row.jwks_url.is_none().then(|| row.kid.clone()),
            jwks_url: row.jwks_url.clone(),
            algorithm: row.algorithm.clone(),
            jwk: row
                .public_jwk
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
            status: if row.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
            created_at: rfc3339(row.created_at),
            last_used_at: row.last_used_at.map(rfc3339),
            revoked_at: row.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyItem>,
}

/// What `POST .../keys` takes: exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// A public key: a JWK (JSON text or object) or PEM text. RSA 2048+, EC P-256 or Ed25519.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub public_key: Option<serde_json::Value>,
    /// Where the app serves its JWKS: https, or http on localhost.
    #[serde(default)]
    pub jwks_url: Option<String>,
}

/// The path of one of an app's keys.
#[derive(Deserialize, IntoParams)]
pub struct KeyPath {
    /// The app's client ID.
    pub client_id: String,
    /// The key's `id`.
    pub id: String,
}

/// `GET /api/v1/apps/{client_id}/keys`
#[utoipa::path(
    get,
    path = "/api/v1/apps/{client_id}/keys",
    tag = "keys",
    params(AppPath),
    security(("bearer" = ["apps:read"])),
    responses(
        (status = 200, description = "The app's public keys, newest first, revoked ones included", body = KeyList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `apps:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<AppPath>,
) -> Result<HttpResponse, ApiError> {
    let caller = token_with(&req, &state, ApiScope::AppsRead).await?;
    let client_id = path.into_inner().client_id;
    let (app, _) =
        apps::app_by_client_id(state.pool(), client_id, caller.user_id, AppAction::View).await?;
    let rows = keys::list_keys(state.pool(), app.id).await?;
    let keys = rows.iter().map(|(row, _)| KeyItem::new(row)).collect();
    Ok(no_store(StatusCode::OK, &KeyList { keys }))
}

/// `POST /api/v1/apps/{client_id}/keys`
#[utoipa::path(
    post,
    path = "/api/v1/apps/{client_id}/keys",
    tag = "keys",
    params(AppPath),
    request_body(content = NewKeyRequest, description = "`public_key` or `jwks_url`"),
    security(("bearer" = ["secrets:write"])),
    responses(
        (status = 201, description = "Added: client assertions signed with it authenticate from now on", body = KeyItem),
        (status = 400, description = "Not a usable public key (the message says why), a private key, or a JWKS URL that does not answer with one", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `secrets:write`, or the caller's team role cannot change the app", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The app already has two active keys, or this key (or its kid) is one of them", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many JWKS URLs were tried for this app (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<AppPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let caller = token_with(&req, &state, ApiScope::SecretsWrite).await?;
    let asked: NewKeyRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "The body must be a JSON object with public_key or jwks_url ({e})."
        ))
    })?;
    let public_key = match asked.public_key {
        None => String::new(),
        Some(serde_json::Value::String(text)) => text,
        // A JWK may come as an object rather than as JSON text.
        Some(object @ serde_json::Value::Object(_)) => object.to_string(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "public_key must be a string (PEM or JWK) or a JWK object.".to_owned(),
            ))
        }
    };
    let new_key = NewKey::parse(&public_key, asked.jwks_url.as_deref().unwrap_or_default())
        .map_err(KeyError::Input)?;
    let client_id = path.into_inner().client_id;
    let (app, _) =
        apps::app_by_client_id(state.pool(), client_id, caller.user_id, AppAction::Change).await?;
    let actor = caller.actor(client_ip(&req));
    let row = keys::add_key(
        state.pool(),
        state.jwks(),
        &state.throttles().jwks_app,
        app.id,
        new_key,
        actor,
        state.clock().now(),
    )
    .await?;
    Ok(no_store(StatusCode::CREATED, &KeyItem::new(&row)))
}

/// `DELETE /api/v1/apps/{client_id}/keys/{id}`
#[utoipa::path(
    delete,
    path = "/api/v1/apps/{client_id}/keys/{id}",
    tag = "keys",
    params(KeyPath, RevokeQuery),
    security(("bearer" = ["secrets:write"])),
    responses(
        (status = 204, description = "Revoked: its assertions fail from the very next request (also when it was revoked already)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `secrets:write`, or the caller's team role cannot change the app", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app or key, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<KeyPath>,
) -> Result<HttpResponse, ApiError> {
    let query = RevokeQuery::from_request_query(&req)?;
    let caller = token_with(&req, &state, ApiScope::SecretsWrite).await?;
    let KeyPath { client_id, id } = path.into_inner();
    let (app, _) =
        apps::app_by_client_id(state.pool(), client_id, caller.user_id, AppAction::Change).await?;
    let key_id = id.parse::<i32>().map_err(|_| ApiError::NotFound)?;
    keys::revoke_key(
        state.pool(),
        app.id,
        key_id,
        query.also_tokens()?,
        caller.actor(client_ip(&req)),
        state.clock().now(),
    )
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
