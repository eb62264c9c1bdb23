//! Passkeys (`passkeys`) and WebAuthn ceremonies in progress (`webauthn_challenges`). A
//! ceremony's state is taken by deleting its row, so it completes once, on whichever instance.

use super::schema::{passkeys, webauthn_challenges};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    pub credential_id: String,
    pub credential: String,
    pub user_handle: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = passkeys)]
pub struct NewPasskey<'a> {
    pub user_id: i32,
    pub name: &'a str,
    pub credential_id: &'a str,
    pub credential: &'a str,
    pub user_handle: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut Conn, new: &NewPasskey) -> QueryResult<()> {
    diesel::insert_into(passkeys::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

/// The account's passkeys, oldest first.
pub fn list_for_user(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::id)
        .select(PasskeyRow::as_select())
        .load(conn)
}

pub fn find_by_credential_id(
    conn: &mut Conn,
    credential_id: &str,
) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .first(conn)
        .optional()
}

/// Records a use: the credential as updated (its counter) and when.
pub fn record_use(
    conn: &mut Conn,
    id: i32,
    credential: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(passkeys::table.find(id))
        .set((
            passkeys::credential.eq(credential),
            passkeys::last_used_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Removes one of the account's passkeys; its name if it had one.
pub fn delete_for_user(conn: &mut Conn, user_id: i32, id: i32) -> QueryResult<Option<String>> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::user_id.eq(user_id))
            .filter(passkeys::id.eq(id)),
    )
    .returning(passkeys::name)
    .get_result(conn)
    .optional()
}

/// Starts a ceremony: its state, found later by the hash of its handle.
pub fn insert_challenge(
    conn: &mut Conn,
    handle_hash: &str,
    user_id: Option<i32>,
    purpose: &str,
    state: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(webauthn_challenges::table)
        .values((
            webauthn_challenges::handle_hash.eq(handle_hash),
            webauthn_challenges::user_id.eq(user_id),
            webauthn_challenges::purpose.eq(purpose),
            webauthn_challenges::state.eq(state),
            webauthn_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Takes a ceremony's account and state, once: the row is deleted in the same statement.
pub fn take_challenge(
    conn: &mut Conn,
    handle_hash: &str,
    purpose: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(Option<i32>, String)>> {
    diesel::delete(
        webauthn_challenges::table
            .filter(webauthn_challenges::handle_hash.eq(handle_hash))
            .filter(webauthn_challenges::purpose.eq(purpose))
            .filter(webauthn_challenges::expires_at.gt(now)),
    )
    .returning((webauthn_challenges::user_id, webauthn_challenges::state))
    .get_result(conn)
    .optional()
}

/// Forgets ceremonies that were never finished.
pub fn purge_expired_challenges(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::expires_at.le(now)))
        .execute(conn)
}
