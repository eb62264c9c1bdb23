//! Apps' public keys (private_key_jwt) and the jti of every accepted client assertion.

use super::schema::{apps, client_assertions, client_keys, users};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_keys)]
pub struct ClientKeyRow {
    pub id: i32,
    pub app_id: i32,
    pub kid: String,
    pub algorithm: String,
    pub public_jwk: Option<String>,
    pub jwks_url: Option<String>,
    pub fingerprint: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i32>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub tokens_revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = client_keys)]
pub struct NewClientKey<'a> {
    pub app_id: i32,
    pub kid: &'a str,
    pub algorithm: &'a str,
    pub public_jwk: Option<&'a str>,
    pub jwks_url: Option<&'a str>,
    pub fingerprint: &'a str,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i32>,
}

pub fn insert(conn: &mut Conn, new: &NewClientKey) -> QueryResult<ClientKeyRow> {
    let id: i32 = diesel::insert_into(client_keys::table)
        .values(new)
        .returning(client_keys::id)
        .get_result(conn)?;
    client_keys::table
        .find(id)
        .select(ClientKeyRow::as_select())
        .first(conn)
}

/// Every key of the app, newest first, with the email of whoever added it.
pub fn list_for_app(
    conn: &mut Conn,
    app_id: i32,
) -> QueryResult<Vec<(ClientKeyRow, Option<String>)>> {
    client_keys::table
        .left_join(users::table.on(client_keys::created_by.eq(users::id.nullable())))
        .filter(client_keys::app_id.eq(app_id))
        .order(client_keys::id.desc())
        .select((ClientKeyRow::as_select(), users::email.nullable()))
        .load(conn)
}

pub fn find(conn: &mut Conn, app_id: i32, key_id: i32) -> QueryResult<Option<ClientKeyRow>> {
    client_keys::table
        .filter(client_keys::id.eq(key_id))
        .filter(client_keys::app_id.eq(app_id))
        .select(ClientKeyRow::as_select())
        .first(conn)
        .optional()
}

/// The app's keys that are not revoked.
pub fn active_for_app(conn: &mut Conn, app_id: i32) -> QueryResult<Vec<ClientKeyRow>> {
    client_keys::table
        .filter(client_keys::app_id.eq(app_id))
        .filter(client_keys::revoked_at.is_null())
        .order(client_keys::id.asc())
        .select(ClientKeyRow::as_select())
        .load(conn)
}

/// The app with this client id and its active keys: what a client assertion is checked
/// against, read on every assertion so that a revoked key fails on the next request.
pub fn active_for_client(
    conn: &mut Conn,
    client_id: &str,
) -> QueryResult<Option<(i32, Vec<ClientKeyRow>)>> {
    let app_id: Option<i32> = apps::table
        .filter(apps::client_id.eq(client_id))
        .select(apps::id)
        .first(conn)
        .optional()?;
    match app_id {
        Some(app_id) => Ok(Some((app_id, active_for_app(conn, app_id)?))),
        None => Ok(None),
    }
}

/// Revokes the key unless it already is; the row as it is now, and whether this call revoked it.
pub fn revoke(
    conn: &mut Conn,
    app_id: i32,
    key_id: i32,
    now: NaiveDateTime,
) -> QueryResult<Option<(ClientKeyRow, bool)>> {
    let changed = diesel::update(
        client_keys::table
            .filter(client_keys::id.eq(key_id))
            .filter(client_keys::app_id.eq(app_id))
            .filter(client_keys::revoked_at.is_null()),
    )
    .set(client_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok(find(conn, app_id, key_id)?.map(|row| (row, changed == 1)))
}

/// Records a use: Last Used moves forward when it is older than `stale_before`, and only on a
/// still-active key. On PostgreSQL a row another instance is updating right now is skipped
/// (that instance moves it): Last Used never waits for a lock.
fn record_use(
    conn: &mut Conn,
    key_id: i32,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(c) => diesel::update(
            client_keys::table
                .filter(client_keys::id.eq(key_id))
                .filter(client_keys::revoked_at.is_null())
                .filter(
                    client_keys::last_used_at
                        .is_null()
                        .or(client_keys::last_used_at.lt(stale_before)),
                ),
        )
        .set(client_keys::last_used_at.eq(now))
        .execute(c),
        Conn::Postgres(c) => diesel::sql_query(
            "UPDATE client_keys SET last_used_at = $1 WHERE id = (\
               SELECT id FROM client_keys WHERE id = $2 AND revoked_at IS NULL \
               AND (last_used_at IS NULL OR last_used_at < $3) \
               FOR NO KEY UPDATE SKIP LOCKED)",
        )
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::Integer, _>(key_id)
        .bind::<diesel::sql_types::Timestamp, _>(stale_before)
        .execute(c),
    }
    .map(drop)
}

/// A client assertion whose signature verified with the key `key_id`.
pub struct Assertion<'a> {
    pub app_id: i32,
    pub key_id: i32,
    pub jti_hash: &'a str,
    /// When its jti may be forgotten: it has expired by then.
    pub remember_until: NaiveDateTime,
}

/// What [`accept_assertion`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Yes,
    /// The key was revoked (possibly while the signature was being checked).
    KeyRevoked,
    /// This app already used the jti.
    Replayed,
}

/// Accepts an assertion once: the key is still active (a revocation committed before this
/// read counts; one committing at the same moment is no different from one a moment later),
/// the jti is recorded by one conditional insert, and Last Used moves when older than
/// `stale_before`. Each statement commits on its own on PostgreSQL (see
/// [`super::writer::Writer::run_statements`]).
pub fn accept_assertion(
    conn: &mut Conn,
    assertion: &Assertion,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<Accepted> {
    let revoked: Option<Option<NaiveDateTime>> = client_keys::table
        .find(assertion.key_id)
        .select(client_keys::revoked_at)
        .first(conn)
        .optional()?;
    if !matches!(revoked, Some(None)) {
        return Ok(Accepted::KeyRevoked);
    }
    if !remember_assertion(
        conn,
        assertion.app_id,
        assertion.jti_hash,
        assertion.remember_until,
    )? {
        return Ok(Accepted::Replayed);
    }
    record_use(conn, assertion.key_id, now, stale_before)?;
    Ok(Accepted::Yes)
}

/// Remembers an assertion's jti until `expires_at`: `true` the first time, `false` for a jti
/// this app already used. One statement, so two instances racing with one assertion cannot
/// both accept it.
fn remember_assertion(
    conn: &mut Conn,
    app_id: i32,
    jti_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        client_assertions::app_id.eq(app_id),
        client_assertions::jti_hash.eq(jti_hash),
        client_assertions::expires_at.eq(expires_at),
    );
    let inserted = match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(client_assertions::table)
            .values(row)
            .execute(c),
        Conn::Postgres(c) => diesel::insert_into(client_assertions::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
    }?;
    Ok(inserted == 1)
}

/// Forgets the jti of assertions that expired before `cutoff` (they are refused as expired).
pub fn forget_expired_assertions(conn: &mut Conn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(client_assertions::table.filter(client_assertions::expires_at.lt(cutoff)))
        .execute(conn)
}
