//! Settings, read once at start-up from the environment (and a `.env` file when present).
//!
//! Every setting is documented here and listed in `.env.example`.

use anyhow::{bail, Context};
use secrecy::SecretString;

/// Everything the server needs to start. Secrets are wrapped so `Debug` prints `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `KEYTURN_BIND`: address and port to listen on. Port 0 picks a free port (tests).
    pub bind: String,
    /// `DATABASE_URL`: path of the SQLite file, created and migrated on first start, or a
    /// `postgres://` URL of a PostgreSQL database (docs/scaling.md).
    pub database_url: DatabaseUrl,
    /// `KEYTURN_BCRYPT_COST`: bcrypt work factor for passwords and client secrets.
    pub bcrypt_cost: u32,
    /// `KEYTURN_PUBLIC_URL`: the URL users and clients reach us at; decides the `Secure` cookie
    /// flag and the origin that state-changing browser requests must come from.
    /// `None` means `http://<bind>` with the port actually bound.
    pub public_url: Option<String>,
    /// `KEYTURN_SESSION_KEY`: at least 32 bytes used to sign and encrypt session cookies.
    /// `None` means a random key generated once and kept in the database, which only plain-http
    /// development may do: with an https `public_url` the server refuses to start without it.
    pub session_key: Option<SecretString>,
    /// `KEYTURN_ACCESS_TOKEN_TTL`: lifetime of issued access tokens, in seconds.
    pub access_token_ttl_seconds: i64,
    /// `KEYTURN_SIGNING_KEY_PUBLISH_AHEAD`: seconds a new ID token signing key
    /// (`keyturn rotate-signing-key`) is published at `/oauth/jwks` before it signs, so
    /// verifiers that cache the key set know it before they see its first token. 0 signs at once.
    pub signing_key_publish_ahead_seconds: i64,
    /// `KEYTURN_THROTTLE_FAILURES`: password checks per account, or secret checks per (client,
    /// secret), allowed in 15 minutes before HTTP 429; five times as many per address.
    pub throttle_failures: usize,
    /// `KEYTURN_SESSION_IDLE_TIMEOUT`: seconds without a request after which a session ends.
    pub session_idle_seconds: i64,
    /// `KEYTURN_SESSION_MAX_AGE`: seconds after login after which a session ends regardless.
    pub session_max_age_seconds: i64,
    /// `KEYTURN_DATABASE_BUSY_TIMEOUT`: milliseconds a write waits for the database lock before
    /// it fails (and is reported as failed).
    pub database_busy_timeout_ms: u32,
    /// `KEYTURN_TRUSTED_PROXIES`: comma-separated addresses or CIDRs of the load balancers in
    /// front of Keyturn. Only for a peer in this list is the client's address taken from
    /// `X-Forwarded-For` (and the host from `X-Forwarded-Host`); empty by default.
    pub trusted_proxies: TrustedProxies,
    /// `KEYTURN_REFRESH_TOKEN_MAX_AGE`: seconds after the first authorization after which a
    /// user's refresh tokens stop working, however often they were rotated.
    pub refresh_token_max_age_seconds: i64,
    /// `KEYTURN_AUTO_MIGRATE`: whether `serve` applies pending migrations on start. With
    /// `false` it refuses to start on an older schema; `keyturn migrate` applies them.
    pub auto_migrate: bool,
    /// `KEYTURN_SMTP_URL`: where mail is sent (`smtp://host:port`, `smtps://user:pass@host`,
    /// `smtp://host:port?tls=required`). Unset: no mail (webhooks still work).
    pub smtp_url: Option<SecretString>,
    /// `KEYTURN_MAIL_FROM`: the sender of Keyturn's mail.
    pub mail_from: String,
    /// `KEYTURN_WEBHOOK_ALLOW_PRIVATE`: whether webhooks may call loopback and private addresses
    /// (development and tests only).
    pub webhook_allow_private: bool,
    /// `KEYTURN_METRICS_BIND`: the address `GET /metrics` (Prometheus text format) is served on,
    /// never the public listener's. Unset: no metrics endpoint.
    pub metrics_bind: Option<String>,
}

/// `DATABASE_URL`, whose `Debug` hides a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Into<String>> From<S> for DatabaseUrl {
    fn from(url: S) -> Self {
        DatabaseUrl(url.into())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ok(mut url) = url::Url::parse(&self.0) else {
            return write!(f, "{:?}", self.0); // a SQLite path
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("[REDACTED]"));
        }
        // libpq also takes the password as a parameter.
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| match name.as_ref() {
                "password" => (name.into_owned(), "[REDACTED]".to_owned()),
                _ => (name.into_owned(), value.into_owned()),
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        write!(f, "{:?}", url.as_str())
    }
}

impl Settings {
    /// Defaults suitable for a developer machine: `cargo run --release` needs nothing else.
    pub fn defaults() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: DatabaseUrl::from("keyturn.db"),
            bcrypt_cost: 12,
            public_url: None,
            session_key: None,
            access_token_ttl_seconds: 3600,
            signing_key_publish_ahead_seconds: 3600,
            throttle_failures: 10,
            session_idle_seconds: 30 * 60,
            session_max_age_seconds: 12 * 60 * 60,
            database_busy_timeout_ms: 5000,
            trusted_proxies: TrustedProxies::default(),
            refresh_token_max_age_seconds: 90 * 24 * 60 * 60,
            auto_migrate: true,
            smtp_url: None,
            mail_from: "Keyturn <keyturn@localhost>".to_owned(),
            webhook_allow_private: false,
            metrics_bind: None,
        }
    }

    /// Reads `.env` (if present) and then the process environment over the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        // A missing .env file is the normal case; a malformed one is worth stopping for.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(e).context("reading .env"),
        }
        let mut settings = Settings::defaults();
        if let Some(bind) = var("KEYTURN_BIND") {
            settings.bind = bind;
        }
        if let Some(url) = var("DATABASE_URL") {
            settings.database_url = DatabaseUrl::from(url);
        }
        if let Some(cost) = var("KEYTURN_BCRYPT_COST") {
            let cost: u32 = cost
                .parse()
                .context("KEYTURN_BCRYPT_COST must be a whole number")?;
            if !(4..=31).contains(&cost) {
                bail!("KEYTURN_BCRYPT_COST must be between 4 and 31, got {cost}");
            }
            settings.bcrypt_cost = cost;
        }
        if let Some(url) = var("KEYTURN_PUBLIC_URL") {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("KEYTURN_PUBLIC_URL must start with http:// or https://");
            }
            settings.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        if let Some(key) = var("KEYTURN_SESSION_KEY") {
            if key.len() < 32 {
                bail!("KEYTURN_SESSION_KEY must be at least 32 bytes long");
            }
            settings.session_key = Some(SecretString::from(key));
        }
        if let Some(ttl) = var("KEYTURN_ACCESS_TOKEN_TTL") {
            let ttl: i64 = ttl
                .parse()
                .context("KEYTURN_ACCESS_TOKEN_TTL must be a whole number of seconds")?;
            if !(60..=86_400).contains(&ttl) {
                bail!("KEYTURN_ACCESS_TOKEN_TTL must be between 60 and 86400 seconds");
            }
            settings.access_token_ttl_seconds = ttl;
        }
        if let Some(s) = var("KEYTURN_SIGNING_KEY_PUBLISH_AHEAD") {
            settings.signing_key_publish_ahead_seconds = s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=30 * 24 * 3600).contains(n))
                .context("KEYTURN_SIGNING_KEY_PUBLISH_AHEAD must be a whole number of seconds from 0 to 2592000")?;
        }
        if let Some(n) = var("KEYTURN_THROTTLE_FAILURES") {
            settings.throttle_failures = n
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .context("KEYTURN_THROTTLE_FAILURES must be a whole number from 1")?;
        }
        if let Some(ms) = var("KEYTURN_DATABASE_BUSY_TIMEOUT") {
            settings.database_busy_timeout_ms = ms
                .trim()
                .parse()
                .context("KEYTURN_DATABASE_BUSY_TIMEOUT must be a whole number of milliseconds")?;
        }
        if let Some(s) = var("KEYTURN_SESSION_IDLE_TIMEOUT") {
            settings.session_idle_seconds = positive(&s, "KEYTURN_SESSION_IDLE_TIMEOUT")?;
        }
        if let Some(flag) = var("KEYTURN_AUTO_MIGRATE") {
            settings.auto_migrate = boolean(&flag, "KEYTURN_AUTO_MIGRATE")?;
        }
        if let Some(flag) = var("KEYTURN_WEBHOOK_ALLOW_PRIVATE") {
            settings.webhook_allow_private = boolean(&flag, "KEYTURN_WEBHOOK_ALLOW_PRIVATE")?;
        }
        if let Some(url) = var("KEYTURN_SMTP_URL") {
            settings.smtp_url = Some(SecretString::from(url));
        }
        if let Some(address) = var("KEYTURN_METRICS_BIND") {
            settings.metrics_bind = Some(address);
        }
        if let Some(from) = var("KEYTURN_MAIL_FROM") {
            settings.mail_from = from;
        }
        if let Some(list) = var("KEYTURN_TRUSTED_PROXIES") {
            settings.trusted_proxies = TrustedProxies::parse(&list)?;
        }
        if let Some(s) = var("KEYTURN_REFRESH_TOKEN_MAX_AGE") {
            settings.refresh_token_max_age_seconds = positive(&s, "KEYTURN_REFRESH_TOKEN_MAX_AGE")?;
        }
        if let Some(s) = var("KEYTURN_SESSION_MAX_AGE") {
            settings.session_max_age_seconds = positive(&s, "KEYTURN_SESSION_MAX_AGE")?;
        }
        Ok(settings)
    }
}

/// Why an https deployment must bring its own key, and how to make one.
pub const SESSION_KEY_REQUIRED: &str =
    "KEYTURN_SESSION_KEY must be set when KEYTURN_PUBLIC_URL is https://: \
without it the key that signs sessions and client tokens is kept in the database, and anyone \
holding a copy of the database (a backup) could forge admin sessions and access tokens. \
Make one with `openssl rand -base64 48` and keep it out of the database and its backups.";

/// true/false, 1/0, yes/no.
fn boolean(value: &str, name: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => bail!("{name} must be true or false"),
    }
}

/// The proxies whose forwarded headers are believed (`KEYTURN_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs; a bare address is a network of one.
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let mut networks = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let network = match item.parse::<ipnet::IpNet>() {
                Ok(network) => network,
                Err(_) => item
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
                    .with_context(|| {
                        format!("KEYTURN_TRUSTED_PROXIES: {item:?} is not an address or CIDR")
                    })?,
            };
            networks.push(network);
        }
        Ok(TrustedProxies(networks))
    }

    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
    /// address of `X-Forwarded-For` (every such header, in order) that is not itself a trusted
    /// proxy. Anything unreadable stops the walk at the last hop that could be believed.
    pub fn client_address<'a>(
        &self,
        peer: std::net::IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> std::net::IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|value| value.split(',')).collect();
        let mut believed = peer;
        for hop in hops.iter().rev() {
            let Some(address) = parse_hop(hop.trim()) else {
                return believed;
            };
            if !self.contains(address) {
                return address;
            }
            believed = address;
        }
        believed
    }
}

/// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
fn canonical(address: std::net::IpAddr) -> std::net::IpAddr {
    match address {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    hop.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

fn positive(raw: &str, name: &str) -> anyhow::Result<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("{name} must be a whole number of seconds above 0"))
}

/// An unset or empty variable both mean "use the default".
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod trusted_proxies_tests {
    use super::TrustedProxies;

    #[test]
    fn only_a_trusted_peer_is_believed_and_the_right_most_untrusted_hop_wins() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let of = |peer: &str, xff: &[&str]| {
            proxies
                .client_address(ip(peer), xff.iter().copied())
                .to_string()
        };
        assert_eq!(of("203.0.113.9", &["1.2.3.4"]), "203.0.113.9");
        assert_eq!(of("10.1.2.3", &["1.2.3.4"]), "1.2.3.4");
        assert_eq!(of("10.1.2.3", &["6.6.6.6, 1.2.3.4, 10.9.9.9"]), "1.2.3.4");
        assert_eq!(of("10.1.2.3", &["6.6.6.6", "1.2.3.4:5678"]), "1.2.3.4");
        assert_eq!(of("10.1.2.3", &["1.2.3.4, evil\\host"]), "10.1.2.3");
        assert_eq!(of("10.1.2.3", &[]), "10.1.2.3");
        assert_eq!(of("::ffff:10.1.2.3", &["1.2.3.4"]), "1.2.3.4");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}

#[cfg(test)]
mod database_url_tests {
    use super::DatabaseUrl;

    #[test]
    fn debug_hides_a_postgres_password_wherever_the_url_carries_it() {
        let in_userinfo = DatabaseUrl::from("postgres://keyturn:hunter2@db.internal/keyturn");
        let in_query =
            DatabaseUrl::from("postgres://db.internal/keyturn?password=hunter2&sslmode=require");
        let sqlite = DatabaseUrl::from("keyturn.db");

        for url in [&in_userinfo, &in_query] {
            let shown = format!("{url:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("db.internal"), "{shown}");
        }
        assert!(format!("{in_query:?}").contains("sslmode=require"));
        assert_eq!(format!("{sqlite:?}"), "\"keyturn.db\"");
    }
}
