//! The rotation rules: generating a secret (at most [`MAX_ACTIVE`] live, checked in a write
//! transaction and again by a trigger), revoking it now or on a schedule, and labelling it.
//! Every change is recorded in the audit log in the same transaction.

use crate::db::secrets::{self, SecretRow};
use crate::db::{self, DbPool};
use crate::domain::{
    ClientSecret, OldSecretSchedule, SecretHint, SecretLabel, SecretLifetime, SecretStatus,
};
use crate::infra::hashing;
use crate::service::apps::{self, AppsError};
use crate::service::audit::{self, Actor};
use crate::service::{notifications, policy};
use chrono::NaiveDateTime;
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
    let early = policy::current(pool).await?;
    if request.lifetime.is_some_and(|l| !early.allows(l)) {
        return Err(SecretError::LifetimeNotAllowed(
            early.max_lifetime_days.unwrap_or_default(),
        ));
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
            apps::may_still_change_in(conn, app_id, &actor)?;
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
            apps::may_still_change_in(conn, app_id, &actor)?;
            secrets::settle_expired(conn, app_id, now)?;
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            if row.revoked_at.is_some() {
                return Ok(Revocation::AlreadyRevoked(row));
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
            notifications::record(
                conn,
                notifications::SECRET_REVOKED,
                &row,
                Some(&actor),
                now,
                None,
            )?;
            if completes_rotation {
                notifications::record(
                    conn,
                    notifications::ROTATION_COMPLETED,
                    &row,
                    Some(&actor),
                    now,
                    None,
                )?;
            }
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
