//! The heart of Keyturn: generating, verifying, rotating and revoking client secrets.
//!
//! Rules kept here and nowhere else:
//! - a new secret never revokes an old one by itself, and an app has at most [`MAX_ACTIVE`] live
//!   secrets, checked inside an immediate (write-locked) transaction and again by a trigger;
//! - revocation is immediate and final, and a scheduled revocation takes effect at its moment
//!   exactly: every verification reads the secret's status and schedule from the database;
//! - plaintext exists only in the [`ClientSecret`] handed back once by [`generate_secret`];
//!   the database holds a bcrypt hash and the last four characters;
//! - "Last Used" (with the address and client it came from) is written at most once a minute
//!   per secret unless the address or client changes, and uses are counted in memory and
//!   flushed with that write, never one write per request;
//! - every change is recorded in the audit log, in the same transaction.

use crate::db::writer::Writer;
use crate::db::{self, secrets, secrets::SecretRow, DbPool};
use crate::domain::{ClientSecret, RequestOrigin, SecretHint, SecretLabel, SecretStatus};
use crate::infra::hashing;
use crate::infra::throttle::{ThrottleError, Throttles};
use crate::service::audit::{self, Actor};
use anyhow::Context;
use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// Two live secrets are enough to rotate without downtime; more would hide forgotten ones.
pub const MAX_ACTIVE: i64 = 2;
pub const MAX_ACTIVE_MESSAGE: &str =
    "You can only have a maximum of 2 active secrets. Revoke one before generating another.";
/// How stale the stored "Last Used" may get before a use writes it again.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{MAX_ACTIVE_MESSAGE}")]
    TooManyActive,
    /// The same confirmation form was submitted twice (a reload, a double click).
    #[error("This confirmation was already used, and its secret was shown once. If you did not copy it, revoke it and generate a new one.")]
    AlreadyGenerated,
    #[error("Secret not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DieselError> for SecretError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.message().contains("request_nonce") =>
            {
                SecretError::AlreadyGenerated
            }
            // The trigger that backs up the transaction's own check.
            DieselError::DatabaseError(_, info)
                if info.message().contains("max_two_active_secrets") =>
            {
                SecretError::TooManyActive
            }
            _ => SecretError::Unexpected(anyhow::Error::from(e).context("client secret query")),
        }
    }
}

/// When the secret that is live now should stop, once a new one is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldSecretSchedule {
    Manually,
    InOneHour,
    InOneDay,
    InSevenDays,
}

impl OldSecretSchedule {
    pub const ALL: [OldSecretSchedule; 4] = [
        OldSecretSchedule::Manually,
        OldSecretSchedule::InOneHour,
        OldSecretSchedule::InOneDay,
        OldSecretSchedule::InSevenDays,
    ];

    pub fn parse(raw: Option<&str>) -> Option<Self> {
        match raw.unwrap_or("manual") {
            "" | "manual" => Some(OldSecretSchedule::Manually),
            "1h" => Some(OldSecretSchedule::InOneHour),
            "24h" => Some(OldSecretSchedule::InOneDay),
            "7d" => Some(OldSecretSchedule::InSevenDays),
            _ => None,
        }
    }

    pub fn form_value(self) -> &'static str {
        match self {
            OldSecretSchedule::Manually => "manual",
            OldSecretSchedule::InOneHour => "1h",
            OldSecretSchedule::InOneDay => "24h",
            OldSecretSchedule::InSevenDays => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OldSecretSchedule::Manually => "manually",
            OldSecretSchedule::InOneHour => "in 1 hour",
            OldSecretSchedule::InOneDay => "in 24 hours",
            OldSecretSchedule::InSevenDays => "in 7 days",
        }
    }

    fn delay(self) -> Option<TimeDelta> {
        match self {
            OldSecretSchedule::Manually => None,
            OldSecretSchedule::InOneHour => Some(TimeDelta::hours(1)),
            OldSecretSchedule::InOneDay => Some(TimeDelta::hours(24)),
            OldSecretSchedule::InSevenDays => Some(TimeDelta::days(7)),
        }
    }
}

/// What the generate confirmation asked for.
#[derive(Debug)]
pub struct GenerateRequest {
    pub app_id: i32,
    /// From the confirmation form; makes a resubmission harmless.
    pub request_nonce: Option<String>,
    pub label: SecretLabel,
    pub old_secret: OldSecretSchedule,
}

/// A secret just created: the plaintext to show once, and the stored row.
#[derive(Debug)]
pub struct GeneratedSecret {
    pub plaintext: ClientSecret,
    pub row: SecretRow,
}

/// Creates a secret unless the app already has [`MAX_ACTIVE`] live ones, and schedules the
/// revocation of the live one if asked.
pub async fn generate_secret(
    pool: &DbPool,
    bcrypt: &hashing::Bcrypt,
    request: GenerateRequest,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<GeneratedSecret, SecretError> {
    let app_id = request.app_id;
    // Cheap early answer, so a full app does not cost a bcrypt; the transaction below decides.
    if count_active(pool, app_id, now).await? >= MAX_ACTIVE {
        return Err(SecretError::TooManyActive);
    }
    let plaintext = ClientSecret::generate();
    let hash = hashing::hash(
        bcrypt,
        plaintext.expose().to_owned(),
        hashing::Lane::Interactive,
    )
    .await?;
    let public_id = plaintext.public_id().to_owned();
    let hint = plaintext.hint();
    let row = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            secrets::settle_expired(conn, app_id, now)?;
            if secrets::count_active(conn, app_id, now)? >= MAX_ACTIVE {
                return Err(SecretError::TooManyActive);
            }
            let scheduled = match request.old_secret.delay() {
                Some(delay) => secrets::schedule_live(conn, app_id, now + delay)?,
                None => 0,
            };
            let row = secrets::insert(
                conn,
                &secrets::NewSecret {
                    app_id,
                    public_id: &public_id,
                    secret_hash: &hash,
                    hint: hint.last_four(),
                    created_at: now,
                    request_nonce: request.request_nonce.as_deref(),
                    label: request.label.as_str(),
                    created_by: actor.user_id,
                },
            )?;
            let mut detail = format!("Generated {hint}");
            if !request.label.as_str().is_empty() {
                detail.push_str(&format!(" ({})", request.label.as_str()));
            }
            if scheduled > 0 {
                detail.push_str(&format!(
                    "; the older secret will be revoked {}",
                    request.old_secret.label()
                ));
            }
            audit::record(
                conn,
                &actor,
                "secret.generated",
                Some(app_id),
                Some(row.id),
                &detail,
                now,
            )?;
            Ok(row)
        })
    })
    .await?;
    Ok(GeneratedSecret { plaintext, row })
}

/// What a revoke did.
#[derive(Debug)]
pub enum Revocation {
    Revoked(SecretRow),
    /// Revoking twice (or after its schedule ended it) changes nothing.
    AlreadyRevoked(SecretRow),
}

/// Revokes one of `app_id`'s secrets, effective for the very next authentication. Tokens
/// issued with it stay valid (rotation must not log users out) unless `also_tokens` is set,
/// for the leaked-secret case.
pub async fn revoke_secret(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
    also_tokens: bool,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<Revocation, SecretError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            secrets::settle_expired(conn, app_id, now)?;
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            if row.revoked_at.is_some() {
                return Ok(Revocation::AlreadyRevoked(row));
            }
            secrets::revoke(conn, row.id, now)?;
            if also_tokens {
                db::tokens::revoke_issued_with_secret(conn, row.id, now)?;
            }
            let hint = SecretHint::from_stored(row.hint.clone());
            let detail = if also_tokens {
                format!("Revoked {hint} and every token issued with it")
            } else {
                format!("Revoked {hint}")
            };
            audit::record(
                conn,
                &actor,
                "secret.revoked",
                Some(app_id),
                Some(row.id),
                &detail,
                now,
            )?;
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            Ok(Revocation::Revoked(row))
        })
    })
    .await
}

/// Cancels a pending scheduled revocation; `false` if none was pending.
pub async fn cancel_schedule(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<bool, SecretError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            let cancelled = secrets::cancel_schedule(conn, row.id, now)?;
            if cancelled {
                let detail = format!(
                    "Cancelled the scheduled revocation of {}",
                    SecretHint::from_stored(row.hint)
                );
                audit::record(
                    conn,
                    &actor,
                    "secret.schedule_cancelled",
                    Some(app_id),
                    Some(row.id),
                    &detail,
                    now,
                )?;
            }
            Ok(cancelled)
        })
    })
    .await
}

pub async fn set_label(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
    label: SecretLabel,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<(), SecretError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            secrets::set_label(conn, row.id, label.as_str())?;
            let detail = format!(
                "Labelled {} \"{}\"",
                SecretHint::from_stored(row.hint),
                label.as_str()
            );
            audit::record(
                conn,
                &actor,
                "secret.labelled",
                Some(app_id),
                Some(row.id),
                &detail,
                now,
            )?;
            Ok(())
        })
    })
    .await
}

/// The email of whoever generated the secret, if known.
pub async fn creator_email(pool: &DbPool, row: &SecretRow) -> Result<Option<String>, SecretError> {
    let Some(user_id) = row.created_by else {
        return Ok(None);
    };
    db::run(pool, move |conn| {
        Ok(db::users::find(conn, user_id)?.map(|u| u.email))
    })
    .await
}

/// How many of the app's secrets authenticate at `now`.
pub async fn count_active(
    pool: &DbPool,
    app_id: i32,
    now: NaiveDateTime,
) -> Result<i64, SecretError> {
    db::run(pool, move |conn| {
        Ok(secrets::count_active(conn, app_id, now)?)
    })
    .await
}

/// One of the app's secrets.
pub async fn find_secret(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
) -> Result<SecretRow, SecretError> {
    db::run(pool, move |conn| {
        secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)
    })
    .await
}

/// Uses per secret and hour that have not reached the database yet. Flushed with the next
/// "Last Used" write, so counting costs no write per request; a crash loses at most about a
/// minute of counts, never a "Last Used" time older than that.
#[derive(Debug, Default)]
pub struct UsageCounter(Mutex<HashMap<(i32, NaiveDateTime), i32>>);

impl UsageCounter {
    fn count(&self, secret_id: i32, now: NaiveDateTime) {
        if let Ok(mut pending) = self.0.lock() {
            *pending.entry((secret_id, hour_of(now))).or_default() += 1;
        }
    }

    fn take(&self, secret_id: i32) -> Vec<(NaiveDateTime, i32)> {
        let Ok(mut pending) = self.0.lock() else {
            return Vec::new();
        };
        let hours: Vec<NaiveDateTime> = pending
            .keys()
            .filter(|(id, _)| *id == secret_id)
            .map(|(_, h)| *h)
            .collect();
        hours
            .into_iter()
            .filter_map(|hour| pending.remove(&(secret_id, hour)).map(|n| (hour, n)))
            .collect()
    }

    fn give_back(&self, secret_id: i32, counts: Vec<(NaiveDateTime, i32)>) {
        if let Ok(mut pending) = self.0.lock() {
            for (hour, n) in counts {
                *pending.entry((secret_id, hour)).or_default() += n;
            }
        }
    }

    fn pending_since(&self, secret_id: i32, since: NaiveDateTime) -> i64 {
        self.0
            .lock()
            .map(|pending| {
                pending
                    .iter()
                    .filter(|((id, hour), _)| *id == secret_id && *hour >= since)
                    .map(|(_, n)| i64::from(*n))
                    .sum()
            })
            .unwrap_or(0)
    }
}

fn hour_of(t: NaiveDateTime) -> NaiveDateTime {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

/// Presented secrets already proven by bcrypt in this process, keyed by the SHA-256 of the
/// presented string, mapped to their row. A hit skips bcrypt; the secret's status is still read
/// from the database on every request, so a revoke takes effect at once on every instance.
/// Failures are never remembered. Bounded: when full, the least recently used entry goes, so a
/// busy client's secret stays proven however many others come and go.
#[derive(Debug)]
pub struct VerifiedSecrets {
    proven: Mutex<lru::LruCache<[u8; 32], i32>>,
    /// One bcrypt at a time per presented string: after a restart, a burst of requests with
    /// the same secret costs one bcrypt, not one each.
    in_flight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
}

const MAX_VERIFIED: usize = 10_000;

impl Default for VerifiedSecrets {
    fn default() -> Self {
        Self::with_capacity(MAX_VERIFIED)
    }
}

impl VerifiedSecrets {
    fn with_capacity(capacity: usize) -> Self {
        let capacity = std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN);
        VerifiedSecrets {
            proven: Mutex::new(lru::LruCache::new(capacity)),
            in_flight: Mutex::default(),
        }
    }

    fn key(presented: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(presented.as_bytes()).into()
    }

    fn proves(&self, presented: &str, secret_id: i32) -> bool {
        self.proven
            .lock()
            .map(|mut known| known.get(&Self::key(presented)) == Some(&secret_id))
            .unwrap_or(false)
    }

    /// The gate that lets one bcrypt of `presented` run at a time.
    fn gate(&self, presented: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut in_flight = self.in_flight.lock().ok()?;
        Some(in_flight.entry(Self::key(presented)).or_default().clone())
    }

    fn release(&self, presented: &str, gate: Arc<tokio::sync::Mutex<()>>) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            // Ours and the map's: nobody else is waiting.
            if Arc::strong_count(&gate) <= 2 {
                in_flight.remove(&Self::key(presented));
            }
        }
    }

    fn remember(&self, presented: &str, secret_id: i32) {
        if let Ok(mut known) = self.proven.lock() {
            known.put(Self::key(presented), secret_id);
        }
    }
}

/// What secret verification keeps between requests.
#[derive(Debug)]
pub struct SecretChecks {
    pub usage: UsageCounter,
    pub verified: VerifiedSecrets,
    /// The group-commit writer that runs the hot path's queries.
    pub writer: Writer,
}

impl SecretChecks {
    pub fn new(writer: Writer) -> Self {
        SecretChecks {
            usage: UsageCounter::default(),
            verified: VerifiedSecrets::default(),
            writer,
        }
    }
}

/// How often a secret was used recently, counted by the hour.
#[derive(Debug, Clone, Copy)]
pub struct SecretUsage {
    pub last_24_hours: i64,
    pub last_7_days: i64,
}

pub async fn usage(
    pool: &DbPool,
    counter: &UsageCounter,
    secret_id: i32,
    now: NaiveDateTime,
) -> Result<SecretUsage, SecretError> {
    let day = hour_of(now) - TimeDelta::hours(23);
    let week = hour_of(now) - TimeDelta::hours(7 * 24 - 1);
    let (stored_day, stored_week) = db::run(pool, move |conn| {
        Ok::<_, SecretError>((
            secrets::usage_since(conn, secret_id, day)?,
            secrets::usage_since(conn, secret_id, week)?,
        ))
    })
    .await?;
    Ok(SecretUsage {
        last_24_hours: stored_day + counter.pending_since(secret_id, day),
        last_7_days: stored_week + counter.pending_since(secret_id, week),
    })
}

/// A client that proved it holds a live secret.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app_id: i32,
    pub client_id: String,
    pub secret_id: i32,
}

/// The outcome of a client authentication.
#[derive(Debug)]
pub enum ClientCheck {
    Authenticated(AuthenticatedClient),
    /// Every kind of failure alike (malformed, unknown, another app's, revoked, expired, wrong),
    /// so callers cannot leak which one it was.
    Refused,
    /// Too many attempts for this secret or from this address; retry after this many seconds.
    Throttled(i64),
}

/// A client authentication attempt: who claims to be calling, with what, from where.
pub struct ClientAttempt<'a> {
    pub client_id: &'a str,
    pub presented: &'a str,
    pub origin: RequestOrigin,
}

/// Checks `client_id` + `presented` secret.
///
/// Cost and counting, the rules that keep a guesser from locking a client out:
/// - a secret already proven in this process costs no bcrypt and is never throttled;
/// - a guess that cannot match any stored secret (malformed, bad checksum, unknown secret id,
///   another client's, revoked or expired) costs no bcrypt and counts only against the
///   address it came from, never against the client;
/// - a bcrypt is reserved before it runs, against the address and against this one
///   (client id, secret id): in-flight checks count, and only someone who already holds a
///   secret's id can spend that secret's allowance. One bcrypt runs at a time per presented
///   string, so a burst of one valid secret after a restart costs one check, not one each.
pub async fn authenticate_client(
    bcrypt: &hashing::Bcrypt,
    checks: &SecretChecks,
    throttles: &Throttles,
    attempt: ClientAttempt<'_>,
    now: NaiveDateTime,
) -> anyhow::Result<ClientCheck> {
    let address = attempt.origin.address_key().to_owned();
    let Some(secret) = ClientSecret::parse(attempt.presented) else {
        return count_failed_attempt(throttles, &address, now).await;
    };
    let public_id = secret.public_id().to_owned();
    // Ordered after every revoke that has answered (see `Writer::read`).
    let found = checks
        .writer
        .read(move |conn| {
            secrets::find_for_authentication(conn, &public_id).context("looking up a client secret")
        })
        .await?;
    let Some((row, owner_client_id)) = found else {
        return count_failed_attempt(throttles, &address, now).await;
    };
    let same_client = bool::from(
        owner_client_id
            .as_bytes()
            .ct_eq(attempt.client_id.as_bytes()),
    );
    if !same_client || !SecretStatus::of(row.revoked_at, row.expires_at, now).is_live() {
        return count_failed_attempt(throttles, &address, now).await;
    }
    let presented = attempt.presented;
    if !checks.verified.proves(presented, row.id) {
        let gate = checks.verified.gate(presented);
        let turn = match &gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        // Someone else's bcrypt of the same string may have just proven it.
        let verdict = if checks.verified.proves(presented, row.id) {
            Ok(Ok(true))
        } else {
            let secret_key = format!("{owner_client_id}\u{1f}{}", secret.public_id());
            bcrypt_check(
                bcrypt,
                checks,
                throttles,
                &secret,
                &row,
                &address,
                &secret_key,
                now,
            )
            .await
        };
        drop(turn);
        if let Some(gate) = gate {
            checks.verified.release(presented, gate);
        }
        match verdict? {
            Ok(true) => {}
            Ok(false) => return Ok(ClientCheck::Refused),
            Err(wait) => return Ok(ClientCheck::Throttled(wait)),
        }
        // A bcrypt takes a quarter of a second: read the status again, so a revoke that
        // answered meanwhile is honoured.
        let id = row.id;
        let still_live = checks
            .writer
            .read(move |conn| {
                secrets::is_live(conn, id, now).context("re-reading a secret's status")
            })
            .await?;
        if !still_live {
            return Ok(ClientCheck::Refused);
        }
    }
    checks.usage.count(row.id, now);
    record_use(checks, &row, attempt.origin, now).await?;
    Ok(ClientCheck::Authenticated(AuthenticatedClient {
        app_id: row.app_id,
        client_id: owner_client_id,
        secret_id: row.id,
    }))
}

/// One bcrypt of `secret` against `row`, reserved first against the address and the secret:
/// `Ok(Ok(valid))`, or `Ok(Err(seconds))` when either allowance is used up. A valid secret gives
/// both reservations back and is remembered as proven; a wrong one leaves them counted.
#[allow(clippy::too_many_arguments)]
async fn bcrypt_check(
    bcrypt: &hashing::Bcrypt,
    checks: &SecretChecks,
    throttles: &Throttles,
    secret: &ClientSecret,
    row: &SecretRow,
    address: &str,
    secret_key: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Result<bool, i64>> {
    let for_address = match throttles.client_address.reserve(address, now).await {
        Ok(reservation) => reservation,
        Err(ThrottleError::Exceeded(wait)) => return Ok(Err(wait)),
        Err(ThrottleError::Unexpected(e)) => return Err(e),
    };
    let for_secret = match throttles.client_secret.reserve(secret_key, now).await {
        Ok(reservation) => reservation,
        Err(e) => {
            for_address.release().await;
            return match e {
                ThrottleError::Exceeded(wait) => Ok(Err(wait)),
                ThrottleError::Unexpected(e) => Err(e),
            };
        }
    };
    let stored = Some(row.secret_hash.clone());
    let valid = match hashing::verify(bcrypt, secret.expose().to_owned(), stored).await {
        Ok(valid) => valid,
        Err(e) => {
            // Not a check that ran (a full queue): nothing to count.
            for_address.release().await;
            for_secret.release().await;
            return Err(e);
        }
    };
    if valid {
        checks.verified.remember(secret.expose(), row.id);
        for_address.release().await;
        for_secret.release().await;
    }
    Ok(Ok(valid))
}

/// Counts a failure that cost no bcrypt against the address alone.
pub async fn count_failed_attempt(
    throttles: &Throttles,
    address: &str,
    now: NaiveDateTime,
) -> anyhow::Result<ClientCheck> {
    match throttles.client_address.reserve(address, now).await {
        // Kept: a failure.
        Ok(_failure) => Ok(ClientCheck::Refused),
        Err(ThrottleError::Exceeded(wait)) => Ok(ClientCheck::Throttled(wait)),
        Err(ThrottleError::Unexpected(e)) => Err(e),
    }
}

/// Writes "Last Used" (and flushes the pending use counts) when the stored time is over a
/// minute old, or the use came from another address or client than the stored one.
async fn record_use(
    checks: &SecretChecks,
    row: &SecretRow,
    origin: RequestOrigin,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let RequestOrigin { ip, user_agent } = origin;
    let fresh = row
        .last_used_at
        .is_some_and(|used| used > now - LAST_USED_RESOLUTION);
    let same_source = row.last_used_ip == ip && row.last_used_user_agent == user_agent;
    if fresh && same_source {
        return Ok(());
    }
    let id = row.id;
    let counts = checks.usage.take(id);
    let to_store = counts.clone();
    let written = checks
        .writer
        .run(move |conn| {
            secrets::record_use(conn, id, now, ip.as_deref(), user_agent.as_deref())?;
            for (hour, uses) in &to_store {
                secrets::add_usage(conn, id, *hour, *uses)?;
            }
            Ok(())
        })
        .await
        .context("recording a secret's use");
    if written.is_err() {
        checks.usage.give_back(id, counts);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::VerifiedSecrets;

    #[test]
    fn a_full_proven_secret_cache_forgets_the_least_recently_used_secret_only() {
        let cache = VerifiedSecrets::with_capacity(2);
        cache.remember("busy", 1);
        cache.remember("idle", 2);
        assert!(cache.proves("busy", 1));

        cache.remember("new", 3);

        assert!(cache.proves("busy", 1), "used lately, kept");
        assert!(cache.proves("new", 3));
        assert!(!cache.proves("idle", 2), "least recently used, forgotten");
    }
}
