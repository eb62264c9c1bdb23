//! Assembles the application: the database (connected and migrated), the shared state, and the
//! HTTP server (middleware around `http::routes`) bound to any port. Nothing imports this module.

use crate::config::Settings;
use crate::db::writer::Writer;
use crate::db::{self, DbPool};
use crate::http::{observe, routes, web as pages};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::service::maintenance;
use crate::service::notifications::Notifier;
use crate::state::AppState;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use base64::Engine;
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;

/// Pages load only our own stylesheet and script; nothing inline, nothing framed.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
    /// `GET /metrics` on `KEYTURN_METRICS_BIND`, and its port.
    metrics: Option<(Server, u16)>,
}

impl Application {
    /// Migrates the database, binds the listener (port 0 picks a free port) and prepares the
    /// server; nothing is served until [`Application::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// As [`Application::build`], with the clock every rule reads (tests pass a manual one).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let pool = database(&settings, &metrics).await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let metrics_server = match &settings.metrics_bind {
            Some(bind) => Some(metrics_server(bind, address, metrics.clone())?),
            None => None,
        };
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let session_key = session_key(&settings, &pool).await?;
        let writer = Writer::start(
            pool.clone(),
            db::Backend::of(settings.database_url.as_str()),
            &metrics,
        )?;
        let state = web::Data::new(AppState::new(
            &settings,
            pool.clone(),
            writer,
            &public_url,
            session_key.master(),
            clock,
            metrics,
        )?);
        if !state.notifier().mails() {
            let now = state.clock().now();
            crate::service::accounts::verify_all_without_mail(&pool, now).await?;
        }
        spawn_maintenance(state.clone())?;
        spawn_quiet_revocations(&state);
        Notifier::spawn(state.notifier());
        let server = http_server(
            state,
            session_key,
            public_url.starts_with("https://"),
            listener,
        )?;
        tracing::info!(%address, %public_url, "Keyturn is listening");
        Ok(Application {
            port: address.port(),
            server,
            pool,
            metrics: metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `GET /metrics` is served on, when `KEYTURN_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Serves until the server is stopped (SIGTERM, SIGINT), then folds the write-ahead log
    /// back into the database so the next start does not have to replay it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        self.server.await?;
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        let folded = db::run(&self.pool, db::checkpoint).await;
        if let Err(e) = folded {
            tracing::warn!(
                error = format!("{e:#}"),
                "the final checkpoint failed; the next start replays the log"
            );
        }
        Ok(())
    }
}

/// What `keyturn rotate-signing-key` does: adds an ID token signing key to the database under
/// `settings` (the server's own), published at once and signing after
/// `KEYTURN_SIGNING_KEY_PUBLISH_AHEAD`. It is sealed under the same master key as the server's,
/// so the command needs the server's `KEYTURN_SESSION_KEY`.
pub async fn rotate_signing_key(
    settings: &Settings,
    clock: &Clock,
) -> anyhow::Result<crate::service::openid::Rotated> {
    let pool = database(settings, &Metrics::new()).await?;
    let key = session_key(settings, &pool).await?;
    crate::state::signing_keys(settings, key.master())
        .rotate(&pool, clock.now())
        .await
}

/// Connects to the database and brings its schema up to date, or, with automatic migrations
/// off, refuses to start on an older schema.
async fn database(settings: &Settings, metrics: &Metrics) -> anyhow::Result<DbPool> {
    let database_url = settings.database_url.clone();
    let busy_timeout = settings.database_busy_timeout_ms;
    let auto_migrate = settings.auto_migrate;
    let pool_wait = metrics.db_pool_wait_seconds.clone();
    web::block(move || -> anyhow::Result<DbPool> {
        let pool = db::connect(database_url.as_str(), busy_timeout, Some(pool_wait))?;
        if auto_migrate {
            db::migrate(&pool)?;
            return Ok(pool);
        }
        // Migrations are a release step here: refuse to run against an older schema.
        let pending = db::pending_migrations(&pool)?;
        if !pending.is_empty() {
            anyhow::bail!(
                "the database lacks {} migration(s) ({}): run `keyturn migrate` first \
                 (KEYTURN_AUTO_MIGRATE=false keeps the server from applying them itself)",
                pending.len(),
                pending.join(", ")
            );
        }
        Ok(pool)
    })
    .await
    .context("database setup task failed")?
}

/// The HTTP server on `listener`: middleware (errors, security headers, request log,
/// sessions) around the machine routes and the browser pages.
fn http_server(
    state: web::Data<AppState>,
    session_key: Key,
    https: bool,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    // Over https the cookie takes the __Host- prefix: browsers then insist on Secure, Path=/
    // and no Domain, so no sibling subdomain can set or overwrite it.
    let cookie_name = if https { "__Host-keyturn" } else { "keyturn" };
    let server = HttpServer::new(move || {
        let session =
            SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                .cookie_name(cookie_name.into())
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_secure(https)
                .cookie_content_security(CookieContentSecurity::Private)
                .build();
        App::new()
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::PayloadConfig::new(64 * 1024))
            .wrap(ErrorHandlers::new().default_handler(pages::error_page))
            .wrap(security_headers(https))
            // Outermost: the request id, log line and timing cover everything inside.
            .wrap(from_fn(observe::observe))
            // Machines carry no cookie: their routes skip the session middleware.
            .configure(routes::machine)
            // Error pages render inside the session middleware, which still holds the
            // session then (the navigation shows who is logged in).
            .service(
                web::scope("")
                    .wrap(ErrorHandlers::new().default_handler(pages::error_page))
                    // Pages show emails, addresses and browsers: no cache keeps them.
                    .wrap(
                        DefaultHeaders::new()
                            .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
                    )
                    .wrap(session)
                    .configure(routes::browser),
            )
    })
    // Database work runs on each worker's blocking threads: two per worker keep both cores
    // busy, where hundreds (the default) spent their time waking each other and waiting
    // for pooled connections. bcrypt has its own threads (infra::hashing).
    .worker_max_blocking_threads(2)
    .listen(listener)
    .context("starting the HTTP server")?
    .run();
    Ok(server)
}

/// The metrics listener: `GET /metrics` and nothing else, on its own address (one worker).
fn metrics_server(
    bind: &str,
    public: std::net::SocketAddr,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(Server, u16)> {
    let listener =
        TcpListener::bind(bind).with_context(|| format!("binding KEYTURN_METRICS_BIND {bind}"))?;
    let address = listener
        .local_addr()
        .context("reading the metrics address")?;
    if address.port() == public.port() {
        anyhow::bail!("KEYTURN_METRICS_BIND must name another port than KEYTURN_BIND");
    }
    let metrics = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(observe::metrics))
    })
    .workers(1)
    .listen(listener)
    .context("starting the metrics server")?
    .run();
    tracing::info!(%address, "metrics are served at /metrics");
    Ok((server, address.port()))
}

/// Headers on every response. HSTS only when served over https: sent over http it would be
/// ignored at best, and would break a plain-http development setup at worst.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Once a minute, deletes expired tokens so the tables stay the size of what is live. A plain
/// thread: it only waits on the writer. It holds the state weakly and ends with the server, so
/// a stopped server's writer and database connections close (one process can run many
/// servers: the tests do).
fn spawn_maintenance(state: web::Data<AppState>) -> anyhow::Result<()> {
    let state = std::sync::Arc::downgrade(&state.into_inner());
    std::thread::Builder::new()
        .name("keyturn-maintenance".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
            let Some(state) = state.upgrade() else {
                return;
            };
            maintenance::purge_once(
                state.writer(),
                state.session_timeouts(),
                state.clock().now(),
            );
        })
        .context("starting the maintenance thread")?;
    Ok(())
}

/// Every two seconds, revokes the old secrets of rotations set to "Revoke when quiet" once
/// they are quiet. Holds the state weakly, like the maintenance thread.
fn spawn_quiet_revocations(state: &web::Data<AppState>) {
    let state = std::sync::Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let Some(state) = state.upgrade() else {
                return;
            };
            let now = state.clock().now();
            if let Err(e) = crate::service::secrets::revoke_quiet_secrets(state.pool(), now).await {
                tracing::warn!(error = format!("{e:#}"), "revoking quiet secrets failed");
            }
        }
    });
}

/// The session cookie key: from `KEYTURN_SESSION_KEY`, or generated once and kept in the
/// database so that sessions survive restarts and every instance on the database agrees.
async fn session_key(settings: &Settings, pool: &DbPool) -> anyhow::Result<Key> {
    if let Some(key) = &settings.session_key {
        return Ok(Key::derive_from(key.expose_secret().as_bytes()));
    }
    let https = settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    if https {
        anyhow::bail!("{}", crate::config::SESSION_KEY_REQUIRED);
    }
    let mut fresh = [0u8; 64];
    rand::Rng::fill(&mut rand::rng(), &mut fresh[..]);
    let candidate = base64::engine::general_purpose::STANDARD.encode(fresh);
    let stored = db::run(pool, move |conn| {
        db::server_settings::get_or_insert(conn, "session_key", &candidate)
            .context("storing the session key")
    })
    .await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .context("the stored session key is not base64")?;
    Key::try_from(bytes.as_slice()).context("the stored session key is too short")
}
