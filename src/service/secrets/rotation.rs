//! The rotation rules: generating a secret (at most [`MAX_ACTIVE`] live, checked in a write
//! transaction and again by a trigger), revoking it now or on a schedule, and labelling it.
//! Every change is recorded in the audit log in the same transaction.

use crate::db::secrets::{self, SecretRow};
use crate::db::{self, api_tokens, DbPool};
use crate::domain::{
    hex_sha256, quiet_revocation_at, ClientSecret, OldSecretSchedule, SecretHint, SecretLabel,
    SecretLifetime, SecretStatus, QUIET_DEADLINE, QUIET_PERIOD,
};
use crate::infra::hashing;
use crate::service::apps::{self, AppsError};
use crate::service::audit::{self, Actor};
use crate::service::{notifications, policy};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Two live secrets are enough to rotate without downtime; more would hide forgotten ones.
pub const MAX_ACTIVE: i64 = 2;
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("You can only have a maximum of {MAX_ACTIVE} active secrets. Revoke one before generating another.")]
    TooManyActive,
    /// The same confirmation form was submitted twice (a reload, a double click).
    #[error("This confirmation was already used, and its secret was shown once. If you did not copy it, revoke it and generate a new one.")]
    AlreadyGenerated,
    #[error("Secret not found.")]
    NotFound,
    /// A script's generations already in flight: one at a time is enough for a rotation, and
    /// more would let one person fill the hashing queue.
    #[error("Generate at most {MAX_IN_FLIGHT_PER_PERSON} secrets at a time: wait for the answers, then send the next.")]
    TooManyAtOnce,
    /// An Idempotency-Key sent again with a different request.
    #[error("This Idempotency-Key was already used with a different request.")]
    IdempotencyKeyReused,
    /// A team member whose role no longer lets them change the app.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Longer than the admin's maximum secret lifetime (or Never, when there is one).
    #[error("Secrets may live at most {0} days here. Choose a shorter Expires after.")]
    LifetimeNotAllowed(i64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AppsError> for SecretError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => SecretError::NotFound,
            AppsError::Forbidden(message) => SecretError::Forbidden(message),
            AppsError::Unexpected(cause) => SecretError::Unexpected(cause),
        }
    }
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

/// What the generate confirmation asked for.
#[derive(Debug)]
pub struct GenerateRequest {
    pub app_id: i32,
    /// From the confirmation form; makes a resubmission harmless.
    pub request_nonce: Option<String>,
    pub label: SecretLabel,
    pub old_secret: OldSecretSchedule,
    /// "Expires after"; `None` takes the policy's default.
    pub lifetime: Option<SecretLifetime>,
    /// From the API: makes a retried request answer with the secret it already created.
    pub idempotency: Option<IdempotencyKey>,
}

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_WINDOW: TimeDelta = TimeDelta::hours(24);

/// An API request's Idempotency-Key, per API token, with a digest of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    api_token_id: i32,
    /// SHA-256 of the key: the key itself is the client's business.
    key_hash: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// `request`: the request as understood (so the same JSON spelled differently is the same
    /// request), with everything that makes it another one, such as the app.
    pub fn new(api_token_id: i32, key: &str, request: &str) -> Self {
        IdempotencyKey {
            api_token_id,
            key_hash: hex_sha256(key.as_bytes()),
            request_hash: hex_sha256(request.as_bytes()),
        }
    }
}

/// What [`generate_once`] did.
#[derive(Debug)]
pub enum Generated {
    New(GeneratedSecret),
    /// The key was used in the last 24 hours: the secret it created then, as it is now.
    Replayed(SecretRow),
}

/// [`generate_secret`] for a request that may be retried: with an Idempotency-Key used in the
/// last 24 hours (by the same API token), nothing new is minted and the first secret is
/// returned, without its plaintext. Two requests with one key at once create one secret: the
/// key is recorded in the transaction that creates it, and the loser is answered the replay.
///
/// For machines, which may send many at once: generations for one app take turns (so a burst
/// costs at most the two bcrypts that can succeed, and the rest get a cheap 409 or the replay),
/// and they hash in the bounded lane, so a flood gets 503 instead of holding up log-ins.
pub async fn generate_once(
    pool: &DbPool,
    bcrypt: &hashing::Bcrypt,
    turns: &GenerationTurns,
    request: GenerateRequest,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<Generated, SecretError> {
    let _turn = turns.gate(request.app_id).lock().await;
    // After the turn: a retry that waited for its first attempt finds its secret.
    let key = request.idempotency.clone();
    if let Some(key) = &key {
        if let Some(row) = replay(pool, key.clone(), now).await? {
            return Ok(Generated::Replayed(row));
        }
    }
    let generated = generate_in(pool, bcrypt, Pace::Script(turns), request, actor, now).await;
    match (generated, key) {
        (Ok(generated), _) => Ok(Generated::New(generated)),
        // Another instance created it with this key meanwhile.
        (Err(SecretError::AlreadyGenerated), Some(key)) => replay(pool, key, now)
            .await?
            .map(Generated::Replayed)
            .ok_or(SecretError::AlreadyGenerated),
        (Err(e), _) => Err(e),
    }
}

/// The secret an earlier request with this key created within the window; a different request
/// with the key is [`SecretError::IdempotencyKeyReused`].
async fn replay(
    pool: &DbPool,
    key: IdempotencyKey,
    now: NaiveDateTime,
) -> Result<Option<SecretRow>, SecretError> {
    db::run(pool, move |conn| {
        let found = api_tokens::find_idempotency_key(
            conn,
            key.api_token_id,
            &key.key_hash,
            now - IDEMPOTENCY_WINDOW,
        )?;
        let Some((request_hash, secret_id)) = found else {
            return Ok(None);
        };
        if request_hash != key.request_hash {
            return Err(SecretError::IdempotencyKeyReused);
        }
        Ok(secrets::find(conn, secret_id)?)
    })
    .await
}

/// A secret just created: the plaintext to show once, and the stored row.
#[derive(Debug)]
pub struct GeneratedSecret {
    pub plaintext: ClientSecret,
    pub row: SecretRow,
}

/// How many generations through the API one person may have in flight in this process.
const MAX_IN_FLIGHT_PER_PERSON: usize = 2;

/// Turns for generations through the API, in this process: generations for one app take turns
/// (one lock per group of apps), and each person has at most [`MAX_IN_FLIGHT_PER_PERSON`] in
/// flight.
#[derive(Debug)]
pub struct GenerationTurns {
    gates: Vec<tokio::sync::Mutex<()>>,
    in_flight: std::sync::Mutex<std::collections::HashMap<i32, usize>>,
}

impl Default for GenerationTurns {
    fn default() -> Self {
        GenerationTurns {
            gates: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            in_flight: Default::default(),
        }
    }
}

impl GenerationTurns {
    fn gate(&self, app_id: i32) -> &tokio::sync::Mutex<()> {
        &self.gates[app_id.unsigned_abs() as usize % self.gates.len()]
    }

    /// Counts one more generation for `user_id`, unless they already have the most; checked
    /// and counted under one lock.
    fn take(&self, user_id: i32) -> Option<InFlight<'_>> {
        let mut counts = self.in_flight.lock().ok()?;
        let count = counts.entry(user_id).or_default();
        if *count >= MAX_IN_FLIGHT_PER_PERSON {
            return None;
        }
        *count += 1;
        Some(InFlight {
            turns: self,
            user_id,
        })
    }
}

/// A person's generation in flight, counted while this lives.
struct InFlight<'a> {
    turns: &'a GenerationTurns,
    user_id: i32,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.turns.in_flight.lock() {
            if let Some(count) = counts.get_mut(&self.user_id) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(&self.user_id);
                }
            }
        }
    }
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
    generate_in(pool, bcrypt, Pace::Person, request, actor, now).await
}

/// Who is waiting for a generation, which decides how its bcrypt is paced.
#[derive(Clone, Copy)]
enum Pace<'a> {
    /// Somebody at the confirmation page (after confirming access): the interactive lane.
    Person,
    /// A script through the API, which may send many at once: the bounded lane, and at most
    /// [`MAX_IN_FLIGHT_PER_PERSON`] in flight per person.
    Script(&'a GenerationTurns),
}

async fn generate_in(
    pool: &DbPool,
    bcrypt: &hashing::Bcrypt,
    pace: Pace<'_>,
    request: GenerateRequest,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<GeneratedSecret, SecretError> {
    let app_id = request.app_id;
    // Cheap early answer, so a full app does not cost a bcrypt; the transaction below decides.
    // (Not for a request with a key: a retry racing its first attempt must get the replay.)
    if request.idempotency.is_none() && count_active(pool, app_id, now).await? >= MAX_ACTIVE {
        return Err(SecretError::TooManyActive);
    }
    let early = policy::current(pool).await?;
    if request.lifetime.is_some_and(|l| !early.allows(l)) {
        return Err(SecretError::LifetimeNotAllowed(
            early.max_lifetime_days.unwrap_or_default(),
        ));
    }
    // Counted until the secret is stored: a script's generations in flight are bounded.
    let _in_flight = match (pace, actor.user_id) {
        (Pace::Script(turns), Some(user_id)) => {
            Some(turns.take(user_id).ok_or(SecretError::TooManyAtOnce)?)
        }
        _ => None,
    };
    let lane = match pace {
        Pace::Person => hashing::Lane::Interactive,
        Pace::Script(_) => hashing::Lane::SignUp,
    };
    let plaintext = ClientSecret::generate();
    let hash = hashing::hash(bcrypt, plaintext.expose().to_owned(), lane).await?;
    let public_id = plaintext.public_id().to_owned();
    let hint = plaintext.hint();
    let row = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            apps::may_still_change_in(conn, app_id, &actor)?;
            if let Some(key) = &request.idempotency {
                let window = now - IDEMPOTENCY_WINDOW;
                if api_tokens::find_idempotency_key(conn, key.api_token_id, &key.key_hash, window)?
                    .is_some()
                {
                    return Err(SecretError::AlreadyGenerated);
                }
            }
            secrets::settle_expired(conn, app_id, now)?;
            if secrets::count_active(conn, app_id, now)? >= MAX_ACTIVE {
                return Err(SecretError::TooManyActive);
            }
            // Read in the transaction: a policy saved a moment ago applies.
            let policy = policy::read_in(conn)?;
            let lifetime = request.lifetime.unwrap_or(policy.default_choice());
            if !policy.allows(lifetime) {
                return Err(SecretError::LifetimeNotAllowed(
                    policy.max_lifetime_days.unwrap_or_default(),
                ));
            }
            let lifetime_ends_at = lifetime.duration().map(|d| now + d);
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
                    expires_at: lifetime_ends_at,
                    lifetime_ends_at,
                },
            )?;
            if let Some(key) = &request.idempotency {
                api_tokens::remember_idempotency_key(
                    conn,
                    key.api_token_id,
                    &key.key_hash,
                    &key.request_hash,
                    row.id,
                    now,
                    now - IDEMPOTENCY_WINDOW,
                )?;
            }
            if request.old_secret.when_quiet() && scheduled > 0 {
                let deadline = now + QUIET_DEADLINE;
                secrets::watch_quiet(conn, app_id, row.id, deadline)?;
            }
            let mut detail = format!("Generated {hint}");
            if !request.label.as_str().is_empty() {
                detail.push_str(&format!(" ({})", request.label.as_str()));
            }
            if let Some(duration) = lifetime.duration() {
                detail.push_str(&format!(", expires after {} days", duration.num_days()));
            }
            if scheduled > 0 {
                detail.push_str(&format!(
                    "; the older secret will be revoked {}",
                    request.old_secret.describe()
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
            notifications::record(
                conn,
                notifications::SECRET_CREATED,
                &row,
                Some(&actor),
                now,
                None,
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
    /// Revoking twice (or after its schedule ended it) changes nothing, except that the tokens
    /// issued with it can be revoked then (`tokens_revoked`: there were some left).
    AlreadyRevoked {
        row: SecretRow,
        tokens_revoked: bool,
    },
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
            apps::may_still_change_in(conn, app_id, &actor)?;
            secrets::settle_expired(conn, app_id, now)?;
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            if row.revoked_at.is_some() {
                // A secret found to have leaked after it was revoked: its tokens go now.
                let tokens_revoked =
                    also_tokens && db::tokens::revoke_issued_with_secret(conn, row.id, now)?;
                if tokens_revoked {
                    let detail = format!(
                        "Revoked every token issued with {}",
                        SecretHint::from_stored(row.hint.clone())
                    );
                    audit::record(
                        conn,
                        &actor,
                        "secret.tokens_revoked",
                        Some(app_id),
                        Some(row.id),
                        &detail,
                        now,
                    )?;
                }
                return Ok(Revocation::AlreadyRevoked {
                    row,
                    tokens_revoked,
                });
            }
            // Revoking the older of two live secrets completes a rotation.
            let completes_rotation = secrets::count_active(conn, app_id, now)? == MAX_ACTIVE
                && secrets::list_for_app(conn, app_id)?
                    .iter()
                    .any(|(other, _)| {
                        other.id > row.id
                            && SecretStatus::of(other.revoked_at, other.expires_at, now).is_live()
                    });
            secrets::revoke(conn, row.id, now)?;
            // Nothing waits any more for this secret to be used.
            secrets::stop_watching(conn, row.id)?;
            if also_tokens {
                db::tokens::revoke_issued_with_secret(conn, row.id, now)?;
            }
            let hint = SecretHint::from_stored(row.hint.clone());
            let detail = if also_tokens {
                format!("Revoked {hint} and every token issued with it")
            } else {
                format!("Revoked {hint}")
            };
            let row = record_revocation(conn, &row, &actor, &detail, completes_rotation, now)?;
            Ok(Revocation::Revoked(row))
        })
    })
    .await
}

/// The audit entry and the events of a revocation, in its transaction; the row as revoked.
fn record_revocation(
    conn: &mut db::Conn,
    row: &SecretRow,
    actor: &Actor,
    detail: &str,
    completes_rotation: bool,
    now: NaiveDateTime,
) -> Result<SecretRow, SecretError> {
    audit::record(
        conn,
        actor,
        "secret.revoked",
        Some(row.app_id),
        Some(row.id),
        detail,
        now,
    )?;
    let row = secrets::find(conn, row.id)?.ok_or(SecretError::NotFound)?;
    // Keyturn's own revocations are told as such, with nobody named.
    let by = actor.user_id.map(|_| actor);
    notifications::record(conn, notifications::SECRET_REVOKED, &row, by, now, None)?;
    if completes_rotation {
        notifications::record(conn, notifications::ROTATION_COMPLETED, &row, by, now, None)?;
    }
    Ok(row)
}

/// Revoke when quiet: revokes each old secret whose newer secret has been used and which has
/// then gone unused for [`QUIET_PERIOD`](crate::domain::QUIET_PERIOD). Client authentication
/// refuses such a secret from that moment already; this records it. Runs every few seconds on
/// every instance; each revocation is decided again in its own write transaction, so one
/// instance makes it.
pub async fn revoke_quiet_secrets(pool: &DbPool, now: NaiveDateTime) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        let mut revoked = 0;
        for old in secrets::due_quiet(conn, now, now - QUIET_PERIOD)? {
            revoked += db::write_transaction(conn, |conn| revoke_when_quiet(conn, old.id, now))?;
        }
        Ok(revoked)
    })
    .await
}

fn revoke_when_quiet(
    conn: &mut db::Conn,
    secret_id: i32,
    now: NaiveDateTime,
) -> Result<usize, SecretError> {
    // Read again under the write lock: a use or a revoke may have come in between.
    let Some(row) = secrets::find(conn, secret_id)? else {
        return Ok(0);
    };
    let Some(newer_id) = row.quiet_for_secret_id else {
        return Ok(0);
    };
    let Some(first_use) = secrets::first_use_of(conn, newer_id)? else {
        return Ok(0);
    };
    // Revoked as of the moment it became due, which is when authentication began refusing
    // it, like a schedule settled after its moment; the audit entry says when it was noticed.
    let at = quiet_revocation_at(row.last_used_at, first_use);
    let live = SecretStatus::of(row.revoked_at, row.expires_at, now).is_live();
    if !live || now < at || !secrets::revoke(conn, row.id, at)? {
        return Ok(0);
    }
    let newer = secrets::find(conn, newer_id)?
        .map(|n| SecretHint::from_stored(n.hint).to_string())
        .unwrap_or_default();
    let detail = format!(
        "Revoked {} when quiet: unused for 24 hours since {newer} was first used",
        SecretHint::from_stored(row.hint.clone())
    );
    record_revocation(conn, &row, &Actor::keyturn(), &detail, true, now)?;
    Ok(1)
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
            apps::may_still_change_in(conn, app_id, &actor)?;
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
            apps::may_still_change_in(conn, app_id, &actor)?;
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
