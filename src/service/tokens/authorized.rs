//! What users authorized: the "Authorized apps" page, withdrawing an authorization, and
//! purging tokens that have expired.

use crate::db::writer::Writer;
use crate::db::{self, grants, tokens, DbPool};
use crate::domain::Scopes;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};

/// An app the user has authorized, for the "Authorized apps" page.
pub struct AuthorizedApp {
    pub app_id: i32,
    pub app_name: String,
    pub scopes: String,
    pub authorized_at: NaiveDateTime,
}

pub async fn authorized_apps(pool: &DbPool, user_id: i32) -> anyhow::Result<Vec<AuthorizedApp>> {
    let rows = db::run(pool, move |conn| {
        grants::active_for_user(conn, user_id).context("listing authorized apps")
    })
    .await?;
    // One line per app: a user may have authorized the same app several times.
    let mut apps: Vec<AuthorizedApp> = Vec::new();
    for (grant, app_name) in rows {
        match apps.iter_mut().find(|a| a.app_id == grant.app_id) {
            Some(app) => {
                let merged = format!("{} {}", app.scopes, grant.scope);
                app.scopes = Scopes::parse_stored(&merged)
                    .map(|s| s.to_string())
                    .unwrap_or(merged);
                app.authorized_at = app.authorized_at.min(grant.created_at);
            }
            None => apps.push(AuthorizedApp {
                app_id: grant.app_id,
                app_name,
                scopes: grant.scope,
                authorized_at: grant.created_at,
            }),
        }
    }
    Ok(apps)
}

/// Ends every grant the user gave the app, with all their tokens. Returns how many there were.
pub async fn revoke_authorization(
    pool: &DbPool,
    user_id: i32,
    app_id: i32,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let ids = grants::active_ids_for_user_app(conn, user_id, app_id)?;
            for id in &ids {
                grants::revoke_grant(conn, *id, now)?;
            }
            Ok::<_, diesel::result::Error>(ids.len())
        })
        .context("revoking an app's authorization")
    })
    .await
}

/// Deletes what can no longer be used: access tokens, codes and refresh tokens that expired over
/// an hour ago (a used refresh token is kept until it expires, for reuse detection). Runs on the
/// writer in bounded steps, so it never holds the write lock for long.
pub fn purge_expired(writer: &Writer, now: NaiveDateTime) -> anyhow::Result<usize> {
    let cutoff = now - TimeDelta::hours(1);
    writer
        .run_blocking(move |conn| {
            let access = tokens::purge_expired(conn, cutoff, 5_000)?;
            let grants = grants::purge_expired(conn, cutoff, 5_000)?;
            Ok(access + grants)
        })
        .context("purging expired tokens")
}
