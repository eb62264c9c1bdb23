//! What the server records: the owner's Activity, the method and client address in the request
//! log, and never a plaintext secret, token or password in the logs or the database.

use crate::forwarded::{behind_proxy, token_from};
use crate::helpers::{
    app_with_owner, captured_logs, csrf_token, location, spawn_app, spawn_app_with,
};
use reqwest::StatusCode;

#[tokio::test]
async fn token_revocation_and_app_creation_are_in_the_owners_activity() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let token: serde_json::Value = app
        .token_basic(&client_id, &secret)
        .await
        .json()
        .await
        .unwrap();

    app.machine()
        .post(format!("{}/oauth/revoke", app.address))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", token["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        page.contains(&format!(
            "Revoked an access token, by client {client_id} from 127.0.0.1"
        )),
        "{page}"
    );
    assert!(
        page.contains("Created the app &#34;Shop&#34;")
            || page.contains("Created the app &quot;Shop&quot;")
    );
}

#[tokio::test]
async fn the_request_log_names_the_method_and_the_client_address() {
    let app = spawn_app_with(behind_proxy).await;
    let answer = token_from(&app.address, "203.0.113.99", "nobody", "nothing").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);

    let logs = crate::helpers::captured_logs();
    assert!(
        logs.contains("client=\"203.0.113.99\" method=POST path=\"/oauth/token\" status=401"),
        "{}",
        logs.lines()
            .filter(|l| l.contains("/oauth/token"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every kind of traffic the product has, then a search for every plaintext it saw.
#[tokio::test]
async fn no_plaintext_secret_token_or_password_reaches_the_logs_or_the_database() {
    let mail = crate::notifications::MailServer::start().await;
    let app = crate::helpers::spawn_mailing_app(&mail, |s| s.public_url = None).await;
    let password = "a password only this test uses";
    let dev = app.new_browser();
    dev.sign_up("scan@example.com", password).await;
    // The mailed links, the authenticator's key and the recovery codes are secrets too.
    let verification = dev
        .take_mail("scan@example.com", "/verify-email?token=")
        .await;
    let verification = crate::helpers::link_in(&verification, "/verify-email?token=");
    let page = dev.get_html(&verification).await;
    let link_token = crate::helpers::input_value(&page, "token");
    dev.post(
        "/verify-email",
        &[("csrf_token", &csrf_token(&page)), ("token", &link_token)],
    )
    .await;
    let (setup_key, recovery_codes) = crate::security::turn_on_authenticator(&app, &dev).await;
    let app_id = dev.create_app("Scanned").await;
    let client_id = dev.client_id(&app_id).await;
    let first = dev
        .generate_secret_with(&app_id, &[("label", "production")])
        .await;
    let second = dev
        .generate_secret_with(&app_id, &[("old_secret", "1h")])
        .await;
    let mut plaintexts = vec![
        password.to_owned(),
        first.clone(),
        second.clone(),
        link_token,
        setup_key.replace(' ', ""),
    ];
    for code in recovery_codes {
        plaintexts.push(code.replace('-', ""));
        plaintexts.push(code);
    }
    for (id, secret) in [(&client_id, &first), (&client_id, &second)] {
        let token: serde_json::Value = app.token_basic(id, secret).await.json().await.unwrap();
        plaintexts.push(token["access_token"].as_str().unwrap().to_owned());
    }
    app.token_post(&client_id, &format!("{}0", &first[..first.len() - 1]))
        .await;
    // The code flow.
    let user = app.new_browser();
    user.sign_up("owner@example.com", password).await;
    let verifier = "v".repeat(43) + "erifier-for-the-scan-test";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let consent = user
        .get_html(&format!(
            "/oauth/authorize?response_type=code&client_id={client_id}&state=s&code_challenge={challenge}&code_challenge_method=S256"
        ))
        .await;
    let token = csrf_token(&consent);
    let decision = user
        .post(
            "/oauth/authorize",
            &[
                ("csrf_token", token.as_str()),
                ("response_type", "code"),
                ("client_id", &client_id),
                ("state", "s"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("decision", "allow"),
            ],
        )
        .await;
    let code = url::Url::parse(&location(&decision))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refreshed: serde_json::Value = app
        .machine()
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for t in [&tokens, &refreshed] {
        plaintexts.push(t["access_token"].as_str().unwrap().to_owned());
        plaintexts.push(t["refresh_token"].as_str().unwrap().to_owned());
    }
    plaintexts.push(code);
    app.machine()
        .post(format!("{}/oauth/introspect", app.address))
        .basic_auth(&client_id, Some(&second))
        .form(&[("token", refreshed["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    dev.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", password),
            ("new_password", "another password for the scan"),
        ],
    )
    .await;
    plaintexts.push("another password for the scan".into());
    user.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email", "owner@example.com")],
    )
    .await;
    let reset = user
        .take_mail("owner@example.com", "/reset-password?token=")
        .await;
    let reset = crate::helpers::link_in(&reset, "/reset-password?token=");
    let reset_token = url::Url::parse(&format!("http://x{reset}"))
        .unwrap()
        .query_pairs()
        .next()
        .unwrap()
        .1
        .into_owned();
    user.submit(
        &reset,
        "/reset-password",
        &[
            ("token", &reset_token),
            ("new_password", "a reset password for the scan"),
        ],
    )
    .await;
    plaintexts.push(reset_token);
    plaintexts.push("a reset password for the scan".into());
    // Through the API: a token, a revoke, and a secret created (and replayed) with a key.
    let api_token =
        crate::automation::api_token(&dev, "scanned", &["apps:read", "secrets:write"]).await;
    let listed: serde_json::Value = crate::automation::call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/apps/{client_id}/secrets"),
        &api_token,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let second_id = listed["secrets"][0]["id"].as_i64().unwrap();
    crate::automation::call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/apps/{client_id}/secrets/{second_id}"),
        &api_token,
        None,
    )
    .await;
    let mut third = String::new();
    for _ in 0..2 {
        let created: serde_json::Value = app
            .machine()
            .post(format!("{}/api/v1/apps/{client_id}/secrets", app.address))
            .bearer_auth(&api_token)
            .header("Idempotency-Key", "scan-key-1")
            .json(&serde_json::json!({"label": "via api", "revoke_old_in": "when_quiet"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(secret) = created["secret"].as_str() {
            third = secret.to_owned();
        }
    }
    assert!(third.starts_with("kts_"));
    app.token_basic(&client_id, &third).await;
    plaintexts.push(api_token);
    plaintexts.push(third);
    plaintexts.push("scan-key-1".to_owned());
    dev.revoke_secret(&app_id, &first).await;

    let logs = captured_logs();
    let database = app.database_bytes();
    assert!(
        logs.contains("/oauth/token") && logs.contains("/oauth/authorize"),
        "the log capture works"
    );
    for plaintext in &plaintexts {
        // The last four characters of a secret are its displayed hint; everything before them is secret.
        let secret_part = &plaintext[..plaintext.len() - 4];
        assert!(!logs.contains(secret_part), "a plaintext reached the logs");
        assert!(
            !database
                .windows(secret_part.len())
                .any(|w| w == secret_part.as_bytes()),
            "a plaintext reached the database"
        );
    }
}
