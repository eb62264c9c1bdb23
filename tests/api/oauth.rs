//! The authorization server driven by a stock client library (the `oauth2` crate), configured
//! from the RFC 8414 metadata document and nothing else.

use crate::helpers::{location, serve_over_https, spawn_app_with, Browser, TestApp, PASSWORD};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    RevocationUrl, Scope, StandardRevocableToken, TokenIntrospectionResponse, TokenResponse,
    TokenUrl,
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

fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
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

#[tokio::test]
async fn the_metadata_document_describes_every_endpoint() {
    let app = spawn_app_with(|s| serve_over_https(s, ISSUER)).await;

    let response = app
        .machine()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            app.address
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let m: serde_json::Value = response.json().await.unwrap();
    assert_eq!(m["issuer"], ISSUER);
    assert_eq!(
        m["authorization_endpoint"],
        format!("{ISSUER}/oauth/authorize")
    );
    assert_eq!(m["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(m["revocation_endpoint"], format!("{ISSUER}/oauth/revoke"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{ISSUER}/oauth/introspect")
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let methods = serde_json::json!(["client_secret_basic", "client_secret_post"]);
    assert_eq!(m["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(m["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(m["introspection_endpoint_auth_methods_supported"], methods);
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            m["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&grant.into()),
            "{grant}"
        );
    }
    assert!(m["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"profile".into()));
}

#[tokio::test]
async fn a_stock_client_runs_the_whole_code_flow() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = s
        .client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    // A logged-out user is sent to log in, then brought back to the request.
    let visitor = s.app.new_browser();
    let to_login = visitor.get(&local_path(url.as_str())).await;
    assert_eq!(to_login.status(), StatusCode::SEE_OTHER);
    let login_page = visitor.get_html(&location(&to_login)).await;
    let next = crate::helpers::input_value(&login_page, "next");
    let token = crate::helpers::csrf_token(&login_page);
    let logged_in = visitor
        .post(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "user@example.com"),
                ("password", PASSWORD),
                ("next", &unescape(&next)),
            ],
        )
        .await;
    assert_eq!(location(&logged_in), local_path(url.as_str()));

    // Consent names the app and the scope.
    let consent = visitor.get_html(&location(&logged_in)).await;
    assert!(consent.contains("Photo Printer"));
    assert!(consent.contains("See your email address"));
    assert!(consent.contains(">Allow</button>"));
    assert!(consent.contains(">Deny</button>"));
    let back = location(&decide(&visitor, &consent, "allow").await);
    let params = query(&back);
    assert_eq!(&params["state"], state.secret());

    // Code exchange.
    let tokens = s
        .client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_some());
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "profile");
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);

    // API call as the user.
    let me = api(&s, "/api/v1/me", tokens.access_token().secret()).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "user@example.com");
    assert_eq!(me["client_id"], s.client_id.as_str());

    // Refresh rotates both tokens.
    let refreshed = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
    assert_eq!(
        api(&s, "/api/v1/me", refreshed.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );

    // Introspection.
    let info = s
        .client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    assert_eq!(info.scopes().unwrap()[0].as_str(), "profile");
    assert_eq!(info.client_id().unwrap().as_str(), s.client_id);
    assert_eq!(info.username(), Some("user@example.com"));
    assert!(info.exp().unwrap() > info.iat().unwrap());
    assert_eq!(info.token_type().unwrap().as_ref(), "bearer");

    // Revocation.
    s.client
        .revoke_token(StandardRevocableToken::AccessToken(
            refreshed.access_token().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let info = s
        .client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
    assert_eq!(
        api(&s, "/api/v1/me", refreshed.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rotating_the_client_secret_mid_session_keeps_the_users_session_alive() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    // Generate a second secret and switch the client to it.
    let new_secret = s.app.browser.generate_secret(&s.app_id).await;
    let rotated = discover(&s.app, &s.client_id, &new_secret).await;
    let refreshed = rotated
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    // Revoke the first secret (routine rotation: tokens stay valid).
    s.app.browser.revoke_secret(&s.app_id, &s.secret).await;

    let old = s
        .client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert!(
        matches!(old, Err(RequestTokenError::ServerResponse(ref e)) if *e.error() == BasicErrorResponseType::InvalidClient)
    );
    let again = rotated
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        api(&s, "/api/v1/me", again.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_tokens_issued_from_it() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let (code, verifier) = authorize(&s, &[]).await;
    let verifier_again = PkceCodeVerifier::new(verifier.secret().clone());
    let tokens = s
        .client
        .exchange_code(AuthorizationCode::new(code.secret().clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();

    let reuse = s
        .client
        .exchange_code(code)
        .set_pkce_verifier(verifier_again)
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(reuse.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refresh.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn a_reused_refresh_token_fails_and_revokes_the_whole_family() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let first = tokens_for(&s, &["profile"]).await;
    let second = s
        .client
        .exchange_refresh_token(first.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();

    let replay = s
        .client
        .exchange_refresh_token(first.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(replay.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    let newest = s
        .client
        .exchange_refresh_token(second.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(newest.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    assert_eq!(
        api(&s, "/api/v1/me", second.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn pkce_is_required_and_checked() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);

    // A challenge without a verifier.
    let (code, _) = authorize(&s, &[]).await;
    let missing = s.client.exchange_code(code).request_async(&http).await;
    assert_eq!(
        server_error(missing.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );

    // A wrong verifier.
    let (code, _) = authorize(&s, &[]).await;
    let (_, other_verifier) = PkceCodeChallenge::new_random_sha256();
    let wrong = s
        .client
        .exchange_code(code)
        .set_pkce_verifier(other_verifier)
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(wrong.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );

    // The right verifier after a wrong one: the code was burnt by the first attempt.
    let (code, verifier) = authorize(&s, &[]).await;
    let (_, other_verifier) = PkceCodeChallenge::new_random_sha256();
    let code_again = AuthorizationCode::new(code.secret().clone());
    let _ = s
        .client
        .exchange_code(code)
        .set_pkce_verifier(other_verifier)
        .request_async(&http)
        .await;
    let late = s
        .client
        .exchange_code(code_again)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(late.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn authorization_requests_without_s256_pkce_are_sent_back_with_invalid_request() {
    let s = setup().await;
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let base = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=xyz",
        s.client_id,
        crate::helpers::form_encode(REDIRECT)
    );

    for query in [
        String::new(), // no challenge (a verifier would have nothing to match)
        format!("&code_challenge={challenge}&code_challenge_method=plain"), // plain
        format!("&code_challenge={challenge}"), // method defaults to plain
        "&code_challenge=short&code_challenge_method=S256".to_owned(), // malformed
    ] {
        let response = s.user.get(&format!("{base}{query}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{query}");
        let params = query_of(&location(&response));
        assert_eq!(params["error"], "invalid_request", "{query}");
        assert_eq!(params["state"], "xyz");
        assert!(params.contains_key("error_description"));
    }
}

fn query_of(location: &str) -> HashMap<String, String> {
    assert!(location.starts_with(REDIRECT), "{location}");
    query(location)
}

#[tokio::test]
async fn a_bad_client_or_redirect_uri_shows_an_error_page_and_never_redirects() {
    let s = setup().await;
    let pkce =
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let evil = crate::helpers::form_encode("https://evil.example/callback");
    let prefix = crate::helpers::form_encode("https://client.example/callback/extra");

    for query in [
        format!("response_type=code&redirect_uri={evil}{pkce}"),
        format!("response_type=code&client_id=ktc_unknown&redirect_uri={evil}{pkce}"),
        format!(
            "response_type=code&client_id={}&redirect_uri={evil}{pkce}",
            s.client_id
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri={prefix}{pkce}",
            s.client_id
        ),
        format!(
            "response_type=token&client_id={}&redirect_uri={evil}",
            s.client_id
        ),
    ] {
        let response = s.user.get(&format!("/oauth/authorize?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("<h1>Bad Request</h1>"), "{page}");
    }
}

#[tokio::test]
async fn other_authorization_errors_go_back_to_the_client_with_state() {
    let s = setup().await;
    let pkce =
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let base = format!(
        "/oauth/authorize?client_id={}&state=st4te{pkce}",
        s.client_id
    );

    let unsupported = s.user.get(&format!("{base}&response_type=token")).await;
    let bad_scope = s
        .user
        .get(&format!("{base}&response_type=code&scope=profile%20admin"))
        .await;

    assert_eq!(
        query_of(&location(&unsupported))["error"],
        "unsupported_response_type"
    );
    assert_eq!(query_of(&location(&unsupported))["state"], "st4te");
    assert_eq!(query_of(&location(&bad_scope))["error"], "invalid_scope");
}

#[tokio::test]
async fn denying_consent_sends_access_denied_to_the_client() {
    let s = setup().await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = s
        .client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let consent = s.user.get_html(&local_path(url.as_str())).await;

    let response = decide(&s.user, &consent, "deny").await;

    let params = query_of(&location(&response));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(&params["state"], state.secret());
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn the_consent_decision_needs_the_csrf_token() {
    let s = setup().await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = s
        .client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let consent = s.user.get_html(&local_path(url.as_str())).await;
    let mut fields = hidden_fields(&consent);
    fields.retain(|(name, _)| name != "csrf_token");
    fields.push(("decision".into(), "allow".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let response = s.user.post("/oauth/authorize", &fields).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_a_scope_the_default_profile_scope_applies_and_other_scopes_are_enforced() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let default = tokens_for(&s, &[]).await;
    let apps_only = tokens_for(&s, &["apps:read"]).await;

    assert_eq!(default.scopes().unwrap()[0].as_str(), "profile");
    assert_eq!(
        api(&s, "/api/v1/me", default.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    let forbidden = api(&s, "/api/v1/me", apps_only.access_token().secret()).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(forbidden.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert_eq!(
        forbidden.json::<serde_json::Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
    let apps = api(&s, "/api/v1/apps", apps_only.access_token().secret()).await;
    assert_eq!(apps.status(), StatusCode::OK);
    assert_eq!(
        apps.json::<serde_json::Value>().await.unwrap()["apps"],
        serde_json::json!([])
    );
    // Narrowing on refresh is allowed; widening is not.
    let wider = s
        .client
        .exchange_refresh_token(apps_only.refresh_token().unwrap())
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(wider.unwrap_err()),
        BasicErrorResponseType::InvalidScope
    );
}

#[tokio::test]
async fn a_client_credentials_token_speaks_for_the_app() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);

    let token = s
        .client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();

    let me: serde_json::Value = api(&s, "/api/v1/me", token.access_token().secret())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["client_id"], s.client_id.as_str());
    assert_eq!(me["app_name"], "Photo Printer");
    assert!(me.get("email").is_none());
    let scoped = s
        .client
        .exchange_client_credentials()
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(scoped.unwrap_err()),
        BasicErrorResponseType::InvalidScope
    );
}

#[tokio::test]
async fn clients_can_neither_introspect_nor_revoke_each_others_tokens() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;
    let other_app = s.app.browser.create_app("Other").await;
    let other_id = s.app.browser.client_id(&other_app).await;
    let other_secret = s.app.browser.generate_secret(&other_app).await;
    let other = discover(&s.app, &other_id, &other_secret).await;

    let peek = s
        .app
        .machine()
        .post(format!("{}/oauth/introspect", s.app.address))
        .basic_auth(&other_id, Some(&other_secret))
        .form(&[("token", tokens.access_token().secret().as_str())])
        .send()
        .await
        .unwrap();
    other
        .revoke_token(StandardRevocableToken::AccessToken(
            tokens.access_token().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    other
        .revoke_token(StandardRevocableToken::RefreshToken(
            tokens.refresh_token().unwrap().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();

    assert_eq!(peek.text().await.unwrap(), r#"{"active":false}"#);
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
    let info = s
        .client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
}

#[tokio::test]
async fn revocation_and_introspection_answer_unknown_tokens_quietly_and_need_client_auth() {
    let s = setup().await;
    let post = |path: &str, auth: Option<(&str, &str)>| {
        let mut request = s.app.machine().post(format!("{}{path}", s.app.address));
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        request.form(&[("token", "kta_unknown")]).send()
    };

    let revoke = post("/oauth/revoke", Some((&s.client_id, &s.secret)))
        .await
        .unwrap();
    let introspect = post("/oauth/introspect", Some((&s.client_id, &s.secret)))
        .await
        .unwrap();
    let anonymous_revoke = post("/oauth/revoke", None).await.unwrap();
    let anonymous_introspect = post("/oauth/introspect", None).await.unwrap();

    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(introspect.text().await.unwrap(), r#"{"active":false}"#);
    assert_eq!(anonymous_revoke.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous_introspect.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_tokens_too() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    s.client
        .revoke_token(StandardRevocableToken::RefreshToken(
            tokens.refresh_token().unwrap().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();

    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoking_a_secret_keeps_its_tokens_unless_asked_to_revoke_them_too() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let user_tokens = tokens_for(&s, &["profile"]).await;
    let app_token = s
        .client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    let second = s.app.browser.generate_secret(&s.app_id).await;
    let second_client = discover(&s.app, &s.client_id, &second).await;
    let (code, verifier) = authorize(&s, &["profile"]).await;
    let kept = second_client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();

    // The leaked-secret case: tick the box.
    let path = s.app.browser.revoke_path(&s.app_id, &s.secret).await;
    let confirm = s.app.browser.get_html(&path).await;
    assert!(confirm.contains("Also revoke tokens issued with this secret"));
    let response = s
        .app
        .browser
        .post(
            &path,
            &[
                ("csrf_token", crate::helpers::csrf_token(&confirm).as_str()),
                ("revoke_tokens", "on"),
                ("confirm_hint", &s.secret[s.secret.len() - 4..]),
            ],
        )
        .await;
    let page = s.app.browser.get_html(&location(&response)).await;

    assert!(
        page.contains("Every token issued with it was revoked too."),
        "{page}"
    );
    assert_eq!(
        api(&s, "/api/v1/me", user_tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api(&s, "/api/v1/me", app_token.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = second_client
        .exchange_refresh_token(user_tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refresh.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    // Tokens issued with the other secret are untouched.
    assert_eq!(
        api(&s, "/api/v1/me", kept.access_token().secret())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn users_see_and_revoke_the_apps_they_authorized() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &["profile"]).await;

    let page = s.user.get_html("/authorized-apps").await;
    assert!(page.contains("Photo Printer"));
    assert!(page.contains("<code>profile</code>"));
    let form = page
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|action| action.starts_with("/authorized-apps/"))
        .expect("a Revoke access form")
        .to_owned();
    let response = s.user.submit("/authorized-apps", &form, &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = s.user.get_html("/authorized-apps").await;
    assert!(after.contains("Access revoked."));
    assert!(!after.contains("Photo Printer"));
    assert_eq!(
        api(&s, "/api/v1/me", tokens.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(refresh.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let (fresh, fresh_verifier) = authorize(&s, &[]).await;
    let (stale, stale_verifier) = authorize(&s, &[]).await;

    s.app.clock.advance(chrono::TimeDelta::seconds(9 * 60 + 30));
    let in_time = s
        .client
        .exchange_code(fresh)
        .set_pkce_verifier(fresh_verifier)
        .request_async(&http)
        .await;
    s.app.clock.advance(chrono::TimeDelta::seconds(31));
    let too_late = s
        .client
        .exchange_code(stale)
        .set_pkce_verifier(stale_verifier)
        .request_async(&http)
        .await;

    assert!(in_time.is_ok());
    assert_eq!(
        server_error(too_late.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn refresh_tokens_expire_after_thirty_days() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &[]).await;

    s.app.clock.advance(chrono::TimeDelta::days(30));
    let expired = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(expired.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let other_app = s.app.browser.create_app("Other").await;
    let other_id = s.app.browser.client_id(&other_app).await;
    let other_secret = s.app.browser.generate_secret(&other_app).await;
    let other = discover(&s.app, &other_id, &other_secret).await;

    let (code, verifier) = authorize(&s, &[]).await;
    let stolen = other
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(stolen.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );

    let (code, verifier) = authorize(&s, &[]).await;
    let elsewhere = s
        .client
        .clone()
        .set_redirect_uri(RedirectUrl::new("https://client.example/other".into()).unwrap())
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(elsewhere.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn stored_user_tokens_and_codes_are_purged_an_hour_after_they_expire() {
    let s = setup().await;
    let tokens = tokens_for(&s, &["profile"]).await;
    let pool = s.app.pool();
    let writer =
        keyturn::db::writer::Writer::start(pool, keyturn::db::Backend::of(&s.app.database_url))
            .unwrap();
    let now = s.app.clock.now();
    let purge = |minutes| {
        keyturn::service::tokens::purge_expired(&writer, now + chrono::TimeDelta::minutes(minutes))
    };

    // The code expired after 10 minutes, the access token after 60; the refresh token lives on.
    let nothing = purge(69).unwrap();
    let code = purge(71).unwrap();
    let access_token = purge(121).unwrap();

    assert_eq!((nothing, code, access_token), (0, 1, 1));
    let refreshed = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&|request| s.proxy.send(request))
        .await;
    assert!(refreshed.is_ok(), "the refresh token was kept");
}

#[tokio::test]
async fn introspection_names_the_user_only_to_a_grant_that_includes_profile() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let without_profile = tokens_for(&s, &["apps:read"]).await;
    let with_profile = tokens_for(&s, &["profile"]).await;

    let (client, http) = (&s.client, &http);
    let about = |tokens: oauth2::basic::BasicTokenResponse| async move {
        client
            .introspect(tokens.access_token())
            .request_async(http)
            .await
            .unwrap()
    };
    let apps_only = about(without_profile).await;
    let profile = about(with_profile).await;

    assert!(apps_only.active());
    assert_eq!(apps_only.username(), None);
    assert_eq!(profile.username(), Some("user@example.com"));
}

#[tokio::test]
async fn refresh_tokens_end_ninety_days_after_the_authorization_however_often_they_rotate() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let mut tokens = tokens_for(&s, &[]).await;

    // Rotated every 20 days: each new refresh token would otherwise live another 30.
    for _ in 0..4 {
        s.app.clock.advance(chrono::TimeDelta::days(20));
        tokens = s
            .client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .request_async(&http)
            .await
            .unwrap();
    }
    s.app
        .clock
        .advance(chrono::TimeDelta::days(10) + chrono::TimeDelta::minutes(1));
    let past_the_end = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(past_the_end.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}
