//! Public keys instead of secrets (private_key_jwt): adding a key on the app page, client
//! assertions signed with `jsonwebtoken` as a client would, at the token, revocation and
//! introspection endpoints; a key served from a JWKS URL; rotation; and every way an assertion
//! must fail.

use crate::helpers::{app_with_owner, location, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use reqwest::{Response, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair: what it signs with, and what its owner pastes into Keyturn.
pub(crate) struct ClientKey {
    signing: EncodingKey,
    alg: Algorithm,
    kid: Option<String>,
    /// PEM (SubjectPublicKeyInfo) of the public key.
    public_pem: String,
    /// The public key as a JWK, with `kid` when there is one.
    pub(crate) public_jwk: serde_json::Value,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn ec_key(kid: Option<&str>) -> ClientKey {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let ec = EcKey::generate(&group).unwrap();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().unwrap(),
        openssl::bn::BigNum::new().unwrap(),
    );
    ec.public_key()
        .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
        .unwrap();
    let key = PKey::from_ec_key(ec).unwrap();
    let mut jwk = json!({"kty": "EC", "crv": "P-256",
        "x": b64(&x.to_vec_padded(32).unwrap()), "y": b64(&y.to_vec_padded(32).unwrap())});
    if let Some(kid) = kid {
        jwk["kid"] = kid.into();
    }
    ClientKey {
        signing: EncodingKey::from_ec_pem(&key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        alg: Algorithm::ES256,
        kid: kid.map(str::to_owned),
        public_pem: String::from_utf8(key.public_key_to_pem().unwrap()).unwrap(),
        public_jwk: jwk,
    }
}

pub(crate) fn ed25519_key(kid: &str) -> ClientKey {
    let key = PKey::generate_ed25519().unwrap();
    ClientKey {
        signing: EncodingKey::from_ed_pem(&key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        alg: Algorithm::EdDSA,
        kid: Some(kid.to_owned()),
        public_pem: String::from_utf8(key.public_key_to_pem().unwrap()).unwrap(),
        public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": b64(&key.raw_public_key().unwrap())}),
    }
}

fn rsa_key(bits: u32) -> ClientKey {
    let rsa = Rsa::generate(bits).unwrap();
    let jwk = json!({"kty": "RSA", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())});
    let key = PKey::from_rsa(rsa).unwrap();
    ClientKey {
        signing: EncodingKey::from_rsa_pem(&key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        alg: Algorithm::RS256,
        kid: None,
        public_pem: String::from_utf8(key.public_key_to_pem().unwrap()).unwrap(),
        public_jwk: jwk,
    }
}

/// Now as the test server's clock has it (tests move it forward).
fn now_at(app: &TestApp) -> i64 {
    app.clock.now().and_utc().timestamp()
}

fn unique_jti() -> String {
    format!("jti-{}", crate::helpers::rand_suffix())
}

/// A client assertion as RFC 7523 describes it, with what each test changes.
fn sign(key: &ClientKey, claims: serde_json::Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = key.kid.clone();
    jsonwebtoken::encode(&header, &claims, &key.signing).unwrap()
}

/// A good assertion for `aud`, valid for two minutes by `app`'s clock.
pub(crate) fn assertion(app: &TestApp, key: &ClientKey, client_id: &str, aud: &str) -> String {
    let now = now_at(app);
    sign(
        key,
        json!({"iss": client_id, "sub": client_id, "aud": aud,
            "exp": now + 120, "iat": now, "jti": unique_jti()}),
    )
}

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Response {
    app.machine()
        .post(format!("{}{path}", app.address))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// client_credentials with a client assertion and nothing else.
pub(crate) async fn token_with(app: &TestApp, assertion: &str) -> Response {
    token_at(&app.address, assertion).await
}

/// [`token_with`], to the instance at `address`.
async fn token_at(address: &str, assertion: &str) -> Response {
    reqwest::Client::new()
        .post(format!("{address}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

/// `token` to the revocation or introspection endpoint (`path`), with a client assertion.
async fn about_token(app: &TestApp, path: &str, token: &str, assertion: &str) -> Response {
    post_form(
        app,
        path,
        &[
            ("token", token),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

async fn assert_invalid_client(response: Response, why: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{why}");
}

fn token_endpoint(app: &TestApp) -> String {
    format!("{}/oauth/token", app.address)
}

/// Adds a key through the form on the app page; the response to the form's POST.
async fn add_key(app: &TestApp, app_id: &str, public_key: &str, jwks_url: &str) -> Response {
    app.browser
        .submit(
            &format!("/apps/{app_id}"),
            &format!("/apps/{app_id}/keys"),
            &[("public_key", public_key), ("jwks_url", jwks_url)],
        )
        .await
}

async fn added(app: &TestApp, app_id: &str, public_key: &str, jwks_url: &str) {
    let response = add_key(app, app_id, public_key, jwks_url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/apps/{app_id}#keys"));
}

/// The visible cells of the Public keys row that names `name` (a kid or a URL).
async fn key_row(app: &TestApp, app_id: &str, name: &str) -> String {
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let table = page
        .split("id=\"public-keys\"")
        .nth(1)
        .expect("a Public keys table");
    let at = table
        .find(&format!("<code class=\"selectable\">{name}</code>"))
        .unwrap_or_else(|| panic!("no key row for {name} in {table}"));
    let start = table[..at].rfind("<tr").unwrap();
    let end = table[at..].find("</tr>").unwrap() + at;
    let row = &table[start..end];
    row[..row.find("<dialog").unwrap_or(row.len())].to_owned()
}

/// The kid (or URL) in the first row of the Public keys table: the newest key.
fn first_key_name(page: &str) -> String {
    let table = page.split("id=\"public-keys\"").nth(1).unwrap();
    let cell = table.split("<code class=\"selectable\">").nth(1).unwrap();
    cell[..cell.find('<').unwrap()].to_owned()
}

/// The `datetime` attribute of a cell's `<time>`.
fn datetime(cell: &str) -> String {
    let start = cell.find("datetime=\"").unwrap() + "datetime=\"".len();
    cell[start..start + cell[start..].find('"').unwrap()].to_owned()
}

fn last_used(row: &str) -> String {
    let cell = row.split("class=\"last-used\">").nth(1).unwrap();
    cell[..cell.find("</td>").unwrap()].to_owned()
}

/// Revokes through the confirmation page, as a person without JavaScript would.
async fn revoke_key(app: &TestApp, app_id: &str, name: &str) -> Response {
    let row = key_row(app, app_id, name).await;
    let start = row.find("action=\"/apps/").unwrap() + "action=\"".len();
    let path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let confirm = app.browser.get_html(&path).await;
    assert!(confirm.contains("Revoke"), "{confirm}");
    let mut fields = vec![];
    // A key used in the last day asks for the last four characters of its name.
    let last_four: String = name.chars().skip(name.chars().count() - 4).collect();
    if confirm.contains("name=\"confirm_hint\"") {
        fields.push(("confirm_hint", last_four.as_str()));
    }
    app.browser.submit(&path, &path, &fields).await
}

#[tokio::test]
async fn an_ec_key_authenticates_at_the_token_revocation_and_introspection_endpoints() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let key = ec_key(None);
    added(&app, &app_id, &key.public_pem, "").await;

    // Without a kid, the key is named by its RFC 7638 thumbprint.
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains("Public keys"), "{page}");
    let thumbprint = first_key_name(&page);
    assert_eq!(thumbprint.len(), 43, "{thumbprint}");
    let row = key_row(&app, &app_id, &thumbprint).await;
    assert!(row.contains("ES256") && row.contains("Active"), "{row}");
    assert_eq!(last_used(&row), "Never");

    let response = token_with(
        &app,
        &assertion(&app, &key, &client_id, &token_endpoint(&app)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let token: serde_json::Value = response.json().await.unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let row = key_row(&app, &app_id, &thumbprint).await;
    assert_ne!(last_used(&row), "Never", "{row}");

    // The issuer is an audience every endpoint accepts, and client_id may come along.
    let introspected: serde_json::Value = post_form(
        &app,
        "/oauth/introspect",
        &[
            ("token", &access_token),
            ("client_id", &client_id),
            ("client_assertion_type", JWT_BEARER),
            (
                "client_assertion",
                &assertion(&app, &key, &client_id, &app.address),
            ),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["client_id"], client_id.as_str());

    let revoke_aud = format!("{}/oauth/revoke", app.address);
    let revoked = about_token(
        &app,
        "/oauth/revoke",
        &access_token,
        &assertion(&app, &key, &client_id, &revoke_aud),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let after: serde_json::Value = about_token(
        &app,
        "/oauth/introspect",
        &access_token,
        &assertion(&app, &key, &client_id, &app.address),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(after["active"], false, "{after}");

    // The metadata says so.
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
    let methods = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")), "{metadata}");
    let algs = metadata["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&json!(alg)), "{metadata}");
    }
    assert!(!algs.contains(&json!("HS256")));
}

#[tokio::test]
async fn replayed_expired_misaddressed_forged_and_revoked_assertions_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let key = ec_key(Some("ci-key"));
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    let aud = token_endpoint(&app);
    let now = now_at(&app);
    let claims = |exp: i64, aud: &str, jti: &str| json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": exp, "jti": jti});

    let once = assertion(&app, &key, &client_id, &aud);
    assert_eq!(token_with(&app, &once).await.status(), StatusCode::OK);
    assert_invalid_client(token_with(&app, &once).await, "replayed jti").await;

    let expired = sign(&key, claims(now - 60, &aud, &unique_jti()));
    assert_invalid_client(token_with(&app, &expired).await, "expired").await;
    let too_long = sign(&key, claims(now + 3600, &aud, &unique_jti()));
    assert_invalid_client(token_with(&app, &too_long).await, "exp an hour ahead").await;
    let elsewhere = sign(
        &key,
        claims(now + 60, "https://other.example/oauth/token", &unique_jti()),
    );
    assert_invalid_client(token_with(&app, &elsewhere).await, "wrong aud").await;
    let no_jti = sign(
        &key,
        json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60}),
    );
    assert_invalid_client(token_with(&app, &no_jti).await, "no jti").await;
    let other_sub = sign(
        &key,
        json!({"iss": client_id, "sub": "someone-else", "aud": aud, "exp": now + 60, "jti": unique_jti()}),
    );
    assert_invalid_client(token_with(&app, &other_sub).await, "sub is not the client").await;
    let forged = assertion(&app, &ec_key(Some("ci-key")), &client_id, &aud);
    assert_invalid_client(token_with(&app, &forged).await, "another key, same kid").await;
    let mut unsigned = assertion(&app, &key, &client_id, &aud);
    unsigned.truncate(unsigned.rfind('.').unwrap() + 1);
    assert_invalid_client(token_with(&app, &unsigned).await, "no signature").await;
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(now + 60, &aud, &unique_jti()),
        &EncodingKey::from_secret(key.public_jwk.to_string().as_bytes()),
    )
    .unwrap();
    assert_invalid_client(token_with(&app, &hmac).await, "HMAC with the public key").await;
    for header in [
        json!({"alg": "ES256", "kid": "ci-key", "crit": ["urn:example:must-understand"], "urn:example:must-understand": true}),
        json!({"alg": "ES256", "kid": "ci-key", "b64": false, "crit": ["b64"]}),
    ] {
        use base64::Engine;
        let encode = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let input = format!(
            "{}.{}",
            encode(&header),
            encode(&claims(now + 60, &aud, &unique_jti()))
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key.signing, Algorithm::ES256).unwrap();
        let extended = format!("{input}.{signature}");
        assert_invalid_client(
            token_with(&app, &extended).await,
            "an extension Keyturn does not understand",
        )
        .await;
    }
    let mismatched = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "ktc_someone_else"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion(&app, &key, &client_id, &aud)),
        ],
    )
    .await;
    assert_invalid_client(mismatched, "client_id differs from iss").await;
    let wrong_type = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:other"),
            ("client_assertion", &assertion(&app, &key, &client_id, &aud)),
        ],
    )
    .await;
    assert_invalid_client(wrong_type, "unknown assertion type").await;
    for garbage in ["", "a.b.c", "%00", "eyJhbGciOiJub25lIn0.e30.", "\t"] {
        let response = post_form(
            &app,
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", garbage),
            ],
        )
        .await;
        assert!(
            matches!(
                response.status(),
                StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST
            ),
            "{garbage:?}: {}",
            response.status()
        );
    }
    // Still good after all that, once.
    let fresh = assertion(&app, &key, &client_id, &aud);
    assert_eq!(token_with(&app, &fresh).await.status(), StatusCode::OK);

    let response = revoke_key(&app, &app_id, "ci-key").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = assertion(&app, &key, &client_id, &aud);
    assert_invalid_client(token_with(&app, &after).await, "revoked key").await;
    let row = key_row(&app, &app_id, "ci-key").await;
    assert!(row.contains("Revoked"), "{row}");
}

#[tokio::test]
async fn one_assertion_sent_many_times_at_once_is_accepted_once() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let key = ed25519_key("burst");
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    let copied = assertion(&app, &key, &client_id, &token_endpoint(&app));
    let answers = futures_util::future::join_all((0..16).map(|_| token_with(&app, &copied))).await;
    let accepted = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(accepted, 1);
    assert!(answers
        .iter()
        .all(|r| matches!(r.status(), StatusCode::OK | StatusCode::UNAUTHORIZED)));
}

/// A JWKS served the way an app would serve it, counting how often it is fetched.
struct JwksServer {
    url: String,
    document: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    /// While set, answers wait until `release` is notified (a slow key server).
    held: Arc<std::sync::atomic::AtomicBool>,
    release: Arc<tokio::sync::Notify>,
}

async fn serve_jwks(keys: &[&ClientKey]) -> JwksServer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let document = Arc::new(Mutex::new(String::new()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release = Arc::new(tokio::sync::Notify::new());
    let server = JwksServer {
        url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
        document: document.clone(),
        fetches: fetches.clone(),
        held: held.clone(),
        release: release.clone(),
    };
    server.publish(keys);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (document, fetches) = (document.clone(), fetches.clone());
            let (held, release) = (held.clone(), release.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                fetches.fetch_add(1, Ordering::SeqCst);
                if held.load(Ordering::SeqCst) {
                    release.notified().await;
                }
                let body = document.lock().unwrap().clone();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/jwk-set+json\r\ncache-control: public, max-age=600\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    server
}

impl JwksServer {
    fn publish(&self, keys: &[&ClientKey]) {
        let keys: Vec<&serde_json::Value> = keys.iter().map(|k| &k.public_jwk).collect();
        *self.document.lock().unwrap() = json!({ "keys": keys }).to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_key_from_a_jwks_url_authenticates_and_an_unknown_kid_refetches_at_most_once_a_minute() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let first = ec_key(Some("2026-11"));
    let server = serve_jwks(&[&first]).await;
    added(&app, &app_id, "", &server.url).await;
    assert_eq!(server.fetches(), 1, "fetched once when added");
    let aud = token_endpoint(&app);

    for _ in 0..3 {
        let response = token_with(&app, &assertion(&app, &first, &client_id, &aud)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(server.fetches(), 1, "kept as Cache-Control says");
    let row = key_row(&app, &app_id, &server.url).await;
    assert_ne!(last_used(&row), "Never");

    // The app publishes its next key; the first assertion with it comes within the minute.
    let next = ed25519_key("2026-12");
    server.publish(&[&first, &next]);
    let early = token_with(&app, &assertion(&app, &next, &client_id, &aud)).await;
    assert_invalid_client(early, "unknown kid within the minute of the last fetch").await;
    assert_eq!(server.fetches(), 1);

    app.clock.advance(chrono::TimeDelta::seconds(61));
    let response = token_with(&app, &assertion(&app, &next, &client_id, &aud)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.fetches(), 2, "refetched for the unknown kid");

    // Made-up kids, many at once: at most one fetch a minute.
    app.clock.advance(chrono::TimeDelta::seconds(61));
    let strangers: Vec<ClientKey> = (0..8)
        .map(|i| ec_key(Some(&format!("made-up-{i}"))))
        .collect();
    let made_up: Vec<String> = strangers
        .iter()
        .map(|k| assertion(&app, k, &client_id, &aud))
        .collect();
    let answers = futures_util::future::join_all(made_up.iter().map(|a| token_with(&app, a))).await;
    assert!(answers
        .iter()
        .all(|r| r.status() == StatusCode::UNAUTHORIZED));
    assert_eq!(server.fetches(), 3);
    // Known kids keep working meanwhile.
    let response = token_with(&app, &assertion(&app, &first, &client_id, &aud)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.fetches(), 3);

    // Once the set has expired, what the key server answers decides: it now holds no keys,
    // so the cached ones go at once (an outage would have kept them a while).
    app.clock.advance(chrono::TimeDelta::seconds(601));
    *server.document.lock().unwrap() = json!({"keys": []}).to_string();
    let response = token_with(&app, &assertion(&app, &first, &client_id, &aud)).await;
    assert_invalid_client(response, "a key the set no longer has").await;
    assert_eq!(server.fetches(), 4);
}

#[tokio::test]
async fn rotating_keys_add_the_second_move_to_it_and_revoke_the_first() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let aud = token_endpoint(&app);
    let old = ed25519_key("old-key");
    added(&app, &app_id, &old.public_jwk.to_string(), "").await;
    assert_eq!(
        token_with(&app, &assertion(&app, &old, &client_id, &aud))
            .await
            .status(),
        StatusCode::OK
    );

    let mut new = rsa_key(2048);
    new.kid = None;
    added(&app, &app_id, &new.public_pem, "").await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains("two active keys"), "at the limit: {page}");
    assert!(!page.contains("id=\"add-key-form\""));
    let third = add_key(&app, &app_id, &ec_key(None).public_pem, "").await;
    assert_eq!(third.status(), StatusCode::BAD_REQUEST);
    assert!(third
        .text()
        .await
        .unwrap()
        .contains("maximum of 2 active public keys"));

    // Both work while the app moves over; Last Used shows which one it uses.
    let new_thumbprint = first_key_name(&page);
    assert_eq!(
        last_used(&key_row(&app, &app_id, &new_thumbprint).await),
        "Never"
    );
    let old_used = last_used(&key_row(&app, &app_id, "old-key").await);
    app.clock.advance(chrono::TimeDelta::seconds(90));
    assert_eq!(
        token_with(&app, &assertion(&app, &new, &client_id, &aud))
            .await
            .status(),
        StatusCode::OK
    );
    let new_used = last_used(&key_row(&app, &app_id, &new_thumbprint).await);
    assert_ne!(new_used, "Never");
    // Only the key actually used moved: the old one still shows its last use, 90 s earlier.
    let old_now = last_used(&key_row(&app, &app_id, "old-key").await);
    assert_eq!(datetime(&old_now), datetime(&old_used));
    assert!(
        datetime(&old_used) < datetime(&new_used),
        "{old_used} / {new_used}"
    );

    let response = revoke_key(&app, &app_id, "old-key").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_invalid_client(
        token_with(&app, &assertion(&app, &old, &client_id, &aud)).await,
        "the revoked key, on the very next request",
    )
    .await;
    assert_eq!(
        token_with(&app, &assertion(&app, &new, &client_id, &aud))
            .await
            .status(),
        StatusCode::OK
    );
    let activity = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        activity.contains("Revoked public key old-key"),
        "{activity}"
    );
}

#[tokio::test]
async fn the_form_refuses_what_is_not_a_usable_public_key_with_a_clear_message() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let private_pem = String::from_utf8(
        PKey::generate_ed25519()
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap(),
    )
    .unwrap();
    let weak = rsa_key(1024).public_pem;
    let cases: [(&str, &str, &str); 6] = [
        ("", "", "Paste a public key"),
        (&private_pem, "", "This is a private key"),
        ("not a key", "", "not a key Keyturn can read"),
        (&weak, "", "RSA keys of 2048 to 8192 bits"),
        ("", "http://example.com/jwks.json", "https:// URL"),
        (
            &ec_key(None).public_pem,
            "https://example.com/jwks",
            "not both",
        ),
    ];
    for (public_key, url, message) in cases {
        let response = add_key(&app, &app_id, public_key, url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{message}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(
            !page.contains("PRIVATE KEY"),
            "a private key is never sent back"
        );
    }
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/jwks.json")
    };
    let response = add_key(&app, &app_id, "", &unreachable).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("could not read a key set from this URL"));
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains("No public keys"), "nothing was added");
}

#[tokio::test]
#[ignore = "needs the openssl command (OpenSSL 3) and curl"]
async fn the_readme_example_generates_a_key_with_openssl_and_gets_a_token_with_the_script() {
    let script = include_str!("../../examples/token-with-key.sh");
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(script),
        "README.md shows examples/token-with-key.sh as it is"
    );

    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("client-key.pem");
    let public = dir.path().join("client-key.pub.pem");
    let run = |program: &str, args: &[&std::ffi::OsStr]| {
        let status = std::process::Command::new(program)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "{program} {args:?}");
    };
    run(
        "openssl",
        &[
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "ed25519".as_ref(),
            "-out".as_ref(),
            key.as_os_str(),
        ],
    );
    run(
        "openssl",
        &[
            "pkey".as_ref(),
            "-in".as_ref(),
            key.as_os_str(),
            "-pubout".as_ref(),
            "-out".as_ref(),
            public.as_os_str(),
        ],
    );
    added(
        &app,
        &app_id,
        &std::fs::read_to_string(&public).unwrap(),
        "",
    )
    .await;

    let script_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/token-with-key.sh");
    // On a thread of its own: the server answers on this test's runtime meanwhile.
    let (address, id) = (app.address.clone(), client_id.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg(script_path)
            .env("CLIENT_ID", id)
            .env("KEYTURN", address)
            .env("KEY", key)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        token["access_token"].as_str().unwrap().starts_with("kta_"),
        "{token}"
    );
    assert_eq!(token["token_type"], "Bearer");
}

#[tokio::test]
async fn revoking_a_key_can_revoke_the_tokens_issued_with_it() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let key = ec_key(Some("leaked"));
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    let kept = app.access_token(&client_id, &secret).await;
    let issued: serde_json::Value = token_with(
        &app,
        &assertion(&app, &key, &client_id, &token_endpoint(&app)),
    )
    .await
    .json()
    .await
    .unwrap();
    let issued = issued["access_token"].as_str().unwrap().to_owned();

    let row = key_row(&app, &app_id, "leaked").await;
    let start = row.find("action=\"/apps/").unwrap() + "action=\"".len();
    let path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let response = app
        .browser
        .submit(
            &path,
            &path,
            &[("confirm_hint", "aked"), ("revoke_tokens", "on")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let active = |token: String| {
        let (app, client_id, secret) = (&app, &client_id, &secret);
        async move {
            let body: serde_json::Value = app
                .machine()
                .post(format!("{}/oauth/introspect", app.address))
                .basic_auth(client_id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["active"].as_bool().unwrap()
        }
    };
    assert!(!active(issued).await, "issued with the revoked key");
    assert!(active(kept).await, "issued with the secret");
}

#[tokio::test]
async fn keys_rotate_through_the_api_as_secrets_do() {
    use crate::automation::{api_token, call, developer_with_token};
    use reqwest::Method;
    let app = crate::helpers::spawn_app().await;
    let (_, client_id, token) = developer_with_token(&app).await;
    let keys_path = format!("/api/v1/apps/{client_id}/keys");
    let aud = token_endpoint(&app);

    let old = ec_key(Some("api-old"));
    let response = call(
        &app,
        Method::POST,
        &keys_path,
        &token,
        Some(json!({"public_key": old.public_jwk})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let old_item: serde_json::Value = response.json().await.unwrap();
    assert_eq!(old_item["kid"], "api-old");
    assert_eq!(old_item["algorithm"], "ES256");
    assert_eq!(old_item["status"], "active");
    assert_eq!(old_item["last_used_at"], serde_json::Value::Null);
    assert_eq!(
        token_with(&app, &assertion(&app, &old, &client_id, &aud))
            .await
            .status(),
        StatusCode::OK
    );

    let new = ed25519_key("api-new");
    let response = call(
        &app,
        Method::POST,
        &keys_path,
        &token,
        Some(json!({"public_key": new.public_pem})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let third = call(
        &app,
        Method::POST,
        &keys_path,
        &token,
        Some(json!({"public_key": rsa_key(2048).public_pem})),
    )
    .await;
    assert_eq!(third.status(), StatusCode::CONFLICT);
    let private = call(
        &app,
        Method::POST,
        &keys_path,
        &token,
        Some(json!({"public_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"})),
    )
    .await;
    assert_eq!(private.status(), StatusCode::BAD_REQUEST);
    let both = call(
        &app,
        Method::POST,
        &keys_path,
        &token,
        Some(json!({"public_key": new.public_pem, "jwks_url": "https://example.com/jwks"})),
    )
    .await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);

    let listed: serde_json::Value = call(&app, Method::GET, &keys_path, &token, None)
        .await
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0].len(), 43, "a PEM key is named by its thumbprint");
    assert_eq!(kids[1], "api-old");
    assert!(listed["keys"][1]["last_used_at"].is_string(), "{listed}");

    let reader = api_token(&app.browser, "reader", &["apps:read"]).await;
    let refused = call(
        &app,
        Method::POST,
        &keys_path,
        &reader,
        Some(json!({"public_key": rsa_key(2048).public_pem})),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let old_id = old_item["id"].as_i64().unwrap();
    let revoked = call(
        &app,
        Method::DELETE,
        &format!("{keys_path}/{old_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_invalid_client(
        token_with(&app, &assertion(&app, &old, &client_id, &aud)).await,
        "revoked by the API",
    )
    .await;
    assert_eq!(
        token_with(&app, &assertion(&app, &new, &client_id, &aud))
            .await
            .status(),
        StatusCode::OK
    );
    let missing = call(
        &app,
        Method::DELETE,
        &format!("{keys_path}/999999"),
        &token,
        None,
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let odd = call(&app, Method::GET, "/api/v1/apps/ktc_%00/keys", &token, None).await;
    assert_eq!(odd.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_exp_at_the_end_of_time_or_a_jti_too_long_is_refused_and_the_server_carries_on() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let key = ec_key(Some("edge"));
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    let aud = token_endpoint(&app);
    let now = now_at(&app);
    for (exp, nbf, jti) in [
        (8_210_266_876_799, None, unique_jti()),
        (i64::MAX, None, unique_jti()),
        (i64::MIN, None, unique_jti()),
        (now + 60, Some(i64::MAX), unique_jti()),
        (now + 60, None, "j".repeat(257)),
        (now + 60, None, String::new()),
    ] {
        let mut claims =
            json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": exp, "jti": jti});
        if let Some(nbf) = nbf {
            claims["nbf"] = nbf.into();
        }
        let response = token_with(&app, &sign(&key, claims)).await;
        assert_invalid_client(response, &format!("exp {exp}, nbf {nbf:?}")).await;
    }
    for iss in ["\u{0}", "ktc_\u{0}", "\t", &"k".repeat(5000)] {
        let claims =
            json!({"iss": iss, "sub": iss, "aud": aud, "exp": now + 60, "jti": unique_jti()});
        let response = token_with(&app, &sign(&key, claims)).await;
        assert_invalid_client(response, "an iss that is no client id").await;
    }
    let response = token_with(&app, &assertion(&app, &key, &client_id, &aud)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_assertion_sent_to_two_instances_at_once_is_accepted_by_one() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let key = ec_key(Some("shared"));
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    // A second instance on the same database, at the same public URL (behind one load balancer).
    let mut settings = crate::helpers::test_settings(&app.database_url);
    settings.public_url = Some(app.address.clone());
    let (second, _) = crate::helpers::launch(settings, app.clock.clone()).await;
    let copied = assertion(&app, &key, &client_id, &token_endpoint(&app));
    let statuses = futures_util::future::join_all((0..12).map(|i| {
        let address = if i % 2 == 0 { &app.address } else { &second };
        async { token_at(address, &copied).await.status() }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| matches!(*s, StatusCode::OK | StatusCode::UNAUTHORIZED)));
    // The second instance takes a fresh one, and sees a revocation made on the first at once.
    let fresh = assertion(&app, &key, &client_id, &token_endpoint(&app));
    assert_eq!(
        token_at(&second, &copied).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_at(&second, &fresh).await.status(), StatusCode::OK);
    assert_eq!(
        revoke_key(&app, &app_id, "shared").await.status(),
        StatusCode::SEE_OTHER
    );
    let after = assertion(&app, &key, &client_id, &token_endpoint(&app));
    assert_invalid_client(
        token_at(&second, &after).await,
        "revoked on the other instance",
    )
    .await;
}

#[tokio::test]
async fn team_roles_decide_who_may_add_and_revoke_keys() {
    let app = crate::helpers::spawn_app().await;
    let c = crate::teams::crew(&app).await;
    let app_id = crate::teams::create_team_app(&c.owner, &c.team, "Team Export").await;
    let page = format!("/apps/{app_id}");
    let action = format!("/apps/{app_id}/keys");
    let developer_key = ec_key(Some("dev-key"));
    let response = c
        .developer
        .submit(
            &page,
            &action,
            &[
                ("public_key", &developer_key.public_jwk.to_string()),
                ("jwks_url", ""),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a Developer adds keys"
    );

    let seen = c.viewer.get_html(&page).await;
    assert!(seen.contains("dev-key"), "a Viewer sees the keys");
    assert!(!seen.contains("Add public key"), "but not the form");
    assert!(
        !seen.contains(&format!("action=\"/apps/{app_id}/keys/")),
        "nor Revoke"
    );
    let token = crate::helpers::csrf_token(&seen);
    let forged = c
        .viewer
        .post(
            &action,
            &[
                ("csrf_token", &token),
                ("public_key", &ec_key(None).public_pem),
                ("jwks_url", ""),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let outsider = c.outsider.get(&format!("/apps/{app_id}/keys/new")).await;
    assert_eq!(outsider.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_owner_is_mailed_and_the_webhooks_told_when_a_key_is_added_or_revoked() {
    use crate::notifications::{add_webhook, eventually, MailServer, Receiver};
    let mail = MailServer::start().await;
    let receiver = Receiver::start().await;
    let app = crate::helpers::spawn_mailing_app(&mail, |s| s.webhook_allow_private = true).await;
    let to = app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    add_webhook(&app.browser, &app_id, &receiver.url()).await;
    let key = ed25519_key("mailed");
    added(&app, &app_id, &key.public_jwk.to_string(), "").await;
    eventually("key.added", || receiver.of_type("key.added").len() == 1).await;
    let data = &receiver.of_type("key.added")[0].json()["data"];
    assert_eq!(data["client_id"], client_id.as_str());
    assert_eq!(data["kid"], "mailed");
    assert_eq!(data["algorithm"], "EdDSA");
    eventually("the mail", || {
        mail.mails_to(&to)
            .iter()
            .any(|m| m.contains("New public key for Shop"))
    })
    .await;

    assert_eq!(
        revoke_key(&app, &app_id, "mailed").await.status(),
        StatusCode::SEE_OTHER
    );
    eventually("key.revoked", || receiver.of_type("key.revoked").len() == 1).await;
    eventually("the mail", || {
        mail.mails_to(&to)
            .iter()
            .any(|m| m.contains("The public key mailed of Shop was revoked"))
    })
    .await;
}

#[tokio::test]
async fn a_known_kid_does_not_wait_while_an_unknown_one_refetches_a_slow_jwks() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let known = ec_key(Some("known"));
    let server = serve_jwks(&[&known]).await;
    added(&app, &app_id, "", &server.url).await;
    let aud = token_endpoint(&app);
    app.clock.advance(chrono::TimeDelta::seconds(61));

    // Anyone may send an unknown kid for a public client id: it makes Keyturn fetch the set,
    // and the key server is slow now.
    server.held.store(true, Ordering::SeqCst);
    let stranger = assertion(&app, &ec_key(Some("unknown")), &client_id, &aud);
    let address = app.address.clone();
    let refetching = tokio::spawn(async move { token_at(&address, &stranger).await.status() });
    crate::notifications::eventually("the refetch to start", || server.fetches() == 2).await;

    // The app's own requests, with the kid already known, are answered meanwhile.
    let mine = assertion(&app, &known, &client_id, &aud);
    let answered = tokio::time::timeout(std::time::Duration::from_secs(4), token_with(&app, &mine))
        .await
        .expect("answered while the refetch waits on the key server");
    assert_eq!(answered.status(), StatusCode::OK);
    server.release.notify_waiters();
    server.held.store(false, Ordering::SeqCst);
    assert_eq!(refetching.await.unwrap(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_jwks_with_private_keys_or_a_small_order_ed25519_key_is_refused() {
    let app = crate::helpers::spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    // The identity point: a "public key" for which anyone can forge a signature.
    let identity = json!({"kty": "OKP", "crv": "Ed25519", "kid": "nobody",
        "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    let response = add_key(&app, &app_id, &identity.to_string(), "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let key = ed25519_key("leaky");
    let server = serve_jwks(&[&key]).await;
    let mut leaky = key.public_jwk.clone();
    leaky["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into();
    *server.document.lock().unwrap() = json!({"keys": [leaky]}).to_string();
    let response = add_key(&app, &app_id, "", &server.url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    *server.document.lock().unwrap() = json!({"keys": [identity]}).to_string();
    let response = add_key(&app, &app_id, "", &server.url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A good key in a set past the 64 KB limit.
    let padding = "x".repeat(70_000);
    *server.document.lock().unwrap() =
        json!({"keys": [key.public_jwk], "padding": padding}).to_string();
    let response = add_key(&app, &app_id, "", &server.url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    server.publish(&[&key]);
    added(&app, &app_id, "", &server.url).await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let table = page.split("id=\"public-keys\"").nth(1).unwrap();
    assert_eq!(
        table.matches("<code class=\"selectable\">").count(),
        1,
        "only the good set"
    );
}
