//! OpenID Connect: the stock `openidconnect` client runs the whole flow from discovery; ID tokens
//! are signed by rotating keys that every verifier can follow; UserInfo refuses what it must;
//! the signing keys are sealed at rest.

use super::{decide, local_path, query_of, setup, Setup, ISSUER, REDIRECT};
use crate::helpers::{location, start_server_with_clock, test_settings, Browser, PASSWORD};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::TimeDelta;
use keyturn::config::Settings;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;

/// The settings the test servers run with, for a server of their own on the same database.
fn settings_for(database_url: &str, session_key: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.public_url = Some(ISSUER.to_owned());
    settings.session_key = Some(session_key.to_owned().into());
    settings
}

/// The session key `serve_over_https` gives the servers of the OAuth tests.
fn test_session_key() -> String {
    format!("test-session-key-{:064}", 0)
}

#[tokio::test]
async fn the_stock_openid_connect_client_signs_a_user_in_from_discovery_alone() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(ISSUER.to_owned()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(s.client_id.clone()),
        Some(ClientSecret::new(s.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let consent = s.user.get_html(&local_path(url.as_str())).await;
    let back = query_of(&location(&decide(&s.user, &consent, "allow").await));
    assert_eq!(&back["state"], csrf.secret());
    let tokens = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();

    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.email().map(|e| e.as_str()), Some("user@example.com"));
    // This server sends no mail, so it has proven no address.
    assert_eq!(claims.email_verified(), Some(false));
    assert!(claims.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().map(|e| e.as_str()), Some("user@example.com"));
    assert_eq!(info.subject(), claims.subject());
}

#[tokio::test]
async fn the_discovery_documents_agree_and_name_openid_connect_s_endpoints() {
    let s = setup().await;

    let openid = get_json(&s, "/.well-known/openid-configuration").await;
    let oauth = get_json(&s, "/.well-known/oauth-authorization-server").await;

    assert_eq!(openid["issuer"], ISSUER);
    assert_eq!(openid["jwks_uri"], format!("{ISSUER}/oauth/jwks"));
    assert_eq!(
        openid["userinfo_endpoint"],
        format!("{ISSUER}/oauth/userinfo")
    );
    assert_eq!(
        openid["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        openid["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    for scope in ["openid", "email"] {
        assert!(openid["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&scope.into()));
    }
    for (name, value) in oauth.as_object().unwrap() {
        assert_eq!(&openid[name], value, "{name}");
    }
    assert_eq!(
        oauth["token_endpoint_auth_signing_alg_values_supported"],
        serde_json::json!(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA"])
    );
}

#[tokio::test]
async fn a_rotated_key_is_published_ahead_signs_after_the_wait_and_the_old_one_leaves_last() {
    let s = setup().await;
    let first = id_token_kid(&issue(&s, "openid", None).await);
    assert_eq!(jwks_kids(&s).await, std::slice::from_ref(&first));

    let rotated = keyturn::startup::rotate_signing_key(
        &settings_for(&s.app.database_url, &test_session_key()),
        &s.app.clock,
    )
    .await
    .unwrap();

    let second = rotated.kid;
    assert_ne!(second, first);
    assert_eq!(
        sorted(jwks_kids(&s).await),
        sorted(vec![first.clone(), second.clone()])
    );
    s.app.clock.advance(TimeDelta::seconds(3600 - 60));
    let before = issue(&s, "openid", None).await;
    assert_eq!(id_token_kid(&before), first);
    verify(&s, &before).await;

    s.app.clock.advance(TimeDelta::seconds(60));
    let after = issue(&s, "openid", None).await;
    assert_eq!(id_token_kid(&after), second);
    verify(&s, &after).await;
    // The tokens the first key signed live an hour (the access token lifetime) from the switch.
    s.app.clock.advance(TimeDelta::seconds(3600 - 60));
    assert_eq!(
        sorted(jwks_kids(&s).await),
        sorted(vec![first.clone(), second.clone()])
    );
    verify(&s, &before).await;
    s.app.clock.advance(TimeDelta::seconds(60));
    assert_eq!(jwks_kids(&s).await, [second]);
}

#[tokio::test]
async fn the_key_set_may_be_cached_for_minutes_only() {
    let s = setup().await;

    let response = s
        .app
        .machine()
        .get(format!("{}/oauth/jwks", s.app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    let max_age: u64 = cache
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age <= 600, "{cache}");
    let keys: Value = response.json().await.unwrap();
    assert_eq!(keys["keys"][0]["alg"], "RS256");
    assert_eq!(keys["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn userinfo_refuses_tokens_without_openid_client_tokens_and_garbage() {
    let s = setup().await;
    let without_openid = issue(&s, "profile", None).await;
    let client_token = s.app.access_token(&s.client_id, &s.secret).await;
    let with_openid = issue(&s, "openid", None).await;

    let insufficient = userinfo(&s, Some(access_token(&without_openid))).await;
    let client = userinfo(&s, Some(&client_token)).await;
    let garbage = userinfo(&s, Some("not-a-token")).await;
    let missing = userinfo(&s, None).await;

    assert_eq!(insufficient.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&insufficient).contains(r#"error="insufficient_scope""#));
    for refused in [&client, &garbage] {
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(refused).contains(r#"error="invalid_token""#));
    }
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&missing).starts_with("Bearer"));
    // The same token works, by POST too; with no email scope, no address.
    let posted = s
        .app
        .machine()
        .post(format!("{}/oauth/userinfo", s.app.address))
        .bearer_auth(access_token(&with_openid))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    let info: Value = posted.json().await.unwrap();
    assert_eq!(info["sub"], id_token_claims(&with_openid)["sub"]);
    assert!(info.get("email").is_none());
    // And stops working when it expires.
    s.app.clock.advance(TimeDelta::seconds(3601));
    let expired = userinfo(&s, Some(access_token(&with_openid))).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_nonce_is_echoed_and_only_openid_gets_an_id_token() {
    let s = setup().await;

    let signed_in = issue(&s, "openid email", Some("n-0S6_WzA2Mj")).await;
    let plain = issue(&s, "profile", None).await;
    let refreshed = refresh(&s, &signed_in).await;

    let claims = id_token_claims(&signed_in);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["aud"], s.client_id);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["email"], "user@example.com");
    assert!(plain.get("id_token").is_none(), "{plain}");
    // A refreshed ID token is about the same user and sign-in, without the nonce.
    let again = id_token_claims(&refreshed);
    assert_eq!(again["sub"], claims["sub"]);
    assert_eq!(again["auth_time"], claims["auth_time"]);
    assert!(again.get("nonce").is_none());
    // The subject is neither the account's row id nor its address.
    let sub = claims["sub"].as_str().unwrap();
    assert!(sub.len() >= 20 && sub.parse::<i64>().is_err(), "{sub}");
}

#[tokio::test]
async fn a_nonce_longer_than_512_characters_is_refused() {
    let s = setup().await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let path = authorize_path(&s.client_id, "openid", Some(&"n".repeat(513)), &challenge);

    let response = s.user.get(&path).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = query_of(&location(&response));
    assert_eq!(back["error"], "invalid_request");
}

#[tokio::test]
async fn the_signing_key_is_not_stored_in_plaintext() {
    let s = setup().await;
    issue(&s, "openid", None).await;
    let keys = get_json(&s, "/oauth/jwks").await;
    let modulus = URL_SAFE_NO_PAD
        .decode(keys["keys"][0]["n"].as_str().unwrap())
        .unwrap();

    let database = s.app.database_bytes();

    // A PKCS#1 private key's DER: a sequence, version 0, then the modulus (257 bytes with its
    // leading zero). As raw bytes, or base64 (PEM or not), it would be found here.
    let mut body = vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00];
    body.extend_from_slice(&modulus);
    assert!(
        !contains(&database, &body),
        "the private key's DER is stored"
    );
    for length in 0x04a0..=0x04b0_u16 {
        let mut der = vec![0x30, 0x82];
        der.extend_from_slice(&length.to_be_bytes());
        der.extend_from_slice(&body);
        let aligned = &der[..der.len() / 3 * 3];
        for encoded in [STANDARD.encode(aligned), URL_SAFE_NO_PAD.encode(aligned)] {
            assert!(
                !contains(&database, encoded.as_bytes()),
                "base64 of the DER is stored"
            );
        }
    }
    assert!(!contains(&database, b"PRIVATE KEY"));
}

#[tokio::test]
async fn a_server_with_another_session_key_signs_with_a_fresh_key_instead_of_failing() {
    let s = setup().await;
    let old = id_token_kid(&issue(&s, "openid", None).await);
    let settings = settings_for(
        &s.app.database_url,
        &format!("another-session-key-{:064}", 1),
    );
    let (address, _) = start_server_with_clock(settings, s.app.clock.clone()).await;
    let user = Browser::new(&address);
    assert_eq!(
        user.log_in("user@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let consent = user
        .get_html(&authorize_path(&s.client_id, "openid", None, &challenge))
        .await;
    let back = query_of(&location(&decide(&user, &consent, "allow").await));
    let response = reqwest::Client::new()
        .post(format!("{address}/oauth/token"))
        .basic_auth(&s.client_id, Some(&s.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", back["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret().as_str()),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let fresh = id_token_kid(&tokens);
    assert_ne!(fresh, old);
    let published: Value = reqwest::get(format!("{address}/oauth/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    // The old key's tokens still verify until they expire.
    assert!(
        kids.contains(&old.as_str()) && kids.contains(&fresh.as_str()),
        "{kids:?}"
    );
}

// ---- helpers ----

/// `/oauth/authorize` for the test client, as a relying party would send a user there.
fn authorize_path(
    client_id: &str,
    scope: &str,
    nonce: Option<&str>,
    challenge: &PkceCodeChallenge,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "xyz")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    if let Some(nonce) = nonce {
        query.append_pair("nonce", nonce);
    }
    format!("/oauth/authorize?{}", query.finish())
}

/// The user approves `scope` and the client exchanges the code: the raw token response.
async fn issue(s: &Setup, scope: &str, nonce: Option<&str>) -> Value {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let consent = s
        .user
        .get_html(&authorize_path(&s.client_id, scope, nonce, &challenge))
        .await;
    let back = query_of(&location(&decide(&s.user, &consent, "allow").await));
    token_request(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", back["code"].as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret().as_str()),
        ],
    )
    .await
}

async fn refresh(s: &Setup, tokens: &Value) -> Value {
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    token_request(
        s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn token_request(s: &Setup, form: &[(&str, &str)]) -> Value {
    let response = s
        .app
        .machine()
        .post(format!("{}/oauth/token", s.app.address))
        .basic_auth(&s.client_id, Some(&s.secret))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn get_json(s: &Setup, path: &str) -> Value {
    let response = s
        .app
        .machine()
        .get(format!("{}{path}", s.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn userinfo(s: &Setup, token: Option<&str>) -> reqwest::Response {
    let mut request = s
        .app
        .machine()
        .get(format!("{}/oauth/userinfo", s.app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn access_token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

fn jwt_part(tokens: &Value, part: usize) -> Value {
    let jwt = tokens["id_token"].as_str().expect("an ID token");
    let segment = jwt.split('.').nth(part).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn id_token_kid(tokens: &Value) -> String {
    jwt_part(tokens, 0)["kid"].as_str().unwrap().to_owned()
}

fn id_token_claims(tokens: &Value) -> Value {
    jwt_part(tokens, 1)
}

async fn jwks_kids(s: &Setup) -> Vec<String> {
    get_json(s, "/oauth/jwks").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks the ID token's signature with the key the JWKS publishes under its `kid`, now.
async fn verify(s: &Setup, tokens: &Value) {
    let kid = id_token_kid(tokens);
    let keys = get_json(s, "/oauth/jwks").await;
    let jwk = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is not published"));
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&s.client_id]);
    validation.set_issuer(&[ISSUER]);
    // The server's clock runs ahead of the system's here: expiry is checked by the server's.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(tokens["id_token"].as_str().unwrap(), &key, &validation).unwrap();
}

fn sorted(mut kids: Vec<String>) -> Vec<String> {
    kids.sort();
    kids
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
