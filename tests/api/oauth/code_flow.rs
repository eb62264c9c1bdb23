//! The authorization code flow: the authorization endpoint and the errors it sends back or
//! shows, the consent page, PKCE, and the exchange of a code for tokens.

use super::{
    api, authorize, decide, discover, hidden_fields, local_path, query, query_of, server_error,
    setup, unescape, REDIRECT,
};
use crate::helpers::{location, PASSWORD};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, TokenIntrospectionResponse, TokenResponse,
};
use reqwest::StatusCode;

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
