//! `POST /oauth/token`: authorization_code (with PKCE), refresh_token and client_credentials.

use super::client_auth::{self, OAuthParams};
use super::{no_store_json, OAuthError};
use crate::service::openid;
use crate::service::secrets::{AuthenticatedClient, EndNotice};
use crate::service::tokens::{self, CodeExchange, Lifetimes, TokenResponse, UserTokens};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// Counts every request by grant type and outcome (`keyturn_token_requests_total`).
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = OAuthParams::parse(&req, &body);
    let grant: &'static str = match params.as_ref().map(|p| p.get("grant_type")) {
        Ok(Some("client_credentials")) => "client_credentials",
        Ok(Some("authorization_code")) => "authorization_code",
        Ok(Some("refresh_token")) => "refresh_token",
        Ok(Some(_)) => "unsupported",
        Ok(None) | Err(_) => "none",
    };
    let answer = match params {
        Ok(params) => match client_auth::authenticate(&state, &req, &params).await {
            Ok(client) => issue(client, params, &state).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let outcome = answer.as_ref().map_or_else(OAuthError::code, |_| "issued");
    state
        .metrics()
        .token_requests
        .with_label_values(&[grant, outcome])
        .inc();
    answer
}

async fn issue(
    client: AuthenticatedClient,
    params: OAuthParams,
    state: &AppState,
) -> Result<HttpResponse, OAuthError> {
    let ttl = state.access_token_ttl_seconds();
    let lifetimes = Lifetimes {
        access_ttl_seconds: ttl,
        refresh_max_age: state.refresh_token_max_age(),
    };
    let now = state.clock().now();
    let notice = client.end_notice(state.pool(), state.policy(), now).await?;
    let app_id = client.app_id;
    let owned = |name: &str| params.get(name).map(str::to_owned);
    let response = match params.get("grant_type") {
        None => return Err(OAuthError::InvalidRequest("grant_type is required.")),
        Some("client_credentials") => {
            tokens::client_credentials(state.token_key(), &client, params.get("scope"), ttl, now)?
        }
        Some("authorization_code") => {
            let code = owned("code").ok_or(OAuthError::InvalidRequest("code is required."))?;
            let exchange = CodeExchange {
                code,
                redirect_uri: owned("redirect_uri"),
                code_verifier: owned("code_verifier"),
            };
            let issued = tokens::exchange_code(state.pool(), client, exchange, lifetimes, now);
            with_id_token(issued.await?, state, now).await?
        }
        Some("refresh_token") => {
            let refresh_token = owned("refresh_token")
                .ok_or(OAuthError::InvalidRequest("refresh_token is required."))?;
            let scope = owned("scope");
            let issued =
                tokens::refresh(state.pool(), client, refresh_token, scope, lifetimes, now);
            with_id_token(issued.await?, state, now).await?
        }
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    };
    let mut response = no_store_json(&response);
    if let Some(notice) = notice {
        announce_end(&mut response, notice, state, app_id);
    }
    Ok(response)
}

/// The token response, with an ID token when the tokens carry the `openid` scope (on refresh
/// too, as OpenID Connect Core §12.2 allows).
async fn with_id_token(
    issued: UserTokens,
    state: &AppState,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<TokenResponse> {
    let UserTokens {
        mut response,
        identity,
    } = issued;
    if let Some(identity) = identity {
        let issuer = openid::Issuer {
            url: state.public_url(),
            keys: state.signing_keys(),
            pool: state.pool(),
            proves_addresses: state.notifier().mails(),
        };
        response.id_token =
            Some(openid::id_token(issuer, identity, &response.access_token, now).await?);
    }
    Ok(response)
}

/// Tells the client its secret is ending (RFC 8594 `Sunset`), and once the warning period has
/// begun or a revocation is scheduled, that it is deprecated (RFC 9745 `Deprecation`) with a
/// link to the app's page, where the owner generates the next one.
fn announce_end(response: &mut HttpResponse, notice: EndNotice, state: &AppState, app_id: i32) {
    let headers = response.headers_mut();
    let http_date = notice
        .sunset
        .and_utc()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(value) = HeaderValue::from_str(&http_date) {
        headers.insert(HeaderName::from_static("sunset"), value);
    }
    let Some(since) = notice.deprecated_since else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&format!("@{}", since.and_utc().timestamp())) {
        headers.insert(HeaderName::from_static("deprecation"), value);
    }
    let link = format!(
        "<{}/apps/{app_id}>; rel=\"deprecation\"",
        state.public_url()
    );
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert(header::LINK, value);
    }
}
