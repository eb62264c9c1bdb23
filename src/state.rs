//! What every handler shares: the database, the clock, the caches and the settings requests
//! read. Built once by `startup`; handlers take it as `web::Data<AppState>`. The fields are
//! private so that what a handler may reach is the list of accessors below.

use crate::config::{Settings, TrustedProxies};
use crate::db::lookups::SecretLookups;
use crate::db::writer::Writer;
use crate::db::{Backend, DbPool};
use crate::domain::{AuthenticatorKeys, SecretProofKey, TokenKey, WebhookKeys};
use crate::infra::cache::GenerationCache;
use crate::infra::clock::Clock;
use crate::infra::hashing::Bcrypt;
use crate::infra::jwks::JwksCache;
use crate::infra::mail::Mailer;
use crate::infra::metrics::Metrics;
use crate::infra::throttle::Throttles;
use crate::service::apps::AppPages;
use crate::service::notifications::Notifier;
use crate::service::openid::SigningKeys;
use crate::service::passkeys::Passkeys;
use crate::service::policy::CachedPolicy;
use crate::service::review::ReviewCache;
use crate::service::secrets::{GenerationTurns, SecretChecks};
use crate::service::sessions::Timeouts;
use actix_web::{web, HttpRequest};
use anyhow::Context;
use chrono::TimeDelta;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// The ID token signing keys under `settings`: for a server, and for
/// `keyturn rotate-signing-key`. An ID token lives as long as an access token.
pub fn signing_keys(settings: &Settings, master_key: &[u8]) -> SigningKeys {
    SigningKeys::new(
        master_key,
        TimeDelta::seconds(settings.signing_key_publish_ahead_seconds),
        TimeDelta::seconds(settings.access_token_ttl_seconds),
    )
}

pub struct AppState {
    pool: DbPool,
    writer: Writer,
    bcrypt: Bcrypt,
    public_url: String,
    public_origin: String,
    access_token_ttl_seconds: i64,
    clock: Clock,
    secret_checks: SecretChecks,
    generation_turns: GenerationTurns,
    token_key: TokenKey,
    review_cache: Arc<ReviewCache>,
    app_pages: Arc<AppPages>,
    throttles: Throttles,
    trusted_proxies: TrustedProxies,
    refresh_token_max_age: TimeDelta,
    session_timeouts: Timeouts,
    notifier: Arc<Notifier>,
    policy: CachedPolicy,
    authenticator_keys: AuthenticatorKeys,
    passkeys: Passkeys,
    jwks: JwksCache,
    metrics: Arc<Metrics>,
    signing_keys: SigningKeys,
}

impl AppState {
    /// The state of the server that received `req`: every app `startup` builds carries it.
    pub fn of(req: &HttpRequest) -> anyhow::Result<web::Data<AppState>> {
        req.app_data::<web::Data<AppState>>()
            .cloned()
            .context("the application state is missing")
    }

    /// `public_url` is the URL people reach the server at; `master_key` is the session key's
    /// master, from which the client token signing key is derived.
    pub fn new(
        settings: &Settings,
        pool: DbPool,
        writer: Writer,
        public_url: &str,
        master_key: &[u8],
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let backend = Backend::of(settings.database_url.as_str());
        let mailer = match &settings.smtp_url {
            Some(url) => Some(Mailer::new(url.expose_secret(), &settings.mail_from)?),
            None => {
                tracing::info!("KEYTURN_SMTP_URL is not set: no mail is sent (webhooks still are)");
                None
            }
        };
        let notifier = Arc::new(Notifier::new(
            pool.clone(),
            clock.clone(),
            mailer,
            WebhookKeys::derive(master_key),
            settings.webhook_allow_private,
            public_url.trim_end_matches('/').to_owned(),
        ));
        Ok(AppState {
            notifier,
            policy: CachedPolicy::default(),
            authenticator_keys: AuthenticatorKeys::derive(master_key),
            passkeys: Passkeys::new(public_url, master_key),
            jwks: JwksCache::new(settings.webhook_allow_private),
            bcrypt: Bcrypt::new(settings.bcrypt_cost).observed(metrics.clone()),
            public_origin: url::Url::parse(public_url)
                .context("KEYTURN_PUBLIC_URL is not a URL")?
                .origin()
                .ascii_serialization(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            access_token_ttl_seconds: settings.access_token_ttl_seconds,
            clock,
            // Proofs only under a key from the environment: a generated master key lives in
            // the database, where the proofs' key must never be.
            secret_checks: SecretChecks::new(
                writer.clone(),
                (backend == Backend::Postgres)
                    .then(|| SecretLookups::start(pool.clone(), 2))
                    .transpose()?,
                settings
                    .session_key
                    .is_some()
                    .then(|| SecretProofKey::derive(master_key)),
                metrics.clone(),
            ),
            generation_turns: GenerationTurns::default(),
            token_key: TokenKey::derive(master_key),
            signing_keys: signing_keys(settings, master_key),
            review_cache: Arc::new(GenerationCache::new(64)),
            app_pages: Arc::new(GenerationCache::new(4096)),
            // One process on SQLite counts in memory; instances on PostgreSQL share the counts.
            throttles: Throttles::new(
                settings.throttle_failures,
                (backend == Backend::Postgres).then(|| pool.clone()),
                &metrics,
            ),
            trusted_proxies: settings.trusted_proxies.clone(),
            refresh_token_max_age: TimeDelta::seconds(settings.refresh_token_max_age_seconds),
            session_timeouts: Timeouts {
                idle: TimeDelta::seconds(settings.session_idle_seconds),
                max_age: TimeDelta::seconds(settings.session_max_age_seconds),
            },
            pool,
            writer,
            metrics,
        })
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Group commit for the token endpoint's writes.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// bcrypt's cost and threads: log-in and clients in one lane, sign-ups in another.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn bcrypt(&self) -> &Bcrypt {
        &self.bcrypt
    }

    /// The public URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The scheme, host and port of the public URL: what a browser's `Origin` header says.
    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    pub fn access_token_ttl_seconds(&self) -> i64 {
        self.access_token_ttl_seconds
    }

    /// The clock every rule reads (tests pass a manual one).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Use counts and proven secrets kept in memory between requests.
    pub fn secret_checks(&self) -> &SecretChecks {
        &self.secret_checks
    }

    pub fn generation_turns(&self) -> &GenerationTurns {
        &self.generation_turns
    }

    /// Signs client credentials access tokens.
    pub fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    /// The keys that sign ID tokens; the opened ones are kept here, per server.
    pub fn signing_keys(&self) -> &SigningKeys {
        &self.signing_keys
    }

    /// Admin review pages, reused until the data changes.
    pub fn review_cache(&self) -> &Arc<ReviewCache> {
        &self.review_cache
    }

    /// App pages' reads, reused until the data changes.
    pub fn app_pages(&self) -> &Arc<AppPages> {
        &self.app_pages
    }

    /// Attempts at log-in, client authentication and sign-up.
    pub fn throttles(&self) -> &Throttles {
        &self.throttles
    }

    /// Load balancers whose forwarded headers are believed.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// How long after the first authorization a user's refresh tokens keep working.
    pub fn refresh_token_max_age(&self) -> TimeDelta {
        self.refresh_token_max_age
    }

    /// The secret policy, re-read every few seconds (for the token endpoint's hot path).
    pub fn policy(&self) -> &CachedPolicy {
        &self.policy
    }

    /// Mail and webhooks: the worker, and the keys that sign webhooks.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }

    /// Derives each account's authenticator-app key.
    pub fn authenticator_keys(&self) -> &AuthenticatorKeys {
        &self.authenticator_keys
    }

    /// This server as a WebAuthn relying party.
    /// The JWKS fetched from apps' JWKS URLs.
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    pub fn passkeys(&self) -> &Passkeys {
        &self.passkeys
    }

    /// How long a browser session may sit unused, and how long it may live however busy.
    pub fn session_timeouts(&self) -> Timeouts {
        self.session_timeouts
    }
}
