//! Client addresses behind a load balancer (`KEYTURN_TRUSTED_PROXIES` and `X-Forwarded-For`):
//! forwarded addresses and hosts are believed only from a trusted proxy, and Last Used and the
//! Activity show the client's address. Its helpers send requests as if from other addresses,
//! through the trusted proxy on 127.0.0.1, for the other files too.

use crate::helpers::{app_with_owner, csrf_token, form_encode, spawn_app_with, Browser};
use keyturn::config::{Settings, TrustedProxies};
use reqwest::{Client, Response, StatusCode};

/// Throttled at 10 (the default), behind a load balancer on 127.0.0.1.
pub(crate) fn behind_proxy(settings: &mut Settings) {
    settings.throttle_failures = 10;
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
}

/// POSTs a form from `address` (through the trusted proxy) with the browser's cookies.
pub(crate) async fn post_from(
    browser: &Browser,
    address: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    browser
        .client
        .post(format!("{}{path}", browser.address))
        .header("x-forwarded-for", address)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A client credentials request with `secret` to the server at `base`, from `address`.
pub(crate) async fn token_from(
    base: &str,
    address: &str,
    client_id: &str,
    secret: &str,
) -> Response {
    Client::new()
        .post(format!("{base}/oauth/token"))
        .header("x-forwarded-for", address)
        .basic_auth(form_encode(client_id), Some(form_encode(secret)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_a_trusted_proxy() {
    for trusted in [false, true] {
        let app = spawn_app_with(|s| {
            s.throttle_failures = 10;
            if trusted {
                s.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").unwrap();
            }
        })
        .await;
        app.browser.signed_up().await;
        let attacker = app.new_browser();
        let token = csrf_token(&attacker.get_html("/login").await);
        for n in 0..50 {
            let email = format!("guess{n}@example.com");
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", "wrong password"),
            ];
            let answer = post_from(&attacker, "198.51.100.1", "/login", &fields).await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        }
        let fields = [
            ("csrf_token", token.as_str()),
            ("email", "someone@example.com"),
            ("password", "wrong password"),
        ];
        let same = post_from(&attacker, "198.51.100.1", "/login", &fields).await;
        let other = post_from(&attacker, "198.51.100.2", "/login", &fields).await;

        assert_eq!(same.status(), StatusCode::TOO_MANY_REQUESTS);
        // Only a trusted proxy tells one client from another; without one, X-Forwarded-For
        // is anyone's to write, and everyone is the peer.
        let expected = if trusted {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(other.status(), expected, "trusted: {trusted}");
    }
}

#[tokio::test]
async fn the_csrf_origin_check_ignores_forwarded_hosts_from_untrusted_peers() {
    let app = spawn_app_with(|_| {}).await;
    app.browser.signed_up().await;
    let page = app.browser.get_html("/apps/new").await;
    let answer = app
        .browser
        .client
        .post(format!("{}/apps", app.address))
        .header("origin", "https://evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.example;proto=https")
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("name", "Forged"),
            ("redirect_uris", "https://client.example/callback"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(!app.browser.get_html("/apps").await.contains("Forged"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_last_used_and_the_activity_show_the_clients_address() {
    let app = spawn_app_with(behind_proxy).await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let used = token_from(&app.address, "203.0.113.61", &client_id, &secret).await;
    assert_eq!(used.status(), StatusCode::OK);
    let revoke = app.browser.revoke_path(&app_id, &secret).await;
    let confirm = app.browser.get_html(&revoke).await;
    let revoked = post_from(
        &app.browser,
        "203.0.113.62",
        &revoke,
        &[
            ("csrf_token", csrf_token(&confirm).as_str()),
            ("confirm_hint", &secret[secret.len() - 4..]),
        ],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = crate::helpers::secret_row(&page, &secret);
    let start = row.find("href=\"/apps/").unwrap() + "href=\"".len();
    let detail_path = row[start..start + row[start..].find('"').unwrap()].to_owned();
    let detail = app.browser.get_html(&detail_path).await;

    assert_eq!(
        crate::helpers::element_text(&detail, "last-used-ip"),
        "203.0.113.61"
    );
    assert!(
        page.contains("203.0.113.62"),
        "the revoke's address in Activity"
    );
}
