//! The API tokens page (`/account/tokens`): create a token (shown once), list and revoke them;
//! and every user's tokens for admins (`/admin/tokens`).

use super::account_links::VERIFY_EMAIL_FIRST;
use super::security::require_recent_authentication;
use super::{html, see_other, Page, TimeView};
use crate::db::api_tokens::ApiTokenRow;
use crate::domain::{
    Account, ApiScope, ApiScopes, ApiTokenName, SecretLifetime, SecretPolicy, API_TOKEN_LIFETIMES,
};
use crate::http::client_ip;
use crate::http::csrf::{CsrfForm, NoFields};
use crate::http::error::AppError;
use crate::http::session::{AdminUser, CurrentUser, Flash};
use crate::http::TypedSession;
use crate::service::api_tokens::{self, ApiTokenError, NewToken};
use crate::service::audit::Actor;
use crate::service::policy;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

impl From<ApiTokenError> for AppError {
    fn from(e: ApiTokenError) -> Self {
        match e {
            ApiTokenError::LifetimeNotAllowed(_) => AppError::BadRequest(e.to_string()),
            ApiTokenError::TooMany | ApiTokenError::AlreadyCreated => {
                AppError::Conflict(e.to_string())
            }
            ApiTokenError::NotFound => AppError::NotFound,
            ApiTokenError::Unexpected(cause) => AppError::Unexpected(cause),
        }
    }
}

/// A token as the pages list it.
struct TokenView {
    id: i32,
    name: String,
    scopes: String,
    created: TimeView,
    last_used: Option<TimeView>,
    expires: Option<TimeView>,
    /// "Active", "Revoked" or "Expired".
    status: &'static str,
    live: bool,
    /// Admins' list: whose token it is.
    owner: String,
}

impl TokenView {
    fn new(row: ApiTokenRow, owner: String, now: NaiveDateTime) -> Self {
        let status = match (row.revoked_at, row.expires_at) {
            (Some(_), _) => "Revoked",
            (None, Some(end)) if end <= now => "Expired",
            _ => "Active",
        };
        TokenView {
            id: row.id,
            name: row.name,
            scopes: row.scopes,
            created: TimeView::new(row.created_at, now),
            last_used: row.last_used_at.map(|t| TimeView::new(t, now)),
            expires: row.expires_at.map(|t| TimeView::new(t, now)),
            status,
            live: status == "Active",
            owner,
        }
    }
}

/// One "Expires after" choice.
struct LifetimeChoice {
    value: &'static str,
    label: String,
    checked: bool,
}

/// The "Create token" form, as filled in so far.
#[derive(Deserialize, Serialize, Default)]
pub struct TokenChoices {
    #[serde(default)]
    name: String,
    apps_read: Option<String>,
    secrets_write: Option<String>,
    expires_after: Option<String>,
    /// Not kept in the query string after confirming access: a fresh form gets a fresh one.
    #[serde(skip_serializing)]
    request_nonce: Option<String>,
}

#[derive(Template)]
#[template(path = "account_tokens.html")]
struct TokensPage<'a> {
    page: Page,
    tokens: Vec<TokenView>,
    name: String,
    apps_read: bool,
    secrets_write: bool,
    lifetimes: Vec<LifetimeChoice>,
    /// Why the form was refused.
    error: Option<String>,
    /// The token just created: shown once, here.
    new_token: Option<&'a str>,
    scope_help: [(&'static str, &'static str); 2],
    admin: bool,
    revoke_base: &'static str,
    request_nonce: String,
}

/// `GET /account/tokens`; the query fills the form in (the choices made before confirming
/// access).
pub async fn list(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    chosen: web::Query<TokenChoices>,
) -> Result<HttpResponse, AppError> {
    render(&state, &session, &user, chosen.into_inner(), None, None).await
}

async fn render(
    state: &AppState,
    session: &TypedSession,
    user: &Account,
    chosen: TokenChoices,
    error: Option<(StatusCode, String)>,
    new_token: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let policy = policy::current(state.pool()).await?;
    let rows = api_tokens::list_for_user(state.pool(), user.id).await?;
    let tokens = rows
        .into_iter()
        .map(|row| TokenView::new(row, String::new(), now))
        .collect();
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let fresh = new_token.is_some();
    let page = TokensPage {
        page: Page::new(session)?,
        tokens,
        name: if fresh { String::new() } else { chosen.name },
        apps_read: !fresh && chosen.apps_read.is_some(),
        secrets_write: !fresh && chosen.secrets_write.is_some(),
        lifetimes: lifetime_choices(&policy, chosen.expires_after.as_deref()),
        error,
        new_token,
        scope_help: ApiScope::ALL.map(|s| (s.as_str(), s.description())),
        admin: false,
        revoke_base: "/account/tokens",
        request_nonce: crate::domain::random_base62(22),
    };
    let mut response = html(status, &page)?;
    // The page may hold a token in plaintext: no cache keeps it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The choices the policy allows, the chosen one (or the shortest) ticked.
fn lifetime_choices(policy: &SecretPolicy, chosen: Option<&str>) -> Vec<LifetimeChoice> {
    let allowed: Vec<SecretLifetime> = API_TOKEN_LIFETIMES
        .into_iter()
        .filter(|l| policy.allows(*l))
        .collect();
    let chosen = chosen.and_then(|c| allowed.iter().find(|l| l.as_str() == c).copied());
    let checked = chosen.or(allowed.first().copied());
    allowed
        .into_iter()
        .map(|l| LifetimeChoice {
            value: l.as_str(),
            label: l.describe(),
            checked: Some(l) == checked,
        })
        .collect()
}

/// `POST /account/tokens`: creates a token and shows it in this one response.
pub async fn create(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(chosen): CsrfForm<TokenChoices>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    let back = format!(
        "/account/tokens?{}",
        serde_urlencoded::to_string(&chosen).unwrap_or_default()
    );
    require_recent_authentication(&state, &user, back)?;
    let refuse = |message: String| Some((StatusCode::BAD_REQUEST, message));
    let name = match ApiTokenName::parse(&chosen.name) {
        Ok(name) => name,
        Err(message) => {
            return render(
                &state,
                &session,
                &user,
                chosen,
                refuse(message.into()),
                None,
            )
            .await
        }
    };
    let ticked = [
        chosen
            .apps_read
            .as_ref()
            .map(|_| ApiScope::AppsRead.as_str()),
        chosen
            .secrets_write
            .as_ref()
            .map(|_| ApiScope::SecretsWrite.as_str()),
    ];
    let Some(scopes) = ApiScopes::parse(ticked.into_iter().flatten()) else {
        let message = "Choose at least one scope.".to_owned();
        return render(&state, &session, &user, chosen, refuse(message), None).await;
    };
    let lifetime = chosen
        .expires_after
        .as_deref()
        .and_then(|raw| API_TOKEN_LIFETIMES.into_iter().find(|l| l.as_str() == raw));
    let Some(lifetime) = lifetime else {
        let message = "Choose when the token expires.".to_owned();
        return render(&state, &session, &user, chosen, refuse(message), None).await;
    };
    let request_nonce = match chosen.request_nonce.as_deref().filter(|n| !n.is_empty()) {
        Some(n) if n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Some(n.to_owned())
        }
        Some(_) => return Err(AppError::BadRequest("The form was altered.".into())),
        None => None,
    };
    let request = NewToken {
        name,
        scopes,
        lifetime,
        request_nonce,
    };
    let actor = Actor::new(&user, client_ip(&req));
    let now = state.clock().now();
    match api_tokens::create(state.pool(), &user, request, actor, now).await {
        Ok((token, _)) => {
            let shown = TokenChoices::default();
            render(&state, &session, &user, shown, None, Some(token.expose())).await
        }
        Err(e @ ApiTokenError::LifetimeNotAllowed(_)) => {
            render(&state, &session, &user, chosen, refuse(e.to_string()), None).await
        }
        Err(e @ ApiTokenError::TooMany) => {
            let conflict = Some((StatusCode::CONFLICT, e.to_string()));
            render(&state, &session, &user, chosen, conflict, None).await
        }
        Err(ApiTokenError::AlreadyCreated) => {
            session.set_flash(Flash::error(ApiTokenError::AlreadyCreated.to_string()))?;
            Ok(see_other("/account/tokens"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/tokens/{id}/revoke`: one of the user's own tokens.
pub async fn revoke(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let mut actor = Actor::new(&user, client_ip(&req));
    // Here only one's own tokens; admins revoke others' from the admin list.
    actor.is_admin = false;
    revoke_and_return(&state, &session, path, actor, "/account/tokens").await
}

/// `POST /admin/tokens/{id}/revoke`: anybody's token.
pub async fn admin_revoke(
    req: HttpRequest,
    AdminUser(admin): AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::new(&admin, client_ip(&req));
    revoke_and_return(&state, &session, path, actor, "/admin/tokens").await
}

async fn revoke_and_return(
    state: &AppState,
    session: &TypedSession,
    path: web::Path<String>,
    actor: Actor,
    back: &str,
) -> Result<HttpResponse, AppError> {
    let id: i32 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    let revoked = api_tokens::revoke(state.pool(), id, actor, state.clock().now()).await?;
    let message = match revoked {
        true => "The API token is revoked: it no longer works.",
        false => "That API token was already revoked.",
    };
    session.set_flash(Flash::success(message))?;
    Ok(see_other(back))
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct AdminTokensPage {
    page: Page,
    tokens: Vec<TokenView>,
    admin: bool,
    revoke_base: &'static str,
}

/// `GET /admin/tokens`: every user's API tokens.
pub async fn admin_list(
    AdminUser(_): AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let tokens = api_tokens::list_all(state.pool())
        .await?
        .into_iter()
        .map(|(row, owner)| TokenView::new(row, owner, now))
        .collect();
    html(
        StatusCode::OK,
        &AdminTokensPage {
            page: Page::new(&session)?,
            tokens,
            admin: true,
            revoke_base: "/admin/tokens",
        },
    )
}
