//! Signed-in sessions (`sessions`). A row is the session: deleting it ends the session on
//! every instance at its next request. Rows are found by the SHA-256 of the cookie's session id.

use super::schema::{sessions, users};
use super::users::User;
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i32,
    pub user_id: i32,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub authenticated_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i32,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub authenticated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut Conn, new: &NewSession) -> QueryResult<i32> {
    diesel::insert_into(sessions::table)
        .values(new)
        .returning(sessions::id)
        .get_result(conn)
}

/// The session and its account, on every signed-in request (hence on the connection's own
/// backend, as one query).
pub fn find_with_user(
    conn: &mut Conn,
    token_hash: &str,
) -> QueryResult<Option<(SessionRow, User)>> {
    on_backend!(conn, c => sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .select((SessionRow::as_select(), User::as_select()))
        .first(c)
        .optional())
}

/// Records that the session was just used.
pub fn touch(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(drop)
}

pub fn delete_by_hash(conn: &mut Conn, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)
}

pub fn delete_by_id(conn: &mut Conn, id: i32) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn)
}

/// Ends one of the account's sessions; `false` when it has no such session.
pub fn delete_for_user(conn: &mut Conn, user_id: i32, id: i32) -> QueryResult<bool> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.eq(id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Ends every session of the account but `keep` (when given); returns how many ended.
pub fn delete_all_for_user(conn: &mut Conn, user_id: i32, keep: Option<i32>) -> QueryResult<usize> {
    let mine = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(keep) => diesel::delete(mine.filter(sessions::id.ne(keep))).execute(conn),
        None => diesel::delete(mine).execute(conn),
    }
}

/// The account's sessions, most recently used first.
pub fn list_for_user(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load(conn)
}

/// Deletes sessions idle since before `idle_before` or started before `started_before`.
pub fn purge_expired(
    conn: &mut Conn,
    idle_before: NaiveDateTime,
    started_before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .lt(idle_before)
                .or(sessions::created_at.lt(started_before)),
        ),
    )
    .execute(conn)
}

/// Records that the session just gave the password or a second factor again.
pub fn reauthenticated(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::authenticated_at.eq(now))
        .execute(conn)
        .map(drop)
}
