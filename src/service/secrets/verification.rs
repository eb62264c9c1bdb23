//! Authenticating a client by its secret, on every token, revoke and introspect request: the
//! fast path for a secret already proven (in this process, or by a stored proof), bcrypt
//! otherwise, throttles on guesses, and the secret's status read from the database every time,
//! so a revoke holds on the next request.

use super::proven::VerifiedSecrets;
use super::rotation::SecretError;
use super::usage::{self, CallersWritten, SecretUsage, UsageCounter};
use crate::db::lookups::SecretLookups;
use crate::db::secrets::{self, SecretRow};
use crate::db::writer::Writer;
use crate::db::DbPool;
use crate::domain::{
    quiet_revocation_at, ClientSecret, Credential, RequestOrigin, SecretProofKey, SecretStatus,
};
use crate::infra::hashing;
use crate::infra::metrics::Metrics;
use crate::infra::throttle::{ThrottleError, Throttles};
use crate::service::policy::CachedPolicy;
use anyhow::Context;
use chrono::NaiveDateTime;
use prometheus::IntCounter;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What secret verification keeps between requests.
#[derive(Debug)]
pub struct SecretChecks {
    pub(super) usage: UsageCounter,
    callers: CallersWritten,
    verified: VerifiedSecrets,
    /// The key of the stored proofs, when the master key comes from the environment.
    proof_key: Option<SecretProofKey>,
    /// The group-commit writer that runs the hot path's queries.
    writer: Writer,
    /// On PostgreSQL, the batched lookups that find the presented secret.
    lookups: Option<SecretLookups>,
    metrics: Arc<Metrics>,
    proven_in_memory: IntCounter,
    proven_by_stored_proof: IntCounter,
}

impl SecretChecks {
    pub fn new(
        writer: Writer,
        lookups: Option<SecretLookups>,
        proof_key: Option<SecretProofKey>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let hits = |source| metrics.proven_secret_hits.with_label_values(&[source]);
        SecretChecks {
            usage: UsageCounter::default(),
            callers: CallersWritten::default(),
            verified: VerifiedSecrets::default(),
            proven_in_memory: hits("memory"),
            proven_by_stored_proof: hits("database"),
            proof_key,
            writer,
            lookups,
            metrics,
        }
    }

    /// Whether `secret` is already proven for `row`: in this process, or by the proof stored
    /// when bcrypt accepted it (on any instance, before any restart, under the same key).
    fn already_proven(&self, presented: &str, secret: &ClientSecret, row: &SecretRow) -> bool {
        if self.verified.proves(presented, row.id) {
            self.proven_in_memory.inc();
            return true;
        }
        let stored = match (&self.proof_key, &row.proof) {
            (Some(key), Some(proof)) => key.confirms(row.id, secret, proof),
            _ => false,
        };
        if stored {
            self.verified.remember(presented, row.id);
            self.proven_by_stored_proof.inc();
        }
        stored
    }

    fn refused(&self, reason: ClientRefusal) -> ClientCheck {
        self.metrics
            .client_auth_failures
            .with_label_values(&[reason.label()])
            .inc();
        ClientCheck::Refused
    }

    /// How often the secret was used in the last 24 hours and 7 days, counting the uses not
    /// yet written to the database.
    pub async fn usage(
        &self,
        pool: &DbPool,
        secret_id: i32,
        now: NaiveDateTime,
    ) -> Result<SecretUsage, SecretError> {
        usage::usage(pool, &self.usage, secret_id, now).await
    }
}

/// A client that proved it holds a live secret.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app_id: i32,
    pub client_id: String,
    /// The secret (or key) it proved itself with; the tokens it is issued are bound to it.
    pub credential: Credential,
    /// When the secret it used stops working, if it has an end.
    pub secret_end: Option<SecretEnd>,
}

/// The end of a secret: the end of its lifetime, or a scheduled revocation if that is sooner.
#[derive(Debug, Clone, Copy)]
pub struct SecretEnd {
    pub at: NaiveDateTime,
    /// A revocation is scheduled (the app is being moved to a newer secret).
    pub scheduled: bool,
}

/// What a client is told about the end of the secret it authenticated with.
#[derive(Debug, Clone, Copy)]
pub struct EndNotice {
    /// When the secret stops working.
    pub sunset: NaiveDateTime,
    /// Since when (or from when) the secret is deprecated: the start of the warning period.
    /// Present once that period has begun, or as soon as a revocation is scheduled.
    pub deprecated_since: Option<NaiveDateTime>,
}

impl AuthenticatedClient {
    /// The notice for this client's secret, or `None` for a secret without an end. Reads the
    /// policy's warning period only for a secret that has one.
    pub async fn end_notice(
        &self,
        pool: &DbPool,
        policy: &CachedPolicy,
        now: NaiveDateTime,
    ) -> anyhow::Result<Option<EndNotice>> {
        let Some(end) = self.secret_end else {
            return Ok(None);
        };
        let warning = policy.get(pool).await?.warning();
        let warned_from = end.at - warning;
        Ok(Some(EndNotice {
            sunset: end.at,
            deprecated_since: (end.scheduled || now >= warned_from).then_some(warned_from),
        }))
    }
}

/// Why a client authentication was refused: counted in the metrics, never told to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRefusal {
    /// No credentials, or not in a form we read (a malformed Basic header).
    NoCredentials,
    /// Not a well-formed Keyturn secret.
    Malformed,
    /// Well-formed, but no such secret.
    UnknownSecret,
    /// Another app's secret.
    OtherClient,
    /// Revoked, expired, or revoked when quiet.
    Inactive,
    /// bcrypt said no.
    WrongSecret,
    /// A client assertion naming a client id that does not exist.
    UnknownClient,
    /// A client assertion that is malformed, badly signed, for another audience or out of time.
    BadAssertion,
    /// A client assertion whose jti was already used.
    ReplayedAssertion,
}

impl ClientRefusal {
    pub fn label(self) -> &'static str {
        match self {
            ClientRefusal::NoCredentials => "no_credentials",
            ClientRefusal::Malformed => "malformed",
            ClientRefusal::UnknownSecret => "unknown_secret",
            ClientRefusal::OtherClient => "other_client",
            ClientRefusal::Inactive => "inactive",
            ClientRefusal::WrongSecret => "wrong_secret",
            ClientRefusal::UnknownClient => "unknown_client",
            ClientRefusal::BadAssertion => "bad_assertion",
            ClientRefusal::ReplayedAssertion => "replayed_assertion",
        }
    }
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
    let refuse = |reason| count_failed_attempt(checks, throttles, &address, reason, now);
    let Some(secret) = ClientSecret::parse(attempt.presented) else {
        return refuse(ClientRefusal::Malformed).await;
    };
    let public_id = secret.public_id().to_owned();
    // Ordered after every revoke that has answered (see `Writer::read`, `SecretLookups`).
    let found = match &checks.lookups {
        Some(lookups) => lookups.find(public_id).await?,
        None => {
            checks
                .writer
                .read(move |conn| {
                    secrets::find_for_authentication(conn, &public_id)
                        .context("looking up a client secret")
                })
                .await?
        }
    };
    let Some((row, owner_client_id, newer_first_use)) = found else {
        return refuse(ClientRefusal::UnknownSecret).await;
    };
    let same_client = bool::from(
        owner_client_id
            .as_bytes()
            .ct_eq(attempt.client_id.as_bytes()),
    );
    if !same_client {
        return refuse(ClientRefusal::OtherClient).await;
    }
    // Revoke when quiet: due the moment the quiet period has passed, whether or not the
    // background round has written the revocation yet.
    let quiet_revoked =
        newer_first_use.is_some_and(|first| now >= quiet_revocation_at(row.last_used_at, first));
    if quiet_revoked || !SecretStatus::of(row.revoked_at, row.expires_at, now).is_live() {
        return refuse(ClientRefusal::Inactive).await;
    }
    let presented = attempt.presented;
    if !checks.already_proven(presented, &secret, &row) {
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
            Ok(false) => return Ok(checks.refused(ClientRefusal::WrongSecret)),
            Err(wait) => return Ok(ClientCheck::Throttled(wait)),
        }
        // A bcrypt takes a quarter of a second: read the status again, so a revoke that
        // answered meanwhile is honoured; store the proof in the same step.
        let (id, proof) = (
            row.id,
            checks
                .proof_key
                .as_ref()
                .map(|key| key.prove(row.id, &secret)),
        );
        let still_live = checks
            .writer
            .run(move |conn| {
                secrets::record_proof(conn, id, proof.as_deref(), now)
                    .context("recording a secret's proof")
            })
            .await?;
        if !still_live {
            return Ok(checks.refused(ClientRefusal::Inactive));
        }
    }
    checks.usage.count(row.id, now);
    usage::record_use(
        &checks.usage,
        &checks.callers,
        &checks.writer,
        &row,
        attempt.origin,
        now,
    )
    .await?;
    let secret_end = row.expires_at.map(|at| SecretEnd {
        at,
        scheduled: row.lifetime_ends_at != Some(at),
    });
    Ok(ClientCheck::Authenticated(AuthenticatedClient {
        app_id: row.app_id,
        client_id: owner_client_id,
        credential: Credential::Secret(row.id),
        secret_end,
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
    checks: &SecretChecks,
    throttles: &Throttles,
    address: &str,
    reason: ClientRefusal,
    now: NaiveDateTime,
) -> anyhow::Result<ClientCheck> {
    match throttles.client_address.reserve(address, now).await {
        // Kept: a failure.
        Ok(_failure) => Ok(checks.refused(reason)),
        Err(ThrottleError::Exceeded(wait)) => Ok(ClientCheck::Throttled(wait)),
        Err(ThrottleError::Unexpected(e)) => Err(e),
    }
}
