//! Fetching the JWKS an app serves its public keys at, and keeping it as long as the server
//! that serves it says (`Cache-Control: max-age`), within bounds.
//!
//! An attacker knows every client id, and so can make the token endpoint look for any `kid`
//! at an app's JWKS URL: an unknown `kid` refetches at most once a minute per URL, whatever
//! arrives, and requests for one URL wait for one fetch instead of each starting their own.
//! The host is resolved once and every address checked, as for webhooks, and the connection
//! goes to exactly those addresses.

use super::webhook_client;
use crate::domain::client_key::{parse_jwks, JwksRefusal};
use crate::domain::JwksUrl;
use chrono::{NaiveDateTime, TimeDelta};
use jsonwebtoken::jwk::JwkSet;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A JWKS larger than this is refused (a set of a few RSA keys is a few kilobytes).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// No URL is fetched more often than this, whatever its Cache-Control says.
pub const MIN_REFETCH: TimeDelta = TimeDelta::seconds(60);
/// Kept this long when the response says nothing about caching.
const DEFAULT_MAX_AGE: TimeDelta = TimeDelta::minutes(5);
/// And never longer than this, so a key removed from the set stops working within a day.
const MAX_MAX_AGE: TimeDelta = TimeDelta::hours(24);
/// When a refetch fails, the keys fetched before keep working this long past their freshness:
/// a key server's short outage does not stop the app's token requests.
const STALE_GRACE: TimeDelta = TimeDelta::hours(1);
/// How many URLs are remembered.
const URLS_CACHED: usize = 4096;

/// Why no keys could be read from a JWKS URL. Shown to the owner adding the URL; a client
/// whose keys cannot be fetched only gets `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("The JWKS URL's host must resolve to public addresses (or this machine's own); Keyturn does not call private or reserved ones.")]
    NotAllowed,
    #[error("Keyturn could not fetch the JWKS URL: {0}.")]
    Unreachable(String),
    #[error("The JWKS URL answered with HTTP status {0}; it must answer 200 with the key set.")]
    Status(u16),
    #[error("The JWKS URL's answer is larger than 64 KB.")]
    TooLarge,
    #[error("The JWKS URL's answer is not a JWKS with at least one signing key Keyturn accepts (RSA 2048+, EC P-256, Ed25519).")]
    NoKeys,
    #[error("The JWKS at this URL publishes private key material (\"d\"): anyone who can read it can sign as your app. Serve only the public keys, and replace the exposed ones.")]
    PrivateKeys,
    #[error("The JWKS URL was tried less than a minute ago and failed; retrying after a minute.")]
    RecentlyFailed,
    /// Any failure of a URL on this machine, told in the same words: the form must not become
    /// a way to find out which of the server's own ports answer, and how.
    #[error("Keyturn could not read a key set from this URL: it must answer a GET within 5 seconds with status 200 and a JWKS (at most 64 KB) holding at least one signing key Keyturn accepts.")]
    Unusable,
}

/// A fetched set and until when it may be used without asking again.
#[derive(Clone)]
struct Fetched {
    keys: Arc<JwkSet>,
    fresh_until: NaiveDateTime,
}

#[derive(Default, Clone)]
struct Known {
    fetched: Option<Fetched>,
    last_attempt: Option<NaiveDateTime>,
    last_error: Option<JwksError>,
}

/// What is known of one URL, and the turn to fetch it. A request whose key is known reads
/// `known` and goes on; only requests that need a fetch wait, one fetch at a time, so an
/// unknown kid sent by anyone never holds up the app's own requests.
#[derive(Default)]
struct UrlState {
    known: Mutex<Known>,
    fetching: tokio::sync::Mutex<()>,
}

impl UrlState {
    fn known(&self) -> Known {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, change: impl FnOnce(&mut Known)) {
        change(&mut self.known.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// The sets fetched by this server, per URL.
pub struct JwksCache {
    urls: Mutex<LruCache<String, Arc<UrlState>>>,
    /// KEYTURN_WEBHOOK_ALLOW_PRIVATE: development setups call private addresses.
    allow_private: bool,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksCache")
    }
}

impl JwksCache {
    pub fn new(allow_private: bool) -> Self {
        JwksCache {
            urls: Mutex::new(LruCache::new(
                NonZeroUsize::new(URLS_CACHED).unwrap_or(NonZeroUsize::MIN),
            )),
            allow_private,
        }
    }

    fn state_of(&self, url: &JwksUrl) -> Arc<UrlState> {
        let mut urls = self.urls.lock().unwrap_or_else(|e| e.into_inner());
        urls.get_or_insert(url.as_str().to_owned(), Default::default)
            .clone()
    }

    /// The keys at `url`: the cached set while it is fresh and knows `kid`, otherwise fetched
    /// again (an unknown `kid` at most once a minute).
    pub async fn keys(
        &self,
        url: &JwksUrl,
        kid: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Arc<JwkSet>, JwksError> {
        let state = self.state_of(url);
        let known = state.known();
        if let Some(keys) = usable(&known, kid, now) {
            return Ok(keys);
        }
        let turn = match state.fetching.try_lock() {
            Ok(turn) => turn,
            Err(_) => {
                // Another request is fetching: a set past its freshness that has this kid
                // still serves meanwhile, rather than making the app's requests wait.
                if let Some(keys) = stale_with(&known, kid, now) {
                    return Ok(keys);
                }
                state.fetching.lock().await
            }
        };
        let _turn = turn;
        // Whoever had the turn before may have fetched what this request needs.
        let known = state.known();
        if let Some(keys) = usable(&known, kid, now) {
            return Ok(keys);
        }
        if known.last_attempt.is_some_and(|at| now < at + MIN_REFETCH) {
            return match (&known.fetched, &known.last_error) {
                (Some(fetched), _) if now < fetched.fresh_until + STALE_GRACE => {
                    Ok(fetched.keys.clone())
                }
                (_, Some(error)) => Err(error.clone()),
                _ => Err(JwksError::RecentlyFailed),
            };
        }
        state.update(|known| known.last_attempt = Some(now));
        match self.fetch(url).await.0 {
            Ok((keys, max_age)) => {
                let keys = Arc::new(keys);
                state.update(|known| {
                    known.fetched = Some(Fetched {
                        keys: keys.clone(),
                        fresh_until: now + max_age,
                    });
                    known.last_error = None;
                });
                Ok(keys)
            }
            Err(error) => {
                tracing::warn!(
                    url = url.as_str(),
                    ?error,
                    "fetching a client's JWKS failed"
                );
                // The server said what it holds (no usable keys, or the URL is gone): the old
                // set goes now. Only an outage keeps it for a while.
                let answered = matches!(
                    error,
                    JwksError::NoKeys | JwksError::PrivateKeys | JwksError::TooLarge
                ) || matches!(error, JwksError::Status(status) if status < 500);
                state.update(|known| {
                    known.last_error = Some(error.clone());
                    if answered {
                        known.fetched = None;
                    }
                });
                match &known.fetched {
                    Some(fetched) if !answered && now < fetched.fresh_until + STALE_GRACE => {
                        Ok(fetched.keys.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// Fetches the set now (an owner adding the URL wants to know at once whether it works)
    /// and keeps it for the requests that follow.
    pub async fn fetch_now(
        &self,
        url: &JwksUrl,
        now: NaiveDateTime,
    ) -> Result<Arc<JwkSet>, JwksError> {
        let (keys, max_age) = match self.fetch(url).await {
            (Ok(fetched), _) => fetched,
            // Why a fetch from this machine failed is logged, not told: the form must not map
            // the server's own ports.
            (Err(error), true) if error != JwksError::NotAllowed => {
                tracing::info!(
                    url = url.as_str(),
                    ?error,
                    "a JWKS URL on this machine failed"
                );
                return Err(JwksError::Unusable);
            }
            (Err(error), _) => return Err(error),
        };
        let keys = Arc::new(keys);
        self.state_of(url).update(|known| {
            known.fetched = Some(Fetched {
                keys: keys.clone(),
                fresh_until: now + max_age,
            });
            known.last_attempt = Some(now);
            known.last_error = None;
        });
        Ok(keys)
    }

    /// One GET of the set, with how long it may be kept, and whether any address it resolved
    /// to is this machine's. A set without a single usable signing key is refused.
    async fn fetch(&self, url: &JwksUrl) -> (Result<(JwkSet, TimeDelta), JwksError>, bool) {
        let parsed = url.url();
        let Some(host) = parsed.host_str() else {
            return (Err(JwksError::NotAllowed), false);
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let Some(port) = parsed.port_or_known_default() else {
            return (Err(JwksError::NotAllowed), false);
        };
        let Some(addrs) = webhook_client::lookup(host.clone(), port).await else {
            let unresolved = JwksError::Unreachable("its host name does not resolve".into());
            return (Err(unresolved), false);
        };
        let on_this_machine = addrs.iter().any(|a| a.ip().is_loopback());
        (self.fetch_from(url, &host, &addrs).await, on_this_machine)
    }

    async fn fetch_from(
        &self,
        url: &JwksUrl,
        host: &str,
        addrs: &[std::net::SocketAddr],
    ) -> Result<(JwkSet, TimeDelta), JwksError> {
        let parsed = url.url();
        let allowed = |ip: std::net::IpAddr| {
            self.allow_private || ip.is_loopback() || webhook_client::is_public(ip)
        };
        // Plain http only to this machine (the URL's form was checked; its answer is too).
        let plain_http = parsed.scheme() == "http";
        if addrs
            .iter()
            .any(|a| !allowed(a.ip()) || (plain_http && !a.ip().is_loopback()))
        {
            return Err(JwksError::NotAllowed);
        }
        let client = reqwest::Client::builder()
            .resolve_to_addrs(host, addrs)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .user_agent("Keyturn-JWKS/1")
            .build()
            .map_err(|e| JwksError::Unreachable(format!("building the HTTP client: {e}")))?;
        let response = client
            .get(parsed.clone())
            .header("accept", "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| JwksError::Unreachable(describe(&e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map_or(DEFAULT_MAX_AGE, cache_lifetime);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge);
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JwksError::Unreachable(describe(&e)))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_jwks(&body).map_err(|refused| match refused {
            JwksRefusal::NotAJwks => JwksError::NoKeys,
            JwksRefusal::PrivateKeys => JwksError::PrivateKeys,
        })?;
        if !keys
            .keys
            .iter()
            .any(|k| crate::domain::client_key::verifier(k).is_some())
        {
            return Err(JwksError::NoKeys);
        }
        Ok((keys, max_age))
    }
}

/// The cached set past its freshness but within the grace, if it has `kid`: what serves while
/// another request refetches.
fn stale_with(known: &Known, kid: Option<&str>, now: NaiveDateTime) -> Option<Arc<JwkSet>> {
    let fetched = known.fetched.as_ref()?;
    let knows_kid = kid.is_none_or(|kid| fetched.keys.find(kid).is_some());
    (knows_kid && now < fetched.fresh_until + STALE_GRACE).then(|| fetched.keys.clone())
}

/// The cached set, if it is fresh and has `kid`, or if it is fresh and a fetch for an unknown
/// kid was tried within the last minute (the set stays what it is until then).
fn usable(known: &Known, kid: Option<&str>, now: NaiveDateTime) -> Option<Arc<JwkSet>> {
    let fetched = known.fetched.as_ref()?;
    let knows_kid = kid.is_none_or(|kid| fetched.keys.find(kid).is_some());
    let recently_tried = known.last_attempt.is_some_and(|at| now < at + MIN_REFETCH);
    (now < fetched.fresh_until && (knows_kid || recently_tried)).then(|| fetched.keys.clone())
}

/// A reqwest error in a few words, without the URL (the owner typed it; the log has it).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer within 5 seconds".into()
    } else if e.is_connect() {
        "the connection failed".into()
    } else {
        "the request failed".into()
    }
}

/// How long a response may be kept, from its Cache-Control: `max-age`, `no-cache` and
/// `no-store` honoured within [`MIN_REFETCH`] and [`MAX_MAX_AGE`].
fn cache_lifetime(header: &str) -> TimeDelta {
    let mut lifetime = DEFAULT_MAX_AGE;
    for directive in header.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return MIN_REFETCH;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            let seconds = seconds.trim_matches('"');
            lifetime = if !seconds.is_empty() && seconds.bytes().all(|b| b.is_ascii_digit()) {
                // A number too large for any clock means "long" (RFC 9111 §1.2.2): the maximum.
                seconds
                    .parse::<i64>()
                    .ok()
                    .and_then(TimeDelta::try_seconds)
                    .unwrap_or(MAX_MAX_AGE)
            } else {
                MIN_REFETCH
            };
        }
    }
    lifetime.clamp(MIN_REFETCH, MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_honoured_within_bounds() {
        assert_eq!(
            cache_lifetime("public, max-age=600"),
            TimeDelta::seconds(600)
        );
        assert_eq!(cache_lifetime("max-age=5"), MIN_REFETCH);
        assert_eq!(cache_lifetime("max-age=9999999"), MAX_MAX_AGE);
        assert_eq!(cache_lifetime("no-store"), MIN_REFETCH);
        assert_eq!(cache_lifetime("max-age=600, no-cache"), MIN_REFETCH);
        assert_eq!(cache_lifetime("private"), DEFAULT_MAX_AGE);
        assert_eq!(cache_lifetime("max-age=abc"), MIN_REFETCH);
        assert_eq!(cache_lifetime("max-age=-5"), MIN_REFETCH);
        assert_eq!(cache_lifetime("max-age=9223372036854776"), MAX_MAX_AGE);
        assert_eq!(
            cache_lifetime("max-age=99999999999999999999999"),
            MAX_MAX_AGE
        );
    }
}
