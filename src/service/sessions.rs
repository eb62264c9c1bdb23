//! Server-side sessions. The cookie carries a random session id (inside the encrypted cookie);
//! the database holds its SHA-256 with the account, when it started, when it was last seen, and
//! the address and browser it started from. Every signed-in request reads the row, so deleting
//! it (log out, "End session", a password change, `create-admin`, a timeout) ends the session
//! at its very next request, on every instance.

use crate::db::{self, sessions, Conn, DbPool};
use crate::domain::{Account, OpaqueToken, RequestOrigin, TokenKind};
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};

/// How long a session may sit unused, and how long it may live however busy.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: TimeDelta,
    pub max_age: TimeDelta,
}

/// The account signed in with the session whose id hashes to `token_hash`, if that session
/// exists, belongs to `user_id` and has not timed out; a timed-out session is ended. On a
/// connection the caller holds, so a page can read its data in the same trip.
pub fn signed_in_account(
    conn: &mut Conn,
    user_id: i32,
    token_hash: &str,
    timeouts: Timeouts,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Account>> {
    let Some((row, user)) =
        sessions::find_with_user(conn, token_hash).context("loading the signed-in session")?
    else {
        return Ok(None);
    };
    let timed_out =
        now - row.last_seen_at > timeouts.idle || now - row.created_at > timeouts.max_age;
    if row.user_id != user_id || timed_out {
        sessions::delete_by_id(conn, row.id).context("ending a timed-out session")?;
        return Ok(None);
    }
    // At most once a minute, so a busy session does not write on every request.
    if now - row.last_seen_at >= TimeDelta::seconds(60) {
        sessions::touch(conn, row.id, now).context("refreshing a session")?;
    }
    Ok(Some(Account {
        session_id: Some(row.id),
        authenticated_at: Some(row.authenticated_at.unwrap_or(row.created_at)),
        ..Account::from(user)
    }))
}

/// As [`signed_in_account`], on a pooled connection, and runs `read` for the account in the same
/// trip to the database: a page whose data is one read pays one trip instead of two. What
/// `read` returns is handed back only with a valid session, so it must not change anything.
pub async fn load_signed_in<T, E, F>(
    pool: &DbPool,
    user_id: i32,
    token_hash: String,
    timeouts: Timeouts,
    now: NaiveDateTime,
    read: F,
) -> anyhow::Result<Option<(Account, Result<T, E>)>>
where
    F: FnOnce(&mut Conn, &Account) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    db::run(pool, move |conn| {
        let Some(account) = signed_in_account(conn, user_id, &token_hash, timeouts, now)? else {
            return Ok(None);
        };
        let data = read(conn, &account);
        Ok(Some((account, data)))
    })
    .await
}

/// Starts a session for `user_id` and returns the id to keep in the cookie.
pub async fn start(
    pool: &DbPool,
    user_id: i32,
    origin: RequestOrigin,
    now: NaiveDateTime,
) -> anyhow::Result<OpaqueToken> {
    let token = OpaqueToken::generate(TokenKind::Session);
    let token_hash = token.hash();
    db::run(pool, move |conn| {
        sessions::insert(
            conn,
            &sessions::NewSession {
                token_hash: &token_hash,
                user_id,
                created_at: now,
                last_seen_at: now,
                ip: origin.ip.as_deref(),
                user_agent: origin.user_agent.as_deref(),
                authenticated_at: Some(now),
            },
        )
        .context("starting a session")
    })
    .await?;
    Ok(token)
}

/// Ends the session whose cookie carries `token` (log out).
pub async fn end(pool: &DbPool, token: String) -> anyhow::Result<()> {
    let token_hash = OpaqueToken::presented(&token).hash();
    db::run(pool, move |conn| {
        sessions::delete_by_hash(conn, &token_hash).context("ending a session")
    })
    .await
    .map(drop)
}

/// Ends one of the account's sessions; `false` when the account has no such session.
pub async fn end_one(pool: &DbPool, user_id: i32, session_id: i32) -> anyhow::Result<bool> {
    db::run(pool, move |conn| {
        sessions::delete_for_user(conn, user_id, session_id).context("ending a session")
    })
    .await
}

/// Ends every session of the account except `keep`; returns how many ended.
pub async fn end_all(pool: &DbPool, user_id: i32, keep: Option<i32>) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        sessions::delete_all_for_user(conn, user_id, keep).context("ending sessions")
    })
    .await
}

/// The account's sessions, most recently used first.
pub async fn list(pool: &DbPool, user_id: i32) -> anyhow::Result<Vec<sessions::SessionRow>> {
    db::run(pool, move |conn| {
        sessions::list_for_user(conn, user_id).context("listing sessions")
    })
    .await
}
