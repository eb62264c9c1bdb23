//! Generating, inspecting, labelling, scheduling and revoking secrets from the browser; every
//! change behind a confirmation step.

use super::access::{EditForm, EditableApp, EditableSecret, VisibleSecret};
use super::account_links::VERIFY_EMAIL_FIRST;
use super::security::require_recent_authentication;
use super::{html, see_other, Page, TimeView};
use crate::db::apps::App;
use crate::db::secrets::SecretRow;
use crate::domain::{
    OldSecretSchedule, SecretHint, SecretLabel, SecretLifetime, SecretPolicy, SecretStatus,
};
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::TypedSession;
use crate::service::audit::Actor;
use crate::service::policy;
use crate::service::secrets::{self, GenerateRequest, Revocation, SecretError, MAX_ACTIVE};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;

/// A secret used this recently is in use: revoking it needs its hint typed, and a rotation is
/// not finished while the older secret is.
pub const RECENT_USE: TimeDelta = TimeDelta::hours(24);

impl From<SecretError> for AppError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::TooManyActive
            | SecretError::AlreadyGenerated
            | SecretError::IdempotencyKeyReused => AppError::Conflict(e.to_string()),
            SecretError::LifetimeNotAllowed(_) => AppError::BadRequest(e.to_string()),
            SecretError::TooManyAtOnce => AppError::TooManyRequests(e.to_string()),
            SecretError::NotFound => AppError::NotFound,
            SecretError::Forbidden(message) => AppError::Forbidden(message),
            SecretError::Unexpected(cause) => AppError::Unexpected(cause),
        }
    }
}

/// A status as pages and the CSV say it: a class for styling ("active", "expiring", "revoked",
/// "expired"), the word shown ("Active", "Expires", "Revoked", "Expired") and its moment.
pub fn status_words(status: SecretStatus) -> (&'static str, &'static str, Option<NaiveDateTime>) {
    match status {
        SecretStatus::Active => ("active", "Active", None),
        SecretStatus::Expiring { at } => ("expiring", "Expires", Some(at)),
        SecretStatus::Revoked { at } => ("revoked", "Revoked", Some(at)),
        SecretStatus::Expired { at } => ("expired", "Expired", Some(at)),
    }
}

/// A secret as pages show it.
pub struct SecretView {
    pub id: i32,
    /// `••••a1b2`
    pub hint: String,
    pub last_four: String,
    pub label: String,
    pub created: TimeView,
    pub created_by: Option<String>,
    pub last_used: Option<TimeView>,
    /// The end of the lifetime chosen when it was generated; `None`: never.
    pub expires: Option<TimeView>,
    /// A revocation is scheduled (it can be cancelled), as opposed to an end of lifetime.
    pub scheduled: bool,
    /// The schedule is the deadline of a revocation when quiet.
    pub when_quiet: bool,
    /// "active", "expiring", "revoked" or "expired": for styling.
    pub status_kind: &'static str,
    /// "Active", "Expires", "Revoked", "Expired".
    pub status_text: &'static str,
    pub status_at: Option<TimeView>,
    pub live: bool,
    /// Used within the last 24 hours: revoking it asks for its hint to be typed.
    pub guarded: bool,
    pub detail_path: String,
    pub revoke_path: String,
    /// Where "Cancel" on its revoke confirmation goes.
    pub back_path: String,
    /// "Also revoke tokens" starts ticked: the choice made before confirming access.
    pub revoke_tokens: bool,
}

impl SecretView {
    pub fn new(
        row: SecretRow,
        created_by: Option<String>,
        now: NaiveDateTime,
        app_path: &str,
        revoke_path: String,
    ) -> Self {
        let status = SecretStatus::of(row.revoked_at, row.expires_at, now);
        let (status_kind, status_text, at) = status_words(status);
        let hint = SecretHint::from_stored(row.hint);
        SecretView {
            id: row.id,
            last_four: hint.last_four().to_owned(),
            hint: hint.to_string(),
            label: row.label,
            created: TimeView::new(row.created_at, now),
            created_by,
            last_used: row.last_used_at.map(|t| TimeView::new(t, now)),
            expires: row.lifetime_ends_at.map(|t| TimeView::new(t, now)),
            scheduled: row.expires_at.is_some() && row.expires_at != row.lifetime_ends_at,
            when_quiet: row.quiet_for_secret_id.is_some() && status.is_live(),
            status_kind,
            status_text,
            status_at: at.map(|t| TimeView::new(t, now)),
            live: status.is_live(),
            guarded: row.last_used_at.is_some_and(|t| t > now - RECENT_USE),
            detail_path: format!("{app_path}/secrets/{}", row.id),
            revoke_path,
            back_path: app_path.to_owned(),
            revoke_tokens: false,
        }
    }

    /// As shown on the owner's pages.
    pub fn for_owner(row: SecretRow, created_by: Option<String>, now: NaiveDateTime) -> Self {
        let app_path = format!("/apps/{}", row.app_id);
        let revoke_path = format!("{app_path}/secrets/{}/revoke", row.id);
        SecretView::new(row, created_by, now, &app_path, revoke_path)
    }
}

/// The choices for the live secret when a new one is generated.
pub struct ScheduleOption {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub fn schedule_options() -> Vec<ScheduleOption> {
    OldSecretSchedule::ALL
        .iter()
        .map(|s| ScheduleOption {
            value: s.as_str(),
            label: s.describe(),
            checked: *s == OldSecretSchedule::Manually,
        })
        .collect()
}

/// One "Expires after" choice.
pub struct LifetimeOption {
    pub value: &'static str,
    pub label: String,
    pub checked: bool,
}

/// What the generate confirmation form needs, on its own page and in the app page's dialog.
pub struct GenerateForm {
    pub live_count: i64,
    pub at_limit: bool,
    pub limit_message: String,
    /// Makes a resubmitted form harmless (see `secrets::generate_secret`).
    pub request_nonce: String,
    pub schedule_options: Vec<ScheduleOption>,
    /// The "Expires after" choices the policy allows, its default checked.
    pub lifetime_options: Vec<LifetimeOption>,
    pub label: String,
    pub label_error: Option<String>,
}

impl GenerateForm {
    pub fn new(live_count: i64, policy: &SecretPolicy) -> Self {
        let default = policy.default_choice();
        GenerateForm {
            lifetime_options: policy
                .choices()
                .into_iter()
                .map(|l| LifetimeOption {
                    value: l.as_str(),
                    label: l.describe(),
                    checked: l == default,
                })
                .collect(),
            live_count,
            at_limit: live_count >= MAX_ACTIVE,
            limit_message: SecretError::TooManyActive.to_string(),
            request_nonce: crate::domain::random_base62(22),
            schedule_options: schedule_options(),
            label: String::new(),
            label_error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "secret_generate.html")]
struct ConfirmGenerate {
    page: Page,
    app_id: i32,
    name: String,
    generate: GenerateForm,
}

/// `GET /apps/{id}/secrets/new`, with the choices already made when the user comes back from
/// confirming access (`?label=...&old_secret=...&expires_after=...`).
pub async fn confirm_generate(
    EditableApp { app, .. }: EditableApp,
    session: TypedSession,
    state: web::Data<AppState>,
    chosen: web::Query<GenerateChoices>,
) -> Result<HttpResponse, AppError> {
    let live_count = secrets::count_active(state.pool(), app.id, state.clock().now()).await?;
    let policy = policy::current(state.pool()).await?;
    let mut generate = GenerateForm::new(live_count, &policy);
    generate.choose(chosen.into_inner());
    html(
        StatusCode::OK,
        &ConfirmGenerate {
            page: Page::new(&session)?,
            app_id: app.id,
            name: app.name,
            generate,
        },
    )
}

/// The choices of the generate form, as a query string or form fields.
#[derive(Deserialize, serde::Serialize, Default)]
pub struct GenerateChoices {
    #[serde(default)]
    label: String,
    old_secret: Option<String>,
    expires_after: Option<String>,
}

impl GenerateForm {
    /// Ticks what was chosen before; anything not offered keeps the default.
    fn choose(&mut self, chosen: GenerateChoices) {
        if SecretLabel::parse(&chosen.label).is_ok() {
            self.label = chosen.label;
        }
        let offered = |value: &Option<String>, values: &[&str]| {
            value
                .as_deref()
                .filter(|v| values.contains(v))
                .map(str::to_owned)
        };
        let lifetimes: Vec<&str> = self.lifetime_options.iter().map(|o| o.value).collect();
        if let Some(value) = offered(&chosen.expires_after, &lifetimes) {
            for option in &mut self.lifetime_options {
                option.checked = option.value == value;
            }
        }
        let schedules: Vec<&str> = self.schedule_options.iter().map(|o| o.value).collect();
        if let Some(value) = offered(&chosen.old_secret, &schedules) {
            for option in &mut self.schedule_options {
                option.checked = option.value == value;
            }
        }
    }
}

#[derive(Deserialize)]
pub struct GenerateFields {
    request_nonce: Option<String>,
    #[serde(flatten)]
    choices: GenerateChoices,
}

#[derive(Template)]
#[template(path = "secret_shown.html")]
struct SecretShown<'a> {
    page: Page,
    app_id: i32,
    name: String,
    secret: &'a str,
    hint: String,
    label: String,
}

/// Generates a secret and shows its plaintext in this one response, which no cache may keep.
/// The page is not a redirect target on purpose: the plaintext must never be stored anywhere
/// (not even in the session) to survive until a following GET.
pub async fn generate(
    req: HttpRequest,
    EditForm {
        owned: EditableApp { user, app },
        form: fields,
    }: EditForm<EditableApp, GenerateFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    let GenerateFields {
        request_nonce,
        choices,
    } = fields;
    let back = format!(
        "/apps/{}/secrets/new?{}",
        app.id,
        serde_urlencoded::to_string(&choices).unwrap_or_default()
    );
    require_recent_authentication(&state, &user, back)?;
    let GenerateChoices {
        label: typed_label,
        old_secret,
        expires_after,
    } = choices;
    let request_nonce = match request_nonce.filter(|n| !n.is_empty()) {
        Some(n) if n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric()) => Some(n),
        Some(_) => {
            return Err(AppError::BadRequest(
                "The confirmation form was altered.".into(),
            ))
        }
        None => None,
    };
    let old_secret = OldSecretSchedule::parse(old_secret.as_deref())
        .ok_or_else(|| AppError::BadRequest("Choose when to revoke the old secret.".into()))?;
    let lifetime = match expires_after.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            SecretLifetime::parse(raw)
                .ok_or_else(|| AppError::BadRequest("Choose when the secret expires.".into()))?,
        ),
    };
    let label = match SecretLabel::parse(&typed_label) {
        Ok(label) => label,
        Err(message) => {
            let live_count =
                secrets::count_active(state.pool(), app.id, state.clock().now()).await?;
            let policy = policy::current(state.pool()).await?;
            let mut generate = GenerateForm::new(live_count, &policy);
            generate.request_nonce = request_nonce.unwrap_or(generate.request_nonce);
            generate.label = typed_label;
            generate.label_error = Some(message.to_owned());
            let form = ConfirmGenerate {
                page: Page::new(&session)?,
                app_id: app.id,
                name: app.name,
                generate,
            };
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let request = GenerateRequest {
        app_id: app.id,
        request_nonce,
        label,
        old_secret,
        lifetime,
        idempotency: None,
    };
    let actor = Actor::new(&user, client_ip(&req));
    match secrets::generate_secret(
        state.pool(),
        state.bcrypt(),
        request,
        actor,
        state.clock().now(),
    )
    .await
    {
        Ok(generated) => {
            let mut response = html(
                StatusCode::OK,
                &SecretShown {
                    page: Page::new(&session)?,
                    app_id: app.id,
                    name: app.name,
                    secret: generated.plaintext.expose(),
                    hint: generated.plaintext.hint().to_string(),
                    label: generated.row.label,
                },
            )?;
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
            Ok(response)
        }
        Err(SecretError::AlreadyGenerated) => {
            session.set_flash(Flash::error(SecretError::AlreadyGenerated.to_string()))?;
            Ok(see_other(&format!("/apps/{}", app.id)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "secret_revoke.html")]
pub struct ConfirmRevoke {
    pub page: Page,
    pub name: String,
    pub secret: SecretView,
    pub hint_error: Option<String>,
}

/// `GET /apps/{id}/secrets/{secret_id}/revoke`; `?revoke_tokens=on` ticks "Also revoke
/// tokens" (the choice made before confirming access).
pub async fn confirm_revoke(
    EditableSecret {
        app, secret: row, ..
    }: EditableSecret,
    session: TypedSession,
    state: web::Data<AppState>,
    chosen: web::Query<RevokeChoices>,
) -> Result<HttpResponse, AppError> {
    let mut secret = SecretView::for_owner(row, None, state.clock().now());
    secret.revoke_tokens = chosen.revoke_tokens.is_some();
    html(
        StatusCode::OK,
        &ConfirmRevoke {
            page: Page::new(&session)?,
            name: app.name,
            secret,
            hint_error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct RevokeChoices {
    pub revoke_tokens: Option<String>,
}

/// Where a revocation continues after confirming access: its confirmation, as chosen.
pub fn revoke_return_path(view: &SecretView, fields: &RevokeFields) -> String {
    match fields.revoke_tokens {
        Some(_) => format!("{}?revoke_tokens=on", view.revoke_path),
        None => view.revoke_path.clone(),
    }
}

#[derive(Deserialize)]
pub struct RevokeFields {
    /// The "Also revoke tokens issued with this secret" checkbox.
    revoke_tokens: Option<String>,
    /// The secret's last four characters, typed, for a secret in recent use.
    confirm_hint: Option<String>,
}

/// Revokes after the confirmation; shared by the owner's and the admin's pages. A secret used
/// in the last 24 hours needs its last four characters typed, so nobody revokes a secret in
/// production use by a slip.
pub async fn revoke_confirmed(
    state: &AppState,
    session: &TypedSession,
    app: App,
    view: SecretView,
    fields: RevokeFields,
    actor: Actor,
) -> Result<HttpResponse, AppError> {
    let typed = fields
        .confirm_hint
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if view.live && view.guarded && typed != view.last_four {
        let used = view
            .last_used
            .as_ref()
            .map(|t| t.relative.clone())
            .unwrap_or_default();
        let form = ConfirmRevoke {
            page: Page::new(session)?,
            name: app.name,
            hint_error: Some(format!(
                "This secret was last used {used}. Type its last four characters, {}, to confirm.",
                view.last_four
            )),
            secret: view,
        };
        return html(StatusCode::BAD_REQUEST, &form);
    }
    let also_tokens = fields.revoke_tokens.is_some();
    let back = view.back_path.clone();
    let flash = match secrets::revoke_secret(
        state.pool(),
        app.id,
        view.id,
        also_tokens,
        actor,
        state.clock().now(),
    )
    .await?
    {
        Revocation::Revoked(row) => {
            let hint = SecretHint::from_stored(row.hint);
            Flash::success(if also_tokens {
                format!("Secret {hint} revoked. Every token issued with it was revoked too.")
            } else {
                format!("Secret {hint} revoked.")
            })
        }
        Revocation::AlreadyRevoked {
            row,
            tokens_revoked: true,
        } => Flash::success(format!(
            "Secret {} was already revoked; every token issued with it is revoked now.",
            SecretHint::from_stored(row.hint)
        )),
        Revocation::AlreadyRevoked { row, .. } => Flash::error(format!(
            "Secret {} was already revoked. Nothing changed.",
            SecretHint::from_stored(row.hint)
        )),
    };
    session.set_flash(flash)?;
    Ok(see_other(&back))
}

pub async fn revoke(
    req: HttpRequest,
    EditForm {
        owned:
            EditableSecret {
                user,
                app,
                secret: row,
            },
        form: fields,
    }: EditForm<EditableSecret, RevokeFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let view = SecretView::for_owner(row, None, state.clock().now());
    require_recent_authentication(&state, &user, revoke_return_path(&view, &fields))?;
    let actor = Actor::new(&user, client_ip(&req));
    revoke_confirmed(&state, &session, app, view, fields, actor).await
}

#[derive(Template)]
#[template(path = "secret.html")]
struct SecretDetail {
    page: Page,
    app_id: i32,
    name: String,
    secret: SecretView,
    last_used_exact: Option<String>,
    last_used_ip: Option<String>,
    last_used_user_agent: Option<String>,
    uses_24h: i64,
    uses_7d: i64,
    /// Whether to show the label, schedule and revoke controls (not to a Viewer).
    may_change: bool,
}

/// `GET /apps/{id}/secrets/{secret_id}`: everything known about one secret.
pub async fn show(
    VisibleSecret {
        app,
        secret: row,
        may_change,
    }: VisibleSecret,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let usage = state
        .secret_checks()
        .usage(state.pool(), row.id, now)
        .await?;
    let created_by = secrets::creator_email(state.pool(), &row).await?;
    let detail = SecretDetail {
        page: Page::new(&session)?,
        app_id: app.id,
        name: app.name,
        last_used_exact: row.last_used_at.map(|t| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        last_used_ip: row.last_used_ip.clone(),
        last_used_user_agent: row.last_used_user_agent.clone(),
        uses_24h: usage.last_24_hours,
        uses_7d: usage.last_7_days,
        secret: SecretView::for_owner(row, created_by, now),
        may_change,
    };
    html(StatusCode::OK, &detail)
}

#[derive(Deserialize)]
pub struct LabelFields {
    #[serde(default)]
    label: String,
}

pub async fn set_label(
    req: HttpRequest,
    EditForm {
        owned:
            EditableSecret {
                user,
                app,
                secret: row,
            },
        form: fields,
    }: EditForm<EditableSecret, LabelFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let detail = format!("/apps/{}/secrets/{}", app.id, row.id);
    match SecretLabel::parse(&fields.label) {
        Ok(label) => {
            let actor = Actor::new(&user, client_ip(&req));
            secrets::set_label(
                state.pool(),
                app.id,
                row.id,
                label,
                actor,
                state.clock().now(),
            )
            .await?;
            session.set_flash(Flash::success("Label saved."))?;
        }
        Err(message) => session.set_flash(Flash::error(message))?,
    }
    Ok(see_other(&detail))
}

#[derive(Deserialize)]
pub struct ScheduleFields {
    action: String,
}

/// Cancels a scheduled revocation, or brings it forward to now.
pub async fn schedule(
    req: HttpRequest,
    EditForm {
        owned:
            EditableSecret {
                user,
                app,
                secret: row,
            },
        form: fields,
    }: EditForm<EditableSecret, ScheduleFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let hint = SecretHint::from_stored(row.hint.clone());
    let actor = Actor::new(&user, client_ip(&req));
    let now = state.clock().now();
    let flash = match fields.action.as_str() {
        "cancel" => {
            if secrets::cancel_schedule(state.pool(), app.id, row.id, actor, now).await? {
                Flash::success(format!(
                    "The scheduled revocation of {hint} was cancelled. It stays active."
                ))
            } else {
                Flash::error(format!("{hint} had no pending schedule to cancel."))
            }
        }
        "now" => {
            match secrets::revoke_secret(state.pool(), app.id, row.id, false, actor, now).await? {
                Revocation::Revoked(_) => Flash::success(format!("Secret {hint} revoked.")),
                Revocation::AlreadyRevoked { .. } => Flash::error(format!(
                    "Secret {hint} was already revoked. Nothing changed."
                )),
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "Choose to cancel the schedule or to revoke now.".into(),
            ))
        }
    };
    session.set_flash(flash)?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}
