//! Client authentication for the token, revocation and introspection endpoints:
//! client_secret_basic (RFC 6749 §2.3.1, with the id and secret form-urlencoded before base64),
//! client_secret_post, and private_key_jwt (RFC 7523 §2.2). Exactly one method per request.

use super::OAuthError;
use crate::domain::client_key::JWT_BEARER_ASSERTION;
use crate::domain::RequestOrigin;
use crate::service::keys::assertion::{self, AssertionAttempt, AssertionChecks};
use crate::service::secrets::{
    self, AuthenticatedClient, ClientAttempt, ClientCheck, ClientRefusal,
};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;

/// The parameters of an OAuth form body. Parameters must not repeat (RFC 6749 §3.2).
#[derive(Debug, Default)]
pub struct OAuthParams(HashMap<String, String>);

impl OAuthParams {
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        Self::from_body(content_type, body)
    }

    /// Only `application/x-www-form-urlencoded` bodies (RFC 6749 §4.4.2, §3.2).
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        let is_form = content_type.is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if !is_form {
            return Err(OAuthError::InvalidRequest(
                "The body must be application/x-www-form-urlencoded.",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::InvalidRequest(
                    "A parameter was given more than once.",
                ));
            }
        }
        Ok(OAuthParams(params))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// A client id and the secret presented with it. The secret is never printed.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: SecretString,
}

/// Reads the client's credentials from the Basic header or the body, not both.
pub fn credentials(
    req: &HttpRequest,
    params: &OAuthParams,
) -> Result<ClientCredentials, OAuthError> {
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => Some(value.to_str().map_err(|_| OAuthError::InvalidClient)?),
        None => None,
    };
    credentials_from(authorization, params)
}

/// [`credentials`] from the `Authorization` header's value and the parsed body.
pub fn credentials_from(
    authorization: Option<&str>,
    params: &OAuthParams,
) -> Result<ClientCredentials, OAuthError> {
    let basic = authorization.map(parse_basic).transpose()?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match basic {
        Some(_) if body_secret.is_some() => Err(OAuthError::InvalidRequest(
            "Use one client authentication method: HTTP Basic or client_secret in the body, not both.",
        )),
        Some(creds) if body_id.is_some_and(|id| id != creds.client_id) => Err(OAuthError::InvalidRequest(
            "client_id in the body does not match the Authorization header.",
        )),
        Some(creds) => Ok(creds),
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(ClientCredentials {
                client_id: id.to_owned(),
                secret: SecretString::from(secret.to_owned()),
            }),
            _ => Err(OAuthError::InvalidClient),
        },
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`. Anything else is `invalid_client`.
fn parse_basic(value: &str) -> Result<ClientCredentials, OAuthError> {
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or(OAuthError::InvalidClient)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidClient);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| OAuthError::InvalidClient)?;
    let decoded =
        zeroize::Zeroizing::new(String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?);
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    let client_id = form_decode(id);
    let secret = form_decode(secret);
    if client_id.is_empty() || secret.is_empty() {
        return Err(OAuthError::InvalidClient);
    }
    Ok(ClientCredentials {
        client_id,
        secret: SecretString::from(secret),
    })
}

/// application/x-www-form-urlencoded decoding of one value ('+' is a space).
fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The form of a request whose client proved who it is. Taking this instead of the body is
/// how an endpoint requires client authentication: the handler runs only for an
/// authenticated client.
pub struct ClientRequest {
    pub client: AuthenticatedClient,
    pub params: OAuthParams,
}

impl FromRequest for ClientRequest {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await?;
            let state = AppState::of(&req).map_err(actix_web::error::ErrorInternalServerError)?;
            let params = OAuthParams::parse(&req, &body)?;
            let client = authenticate(&state, &req, &params).await?;
            Ok(ClientRequest { client, params })
        })
    }
}

/// Authenticates the calling client; every failure is the same `invalid_client`, and too many
/// from one address, or against one secret, are 429 (see [`secrets::authenticate_client`] for
/// what counts where).
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    params: &OAuthParams,
) -> Result<AuthenticatedClient, OAuthError> {
    let now = state.clock().now();
    let origin = crate::http::request_origin(req);
    if params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some() {
        return by_assertion(state, req, params, origin, now).await;
    }
    let check = match credentials(req, params) {
        Ok(creds) => {
            let attempt = ClientAttempt {
                client_id: &creds.client_id,
                presented: creds.secret.expose_secret(),
                origin,
            };
            secrets::authenticate_client(
                state.bcrypt(),
                state.secret_checks(),
                state.throttles(),
                attempt,
                now,
            )
            .await?
        }
        Err(OAuthError::InvalidClient) => {
            secrets::count_failed_attempt(
                state.secret_checks(),
                state.throttles(),
                origin.address_key(),
                ClientRefusal::NoCredentials,
                now,
            )
            .await?
        }
        Err(e) => return Err(e),
    };
    answer(check)
}

fn answer(check: ClientCheck) -> Result<AuthenticatedClient, OAuthError> {
    match check {
        ClientCheck::Authenticated(client) => Ok(client),
        ClientCheck::Refused => Err(OAuthError::InvalidClient),
        ClientCheck::Throttled(wait) => Err(OAuthError::TooManyFailures(wait)),
    }
}

/// private_key_jwt: a signed assertion instead of a secret, and nothing else.
async fn by_assertion(
    state: &AppState,
    req: &HttpRequest,
    params: &OAuthParams,
    origin: RequestOrigin,
    now: chrono::NaiveDateTime,
) -> Result<AuthenticatedClient, OAuthError> {
    if req.headers().contains_key(header::AUTHORIZATION) || params.get("client_secret").is_some() {
        return Err(OAuthError::InvalidRequest(
            "Use one client authentication method: a client assertion, HTTP Basic or client_secret, not several.",
        ));
    }
    let checks = AssertionChecks {
        pool: state.pool(),
        writer: state.writer(),
        jwks: state.jwks(),
        secret_checks: state.secret_checks(),
        throttles: state.throttles(),
    };
    let check = match (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) {
        (Some(JWT_BEARER_ASSERTION), Some(assertion)) => {
            let attempt = AssertionAttempt {
                assertion,
                client_id: params.get("client_id"),
                audiences: [
                    state.public_url().to_owned(),
                    format!("{}{}", state.public_url(), req.path()),
                ],
                origin,
            };
            assertion::authenticate_by_assertion(checks, attempt, now).await?
        }
        _ => {
            secrets::count_failed_attempt(
                checks.secret_checks,
                checks.throttles,
                origin.address_key(),
                ClientRefusal::BadAssertion,
                now,
            )
            .await?
        }
    };
    answer(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let creds = parse_basic(&basic("ktc_a%2Bb:s+e%3Acret")).unwrap();
        assert_eq!(creds.client_id, "ktc_a+b");
        assert_eq!(creds.secret.expose_secret(), "s e:cret");
    }

    proptest::proptest! {
        /// Any header and any body: no panic, and only the documented errors.
        #[test]
        fn client_authentication_parsing_never_panics(
            header in proptest::option::of(".{0,200}"),
            encoded in "[A-Za-z0-9+/=:%]{0,120}",
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            content_type in proptest::option::of("(application/x-www-form-urlencoded|text/plain|)(; charset=utf-8)?"),
        ) {
            let header = header.map(|h| if h.len() % 2 == 0 { format!("Basic {encoded}") } else { h });
            let outcome = OAuthParams::from_body(content_type.as_deref(), &body)
                .and_then(|params| credentials_from(header.as_deref(), &params));
            match outcome {
                Ok(creds) => proptest::prop_assert!(!creds.client_id.is_empty()),
                Err(OAuthError::InvalidClient | OAuthError::InvalidRequest(_)) => {}
                Err(other) => proptest::prop_assert!(false, "undocumented error {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for bad in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &basic("no-colon"),
            &basic(":secret"),
            &basic("id:"),
        ] {
            assert!(
                matches!(parse_basic(bad), Err(OAuthError::InvalidClient)),
                "{bad:?}"
            );
        }
    }
}
