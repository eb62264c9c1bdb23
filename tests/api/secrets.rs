//! Client secrets: generating (shown once, at most two active, also under concurrency and in the
//! database itself), revoking, Last Used, and no plaintext kept or logged.

use crate::helpers::{
    app_with_owner, captured_logs, element_text, location, secret_row, spawn_app, spawn_app_with,
};
use reqwest::StatusCode;

const MAX_MESSAGE: &str =
    "You can only have a maximum of 2 active secrets. Revoke one before generating another.";

#[tokio::test]
async fn the_app_page_has_an_oauth_secrets_table_and_a_generate_button() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;

    assert!(page.contains("<caption>OAuth secrets</caption>"));
    for column in ["Secret", "Created", "Last Used", "Status"] {
        assert!(
            page.contains(&format!(r#"<th scope="col">{column}</th>"#)),
            "{column}"
        );
    }
    assert!(page.contains(">Generate new secret</button>"));
}

#[tokio::test]
async fn generating_goes_through_a_confirmation_and_shows_the_secret_exactly_once() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;

    let confirm = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    assert!(confirm.contains(">Confirm</button>"));
    let response = app.browser.confirm_generate(&app_id).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let secret = element_text(&page, "new-secret");
    assert!(secret.starts_with("kts_"), "{secret}");
    assert!(page.contains("will not be shown again"));
    assert!(page.contains(">Copy</button>"));
    // Revisiting shows only the hint.
    let app_page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(!app_page.contains(&secret));
    assert!(app_page.contains(&format!("••••{}", &secret[secret.len() - 4..])));
    assert!(secret_row(&app_page, &secret).contains("Active"));
    assert!(secret_row(&app_page, &secret).contains("Never"));
}

#[tokio::test]
async fn resubmitting_the_same_confirmation_does_not_mint_a_second_secret() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let confirm = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let fields = [
        ("csrf_token", crate::helpers::csrf_token(&confirm)),
        (
            "request_nonce",
            crate::helpers::input_value(&confirm, "request_nonce"),
        ),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let action = format!("/apps/{app_id}/secrets");

    let first = app.browser.post(&action, &fields).await;
    let reload = app.browser.post(&action, &fields).await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(reload.status(), StatusCode::SEE_OTHER);
    let page = app.browser.get_html(&location(&reload)).await;
    assert!(page.contains("This confirmation was already used"));
    assert_eq!(page.matches(">Active</span>").count(), 1);
}

#[tokio::test]
async fn a_second_secret_does_not_revoke_the_first_and_both_authenticate() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;

    let first = app.browser.generate_secret(&app_id).await;
    let second = app.browser.generate_secret(&app_id).await;

    assert_ne!(first, second);
    assert_eq!(
        app.token_basic(&client_id, &first).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.token_basic(&client_id, &second).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_two_active_secrets_generating_is_disabled_and_a_post_anyway_gets_409() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    app.browser.generate_secret(&app_id).await;
    // Keep a confirmation form from before the limit was reached, as a second tab would.
    let stale_confirm = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    app.browser.generate_secret(&app_id).await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(page.contains(MAX_MESSAGE));
    assert!(page.contains(r#"data-dialog="generate-dialog" disabled"#));
    let confirm_page = app
        .browser
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    assert!(confirm_page.contains(MAX_MESSAGE));
    assert!(!confirm_page.contains(">Confirm</button>"));

    let response = app
        .browser
        .post(
            &format!("/apps/{app_id}/secrets"),
            &[
                ("csrf_token", &crate::helpers::csrf_token(&stale_confirm)),
                (
                    "request_nonce",
                    &crate::helpers::input_value(&stale_confirm, "request_nonce"),
                ),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains(MAX_MESSAGE));
    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert_eq!(after.matches(">Active</span>").count(), 2);
}

#[tokio::test]
async fn twenty_concurrent_generates_leave_exactly_two_active_secrets() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let token = crate::helpers::csrf_token(&page);
    let action = format!("/apps/{app_id}/secrets");

    let fields = [("csrf_token", token.as_str())];
    let requests = (0..20).map(|_| app.browser.post(&action, &fields));
    let responses = futures_util::future::join_all(requests).await;

    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        18,
        "{statuses:?}"
    );
    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert_eq!(after.matches(">Active</span>").count(), 2);
}

#[tokio::test]
async fn a_revoked_secret_is_rejected_on_the_next_request_and_the_other_keeps_working() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    let new = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::OK
    );

    let response = app.browser.revoke_secret(&app_id, &old).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.token_basic(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.token_post(&client_id, &old).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.token_basic(&client_id, &new).await.status(),
        StatusCode::OK
    );
    let page = app.browser.get_html(&location(&response)).await;
    let hint = format!("••••{}", &old[old.len() - 4..]);
    assert!(page.contains(&format!("Secret {hint} revoked.")));
    let row = secret_row(&page, &old);
    assert!(
        row.contains(">Revoked</span> <time datetime=\""),
        "revoked rows stay, with when: {row}"
    );
    assert!(!row.contains(">Revoke</button>"));
}

#[tokio::test]
async fn the_revoke_confirmation_shows_the_secrets_hint_and_last_used() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    app.token_basic(&client_id, &secret).await;

    let path = app.browser.revoke_path(&app_id, &secret).await;
    let page = app.browser.get_html(&path).await;

    assert!(page.contains(&format!("••••{}", &secret[secret.len() - 4..])));
    assert!(page.contains("<dt>Last Used</dt><dd><time datetime=\""));
    assert!(page.contains("just now"));
    assert!(page.contains(">Confirm</button>"));
}

#[tokio::test]
async fn revoking_an_already_revoked_secret_changes_nothing_and_says_so() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let path = app.browser.revoke_path(&app_id, &secret).await;
    let confirm = app.browser.get_html(&path).await;
    let token = crate::helpers::csrf_token(&confirm);
    app.browser.post(&path, &[("csrf_token", &token)]).await;
    let before = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let revoked_at = secret_row(&before, &secret);

    let again = app.browser.post(&path, &[("csrf_token", &token)]).await;

    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let page = app.browser.get_html(&location(&again)).await;
    assert!(page.contains("was already revoked. Nothing changed."));
    assert_eq!(
        secret_row(&page, &secret),
        revoked_at,
        "the revocation time is unchanged"
    );
    let confirm_again = app.browser.get_html(&path).await;
    assert!(confirm_again.contains("is already revoked"));
    assert!(!confirm_again.contains(">Confirm</button>"));
}

#[tokio::test]
async fn last_used_is_never_until_the_secret_authenticates_then_a_time() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let before = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&before, &secret).contains("<td class=\"last-used\">Never</td>"));

    app.token_post(&client_id, &secret).await;

    let after = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let row = secret_row(&after, &secret);
    assert!(!row.contains("<td class=\"last-used\">Never</td>"), "{row}");
    // Created and Last Used are both RFC 3339 UTC times (the secret never expires).
    assert_eq!(row.matches("<time datetime=\"").count(), 2, "{row}");
    assert!(row.contains("<td class=\"expires\">Never</td>"), "{row}");
    assert!(row.contains("Z\" title="));
    assert!(row.contains(">just now</time>"));
}

#[tokio::test]
async fn a_failed_authentication_does_not_count_as_a_use() {
    let app = spawn_app().await;
    let (app_id, _) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;

    app.token_basic("ktc_wrongclient", &secret).await;

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(secret_row(&page, &secret).contains("<td class=\"last-used\">Never</td>"));
}

#[tokio::test]
async fn plaintext_secrets_never_reach_the_logs_the_database_or_later_pages() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let first = app.browser.generate_secret(&app_id).await;
    let second = app.browser.generate_secret(&app_id).await;
    let token = app.token_basic(&client_id, &first).await;
    let token: serde_json::Value = token.json().await.unwrap();
    app.token_post(&client_id, &second).await;
    app.token_post(&client_id, "kts_not_a_real_secret").await;
    app.browser.revoke_secret(&app_id, &first).await;
    app.token_basic(&client_id, &first).await;

    let logs = captured_logs();
    let database = app.database_bytes();
    let pages = [
        app.browser.get_html("/apps").await,
        app.browser.get_html(&format!("/apps/{app_id}")).await,
        app.browser
            .get_html(&app.browser.revoke_path(&app_id, &second).await)
            .await,
    ];

    assert!(logs.contains("/oauth/token"), "the log capture works");
    let access_token = token["access_token"].as_str().unwrap();
    for secret in [first.as_str(), second.as_str(), access_token] {
        let random_part = &secret[secret.len() - 30..];
        assert!(!logs.contains(random_part), "a secret is in the logs");
        assert!(
            !database
                .windows(random_part.len())
                .any(|w| w == random_part.as_bytes()),
            "a secret is in the database file"
        );
        for page in &pages {
            assert!(!page.contains(random_part));
        }
    }
}

#[tokio::test]
async fn the_database_itself_refuses_a_third_active_secret_and_an_unrevoke() {
    use diesel::prelude::*;
    use keyturn::db::{self, secrets};
    let app = spawn_app().await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let owned = insert_app_directly(&mut conn);
    let insert = |conn: &mut db::Conn, public_id: &str| {
        secrets::insert(
            conn,
            &secrets::NewSecret {
                app_id: owned.id,
                public_id,
                secret_hash: "x",
                hint: "abcd",
                created_at: chrono::Utc::now().naive_utc(),
                request_nonce: None,
                label: "",
                created_by: None,
                expires_at: None,
                lifetime_ends_at: None,
            },
        )
    };

    let first = insert(&mut conn, "a").unwrap();
    insert(&mut conn, "b").unwrap();
    let third = insert(&mut conn, "c");
    secrets::revoke(&mut conn, first.id, chrono::Utc::now().naive_utc()).unwrap();
    let unrevoke = diesel::update(db::schema::client_secrets::table.find(first.id))
        .set(db::schema::client_secrets::revoked_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut conn);

    assert!(third
        .unwrap_err()
        .to_string()
        .contains("max_two_active_secrets"));
    assert!(unrevoke
        .unwrap_err()
        .to_string()
        .contains("revocation_is_final"));
}

/// An owner and an app written straight to the database, for tests that bypass the application.
fn insert_app_directly(conn: &mut keyturn::db::Conn) -> keyturn::db::apps::App {
    use keyturn::db::{apps, users};
    let now = chrono::Utc::now().naive_utc();
    let user = users::insert(
        conn,
        &users::NewUser {
            email: "db@example.com",
            password_hash: "x",
            is_admin: false,
            created_at: now,
            email_verified_at: Some(now),
        },
    )
    .unwrap();
    apps::insert(
        conn,
        &apps::NewApp {
            owner_id: user.id,
            name: "Direct",
            client_id: "ktc_direct",
            redirect_uris: "",
            created_at: now,
            team_id: None,
        },
    )
    .unwrap()
}

/// The database's own rule holds under concurrency, without the application's write
/// transaction: eight plain transactions (one per pooled connection) insert an active secret for one app at once, each
/// holding its transaction open a moment, and two succeed. (On PostgreSQL each statement sees
/// only what had committed when it began, so this needs the trigger's lock on the app's row.)
#[tokio::test]
async fn concurrent_inserts_outside_the_application_still_leave_two_active_secrets() {
    use diesel::prelude::*;
    use keyturn::db::{schema::client_secrets, secrets};
    let app = spawn_app_with(|s| s.database_busy_timeout_ms = 10_000).await;
    let pool = app.pool();
    let now = chrono::Utc::now().naive_utc();
    let owned = insert_app_directly(&mut pool.get().unwrap());
    let start = std::sync::Barrier::new(8);

    let inserted = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|n| {
                let (pool, start) = (&pool, &start);
                scope.spawn(move || {
                    let mut conn = pool.get().unwrap();
                    start.wait();
                    conn.transaction(|conn| {
                        secrets::insert(
                            conn,
                            &secrets::NewSecret {
                                app_id: owned.id,
                                public_id: &format!("race{n}"),
                                secret_hash: "x",
                                hint: "abcd",
                                created_at: now,
                                request_nonce: None,
                                label: "",
                                created_by: None,
                                expires_at: None,
                                lifetime_ends_at: None,
                            },
                        )?;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        Ok::<_, diesel::result::Error>(())
                    })
                    .is_ok()
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().unwrap())
            .filter(|&succeeded| succeeded)
            .count()
    });

    let active: i64 = client_secrets::table
        .filter(client_secrets::app_id.eq(owned.id))
        .filter(client_secrets::revoked_at.is_null())
        .count()
        .get_result(&mut pool.get().unwrap())
        .unwrap();
    assert_eq!(active, 2);
    assert_eq!(inserted, 2);
}

#[tokio::test]
async fn last_used_is_written_at_most_once_a_minute_not_on_every_request() {
    let app = spawn_app().await;
    let (app_id, client_id) = app_with_owner(&app).await;
    let secret = app.browser.generate_secret(&app_id).await;
    let pool = app.pool();
    let stored_last_used = || {
        let mut conn = pool.get().unwrap();
        let rows = keyturn::db::secrets::list_for_app(&mut conn, app_id.parse().unwrap()).unwrap();
        rows[0].0.last_used_at
    };

    app.token_basic(&client_id, &secret).await;
    let first = stored_last_used();
    app.token_basic(&client_id, &secret).await;
    app.token_post(&client_id, &secret).await;
    let after_more_uses = stored_last_used();

    app.clock.advance(chrono::TimeDelta::seconds(61));
    app.token_basic(&client_id, &secret).await;
    let a_minute_later = stored_last_used();

    assert!(first.is_some());
    assert_eq!(
        first, after_more_uses,
        "uses within a minute do not write again"
    );
    assert!(a_minute_later > first, "a use after a minute is recorded");
}
