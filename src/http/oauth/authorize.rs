//! `GET /oauth/authorize` and the consent decision `POST /oauth/authorize` (RFC 6749 §4.1.1,
//! RFC 7636 with S256 only).
//!
//! The client and its redirect URI are checked before anything else: until both are known to be
//! good, errors are shown on our own page and nobody is redirected anywhere (RFC 6749 §4.1.2.1).
//! After that, errors go back to the client with `error`, `error_description` and `state`.

use crate::db::{apps::App, DbPool};
use crate::domain::{CodeChallenge, RedirectUris, Scopes};
use crate::http::error::AppError;
use crate::http::web::{html, Page};
use crate::http::{session, CsrfForm, CurrentUser, TypedSession};
use crate::service::tokens::{self, Approval};
use crate::service::{apps, openid};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::Context;
use askama::Template;
use std::collections::HashMap;

/// The request parameters echoed from the consent page back to the decision.
const ECHOED: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

/// A request that passed every check and may be shown to the user.
struct AuthorizationRequest {
    app: App,
    redirect_uri: String,
    redirect_uri_explicit: bool,
    scopes: Scopes,
    state: Option<String>,
    code_challenge: CodeChallenge,
    /// OpenID Connect: echoed in the ID token.
    nonce: Option<String>,
}

enum Invalid {
    /// The client or redirect URI cannot be trusted: error page, no redirect.
    Page(&'static str),
    /// Tell the client, at its verified redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

/// Query or form parameters, with the names that appeared more than once.
struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    fn parse(raw: &[u8]) -> Self {
        let mut values = HashMap::new();
        let mut repeated = Vec::new();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if values
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                repeated.push(name.into_owned());
            }
        }
        Params { values, repeated }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

async fn validate(pool: &DbPool, params: &Params) -> Result<AuthorizationRequest, Invalid> {
    if params
        .repeated
        .iter()
        .any(|n| n == "client_id" || n == "redirect_uri")
    {
        return Err(Invalid::Page(
            "client_id and redirect_uri may each appear only once.",
        ));
    }
    let client_id = params
        .get("client_id")
        .ok_or(Invalid::Page(
            "The request does not say which app is asking (client_id is missing).",
        ))?
        .to_owned();
    let app = apps::find_client(pool, client_id)
        .await
        .map_err(|_: anyhow::Error| {
            Invalid::Page("Keyturn could not check this request. Please try again.")
        })?
        .ok_or(Invalid::Page(
            "The app that sent you here is not registered with Keyturn (unknown client_id).",
        ))?;
    let registered = RedirectUris::from_stored(&app.redirect_uris);
    let (redirect_uri, redirect_uri_explicit) = match params.get("redirect_uri") {
        Some(uri) if registered.as_slice().iter().any(|r| r == uri) => (uri.to_owned(), true),
        Some(_) => {
            return Err(Invalid::Page(
                "The redirect_uri is not one this app registered.",
            ))
        }
        None => match registered.as_slice() {
            [only] => (only.clone(), false),
            _ => {
                return Err(Invalid::Page(
                    "redirect_uri is required: this app registered none or several.",
                ))
            }
        },
    };
    let state = params.get("state").map(str::to_owned);
    let refuse = |error, description| Invalid::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    if !params.repeated.is_empty() {
        return Err(refuse(
            "invalid_request",
            "A parameter was given more than once.",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is required.")),
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "Only response_type=code is supported.",
            ))
        }
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, _) => {
            return Err(refuse(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256.",
            ))
        }
        (Some(_), method) if method != Some("S256") => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed).",
            ))
        }
        (Some(challenge), _) => CodeChallenge::parse(challenge).ok_or_else(|| {
            refuse(
                "invalid_request",
                "code_challenge must be 43 to 128 characters of base64url.",
            )
        })?,
    };
    let scopes = Scopes::parse_or_default(params.get("scope"))
        .ok_or_else(|| refuse("invalid_scope", "The requested scope is unknown."))?;
    // Stored with the code: bounded like every other stored input.
    let nonce = match params.get("nonce") {
        Some(nonce) if nonce.len() > openid::NONCE_MAX_LEN => {
            return Err(refuse(
                "invalid_request",
                "nonce may be at most 512 bytes long.",
            ))
        }
        nonce => nonce.map(str::to_owned),
    };
    Ok(AuthorizationRequest {
        nonce,
        app,
        redirect_uri,
        redirect_uri_explicit,
        scopes,
        state,
        code_challenge,
    })
}

/// 303 to the client's redirect URI with `params` added to its query, plus `iss` (RFC 9207).
fn redirect_to(
    redirect_uri: &str,
    issuer: &str,
    params: &[(&str, Option<&str>)],
) -> Result<HttpResponse, AppError> {
    let mut url =
        url::Url::parse(redirect_uri).context("a registered redirect URI does not parse")?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair("iss", issuer);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn answer_invalid(invalid: Invalid, issuer: &str) -> Result<HttpResponse, AppError> {
    match invalid {
        Invalid::Page(message) => Err(AppError::BadRequest(message.to_owned())),
        Invalid::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => redirect_to(
            &redirect_uri,
            issuer,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
                ("state", state.as_deref()),
            ],
        ),
    }
}

struct ScopeView {
    name: &'static str,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct Consent {
    page: Page,
    app_name: String,
    email: String,
    scopes: Vec<ScopeView>,
    redirect_origin: String,
    echoed: Vec<(&'static str, String)>,
}

/// `GET /oauth/authorize`: validate, make sure someone is logged in, then ask for consent.
pub async fn authorize(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let params = Params::parse(req.query_string().as_bytes());
    let validated = validate(state.pool(), &params).await;
    let signed_in = session::signed_in(&state, &session).await?;
    let request = match validated {
        Ok(request) => request,
        // Anyone can register an app whose redirect URI is theirs: for a visitor who has not
        // logged in, Keyturn would be a redirector to it (RFC 9700 §4.11.2). Errors go back to
        // the client only for a signed-in user.
        Err(Invalid::Redirect { description, .. }) if signed_in.is_none() => {
            return Err(AppError::BadRequest(description.to_owned()))
        }
        Err(invalid) => return answer_invalid(invalid, state.public_url()),
    };
    let Some(account) = signed_in else {
        let next = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default();
        return Err(AppError::LoginRequired { next });
    };
    let redirect_origin = url::Url::parse(&request.redirect_uri)
        .map(|u| u.origin().unicode_serialization())
        .unwrap_or_else(|_| request.redirect_uri.clone());
    let echoed = ECHOED
        .iter()
        .filter_map(|name| params.get(name).map(|v| (*name, v.to_owned())))
        .collect();
    let consent = Consent {
        page: Page::new(&session)?,
        app_name: request.app.name,
        email: account.email,
        scopes: request
            .scopes
            .iter()
            .map(|s| ScopeView {
                name: s.as_str(),
                description: s.description(),
            })
            .collect(),
        redirect_origin,
        echoed,
    };
    let mut response = html(StatusCode::OK, &consent)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `POST /oauth/authorize`: the user pressed "Allow" or "Deny".
pub async fn decide(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let decision = form.get("decision").cloned();
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().filter(|(k, _)| ECHOED.contains(&k.as_str())))
        .finish();
    let params = Params::parse(encoded.as_bytes());
    let request = match validate(state.pool(), &params).await {
        Ok(request) => request,
        Err(invalid) => return answer_invalid(invalid, state.public_url()),
    };
    match decision.as_deref() {
        Some("allow") => {
            let code = tokens::create_authorization_code(
                state.pool(),
                Approval {
                    app_id: request.app.id,
                    user_id: user.id,
                    scopes: request.scopes,
                    redirect_uri: request.redirect_uri.clone(),
                    redirect_uri_explicit: request.redirect_uri_explicit,
                    code_challenge: request.code_challenge,
                    nonce: request.nonce,
                    auth_time: user.authenticated_at,
                },
                state.clock().now(),
            )
            .await?;
            redirect_to(
                &request.redirect_uri,
                state.public_url(),
                &[
                    ("code", Some(code.expose())),
                    ("state", request.state.as_deref()),
                ],
            )
        }
        Some("deny") => redirect_to(
            &request.redirect_uri,
            state.public_url(),
            &[
                ("error", Some("access_denied")),
                ("error_description", Some("The user denied the request.")),
                ("state", request.state.as_deref()),
            ],
        ),
        _ => Err(AppError::BadRequest("Choose Allow or Deny.".into())),
    }
}
