//! Mailed single-use links (`account_links`): verify an address, reset a password. Rows are
//! found by the SHA-256 of the link's token; using one is a single conditional update, so two
//! requests racing with the same link cannot both succeed.

use super::schema::account_links;
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const RESET_PASSWORD: &str = "reset_password";

/// Records a new link and withdraws the account's earlier unused links of the same purpose:
/// only the latest mail works.
pub fn replace(
    conn: &mut Conn,
    user_id: i32,
    purpose: &str,
    token_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    withdraw(conn, user_id, purpose)?;
    diesel::insert_into(account_links::table)
        .values((
            account_links::user_id.eq(user_id),
            account_links::purpose.eq(purpose),
            account_links::token_hash.eq(token_hash),
            account_links::created_at.eq(now),
            account_links::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Deletes the account's unused links of `purpose`.
pub fn withdraw(conn: &mut Conn, user_id: i32, purpose: &str) -> QueryResult<usize> {
    diesel::delete(
        account_links::table
            .filter(account_links::user_id.eq(user_id))
            .filter(account_links::purpose.eq(purpose))
            .filter(account_links::used_at.is_null()),
    )
    .execute(conn)
}

/// The account a link belongs to, while it is unused and unexpired; nothing changes.
pub fn find_usable(
    conn: &mut Conn,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i32>> {
    account_links::table
        .filter(account_links::token_hash.eq(token_hash))
        .filter(account_links::purpose.eq(purpose))
        .filter(account_links::used_at.is_null())
        .filter(account_links::expires_at.gt(now))
        .select(account_links::user_id)
        .first(conn)
        .optional()
}

/// Uses the link: the account it belongs to if it was unused and unexpired, marked used in the
/// same statement.
pub fn consume(
    conn: &mut Conn,
    token_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i32>> {
    diesel::update(
        account_links::table
            .filter(account_links::token_hash.eq(token_hash))
            .filter(account_links::purpose.eq(purpose))
            .filter(account_links::used_at.is_null())
            .filter(account_links::expires_at.gt(now)),
    )
    .set(account_links::used_at.eq(now))
    .returning(account_links::user_id)
    .get_result(conn)
    .optional()
}

/// Forgets links that expired before `before`.
pub fn purge_expired(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(account_links::table.filter(account_links::expires_at.lt(before))).execute(conn)
}
