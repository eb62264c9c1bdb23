//! "Authorized apps": the apps a user let act for them, and withdrawing that permission.

use super::{html, see_other, Page, TimeView};
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::tokens;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

struct AuthorizedRow {
    app_id: i32,
    app_name: String,
    scopes: String,
    authorized: TimeView,
}

#[derive(Template)]
#[template(path = "authorized_apps.html")]
struct AuthorizedApps {
    page: Page,
    apps: Vec<AuthorizedRow>,
}

pub async fn list(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let apps = tokens::authorized_apps(state.pool(), user.id)
        .await?
        .into_iter()
        .map(|a| AuthorizedRow {
            app_id: a.app_id,
            app_name: a.app_name,
            scopes: a.scopes,
            authorized: TimeView::new(a.authorized_at, now),
        })
        .collect();
    html(
        StatusCode::OK,
        &AuthorizedApps {
            page: Page::new(&session)?,
            apps,
        },
    )
}

pub async fn revoke(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let app_id = path.parse::<i32>().map_err(|_| AppError::NotFound)?;
    let revoked =
        tokens::revoke_authorization(state.pool(), user.id, app_id, state.clock().now()).await?;
    session.set_flash(if revoked > 0 {
        Flash::success("Access revoked. The app's tokens for your account no longer work.")
    } else {
        Flash::error("That app had no access to revoke.")
    })?;
    Ok(see_other("/authorized-apps"))
}
