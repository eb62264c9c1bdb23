//! Developer accounts: sign-up, log-in and log-out, and the `keyturn` commands that create an
//! admin and migrate the database.

use crate::helpers::{
    location, spawn_app, start_server, test_settings, Browser, TestDatabase, PASSWORD,
};
use keyturn::config::Settings;
use reqwest::StatusCode;

#[tokio::test]
async fn signup_and_login_pages_have_the_labelled_fields_and_buttons() {
    let app = spawn_app().await;

    for (path, button) in [("/signup", "Sign up"), ("/login", "Log in")] {
        let page = app.browser.get_html(path).await;
        assert!(
            page.contains(r#"<label for="email">Email</label>"#),
            "{path}"
        );
        assert!(
            page.contains(r#"<label for="password">Password</label>"#),
            "{path}"
        );
        assert!(page.contains(&format!(">{button}</button>")), "{path}");
        assert!(page.contains(r#"name="csrf_token""#), "{path}");
    }
}

#[tokio::test]
async fn signing_up_logs_the_developer_in_with_a_log_out_button() {
    let app = spawn_app().await;

    let response = app.browser.sign_up("Ada@Example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/apps");
    let page = app.browser.get_html("/apps").await;
    assert!(page.contains("<h1>My Apps</h1>"));
    assert!(page.contains("ada@example.com"));
    assert!(page.contains(">Log out</button>"));
}

#[tokio::test]
async fn an_email_can_only_sign_up_once_whatever_its_case() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;

    let response = app.new_browser().sign_up("ADA@example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(page.contains("An account with this email already exists"));
    assert!(
        page.contains(r#"value="ada@example.com""#),
        "the typed email is kept"
    );
}

#[tokio::test]
async fn passwords_must_be_8_to_72_bytes_and_are_never_truncated() {
    let app = spawn_app().await;

    let short = app
        .new_browser()
        .sign_up("short@example.com", "1234567")
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(short
        .text()
        .await
        .unwrap()
        .contains("at least 8 characters"));

    let long = "x".repeat(73);
    let too_long = app.new_browser().sign_up("long@example.com", &long).await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert!(too_long.text().await.unwrap().contains("at most 72 bytes"));

    // 72 bytes is fine, and the 73-byte variant of it does not log in: nothing is truncated.
    let exact = "y".repeat(72);
    let ok = app.new_browser().sign_up("exact@example.com", &exact).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let longer = format!("{exact}z");
    let login = app.new_browser().log_in("exact@example.com", &longer).await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invalid_signup_input_is_shown_next_to_its_field() {
    let app = spawn_app().await;

    let response = app.browser.sign_up("not-an-email", "short").await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="email-error""#));
    assert!(page.contains(r#"id="password-error""#));
    assert!(page.contains(r#"value="not-an-email""#));
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;

    let wrong_password = app
        .new_browser()
        .log_in("ada@example.com", "not the password")
        .await;
    let unknown_email = app
        .new_browser()
        .log_in("nobody@example.com", PASSWORD)
        .await;

    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let wrong_password = wrong_password.text().await.unwrap();
    let unknown_email = unknown_email.text().await.unwrap();
    assert!(wrong_password.contains("Incorrect email or password."));
    let strip = |page: &str, email: &str| {
        page.replace(email, "")
            .replace(&crate::helpers::csrf_token(page), "")
    };
    assert_eq!(
        strip(&wrong_password, "ada@example.com"),
        strip(&unknown_email, "nobody@example.com")
    );
}

#[tokio::test]
async fn logging_in_returns_to_the_page_that_asked_for_it() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let browser = app.new_browser();

    let response = browser.get("/apps/new").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fapps%2Fnew");
    let login_page = browser.get_html(&location(&response)).await;
    let token = crate::helpers::csrf_token(&login_page);
    let next = crate::helpers::input_value(&login_page, "next");
    let response = browser
        .post(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/apps/new");
}

#[tokio::test]
async fn next_cannot_send_a_user_to_another_site() {
    let app = spawn_app().await;
    app.browser.sign_up("ada@example.com", PASSWORD).await;
    let browser = app.new_browser();

    let page = browser.get_html("/login?next=//evil.example/").await;
    let token = crate::helpers::csrf_token(&page);
    let response = browser
        .post(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;

    assert_eq!(location(&response), "/apps");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    let response = app.browser.submit("/apps", "/logout", &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let after = app.browser.get("/apps").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/login"));
}

#[tokio::test]
async fn sessions_survive_a_restart_because_the_generated_key_is_kept_in_the_database() {
    let app = spawn_app().await;
    app.browser.signed_up().await;

    // A second server on the same database file stands in for the restarted process.
    let (restarted, _) = start_server(test_settings(&app.database_url)).await;
    let same_cookies = Browser {
        address: restarted,
        client: app.browser.client.clone(),
        inbox: None,
    };

    let page = same_cookies.get_html("/apps").await;
    assert!(page.contains("<h1>My Apps</h1>"));
}

#[tokio::test]
async fn create_admin_creates_an_account_that_can_log_in_and_then_promotes_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyturn"))
            .args(["create-admin", "--email", "root@example.com"])
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env("KEYTURN_BCRYPT_COST", "4")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };

    let first = run("first password");
    let second = run("second password");

    assert!(first.status.success());
    assert!(
        second.status.success(),
        "running again promotes and reuses the database"
    );
    // The default DATABASE_URL is keyturn.db in the working directory.
    let db_path = dir.path().join("keyturn.db");
    assert!(db_path.exists());
    let (address, _) = start_server(test_settings(&db_path.to_string_lossy())).await;
    let browser = Browser::new(&address);
    let old = browser.log_in("root@example.com", "first password").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = browser.log_in("root@example.com", "second password").await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

fn keyturn(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_keyturn"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("KEYTURN_AUTO_MIGRATE");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A `serve` that should have refused to start would otherwise hang the test.
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn keyturn_migrate_applies_the_migrations_once_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new();
    let env = [("DATABASE_URL", database.url.as_str())];

    let first = keyturn(dir.path(), &["migrate"], &env);
    let second = keyturn(dir.path(), &["migrate"], &env);

    assert!(first.status.success(), "{first:?}");
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("applied 20261126000000"), "{said}");
    assert!(said.contains("migration(s) applied."), "{said}");
    assert!(second.status.success());
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "The database is up to date.\n"
    );
    // The migrated database serves, without migrating again.
    let (address, _) = start_server(Settings {
        auto_migrate: false,
        ..test_settings(&database.url)
    })
    .await;
    let browser = Browser::new(&address);
    assert_eq!(
        browser
            .sign_up("after@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn with_auto_migrate_off_serve_refuses_an_unmigrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new();

    let refused = keyturn(
        dir.path(),
        &["serve"],
        &[
            ("DATABASE_URL", database.url.as_str()),
            ("KEYTURN_AUTO_MIGRATE", "false"),
            ("KEYTURN_BIND", "127.0.0.1:0"),
        ],
    );
    let bad_flag = keyturn(dir.path(), &["serve"], &[("KEYTURN_AUTO_MIGRATE", "maybe")]);

    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("run `keyturn migrate` first"), "{said}");
    assert!(!bad_flag.status.success());
    assert!(String::from_utf8_lossy(&bad_flag.stderr)
        .contains("KEYTURN_AUTO_MIGRATE must be true or false"));
}
