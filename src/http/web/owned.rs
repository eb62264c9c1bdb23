//! What the signed-in user owns, named by the URL: `/apps/{id}` and
//! `/apps/{id}/secrets/{secret_id}`. Anything that is not theirs is 404, the same as a missing
//! one, so nobody can probe which ids exist. Taking [`OwnApp`] or [`OwnSecret`] is how a
//! handler asks for it; someone not signed in is sent to log in first.

use crate::db::apps::App;
use crate::db::secrets::SecretRow;
use crate::domain::Account;
use crate::http::error::AppError;
use crate::http::{CsrfForm, CurrentUser};
use crate::service::{apps, secrets};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// One of the signed-in user's apps, from the `{id}` in the URL.
pub struct OwnApp {
    pub user: Account,
    pub app: App,
}

/// One of the signed-in user's apps and one of its secrets, from `{id}` and `{secret_id}`.
pub struct OwnSecret {
    pub user: Account,
    pub app: App,
    pub secret: SecretRow,
}

/// A numeric id from the URL; anything else is a page that does not exist.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i32, AppError> {
    req.match_info()
        .get(name)
        .and_then(|raw| percent_encoding::percent_decode_str(raw).decode_utf8().ok())
        .and_then(|id| id.parse().ok())
        .ok_or(AppError::NotFound)
}

impl FromRequest for OwnApp {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            let app_id = path_id(&req, "id")?;
            let state = AppState::of(&req)?;
            let app = apps::owned_app(state.pool(), app_id, user.id).await?;
            Ok(OwnApp { user, app })
        })
    }
}

impl FromRequest for OwnSecret {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let own_app = OwnApp::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let OwnApp { user, app } = own_app.await?;
            let secret_id = path_id(&req, "secret_id")?;
            let state = AppState::of(&req)?;
            let secret = secrets::find_secret(state.pool(), app.id, secret_id).await?;
            Ok(OwnSecret { user, app, secret })
        })
    }
}

/// A CSRF-checked form about something the user owns (`O` is [`OwnApp`] or [`OwnSecret`]).
/// The form is checked first: a forged POST is refused with 403 before anything is looked up.
pub struct OwnedForm<O, T> {
    pub owned: O,
    pub form: T,
}

impl<O, T> FromRequest for OwnedForm<O, T>
where
    O: FromRequest<Error = AppError> + 'static,
    T: DeserializeOwned + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = CsrfForm::<T>::from_request(req, payload);
        let owned = O::from_request(req, payload);
        Box::pin(async move {
            let CsrfForm(form) = form.await?;
            let owned = owned.await?;
            Ok(OwnedForm { owned, form })
        })
    }
}
