//! End-to-end tests in a real browser: Debian's Chromium driven through chromedriver.
//! `#[ignore]`d so that `cargo test` passes on machines without a browser; `.ci/run` installs
//! `chromium` and `chromium-driver` and runs them with `--include-ignored`. A failing test leaves
//! a screenshot and the page's HTML under `target/e2e-failures/`.

use crate::helpers::{spawn_app, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use reqwest::StatusCode;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self, javascript: bool) -> Client {
        let mut options = serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900"
            ],
        });
        if !javascript {
            options["prefs"] =
                serde_json::json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            if let Ok(client) = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not start a browser session through chromedriver");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Runs `flow`; if it fails, keeps a screenshot and the HTML for diagnosis, then fails.
async fn with_artifacts<F>(name: &str, browser: &Client, flow: F)
where
    F: std::future::Future<Output = ()>,
{
    let outcome = std::panic::AssertUnwindSafe(flow).catch_unwind().await;
    if let Err(panic) = outcome {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-failures");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = browser.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = browser.source().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        std::panic::resume_unwind(panic);
    }
}

/// Signs up on the page as a person does, and waits for My Apps.
async fn sign_up(browser: &Client, base: &str, email: &str) {
    browser.goto(&format!("{base}/signup")).await.unwrap();
    type_into(browser, "Email", email).await;
    type_into(browser, "Password", PASSWORD).await;
    press(browser, "Sign up").await;
    wait_for_heading(browser, "My Apps").await;
}

fn field(label: &str) -> String {
    format!("//*[@id=//label[normalize-space()='{label}']/@for]")
}

/// A button with this label that a person can see (not one inside a closed dialog).
fn visible_button(label: &str) -> String {
    format!("//button[normalize-space()='{label}'][not(ancestor::dialog[not(@open)])]")
}

async fn type_into(browser: &Client, label: &str, text: &str) {
    wait_for(browser, Locator::XPath(&field(label)))
        .await
        .send_keys(text)
        .await
        .unwrap();
}

async fn press(browser: &Client, label: &str) {
    let button = wait_for(browser, Locator::XPath(&visible_button(label))).await;
    settle(browser).await;
    button.click().await.unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    wait_for(browser, Locator::Css(css))
        .await
        .text()
        .await
        .unwrap()
}

/// Waits for the element to appear: a click that navigates returns before the next page loads.
async fn wait_for(browser: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(locator)
        .await
        .unwrap()
}

/// Waits until the page (and so its deferred script) has fully loaded.
async fn settle(browser: &Client) {
    for _ in 0..100 {
        let state = browser
            .execute("return document.readyState", vec![])
            .await
            .unwrap();
        if state == "complete" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never finished loading");
}

async fn wait_for_heading(browser: &Client, text: &str) {
    wait_for(
        browser,
        Locator::XPath(&format!("//h1[contains(normalize-space(), '{text}')]")),
    )
    .await;
}

async fn page(browser: &Client) -> String {
    browser.source().await.unwrap()
}

async fn token_status(app: &TestApp, client_id: &str, secret: &str) -> StatusCode {
    app.token_basic(client_id, secret).await.status()
}

/// Sign up, create an app, generate, copy, use, generate a second, hit the limit, revoke the
/// first, log out: the whole lifecycle as a person does it.
async fn lifecycle(app: &TestApp, browser: &Client, javascript: bool) {
    let base = &app.address;
    let email = format!("e2e{}@example.com", u8::from(javascript));
    sign_up(browser, base, &email).await;

    browser
        .find(Locator::LinkText("New app"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(browser, "Name", "Browser Shop").await;
    type_into(browser, "Redirect URIs", "https://shop.example/callback").await;
    press(browser, "Create app").await;
    wait_for(browser, Locator::Id("client-id")).await;
    let app_url = browser.current_url().await.unwrap().to_string();
    let client_id = text_of(browser, "#client-id").await;

    // Generate through the dialog (JavaScript) or the confirmation page (without).
    press(browser, "Generate new secret").await;
    if javascript {
        assert_eq!(
            browser.current_url().await.unwrap().to_string(),
            app_url,
            "a dialog, not a page"
        );
        assert!(browser
            .find(Locator::Css("dialog#generate-dialog[open]"))
            .await
            .is_ok());
    } else {
        wait_for_heading(browser, "Generate a new secret for").await;
        assert!(browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/secrets/new"));
    }
    press(browser, "Confirm").await;
    let first = text_of(browser, "#new-secret").await;
    assert!(first.starts_with("kts_"));
    assert!(page(browser).await.contains("it will not be shown again"));
    if javascript {
        press(browser, "Copy").await;
        let mut label = String::new();
        for _ in 0..40 {
            label = text_of(browser, "[data-copy]").await;
            if label == "Copied" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(label, "Copied");
        let selected = browser
            .execute("return window.getSelection().toString()", vec![])
            .await
            .unwrap();
        assert_eq!(
            selected.as_str().unwrap().trim(),
            first,
            "the whole secret is selected"
        );
    }
    assert_eq!(token_status(app, &client_id, &first).await, StatusCode::OK);

    // A second secret, then the limit.
    browser.goto(&app_url).await.unwrap();
    press(browser, "Generate new secret").await;
    if !javascript {
        wait_for_heading(browser, "Generate a new secret for").await;
    }
    press(browser, "Confirm").await;
    let second = text_of(browser, "#new-secret").await;
    browser.goto(&app_url).await.unwrap();
    wait_for(browser, Locator::Id("limit-message")).await;
    let html = page(browser).await;
    assert!(html.contains(
        "You can only have a maximum of 2 active secrets. Revoke one before generating another."
    ));
    let generate = browser
        .find(Locator::XPath(&visible_button("Generate new secret")))
        .await
        .unwrap();
    assert!(!generate.is_enabled().await.unwrap());
    assert_eq!(token_status(app, &client_id, &second).await, StatusCode::OK);

    // Revoke the first (used just now, so its last four characters must be typed).
    let hint = &first[first.len() - 4..];
    let row = format!("//tr[.//code[normalize-space()='••••{hint}']]");
    settle(browser).await;
    browser
        .find(Locator::XPath(&format!(
            "{row}//button[normalize-space()='Revoke']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if !javascript {
        wait_for_heading(browser, "Revoke secret").await;
    }
    let confirm_field = "//input[@name='confirm_hint'][not(ancestor::dialog[not(@open)])]";
    wait_for(browser, Locator::XPath(confirm_field))
        .await
        .send_keys(hint)
        .await
        .unwrap();
    press(browser, "Confirm").await;
    wait_for(browser, Locator::Css(".flash")).await;
    let html = page(browser).await;
    assert!(html.contains(&format!("Secret ••••{hint} revoked.")));
    let revoked_row = browser
        .find(Locator::XPath(&row))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(revoked_row.contains("Revoked"), "{revoked_row}");
    assert!(
        revoked_row.contains("just now"),
        "Last Used is shown: {revoked_row}"
    );
    assert_eq!(
        token_status(app, &client_id, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_status(app, &client_id, &second).await, StatusCode::OK);

    press(browser, "Log out").await;
    wait_for_heading(browser, "Log in to Keyturn").await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/login"));
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_secret_lifecycle_works_in_a_real_browser_with_javascript() {
    let app = spawn_app().await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    with_artifacts(
        "lifecycle-javascript",
        &browser,
        lifecycle(&app, &browser, true),
    )
    .await;
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_secret_lifecycle_works_in_a_real_browser_without_javascript() {
    let app = spawn_app().await;
    let driver = Driver::start();
    let browser = driver.browser(false).await;
    with_artifacts(
        "lifecycle-no-javascript",
        &browser,
        lifecycle(&app, &browser, false),
    )
    .await;
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_public_key_is_added_used_and_revoked_in_a_real_browser() {
    let app = spawn_app().await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    let flow = async {
        let base = &app.address;
        sign_up(&browser, base, "grace@example.com").await;
        browser.goto(&format!("{base}/apps/new")).await.unwrap();
        type_into(&browser, "Name", "Nightly Export").await;
        press(&browser, "Create app").await;
        let client_id = text_of(&browser, "#client-id").await;
        let app_url = browser.current_url().await.unwrap().to_string();

        let key = crate::keys::ed25519_key("export-2026");
        type_into(
            &browser,
            "Public key (JWK or PEM)",
            &key.public_jwk.to_string(),
        )
        .await;
        press(&browser, "Add public key").await;
        let row = "//table[@id='public-keys']//tr[.//code[normalize-space()='export-2026']]";
        wait_for(&browser, Locator::XPath(row)).await;
        let aud = format!("{base}/oauth/token");
        let response =
            crate::keys::token_with(&app, &crate::keys::assertion(&app, &key, &client_id, &aud))
                .await;
        assert_eq!(response.status(), StatusCode::OK);
        browser.goto(&app_url).await.unwrap();
        let used = text_of(&browser, "#public-keys td.last-used").await;
        assert_ne!(used, "Never");
        browser
            .execute("document.getElementById('keys').scrollIntoView()", vec![])
            .await
            .unwrap();
        shoot(&browser, "public-keys").await;

        browser
            .find(Locator::XPath(&format!(
                "{row}//button[normalize-space()='Revoke']"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&browser, Locator::Css("dialog[open]")).await;
        // Used a moment ago: the dialog asks for the kid's last four characters.
        type_into(&browser, "Type 2026 to confirm", "2026").await;
        press(&browser, "Confirm").await;
        wait_for(
            &browser,
            Locator::XPath(&format!("{row}//span[normalize-space()='Revoked']")),
        )
        .await;
        let response =
            crate::keys::token_with(&app, &crate::keys::assertion(&app, &key, &client_id, &aud))
                .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    };
    with_artifacts("public-keys", &browser, flow).await;
    browser.close().await.unwrap();
}

/// Where screenshots go: `docs/screenshots` when regenerating the README's pictures
/// (`scripts/screenshots`), `target/screenshots` otherwise, so test runs never touch the tree.
fn screenshot_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = if std::env::var_os("KEYTURN_WRITE_README_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// The README's screenshots, and the pages at phone width: nothing may scroll sideways at
/// 360 px (wide tables scroll inside their own box).
#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_readme_screenshots_and_a_360_pixel_wide_screen() {
    let app = spawn_app().await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    let flow = async {
        let base = &app.address;
        sign_up(&browser, base, "ada@example.com").await;
        for name in ["Acme Shop", "Billing Worker"] {
            browser.goto(&format!("{base}/apps/new")).await.unwrap();
            type_into(&browser, "Name", name).await;
            type_into(&browser, "Redirect URIs", "https://shop.example/callback").await;
            press(&browser, "Create app").await;
            wait_for(&browser, Locator::Id("client-id")).await;
        }
        let app_url = browser.current_url().await.unwrap().to_string();
        let client_id = text_of(&browser, "#client-id").await;
        press(&browser, "Generate new secret").await;
        wait_for(&browser, Locator::Css("dialog#generate-dialog[open]")).await;
        wait_for(&browser, Locator::Id("label"))
            .await
            .send_keys("production")
            .await
            .unwrap();
        browser
            .find(Locator::Id("expires-after-90"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        press(&browser, "Confirm").await;
        let first = text_of(&browser, "#new-secret").await;
        for _ in 0..3 {
            app.machine()
                .post(format!("{base}/oauth/token"))
                .header("user-agent", "billing-worker/4.2 (production)")
                .basic_auth(&client_id, Some(&first))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
        }
        browser.goto(&app_url).await.unwrap();
        press(&browser, "Generate new secret").await;
        wait_for(&browser, Locator::Css("dialog#generate-dialog[open]")).await;
        wait_for(&browser, Locator::Id("label"))
            .await
            .send_keys("production-2026")
            .await
            .unwrap();
        browser
            .find(Locator::Id("old-secret-when_quiet"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        shoot(&browser, "rotation-generate").await;
        press(&browser, "Confirm").await;
        let second = text_of(&browser, "#new-secret").await;
        shoot(&browser, "secret-shown").await;
        browser.goto(&app_url).await.unwrap();
        wait_for(&browser, Locator::Id("client-id")).await;
        shoot(&browser, "rotation-in-progress").await;
        let hint = &first[first.len() - 4..];
        let row = format!("//tr[.//code[normalize-space()='••••{hint}']]");
        browser
            .find(Locator::XPath(&format!(
                "{row}//button[normalize-space()='Revoke']"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&browser, Locator::Css("dialog[open]")).await;
        shoot(&browser, "guarded-revoke").await;
        browser.goto(&app_url).await.unwrap();
        wait_for(&browser, Locator::XPath(&format!("{row}//a")))
            .await
            .click()
            .await
            .unwrap();
        wait_for(&browser, Locator::Id("uses-24h")).await;
        shoot(&browser, "secret-detail").await;

        // A second machine already on the new secret: the Callers table tells the two apart.
        app.machine()
            .post(format!("{base}/oauth/token"))
            .header("user-agent", "web-frontend/1.8")
            .basic_auth(&client_id, Some(&second))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        browser.goto(&app_url).await.unwrap();
        wait_for(&browser, Locator::Id("callers")).await;
        browser
            .execute(
                "document.getElementById('rotation-status').scrollIntoView()",
                vec![],
            )
            .await
            .unwrap();
        shoot(&browser, "callers").await;

        // An API token for a rotation script.
        browser
            .goto(&format!("{base}/account/tokens"))
            .await
            .unwrap();
        type_into(&browser, "Name", "rotation cron").await;
        for id in ["scope-apps-read", "scope-secrets-write", "token-expires-90"] {
            browser
                .find(Locator::Id(id))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        press(&browser, "Create token").await;
        wait_for(&browser, Locator::Id("new-token")).await;
        shoot(&browser, "api-tokens").await;
        let consent = format!(
            "{base}/oauth/authorize?response_type=code&client_id={client_id}&scope=profile%20apps:read&state=xyz\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        browser.goto(&consent).await.unwrap();
        wait_for_heading(&browser, "Authorize").await;
        shoot(&browser, "consent").await;
        browser.goto(&format!("{base}/apps")).await.unwrap();
        wait_for_heading(&browser, "My Apps").await;
        shoot(&browser, "my-apps").await;

        // The admin's secret policy, in a second browser signed in as an admin.
        app.admin_browser().await;
        let admin = driver.browser(true).await;
        admin.goto(&format!("{base}/login")).await.unwrap();
        type_into(&admin, "Email", "admin@example.com").await;
        type_into(&admin, "Password", PASSWORD).await;
        press(&admin, "Log in").await;
        wait_for_heading(&admin, "My Apps").await;
        admin.goto(&format!("{base}/admin/policy")).await.unwrap();
        type_into(&admin, "Maximum secret lifetime (days)", "180").await;
        press(&admin, "Save policy").await;
        wait_for_heading(&admin, "Secret policy").await;
        shoot(&admin, "admin-policy").await;
        admin.close().await.unwrap();

        // A team: a Developer who has an account, a Viewer invited before signing up, and the
        // Billing Worker moved in.
        let grace = app.new_browser();
        assert_eq!(
            grace.sign_up("grace@example.com", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        browser.goto(&format!("{base}/teams/new")).await.unwrap();
        type_into(&browser, "Team name", "Payments").await;
        press(&browser, "Create team").await;
        wait_for_heading(&browser, "Payments").await;
        let team_url = browser.current_url().await.unwrap().to_string();
        for (email, role) in [
            ("grace@example.com", "developer"),
            ("linus@example.com", "viewer"),
        ] {
            type_into(&browser, "Email", email).await;
            browser
                .find(Locator::Css(&format!(
                    "#invite-role option[value='{role}']"
                )))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            press(&browser, "Invite member").await;
            wait_for(
                &browser,
                Locator::XPath(&format!(
                    "//div[contains(@class, 'flash')][contains(., '{email}')]"
                )),
            )
            .await;
        }
        browser.goto(&app_url).await.unwrap();
        press(&browser, "Move to team").await;
        wait_for(
            &browser,
            Locator::XPath("//dd[@id='app-owner'][contains(., 'Payments')]"),
        )
        .await;
        browser.goto(&team_url).await.unwrap();
        wait_for(&browser, Locator::Id("members")).await;
        shoot(&browser, "team").await;

        // Account security: confirm access, set up an authenticator app, then log in again
        // through the second step.
        browser
            .goto(&format!(
                "{base}/account/confirm-access?next=/account/security/authenticator"
            ))
            .await
            .unwrap();
        type_into(&browser, "Password", PASSWORD).await;
        press(&browser, "Confirm").await;
        let key = text_of(&browser, "#setup-key").await;
        shoot(&browser, "authenticator-setup").await;
        type_into(
            &browser,
            "Authentication code",
            &crate::security::code_at(&key, &app),
        )
        .await;
        press(&browser, "Confirm and turn on").await;
        wait_for(&browser, Locator::Id("recovery-codes")).await;
        browser
            .goto(&format!("{base}/account/security"))
            .await
            .unwrap();
        wait_for(&browser, Locator::Id("security-activity")).await;
        shoot(&browser, "security").await;
        press(&browser, "Log out").await;
        wait_for_heading(&browser, "Log in to Keyturn").await;
        type_into(&browser, "Email", "ada@example.com").await;
        type_into(&browser, "Password", PASSWORD).await;
        press(&browser, "Log in").await;
        wait_for_heading(&browser, "Two-factor authentication").await;
        shoot(&browser, "login-two-factor").await;
        crate::security::next_step(&app);
        type_into(
            &browser,
            "Authentication code",
            &crate::security::code_at(&key, &app),
        )
        .await;
        press(&browser, "Verify").await;
        wait_for_heading(&browser, "My Apps").await;

        // WCAG AA: every visible piece of text against its background, on the busiest page.
        browser.goto(&app_url).await.unwrap();
        wait_for(&browser, Locator::Id("client-id")).await;
        let failures = browser.execute(CONTRAST_CHECK, vec![]).await.unwrap();
        assert_eq!(
            failures,
            serde_json::json!([]),
            "text below WCAG AA contrast"
        );

        browser.set_window_size(360, 800).await.unwrap();
        for path in [
            "/apps".to_owned(),
            app_url.replace(base.as_str(), ""),
            "/apps/new".to_owned(),
            team_url.replace(base.as_str(), ""),
            "/account/security".to_owned(),
            "/account/tokens".to_owned(),
        ] {
            browser.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(&browser, Locator::Css("main")).await;
            let overflow = browser
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth",
                    vec![],
                )
                .await
                .unwrap();
            let culprits = browser
                .execute(
                    "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null).map(e => e.tagName + '.' + e.className).slice(0, 8).join(', ')",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap() <= 0,
                "{path} scrolls sideways at 360 px by {overflow}: {culprits}"
            );
        }
        browser.goto(&app_url).await.unwrap();
        wait_for(&browser, Locator::Id("client-id")).await;
        shoot(&browser, "app-at-360px").await;
    };
    with_artifacts("readme-screenshots", &browser, flow).await;
    browser.close().await.unwrap();
}

/// Returns the visible text elements whose contrast with their background is below WCAG AA
/// (4.5:1, or 3:1 for large text). Disabled controls are exempt, as WCAG allows.
const CONTRAST_CHECK: &str = r#"
const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const background = el => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const failures = [];
for (const el of document.querySelectorAll('body *')) {
  if (el.closest('dialog:not([open])') || el.disabled || !el.offsetParent) continue;
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const style = getComputedStyle(el);
  const fg = lum(rgb(style.color).slice(0, 3)), bg = lum(background(el));
  const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
  const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  if (ratio < needed) failures.push(el.tagName + '.' + el.className + ' ' + ratio.toFixed(2));
}
return failures;
"#;
