//! The admin's secret policy, kept in `server_settings` so every instance reads the same.

use crate::db::audit::AuditEvent;
use crate::db::{self, server_settings, Conn, DbPool};
use crate::domain::SecretPolicy;
use crate::service::audit::{self, Actor};
use anyhow::Context;
use chrono::NaiveDateTime;

const MAX_LIFETIME: &str = "policy.max_secret_lifetime_days";
const WARNING: &str = "policy.expiry_warning_days";
const REQUIRE_TWO_FACTOR: &str = "policy.require_two_factor";
/// The audit log's name for a policy change.
const CHANGED: &str = "policy.changed";

/// The policy as stored, on a connection the caller holds; unset parts take their defaults.
pub fn read_in(conn: &mut Conn) -> anyhow::Result<SecretPolicy> {
    let defaults = SecretPolicy::default();
    let max = server_settings::get(conn, MAX_LIFETIME).context("reading the secret policy")?;
    let warning = server_settings::get(conn, WARNING).context("reading the secret policy")?;
    let two_factor =
        server_settings::get(conn, REQUIRE_TWO_FACTOR).context("reading the account policy")?;
    // A stored maximum that does not parse is an error, never "no maximum".
    let max_lifetime_days = match max.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(days) => Some(days.parse().with_context(|| {
            format!("the stored maximum secret lifetime is not a number: {days}")
        })?),
    };
    Ok(SecretPolicy {
        max_lifetime_days,
        warning_days: warning
            .and_then(|v| v.parse().ok())
            .unwrap_or(defaults.warning_days),
        require_two_factor: two_factor.as_deref() == Some("true"),
    })
}

pub async fn current(pool: &DbPool) -> anyhow::Result<SecretPolicy> {
    db::run(pool, read_in).await
}

/// The policy and its latest changes, newest first, for the policy page.
pub async fn with_history(pool: &DbPool) -> anyhow::Result<(SecretPolicy, Vec<AuditEvent>)> {
    db::run(pool, |conn| {
        let changes =
            db::audit::recent_of_kind(conn, CHANGED, 10).context("reading the policy's history")?;
        Ok((read_in(conn)?, changes))
    })
    .await
}

/// Saves the policy and records the change in the audit log, in one transaction.
pub async fn save(
    pool: &DbPool,
    policy: SecretPolicy,
    actor: Actor,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let max = policy
                .max_lifetime_days
                .map(|d| d.to_string())
                .unwrap_or_default();
            server_settings::set(conn, MAX_LIFETIME, &max)?;
            server_settings::set(conn, WARNING, &policy.warning_days.to_string())?;
            server_settings::set(
                conn,
                REQUIRE_TWO_FACTOR,
                if policy.require_two_factor { "true" } else { "false" },
            )?;
            let detail = format!(
                "Secret policy: maximum lifetime {}, warn {} days before expiry; two-factor authentication {}",
                policy
                    .max_lifetime_days
                    .map(|d| format!("{d} days"))
                    .unwrap_or_else(|| "none".into()),
                policy.warning_days,
                if policy.require_two_factor { "required" } else { "optional" },
            );
            audit::record(conn, &actor, CHANGED, None, None, &detail, now)
        })
        .context("saving the secret policy")
    })
    .await
}

/// The policy as the token endpoint reads it: from memory, re-read at most every few seconds,
/// so a secret with an end costs no extra query per token. A change reaches every instance
/// within that time.
#[derive(Debug, Default)]
pub struct CachedPolicy(std::sync::Mutex<Option<(std::time::Instant, SecretPolicy)>>);

impl CachedPolicy {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

    pub async fn get(&self, pool: &DbPool) -> anyhow::Result<SecretPolicy> {
        if let Ok(cached) = self.0.lock() {
            if let Some((read_at, policy)) = *cached {
                if read_at.elapsed() < Self::FRESH_FOR {
                    return Ok(policy);
                }
            }
        }
        let policy = current(pool).await?;
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((std::time::Instant::now(), policy));
        }
        Ok(policy)
    }

    /// Reads the policy again at the next use: the instance that saved it applies it at once.
    pub fn forget(&self) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = None;
        }
    }
}
