//! An app's public keys on its page: adding one (pasted, or a JWKS URL) and revoking one,
//! behind the same confirmations as secrets.

use super::access::{EditForm, EditableApp, EditableKey};
use super::account_links::VERIFY_EMAIL_FIRST;
use super::secrets::RECENT_USE;
use super::security::require_recent_authentication;
use super::{html, see_other, Page, TimeView};
use crate::db::client_keys::ClientKeyRow;
use crate::domain::KeyInputError;
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::TypedSession;
use crate::service::audit::Actor;
use crate::service::keys::{self, KeyError, KeyRevocation, NewKey, MAX_ACTIVE_KEYS};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

impl From<KeyError> for AppError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound => AppError::NotFound,
            KeyError::Forbidden(message) => AppError::Forbidden(message),
            KeyError::Unexpected(cause) => AppError::Unexpected(cause),
            KeyError::TooManyTries(_) => AppError::TooManyRequests(e.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// One row of the Public keys table.
pub struct KeyView {
    pub id: i32,
    /// The kid, or the JWKS URL.
    pub name: String,
    pub is_url: bool,
    /// "public key" or "JWKS URL", and capitalised.
    pub kind: &'static str,
    pub kind_title: &'static str,
    pub algorithm: String,
    pub added: TimeView,
    pub added_by: Option<String>,
    pub last_used: Option<TimeView>,
    pub live: bool,
    pub revoked: Option<TimeView>,
    /// Used in the last 24 hours: revoking asks for the last four characters of its name.
    pub guarded: bool,
    pub last_four: String,
    pub revoke_path: String,
    pub back_path: String,
    /// "Also revoke tokens" ticked.
    pub revoke_tokens: bool,
}

impl KeyView {
    pub fn new(row: ClientKeyRow, added_by: Option<String>, now: NaiveDateTime) -> Self {
        let is_url = row.jwks_url.is_some();
        let name = row.jwks_url.clone().unwrap_or_else(|| row.kid.clone());
        let chars: Vec<char> = name.chars().collect();
        KeyView {
            id: row.id,
            last_four: chars[chars.len().saturating_sub(4)..].iter().collect(),
            name,
            is_url,
            kind: if is_url { "JWKS URL" } else { "public key" },
            kind_title: if is_url { "JWKS URL" } else { "Public key" },
            algorithm: if is_url {
                "From the JWKS".to_owned()
            } else {
                row.algorithm
            },
            added: TimeView::new(row.created_at, now),
            added_by,
            last_used: row.last_used_at.map(|t| TimeView::new(t, now)),
            live: row.revoked_at.is_none(),
            revoked: row.revoked_at.map(|t| TimeView::new(t, now)),
            guarded: row.last_used_at.is_some_and(|t| t > now - RECENT_USE),
            revoke_path: format!("/apps/{}/keys/{}/revoke", row.app_id, row.id),
            back_path: format!("/apps/{}#keys", row.app_id),
            revoke_tokens: false,
        }
    }
}

/// The Public keys section of the app page, and the form's state.
#[derive(Default)]
pub struct KeysView {
    pub keys: Vec<KeyView>,
    pub at_limit: bool,
    /// What was entered, and why it was refused.
    pub public_key: String,
    pub jwks_url: String,
    pub error: Option<String>,
}

impl KeysView {
    pub fn new(rows: Vec<(ClientKeyRow, Option<String>)>, now: NaiveDateTime) -> Self {
        let keys: Vec<KeyView> = rows
            .into_iter()
            .map(|(row, by)| KeyView::new(row, by, now))
            .collect();
        KeysView {
            at_limit: keys.iter().filter(|k| k.live).count() >= MAX_ACTIVE_KEYS,
            keys,
            ..KeysView::default()
        }
    }
}

#[derive(Template)]
#[template(path = "key_new.html")]
struct NewKeyPage {
    page: Page,
    app_id: i32,
    name: String,
    keys: KeysView,
}

#[derive(Deserialize)]
pub struct AddFields {
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    jwks_url: String,
}

/// `GET /apps/{id}/keys/new`: the add form on its own page (where confirming access returns).
pub async fn new_form(
    EditableApp { app, .. }: EditableApp,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::OK,
        &NewKeyPage {
            page: Page::new(&session)?,
            app_id: app.id,
            name: app.name,
            keys: KeysView::default(),
        },
    )
}

/// `POST /apps/{id}/keys`: adds a pasted key or a JWKS URL; a refusal shows the form again
/// with what was entered (except a private key, which is not sent back).
pub async fn add(
    req: HttpRequest,
    EditForm {
        owned: EditableApp { user, app },
        form: fields,
    }: EditForm<EditableApp, AddFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    require_recent_authentication(&state, &user, format!("/apps/{}/keys/new", app.id))?;
    let now = state.clock().now();
    let added = match NewKey::parse(&fields.public_key, &fields.jwks_url) {
        Ok(key) => {
            let actor = Actor::new(&user, client_ip(&req));
            let tries = &state.throttles().jwks_app;
            keys::add_key(state.pool(), state.jwks(), tries, app.id, key, actor, now).await
        }
        Err(refused) => Err(KeyError::Input(refused)),
    };
    match added {
        Ok(row) => {
            session.set_flash(Flash::success(format!(
                "Added {}. Your app can now sign its client assertions with it.",
                keys::describe(&row)
            )))?;
            Ok(see_other(&format!("/apps/{}#keys", app.id)))
        }
        Err(KeyError::Unexpected(cause)) => Err(AppError::Unexpected(cause)),
        Err(KeyError::NotFound) => Err(AppError::NotFound),
        Err(KeyError::Forbidden(message)) => Err(AppError::Forbidden(message)),
        Err(refused) => {
            let private = matches!(refused, KeyError::Input(KeyInputError::PrivateKey));
            html(
                StatusCode::BAD_REQUEST,
                &NewKeyPage {
                    page: Page::new(&session)?,
                    app_id: app.id,
                    name: app.name,
                    keys: KeysView {
                        public_key: if private {
                            String::new()
                        } else {
                            fields.public_key
                        },
                        jwks_url: fields.jwks_url,
                        error: Some(refused.to_string()),
                        ..KeysView::default()
                    },
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "key_revoke.html")]
struct ConfirmRevoke {
    page: Page,
    name: String,
    key: KeyView,
    hint_error: Option<String>,
}

#[derive(Deserialize)]
pub struct RevokeChoices {
    revoke_tokens: Option<String>,
}

/// `GET /apps/{id}/keys/{key_id}/revoke`: the confirmation.
pub async fn confirm_revoke(
    EditableKey { app, key: row, .. }: EditableKey,
    session: TypedSession,
    state: web::Data<AppState>,
    chosen: web::Query<RevokeChoices>,
) -> Result<HttpResponse, AppError> {
    let mut key = KeyView::new(row, None, state.clock().now());
    key.revoke_tokens = chosen.revoke_tokens.is_some();
    html(
        StatusCode::OK,
        &ConfirmRevoke {
            page: Page::new(&session)?,
            name: app.name,
            key,
            hint_error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct RevokeFields {
    revoke_tokens: Option<String>,
    confirm_hint: Option<String>,
}

/// `POST /apps/{id}/keys/{key_id}/revoke`.
pub async fn revoke(
    req: HttpRequest,
    EditForm {
        owned: EditableKey {
            user,
            app,
            key: row,
        },
        form: fields,
    }: EditForm<EditableKey, RevokeFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let key_id = row.id;
    let view = KeyView::new(row, None, now);
    let also_tokens = fields.revoke_tokens.is_some();
    let back_here = match also_tokens {
        true => format!("{}?revoke_tokens=on", view.revoke_path),
        false => view.revoke_path.clone(),
    };
    require_recent_authentication(&state, &user, back_here)?;
    let typed = fields.confirm_hint.as_deref().map(str::trim).unwrap_or("");
    if view.live && view.guarded && typed != view.last_four {
        let used = view
            .last_used
            .as_ref()
            .map(|t| t.relative.clone())
            .unwrap_or_default();
        let hint_error = Some(format!(
            "This key was last used {used}. Type the last four characters of its {}, {}, to confirm.",
            if view.is_url { "URL" } else { "kid" },
            view.last_four
        ));
        let mut key = view;
        key.revoke_tokens = also_tokens;
        let form = ConfirmRevoke {
            page: Page::new(&session)?,
            name: app.name,
            key,
            hint_error,
        };
        return html(StatusCode::BAD_REQUEST, &form);
    }
    let actor = Actor::new(&user, client_ip(&req));
    let flash = match keys::revoke_key(state.pool(), app.id, key_id, also_tokens, actor, now)
        .await?
    {
        KeyRevocation::Revoked(row) if also_tokens => Flash::success(format!(
            "Revoked {}. Every token issued with it was revoked too.",
            keys::describe(&row)
        )),
        KeyRevocation::Revoked(row) => Flash::success(format!("Revoked {}.", keys::describe(&row))),
        KeyRevocation::AlreadyRevoked {
            row,
            tokens_revoked: true,
        } => Flash::success(format!(
            "{} was already revoked; every token issued with it is revoked now.",
            keys::describe(&row)
        )),
        KeyRevocation::AlreadyRevoked { row, .. } => Flash::error(format!(
            "{} was already revoked. Nothing changed.",
            keys::describe(&row)
        )),
    };
    session.set_flash(flash)?;
    Ok(see_other(&view.back_path))
}
