//! Two-factor state of accounts: the authenticator seed on `users`, and `recovery_codes`.
//! Accepting a code is one conditional update, so a code raced from two places, or replayed on
//! another instance, is accepted once.

use super::schema::{passkeys, recovery_codes, users};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// No `Debug`: the seed, with the server key, makes codes.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct TwoFactorRow {
    pub totp_seed: Option<String>,
    pub two_factor_since: Option<NaiveDateTime>,
}

pub fn find(conn: &mut Conn, user_id: i32) -> QueryResult<Option<TwoFactorRow>> {
    users::table
        .find(user_id)
        .select(TwoFactorRow::as_select())
        .first(conn)
        .optional()
}

/// Makes `seed` the account's authenticator, its confirming step already used, and turns
/// two-factor authentication on if it was off. `true` if it was off.
pub fn set_authenticator(
    conn: &mut Conn,
    user_id: i32,
    seed: &str,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(users::table.find(user_id))
        .set((users::totp_seed.eq(seed), users::totp_last_step.eq(step)))
        .execute(conn)?;
    turn_on(conn, user_id, now)
}

/// Turns two-factor authentication on if it is off; `true` if it was off.
pub fn turn_on(conn: &mut Conn, user_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::two_factor_since.is_null()),
    )
    .set(users::two_factor_since.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Accepts the authenticator code of `step` unless that step, or a later one, was accepted
/// before: a code works once.
pub fn accept_step(conn: &mut Conn, user_id: i32, step: i64) -> QueryResult<bool> {
    diesel::update(
        users::table.find(user_id).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Turns two-factor authentication off: no authenticator, no passkeys, no recovery codes.
pub fn turn_off(conn: &mut Conn, user_id: i32) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_seed.eq(None::<String>),
            users::two_factor_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)
        .map(drop)
}

/// Replaces the account's recovery codes with these hashes.
pub fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: i32,
    hashes: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    // One row at a time: the MultiConnection has no batch insert, and there are ten.
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses a recovery code: `true` if it was the account's and unused, and now it is used.
pub fn use_recovery_code(
    conn: &mut Conn,
    user_id: i32,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// How many unused recovery codes the account has left.
pub fn recovery_codes_left(conn: &mut Conn, user_id: i32) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
