//! The authorization server driven by a stock client library (the `oauth2` crate), configured
//! from the RFC 8414 metadata document and nothing else. This module is the shared harness;
//! the tests are in its submodules, one per endpoint or topic.

mod authorized_apps;
mod client_credentials;
mod client_secrets;
mod code_flow;
mod expiry;
mod metadata;
mod openid;
mod refresh;
mod revoke_introspect;
mod scopes;

use crate::helpers::{location, serve_over_https, spawn_app_with, Browser, TestApp, PASSWORD};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    RevocationUrl, Scope, TokenUrl,
};
use reqwest::StatusCode;
use std::collections::HashMap;

/// Keyturn's public URL in these tests, as if it were deployed behind a TLS-terminating proxy.
/// (The oauth2 crate refuses a revocation endpoint that is not https, as RFC 7009 says it must.)
const ISSUER: &str = "https://keyturn.test";
const REDIRECT: &str = "https://client.example/callback";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// Plays the TLS-terminating proxy: what the client sends to the public https URL reaches the
/// test server over plain http, unchanged otherwise.
struct Proxy {
    upstream: String,
    http: reqwest::Client,
}

impl Proxy {
    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string().replacen(ISSUER, &self.upstream, 1);
        let response = self
            .http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut builder = oauth2::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response.bytes().await?.to_vec();
        Ok(builder.body(body).expect("a valid response"))
    }
}

/// A developer's app with a secret, a stock client configured from the metadata, and a user.
struct Setup {
    app: TestApp,
    proxy: Proxy,
    client: Client,
    client_id: String,
    secret: String,
    app_id: String,
    user: Browser,
}

async fn setup() -> Setup {
    let app = spawn_app_with(|s| serve_over_https(s, ISSUER)).await;
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Photo Printer").await;
    let client_id = app.browser.client_id(&app_id).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let client = discover(&app, &client_id, &secret).await;
    let user = app.new_browser();
    assert_eq!(
        user.sign_up("user@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    Setup {
        proxy: Proxy {
            upstream: app.address.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        },
        app,
        client,
        client_id,
        secret,
        app_id,
        user,
    }
}

/// Configures the stock client from `/.well-known/oauth-authorization-server` alone.
async fn discover(app: &TestApp, client_id: &str, secret: &str) -> Client {
    let metadata: serde_json::Value = app
        .machine()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = |name: &str| metadata[name].as_str().unwrap().to_owned();
    BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_uri(AuthUrl::new(endpoint("authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint")).unwrap())
        .set_revocation_url(RevocationUrl::new(endpoint("revocation_endpoint")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
}

fn local_path(url: &str) -> String {
    url.strip_prefix(ISSUER).expect("a Keyturn URL").to_owned()
}

/// The query parameters of a URL.
fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The query parameters of a redirect, which must go back to the client's redirect URI.
fn query_of(location: &str) -> HashMap<String, String> {
    assert!(location.starts_with(REDIRECT), "{location}");
    query(location)
}

fn unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The hidden fields of the consent form, as a browser would submit them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let form = html
        .split("action=\"/oauth/authorize\"")
        .nth(1)
        .expect("a consent form");
    let form = form.split("</form>").next().unwrap();
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let value = rest.split_once('"').unwrap().0;
            (name.to_owned(), unescape(value))
        })
        .collect()
}

/// Presses "Allow" or "Deny" on a consent page and returns the response.
async fn decide(user: &Browser, consent: &str, decision: &str) -> reqwest::Response {
    let mut fields = hidden_fields(consent);
    fields.push(("decision".into(), decision.into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    user.post("/oauth/authorize", &fields).await
}

/// Runs the front channel for `scopes`: authorize, consent "Allow", and returns the code with
/// its PKCE verifier.
async fn authorize(s: &Setup, scopes: &[&str]) -> (AuthorizationCode, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = s.client.authorize_url(CsrfToken::new_random);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state) = request.set_pkce_challenge(challenge).url();
    let consent = s.user.get_html(&local_path(url.as_str())).await;
    let response = decide(&s.user, &consent, "allow").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    let params = query(&back);
    assert_eq!(&params["state"], state.secret());
    assert_eq!(params["iss"], ISSUER);
    (AuthorizationCode::new(params["code"].clone()), verifier)
}

/// The whole front channel and the code exchange: the tokens a stock client ends up with.
async fn tokens_for(s: &Setup, scopes: &[&str]) -> oauth2::basic::BasicTokenResponse {
    let (code, verifier) = authorize(s, scopes).await;
    s.client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&|request| s.proxy.send(request))
        .await
        .unwrap()
}

async fn api(s: &Setup, path: &str, token: &str) -> reqwest::Response {
    s.app
        .machine()
        .get(format!("{}{path}", s.app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn server_error<RE: std::error::Error + 'static>(
    error: RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> BasicErrorResponseType {
    match error {
        RequestTokenError::ServerResponse(response) => response.error().clone(),
        other => panic!("expected an OAuth error response, got {other:?}"),
    }
}
