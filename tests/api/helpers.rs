//! The harness: a server per test on its own database, a browser with a cookie jar, a machine
//! client, and helpers that read pages and drive the portal.

use keyturn::config::Settings;
use keyturn::infra::clock::Clock;
use keyturn::startup::Application;
use reqwest::{Client, Response, StatusCode};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

/// Everything the server logs during the test run, to check that no secret ever reaches it.
static LOGS: LazyLock<Mutex<Vec<u8>>> = LazyLock::new(|| Mutex::new(Vec::new()));

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static TRACING: LazyLock<()> = LazyLock::new(|| {
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .init();
});

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    /// The test's own database: a fresh SQLite file, or a fresh PostgreSQL database.
    pub database_url: String,
    /// A browser with its own cookie jar; `new_browser` makes more.
    pub browser: Browser,
    /// The server's clock: tests move it forward instead of sleeping.
    pub clock: Clock,
    /// The mails the server sent, when it has mail (`spawn_mailing_app`).
    pub inbox: Option<Inbox>,
    /// `http://.../metrics` on the metrics listener, when `metrics_bind` was set.
    pub metrics: Option<String>,
    _database: TestDatabase,
}

/// What a test SMTP server received (`notifications::MailServer`).
pub type Inbox = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Which database the suite runs on: SQLite unless `KEYTURN_TEST_BACKEND=postgres`, which
/// needs `KEYTURN_TEST_POSTGRES_URL` (scripts/postgres starts a cluster and prints it).
pub fn on_postgres() -> bool {
    match std::env::var("KEYTURN_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("KEYTURN_TEST_BACKEND is sqlite or postgres, not {other:?}"),
    }
}

/// A database of the test's own, on the backend the suite runs on. Deleted when dropped.
pub struct TestDatabase {
    pub url: String,
    /// Holds the SQLite file's folder until the test ends.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database's name.
    postgres: Option<String>,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        if on_postgres() {
            TestDatabase::postgres()
        } else {
            let dir = tempfile::tempdir().unwrap();
            TestDatabase {
                url: dir.path().join("keyturn.db").to_string_lossy().into_owned(),
                _dir: Some(dir),
                postgres: None,
            }
        }
    }

    /// An empty database on the cluster at `KEYTURN_TEST_POSTGRES_URL`, whatever the backend.
    pub fn postgres() -> TestDatabase {
        let name = format!("keyturn_test_{:016x}", rand::random::<u64>());
        postgres_admin(&format!("CREATE DATABASE {name}")).unwrap();
        let mut url = url::Url::parse(&postgres_admin_url()).unwrap();
        url.set_path(&name);
        TestDatabase {
            url: url.to_string(),
            _dir: None,
            postgres: Some(name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE ends the test server's connections, which outlive the test. Never panics: a
        // failing test is unwinding through here.
        if let Some(name) = &self.postgres {
            if let Err(e) = postgres_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            {
                eprintln!("{e}");
            }
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("KEYTURN_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("KEYTURN_TEST_POSTGRES_URL names a PostgreSQL cluster the tests may create databases on (scripts/postgres starts one)")
    })
}

/// Runs `statement` on the cluster named by `KEYTURN_TEST_POSTGRES_URL`.
fn postgres_admin(statement: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut admin = diesel::PgConnection::establish(&postgres_admin_url())
        .map_err(|e| format!("connecting to KEYTURN_TEST_POSTGRES_URL: {e}"))?;
    admin
        .batch_execute(statement)
        .map_err(|e| format!("{statement}: {e}"))
}

pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        bcrypt_cost: 4,
        // Tests that move the clock by days would otherwise be logged out, and tests that send
        // many bad credentials on purpose would be throttled; the tests of those features set
        // their own limits.
        session_idle_seconds: 365 * 24 * 3600,
        session_max_age_seconds: 365 * 24 * 3600,
        throttle_failures: 1000,
        ..Settings::defaults()
    }
}

/// Settings for a deployment behind https at `public_url`, which must bring its session key.
pub fn serve_over_https(settings: &mut Settings, public_url: &str) {
    settings.public_url = Some(public_url.to_owned());
    settings.session_key = Some(format!("test-session-key-{:064}", 0).into());
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(configure, Clock::manual()).await
}

pub async fn spawn_app_with_clock(configure: impl FnOnce(&mut Settings), clock: Clock) -> TestApp {
    LazyLock::force(&TRACING);
    let database = TestDatabase::new();
    let mut settings = test_settings(&database.url);
    configure(&mut settings);
    let (address, metrics) = launch(settings, clock.clone()).await;
    TestApp {
        clock,
        browser: Browser::new(&address),
        address,
        database_url: database.url.clone(),
        inbox: None,
        metrics,
        _database: database,
    }
}

/// A server that mails through `mail`. Its browsers prove their address by the mailed link
/// when they sign up with `signed_up`, as people do.
pub async fn spawn_mailing_app(
    mail: &crate::notifications::MailServer,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let smtp = mail.url();
    let mut app = spawn_app_with(move |s| {
        s.smtp_url = Some(smtp.into());
        configure(s);
    })
    .await;
    app.inbox = Some(mail.inbox.clone());
    app.browser.inbox = app.inbox.clone();
    app
}

/// Starts a server and returns its base URL and port.
pub async fn start_server(settings: Settings) -> (String, u16) {
    start_server_with_clock(settings, Clock::system()).await
}

pub async fn start_server_with_clock(settings: Settings, clock: Clock) -> (String, u16) {
    let application = Application::build_with_clock(settings, clock)
        .await
        .expect("the app builds");
    let port = application.port();
    tokio::spawn(application.run_until_stopped());
    (format!("http://127.0.0.1:{port}"), port)
}

/// Starts a server; returns its base URL and its metrics URL, if it serves metrics.
pub async fn launch(settings: Settings, clock: Clock) -> (String, Option<String>) {
    let application = Application::build_with_clock(settings, clock)
        .await
        .expect("the app builds");
    let port = application.port();
    let metrics = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}/metrics"));
    tokio::spawn(application.run_until_stopped());
    (format!("http://127.0.0.1:{port}"), metrics)
}

impl TestApp {
    pub fn new_browser(&self) -> Browser {
        let mut browser = Browser::new(&self.address);
        browser.inbox = self.inbox.clone();
        browser
    }

    /// A client without cookies, as an OAuth client would be.
    pub fn machine(&self) -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn token_basic(&self, client_id: &str, secret: &str) -> Response {
        self.machine()
            .post(format!("{}/oauth/token", self.address))
            .basic_auth(form_encode(client_id), Some(form_encode(secret)))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    /// A client credentials access token for the client.
    pub async fn access_token(&self, client_id: &str, secret: &str) -> String {
        let body: serde_json::Value = self
            .token_basic(client_id, secret)
            .await
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// POSTs `token` to /oauth/revoke or /oauth/introspect as the client.
    pub async fn about_token(
        &self,
        endpoint: &str,
        (client_id, secret): (&str, &str),
        token: &str,
    ) -> Response {
        self.machine()
            .post(format!("{}/oauth/{endpoint}", self.address))
            .basic_auth(form_encode(client_id), Some(form_encode(secret)))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    pub async fn token_post(&self, client_id: &str, secret: &str) -> Response {
        self.machine()
            .post(format!("{}/oauth/token", self.address))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A browser logged in as an admin made with the same code as `keyturn create-admin`.
    pub async fn admin_browser(&self) -> Browser {
        let pool = self.pool();
        let email = keyturn::domain::Email::parse("admin@example.com").unwrap();
        let password = keyturn::domain::Password::parse(PASSWORD.to_owned().into()).unwrap();
        keyturn::service::accounts::create_admin(
            &pool,
            &keyturn::infra::hashing::Bcrypt::new(4),
            email,
            password,
            self.clock.now(),
        )
        .await
        .unwrap();
        let browser = self.new_browser();
        assert_eq!(
            browser.log_in("admin@example.com", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        browser
    }

    /// `GET /api/v1/me` with a bearer token, as a resource client calls it.
    pub async fn me(&self, access_token: &str) -> Response {
        self.machine()
            .get(format!("{}/api/v1/me", self.address))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// A connection pool on the test's database, for setting up what the UI cannot.
    pub fn pool(&self) -> keyturn::db::DbPool {
        keyturn::db::connect_and_migrate(&self.database_url).unwrap()
    }

    /// Everything the database holds: on SQLite every byte on disk (main file and write-ahead
    /// log); on PostgreSQL every row of every table, as text.
    pub fn database_bytes(&self) -> Vec<u8> {
        if on_postgres() {
            return postgres_rows(&self.database_url).into_bytes();
        }
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            let mut path = std::ffi::OsString::from(&self.database_url);
            path.push(suffix);
            if let Ok(mut b) = std::fs::read(PathBuf::from(path)) {
                bytes.append(&mut b);
            }
        }
        bytes
    }
}

pub fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A person in a browser: a cookie jar, redirects not followed so tests see each step.
pub struct Browser {
    pub address: String,
    pub client: Client,
    /// Where this person's mail arrives, when the server sends mail.
    pub inbox: Option<Inbox>,
}

impl Browser {
    pub fn new(address: &str) -> Self {
        Browser {
            address: address.to_owned(),
            client: Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            inbox: None,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form the way a browser does after loading `form_page`: with its CSRF token.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let page = self.get_html(form_page).await;
        let token = csrf_token(&page);
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn post(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{action}", self.address))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/signup",
            "/signup",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs up a new random developer and returns the email. On a server with mail, opens
    /// the verification mail and proves the address.
    pub async fn signed_up(&self) -> String {
        let email = format!("dev{}@example.com", rand_suffix());
        let response = self.sign_up(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        if self.inbox.is_some() {
            self.verify_email(&email).await;
        }
        email
    }

    /// Takes the latest mail to `to` that mentions `about` out of the inbox, waiting for it.
    pub async fn take_mail(&self, to: &str, about: &str) -> String {
        let inbox = self.inbox.as_ref().expect("the server sends mail");
        let is_it = |m: &String| m.contains(&format!("To: {to}")) && m.contains(about);
        crate::notifications::eventually(about, || inbox.lock().unwrap().iter().any(is_it)).await;
        let mut mails = inbox.lock().unwrap();
        let at = mails.iter().rposition(is_it).unwrap();
        mails.remove(at)
    }

    /// Opens the verification link mailed to `email` and presses its button.
    pub async fn verify_email(&self, email: &str) {
        let mail = self.take_mail(email, "/verify-email?token=").await;
        let link = link_in(&mail, "/verify-email?token=");
        let page = self.get_html(&link).await;
        let token = input_value(&page, "token");
        let response = self
            .post(
                "/verify-email",
                &[("csrf_token", &csrf_token(&page)), ("token", &token)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "verifying {email}"
        );
    }

    /// Creates an app and returns its id.
    pub async fn create_app(&self, name: &str) -> String {
        let response = self
            .submit(
                "/apps/new",
                "/apps",
                &[
                    ("name", name),
                    ("redirect_uris", "https://client.example/callback"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = location(&response);
        location
            .strip_prefix("/apps/")
            .expect("redirects to the app page")
            .to_owned()
    }

    pub async fn client_id(&self, app_id: &str) -> String {
        let page = self.get_html(&format!("/apps/{app_id}")).await;
        element_text(&page, "client-id")
    }

    /// Goes through the confirmation page and returns the shown-once plaintext.
    pub async fn generate_secret(&self, app_id: &str) -> String {
        let response = self.confirm_generate(app_id).await;
        assert_eq!(response.status(), StatusCode::OK);
        element_text(&response.text().await.unwrap(), "new-secret")
    }

    /// Generates through the confirmation page with extra form fields (label, schedule).
    pub async fn generate_secret_with(&self, app_id: &str, extra: &[(&str, &str)]) -> String {
        let page = self.get_html(&format!("/apps/{app_id}/secrets/new")).await;
        let token = csrf_token(&page);
        let nonce = input_value(&page, "request_nonce");
        let mut fields = vec![
            ("csrf_token", token.as_str()),
            ("request_nonce", nonce.as_str()),
        ];
        fields.extend_from_slice(extra);
        let mut response = self.post(&format!("/apps/{app_id}/secrets"), &fields).await;
        if self.confirmed_access(&response).await {
            response = self.post(&format!("/apps/{app_id}/secrets"), &fields).await;
        }
        assert_eq!(response.status(), StatusCode::OK);
        element_text(&response.text().await.unwrap(), "new-secret")
    }

    /// Loads the confirmation page and presses "Confirm", confirming access when asked.
    pub async fn confirm_generate(&self, app_id: &str) -> Response {
        let response = self.press_confirm_generate(app_id).await;
        if self.confirmed_access(&response).await {
            return self.press_confirm_generate(app_id).await;
        }
        response
    }

    /// Loads the confirmation page and presses "Confirm": the answer as it comes.
    pub async fn press_confirm_generate(&self, app_id: &str) -> Response {
        let page = self.get_html(&format!("/apps/{app_id}/secrets/new")).await;
        assert!(page.contains(">Confirm</button>"), "{page}");
        let fields = [
            ("csrf_token", csrf_token(&page)),
            ("request_nonce", input_value(&page, "request_nonce")),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(&format!("/apps/{app_id}/secrets"), &fields).await
    }

    /// When a sensitive action was sent to "Confirm access" (the session proved itself more
    /// than 15 minutes ago), confirms with the password, as a person would, and says so.
    pub async fn confirmed_access(&self, response: &Response) -> bool {
        if response.status() != StatusCode::SEE_OTHER
            || !location(response).starts_with("/account/confirm-access")
        {
            return false;
        }
        let confirmed = self
            .submit(
                &location(response),
                "/account/confirm-access",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            confirmed.status(),
            StatusCode::SEE_OTHER,
            "confirming access"
        );
        true
    }

    /// The revoke confirmation path of the row showing `secret`'s hint.
    pub async fn revoke_path(&self, app_id: &str, secret: &str) -> String {
        let page = self.get_html(&format!("/apps/{app_id}")).await;
        revoke_path(&page, secret)
    }

    /// Confirms the revocation of `secret` and returns the response. Types the secret's last
    /// four characters, as the confirmation asks for a secret in recent use.
    pub async fn revoke_secret(&self, app_id: &str, secret: &str) -> Response {
        let path = self.revoke_path(app_id, secret).await;
        let fields = [("confirm_hint", &secret[secret.len() - 4..])];
        let response = self.submit(&path, &path, &fields).await;
        if self.confirmed_access(&response).await {
            return self.submit(&path, &path, &fields).await;
        }
        response
    }
}

/// The path and query of the first link in `mail` whose path starts with `path`.
pub fn link_in(mail: &str, path: &str) -> String {
    let mail = mail.replace("=3D", "=");
    let start = mail
        .find(path)
        .unwrap_or_else(|| panic!("no {path} link in {mail}"));
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

/// The `Location` header of a redirect.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn csrf_token(html: &str) -> String {
    input_value(html, "csrf_token")
}

pub fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The text inside the element with this id (first text node).
pub fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open_end = html[start..].find('>').unwrap() + start + 1;
    let close = html[open_end..].find('<').unwrap() + open_end;
    html[open_end..close].trim().to_owned()
}

/// The table row (`<tr>...</tr>`) of the secret whose hint is `secret`'s last four characters.
pub fn secret_row(html: &str, secret: &str) -> String {
    let hint = format!("<code>••••{}</code>", &secret[secret.len() - 4..]);
    let at = html
        .find(&hint)
        .unwrap_or_else(|| panic!("no row for {hint} in {html}"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = html[at..].find("</tr>").unwrap() + at;
    let row = &html[start..end];
    // The row's confirmation <dialog> repeats its facts; the visible cells come before it.
    row[..row.find("<dialog").unwrap_or(row.len())].to_owned()
}

pub fn revoke_path(html: &str, secret: &str) -> String {
    let row = secret_row(html, secret);
    let start = row
        .find("action=\"/apps/")
        .expect("an active row has a Revoke form")
        + "action=\"".len();
    let end = row[start..].find('"').unwrap() + start;
    row[start..end].to_owned()
}

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Signs up, creates an app, and returns (app id, client id).
pub async fn app_with_owner(app: &TestApp) -> (String, String) {
    app.browser.signed_up().await;
    let app_id = app.browser.create_app("Shop").await;
    let client_id = app.browser.client_id(&app_id).await;
    (app_id, client_id)
}

/// Every row of every table in the public schema, one JSON object per line.
fn postgres_rows(database_url: &str) -> String {
    use diesel::{sql_query, sql_types::Text, Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let mut conn = diesel::PgConnection::establish(database_url).unwrap();
    let tables: Vec<Line> = sql_query(
        "SELECT tablename AS line FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .load(&mut conn)
    .unwrap();
    assert!(tables.len() > 5, "the schema's tables: {}", tables.len());
    let mut rows = String::new();
    for table in tables {
        let lines: Vec<Line> = sql_query(format!(
            "SELECT row_to_json(t)::text AS line FROM \"{}\" t",
            table.line
        ))
        .load(&mut conn)
        .unwrap();
        for line in lines {
            rows.push_str(&line.line);
            rows.push('\n');
        }
    }
    rows
}
