//! `/admin/policy`: the maximum secret lifetime, the warning period, and whether two-factor
//! authentication is required.

use super::security::require_recent_authentication;
use super::{html, see_other, Page, TimeView};
use crate::domain::SecretPolicy;
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{AdminUser, CsrfForm, TypedSession};
use crate::service::audit::Actor;
use crate::service::policy;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    page: Page,
    max_lifetime_days: String,
    warning_days: String,
    require_two_factor: bool,
    error: Option<String>,
    changes: Vec<PolicyChange>,
}

/// One entry of the policy's history, from the audit log.
struct PolicyChange {
    at: TimeView,
    by: String,
    detail: String,
}

pub async fn show(
    _: AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    render(&state, &session, None).await
}

/// The page with the stored policy, or with what was typed and why it was refused.
async fn render(
    state: &AppState,
    session: &TypedSession,
    refused: Option<(PolicyFields, &'static str)>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let (current, changes) = policy::with_history(state.pool()).await?;
    let changes = changes
        .into_iter()
        .map(|e| PolicyChange {
            at: TimeView::new(e.at, now),
            by: e.actor_email,
            detail: e.detail,
        })
        .collect();
    let (status, max_lifetime_days, warning_days, require_two_factor, error) = match refused {
        Some((typed, message)) => (
            StatusCode::BAD_REQUEST,
            typed.max_lifetime_days,
            typed.warning_days,
            typed.require_two_factor.is_some(),
            Some(message.to_owned()),
        ),
        None => (
            StatusCode::OK,
            current
                .max_lifetime_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            current.warning_days.to_string(),
            current.require_two_factor,
            None,
        ),
    };
    html(
        status,
        &PolicyPage {
            page: Page::new(session)?,
            max_lifetime_days,
            warning_days,
            require_two_factor,
            error,
            changes,
        },
    )
}

#[derive(Deserialize)]
pub struct PolicyFields {
    #[serde(default)]
    max_lifetime_days: String,
    #[serde(default)]
    warning_days: String,
    /// A checkbox: present when ticked.
    require_two_factor: Option<String>,
}

pub async fn save(
    req: HttpRequest,
    AdminUser(admin): AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<PolicyFields>,
) -> Result<HttpResponse, AppError> {
    require_recent_authentication(&state, &admin, "/admin/policy".into())?;
    let parsed = SecretPolicy::parse(
        &fields.max_lifetime_days,
        &fields.warning_days,
        fields.require_two_factor.is_some(),
    );
    let new_policy = match parsed {
        Ok(new_policy) => new_policy,
        Err(message) => return render(&state, &session, Some((fields, message))).await,
    };
    let actor = Actor::new(&admin, client_ip(&req));
    policy::save(state.pool(), new_policy, actor, state.clock().now()).await?;
    state.policy().forget();
    session.set_flash(Flash::success("Policy saved."))?;
    Ok(see_other("/admin/policy"))
}
