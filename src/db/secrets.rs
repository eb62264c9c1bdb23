use super::schema::{apps, client_secrets};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_secrets)]
pub struct SecretRow {
    pub id: i32,
    pub app_id: i32,
    pub public_id: String,
    pub secret_hash: String,
    pub hint: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = client_secrets)]
pub struct NewSecret<'a> {
    pub app_id: i32,
    pub public_id: &'a str,
    pub secret_hash: &'a str,
    pub hint: &'a str,
    pub created_at: NaiveDateTime,
    pub request_nonce: Option<&'a str>,
}

pub fn count_active(conn: &mut Conn, app_id: i32) -> QueryResult<i64> {
    client_secrets::table
        .filter(client_secrets::app_id.eq(app_id))
        .filter(client_secrets::revoked_at.is_null())
        .count()
        .get_result(conn)
}

pub fn insert(conn: &mut Conn, new: &NewSecret) -> QueryResult<SecretRow> {
    diesel::insert_into(client_secrets::table)
        .values(new)
        .returning(SecretRow::as_returning())
        .get_result(conn)
}

/// All of an app's secrets, newest first, revoked ones included (they are the history).
pub fn list_for_app(conn: &mut Conn, app_id: i32) -> QueryResult<Vec<SecretRow>> {
    client_secrets::table
        .filter(client_secrets::app_id.eq(app_id))
        .order(client_secrets::id.desc())
        .select(SecretRow::as_select())
        .load(conn)
}

pub fn find_for_app(
    conn: &mut Conn,
    app_id: i32,
    secret_id: i32,
) -> QueryResult<Option<SecretRow>> {
    client_secrets::table
        .filter(client_secrets::id.eq(secret_id))
        .filter(client_secrets::app_id.eq(app_id))
        .select(SecretRow::as_select())
        .first(conn)
        .optional()
}

/// Sets `revoked_at` unless it is already set; returns whether this call revoked it.
pub fn revoke(conn: &mut Conn, secret_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::id.eq(secret_id))
            .filter(client_secrets::revoked_at.is_null()),
    )
    .set(client_secrets::revoked_at.eq(now))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// The secret with this public id together with its app's client id, in one query.
pub fn find_for_authentication(
    conn: &mut Conn,
    public_id: &str,
) -> QueryResult<Option<(SecretRow, String)>> {
    client_secrets::table
        .inner_join(apps::table)
        .filter(client_secrets::public_id.eq(public_id))
        .select((SecretRow::as_select(), apps::client_id))
        .first(conn)
        .optional()
}

/// Records a use, but only when the stored time is older than `stale_before`, so that a busy
/// client causes at most one write per secret per interval.
pub fn record_use(
    conn: &mut Conn,
    secret_id: i32,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::id.eq(secret_id))
            .filter(
                client_secrets::last_used_at
                    .is_null()
                    .or(client_secrets::last_used_at.lt(stale_before)),
            ),
    )
    .set(client_secrets::last_used_at.eq(now))
    .execute(conn)
    .map(drop)
}
