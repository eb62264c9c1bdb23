//! Cross-site request forgery protection for every state-changing browser form.
//!
//! Two independent checks: the request's `Origin` (when the browser sends one) must be this
//! site, and the form must carry the session's `csrf_token`. Taking [`CsrfForm`] instead of
//! `web::Form` is how a handler opts in; a POST that fails either check is refused with 403
//! before the handler runs.

use super::session::TypedSession;
use crate::http::error::AppError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

const REFUSED: &str =
    "This form has expired or came from another site. Go back, reload the page and try again.";

/// A urlencoded form that passed the CSRF checks.
pub struct CsrfForm<T>(pub T);

/// For forms whose only field is the CSRF token (log out, revoke).
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let origin_ok = origin_is_ours(req);
        let session = TypedSession::from_request(req, payload).into_inner();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !origin_ok {
                return Err(AppError::Forbidden(REFUSED));
            }
            let body = body
                .await
                .map_err(|_| AppError::PayloadTooLarge("The form is too large."))?;
            let expected = session.ok().and_then(|s| s.existing_csrf_token());
            let presented = serde_urlencoded::from_bytes::<CsrfField>(&body)
                .ok()
                .and_then(|f| f.csrf_token);
            let valid = match (expected, presented) {
                (Some(expected), Some(presented)) => {
                    bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
                }
                _ => false,
            };
            if !valid {
                return Err(AppError::Forbidden(REFUSED));
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|_| AppError::BadRequest("The form was not filled in correctly.".into()))
        })
    }
}

/// Browsers send `Origin` on POSTs; when it names an origin, it must be the public URL's or
/// the one the request was addressed to. `Origin: null` is what Chrome sends under our
/// `Referrer-Policy: no-referrer`, so it proves nothing either way; then `Sec-Fetch-Site`
/// (sent by current browsers) must not say cross-site. Requests with neither header (old
/// browsers, scripts) still need the session's token, which a cross-site page cannot read.
fn origin_is_ours(req: &HttpRequest) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("invalid").to_owned())
    };
    if header("sec-fetch-site").is_some_and(|site| site == "cross-site" || site == "invalid") {
        return false;
    }
    let origin = match header("origin") {
        None => return true,
        Some(origin) if origin == "null" => return true,
        Some(origin) => origin,
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return false;
    };
    // The origin the request was addressed to. Only a trusted proxy may say, with forwarded
    // headers, what the browser addressed; from anyone else they are ignored.
    let peer_is_proxy = req
        .peer_addr()
        .is_some_and(|peer| state.trusted_proxies().contains(peer.ip()));
    let addressed = if peer_is_proxy {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    } else {
        format!("http://{}", header("host").unwrap_or_default())
    };
    origin == state.public_origin() || origin == addressed
}
