//! An app's secrets through the API: list, generate (with Idempotency-Key) and revoke. The
//! rules are the portal's: the same service calls, the same limits, the same audit entries.

use super::{no_store, token_with, ApiError, Problem};
use crate::db::secrets::SecretRow;
use crate::domain::access::AppAction;
use crate::domain::{
    ApiScope, OldSecretSchedule, SecretHint, SecretLabel, SecretLifetime, SecretPolicy,
    SecretStatus,
};
use crate::http::client_ip;
use crate::service::apps;
use crate::service::secrets::{self, GenerateRequest, Generated, IdempotencyKey, SecretError};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::TooManyActive => ApiError::Conflict(e.to_string()),
            SecretError::AlreadyGenerated => ApiError::Conflict(e.to_string()),
            SecretError::LifetimeNotAllowed(max) => ApiError::BadRequest(format!(
                "Secrets may live at most {max} days here: send a smaller expires_in_days."
            )),
            SecretError::NotFound => ApiError::NotFound,
            SecretError::IdempotencyKeyReused => ApiError::KeyReused,
            SecretError::TooManyAtOnce => ApiError::TooManyAtOnce(e.to_string()),
            SecretError::Forbidden(message) => ApiError::Forbidden(message.to_owned()),
            SecretError::Unexpected(cause) => ApiError::Unexpected(cause),
        }
    }
}

/// A secret as the API shows it: never its value, except once in [`CreatedSecret`].
#[derive(Serialize, ToSchema)]
pub struct SecretItem {
    pub id: i32,
    /// The last four characters, after bullets: `••••a1b2`.
    pub hint: String,
    pub label: String,
    /// `active` (it authenticates; see `revoke_at` and `expires_at` for when it stops),
    /// `revoked` or `expired`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// The end of the lifetime chosen when it was generated; `null`: never.
    pub expires_at: Option<String>,
    /// A scheduled revocation, if one is pending (for `when_quiet`, its 7-day deadline).
    pub revoke_at: Option<String>,
    /// The secret is revoked as soon as the newer one is in use and this one has gone unused
    /// for 24 hours.
    pub revoke_when_quiet: bool,
}

impl SecretItem {
    fn new(row: &SecretRow, now: NaiveDateTime) -> Self {
        let status = SecretStatus::of(row.revoked_at, row.expires_at, now);
        let scheduled = row
            .expires_at
            .filter(|_| row.expires_at != row.lifetime_ends_at);
        SecretItem {
            id: row.id,
            hint: SecretHint::from_stored(row.hint.clone()).to_string(),
            label: row.label.clone(),
            status: match status {
                SecretStatus::Active | SecretStatus::Expiring { .. } => "active",
                SecretStatus::Revoked { .. } => "revoked",
                SecretStatus::Expired { .. } => "expired",
            },
            created_at: rfc3339(row.created_at),
            last_used_at: row.last_used_at.map(rfc3339),
            expires_at: row.lifetime_ends_at.map(rfc3339),
            revoke_at: scheduled.filter(|_| status.is_live()).map(rfc3339),
            revoke_when_quiet: status.is_live() && row.quiet_for_secret_id.is_some(),
        }
    }
}

pub(super) fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretItem>,
}

/// A secret just generated: its fields and, this once, its value.
#[derive(Serialize, ToSchema)]
pub struct CreatedSecret {
    #[serde(flatten)]
    pub fields: SecretItem,
    /// The secret itself. Returned only in this response; store it now.
    pub secret: String,
}

/// What `POST .../secrets` may ask for; every field is optional.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    /// Where the secret is used ("production"), at most 40 characters.
    #[serde(default)]
    pub label: Option<String>,
    /// Days until the secret expires (1 to 3650, within the admin's maximum); omitted: the
    /// policy's default.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// When to revoke the app's current secret: `1h`, `24h`, `7d` or `when_quiet`; omitted:
    /// never by itself.
    #[serde(default)]
    #[schema(example = "when_quiet")]
    pub revoke_old_in: Option<String>,
}

/// The path of one app.
#[derive(Deserialize, IntoParams)]
pub struct AppPath {
    /// The app's client ID.
    pub client_id: String,
}

/// The path of one of an app's secrets.
#[derive(Deserialize, IntoParams)]
pub struct SecretPath {
    /// The app's client ID.
    pub client_id: String,
    /// The secret's `id`.
    pub id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// `true`: also revoke every token issued with this secret or key (a leak), even if it was
    /// revoked before.
    #[param(value_type = Option<bool>)]
    pub revoke_tokens: Option<String>,
}

impl RevokeQuery {
    /// Parsed from the query string here, so a misspelt or repeated parameter gets a clear
    /// 400, never a silent `false`.
    pub(super) fn from_request_query(req: &HttpRequest) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(req.query_string()).map_err(|e| {
            ApiError::BadRequest(format!(
                "The only query parameter is revoke_tokens=true or false ({e})."
            ))
        })
    }

    pub(super) fn also_tokens(&self) -> Result<bool, ApiError> {
        match self
            .revoke_tokens
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(ApiError::BadRequest(
                "revoke_tokens must be true or false.".to_owned(),
            )),
        }
    }
}

/// `GET /api/v1/apps/{client_id}/secrets`
#[utoipa::path(
    get,
    path = "/api/v1/apps/{client_id}/secrets",
    tag = "secrets",
    params(AppPath),
    security(("bearer" = ["apps:read"])),
    responses(
        (status = 200, description = "The app's secrets, newest first, revoked ones included", body = SecretList),
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
    let now = state.clock().now();
    let rows = apps::secrets_of(state.pool(), app.id).await?;
    let secrets = rows.iter().map(|row| SecretItem::new(row, now)).collect();
    Ok(no_store(StatusCode::OK, &SecretList { secrets }))
}

/// `POST /api/v1/apps/{client_id}/secrets`
#[utoipa::path(
    post,
    path = "/api/v1/apps/{client_id}/secrets",
    tag = "secrets",
    params(
        AppPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key (same token, 24 hours) creates nothing and answers 200 with the first secret's fields, without its value"),
    ),
    request_body(content = NewSecret, description = "All fields optional; an empty body is fine"),
    security(("bearer" = ["secrets:write"])),
    responses(
        (status = 201, description = "Generated; `secret` is returned only here", body = CreatedSecret),
        (status = 200, description = "A repeated Idempotency-Key: the first secret, without `secret`; header `Idempotent-Replayed: true`", body = SecretItem),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `secrets:write`, or the caller's team role cannot change the app", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The app already has two active secrets", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with a different request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The caller already has two generations in flight, or too many refused tokens came from this address (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The hashing queue is full (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<AppPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let caller = token_with(&req, &state, ApiScope::SecretsWrite).await?;
    let asked = parse_new_secret(&body)?;
    let (label, lifetime, old_secret) = checked(&asked)?;
    let client_id = path.into_inner().client_id;
    let (app, _) =
        apps::app_by_client_id(state.pool(), client_id, caller.user_id, AppAction::Change).await?;
    // The request as understood, with its app: the same JSON spelled differently is the same
    // request; another app is not.
    let understood = format!(
        "{}\u{1f}{}",
        app.id,
        serde_json::to_string(&asked).unwrap_or_default()
    );
    let idempotency =
        idempotency_key(&req)?.map(|key| IdempotencyKey::new(caller.token_id, &key, &understood));
    let request = GenerateRequest {
        app_id: app.id,
        request_nonce: None,
        label,
        old_secret,
        lifetime,
        idempotency,
    };
    let actor = caller.actor(client_ip(&req));
    let now = state.clock().now();
    let turns = state.generation_turns();
    match secrets::generate_once(state.pool(), state.bcrypt(), turns, request, actor, now).await? {
        Generated::New(generated) => Ok(no_store(
            StatusCode::CREATED,
            &CreatedSecret {
                fields: SecretItem::new(&generated.row, now),
                secret: generated.plaintext.expose().to_owned(),
            },
        )),
        Generated::Replayed(row) => {
            let mut response = no_store(StatusCode::OK, &SecretItem::new(&row, now));
            response.headers_mut().insert(
                header::HeaderName::from_static("idempotent-replayed"),
                header::HeaderValue::from_static("true"),
            );
            Ok(response)
        }
    }
}

fn parse_new_secret(body: &[u8]) -> Result<NewSecret, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(NewSecret::default());
    }
    let refuse = |why: String| {
        ApiError::BadRequest(format!(
            "The body must be a JSON object with label, expires_in_days and revoke_old_in, all optional ({why})."
        ))
    };
    // An object only: serde would also read the fields from an array, in order.
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(object @ serde_json::Value::Object(_)) => {
            serde_json::from_value(object).map_err(|e| refuse(e.to_string()))
        }
        Ok(_) => Err(refuse("not an object".to_owned())),
        Err(e) => Err(refuse(e.to_string())),
    }
}

/// The request's fields as domain values.
fn checked(
    asked: &NewSecret,
) -> Result<(SecretLabel, Option<SecretLifetime>, OldSecretSchedule), ApiError> {
    let label = SecretLabel::parse(asked.label.as_deref().unwrap_or_default())
        .map_err(|m| ApiError::BadRequest(m.to_owned()))?;
    let lifetime = match asked.expires_in_days {
        None => None,
        Some(days) if (1..=SecretPolicy::MAX_DAYS).contains(&days) => {
            Some(SecretLifetime::Days(days))
        }
        Some(_) => {
            return Err(ApiError::BadRequest(
                "expires_in_days must be a whole number of days from 1 to 3650.".to_owned(),
            ))
        }
    };
    let old_secret = match asked.revoke_old_in.as_deref() {
        None => OldSecretSchedule::Manually,
        Some(raw) => OldSecretSchedule::parse(Some(raw))
            .filter(|s| *s != OldSecretSchedule::Manually)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "revoke_old_in must be \"1h\", \"24h\", \"7d\" or \"when_quiet\".".to_owned(),
                )
            })?,
    };
    Ok((label, lifetime, old_secret))
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    let valid = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.".to_owned(),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// `DELETE /api/v1/apps/{client_id}/secrets/{id}`
#[utoipa::path(
    delete,
    path = "/api/v1/apps/{client_id}/secrets/{id}",
    tag = "secrets",
    params(SecretPath, RevokeQuery),
    security(("bearer" = ["secrets:write"])),
    responses(
        (status = 204, description = "Revoked: it fails from the very next request (also when it was revoked already)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `secrets:write`, or the caller's team role cannot change the app", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app or secret, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<SecretPath>,
) -> Result<HttpResponse, ApiError> {
    let query = RevokeQuery::from_request_query(&req)?;
    let caller = token_with(&req, &state, ApiScope::SecretsWrite).await?;
    let SecretPath { client_id, id } = path.into_inner();
    let (app, _) =
        apps::app_by_client_id(state.pool(), client_id, caller.user_id, AppAction::Change).await?;
    let secret_id = id.parse::<i32>().map_err(|_| ApiError::NotFound)?;
    let also_tokens = query.also_tokens()?;
    secrets::revoke_secret(
        state.pool(),
        app.id,
        secret_id,
        also_tokens,
        caller.actor(client_ip(&req)),
        state.clock().now(),
    )
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
