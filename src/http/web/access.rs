//! The app or secret named by the URL (`/apps/{id}`, `/apps/{id}/secrets/{secret_id}`), if the
//! signed-in user may do what the handler does with it: the handler says which by the type it
//! takes, and [`crate::service::apps::app_for`] asks the one policy. Somebody who may not even
//! see the app gets 404, the same as for a missing one, so nobody can probe which ids exist; a
//! team member whose role does not allow the change gets 403. Someone not signed in is sent to
//! log in first.

use crate::db::apps::App;
use crate::db::client_keys::ClientKeyRow;
use crate::db::secrets::SecretRow;
use crate::domain::access::AppAction;
use crate::domain::{Account, TeamRole};
use crate::http::error::AppError;
use crate::http::{CsrfForm, CurrentUser};
use crate::service::{apps, keys, secrets};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// An app the signed-in user may change, from the `{id}` in the URL.
pub struct EditableApp {
    pub user: Account,
    pub app: App,
}

/// A secret of an app the signed-in user may change, from `{id}` and `{secret_id}`.
pub struct EditableSecret {
    pub user: Account,
    pub app: App,
    pub secret: SecretRow,
}

/// A public key of an app the signed-in user may change, from `{id}` and `{key_id}`.
pub struct EditableKey {
    pub user: Account,
    pub app: App,
    pub key: ClientKeyRow,
}

/// A secret of an app the signed-in user may see, and their role in the app's team.
pub struct VisibleSecret {
    pub app: App,
    pub secret: SecretRow,
    pub may_change: bool,
}

/// A numeric id from the URL; anything else is a page that does not exist.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i32, AppError> {
    req.match_info()
        .get(name)
        .and_then(|raw| percent_encoding::percent_decode_str(raw).decode_utf8().ok())
        .and_then(|id| id.parse().ok())
        .ok_or(AppError::NotFound)
}

/// The signed-in user, the app of the URL, and the user's role in the app's team.
struct Loaded {
    user: Account,
    app: App,
    role: Option<TeamRole>,
}

/// The app of the `{id}` in the URL, if the signed-in user may do `action` to it.
fn load_app(
    req: &HttpRequest,
    payload: &mut Payload,
    action: AppAction,
) -> LocalBoxFuture<'static, Result<Loaded, AppError>> {
    let user = CurrentUser::from_request(req, payload);
    let req = req.clone();
    Box::pin(async move {
        let CurrentUser(user) = user.await?;
        let app_id = path_id(&req, "id")?;
        let state = AppState::of(&req)?;
        let (app, role) = apps::app_for(state.pool(), app_id, user.id, action).await?;
        Ok(Loaded { user, app, role })
    })
}

/// The `{secret_id}` of the URL, among the app's secrets.
async fn load_secret(req: &HttpRequest, app: &App) -> Result<SecretRow, AppError> {
    let secret_id = path_id(req, "secret_id")?;
    let state = AppState::of(req)?;
    Ok(secrets::find_secret(state.pool(), app.id, secret_id).await?)
}

impl FromRequest for EditableApp {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let loaded = load_app(req, payload, AppAction::Change);
        Box::pin(async move {
            let Loaded { user, app, .. } = loaded.await?;
            Ok(EditableApp { user, app })
        })
    }
}

impl FromRequest for EditableSecret {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let loaded = load_app(req, payload, AppAction::Change);
        let req = req.clone();
        Box::pin(async move {
            let Loaded { user, app, .. } = loaded.await?;
            let secret = load_secret(&req, &app).await?;
            Ok(EditableSecret { user, app, secret })
        })
    }
}

impl FromRequest for EditableKey {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let loaded = load_app(req, payload, AppAction::Change);
        let req = req.clone();
        Box::pin(async move {
            let Loaded { user, app, .. } = loaded.await?;
            let key_id = path_id(&req, "key_id")?;
            let state = AppState::of(&req)?;
            let key = keys::find_key(state.pool(), app.id, key_id).await?;
            Ok(EditableKey { user, app, key })
        })
    }
}

impl FromRequest for VisibleSecret {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let loaded = load_app(req, payload, AppAction::View);
        let req = req.clone();
        Box::pin(async move {
            let Loaded { user, app, role } = loaded.await?;
            let secret = load_secret(&req, &app).await?;
            let may_change = apps::may_change(user.id, &app, role);
            Ok(VisibleSecret {
                app,
                secret,
                may_change,
            })
        })
    }
}

/// A CSRF-checked form that changes an app (`O` is [`EditableApp`], [`EditableSecret`] or
/// [`EditableKey`]).
/// The form is checked first: a forged POST is refused with 403 before anything is looked up.
pub struct EditForm<O, T> {
    pub owned: O,
    pub form: T,
}

impl<O, T> FromRequest for EditForm<O, T>
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
            Ok(EditForm { owned, form })
        })
    }
}
