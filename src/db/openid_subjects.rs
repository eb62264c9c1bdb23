//! Each account's OpenID Connect subject identifier (`openid_subjects`).

use super::schema::openid_subjects;
use super::Conn;
use diesel::prelude::*;

pub fn find(conn: &mut Conn, user_id: i32) -> QueryResult<Option<String>> {
    openid_subjects::table
        .find(user_id)
        .select(openid_subjects::subject)
        .first(conn)
        .optional()
}

/// The account's subject, storing `candidate` as it if it has none yet. Concurrent first uses
/// agree on one value.
pub fn get_or_insert(conn: &mut Conn, user_id: i32, candidate: &str) -> QueryResult<String> {
    if let Some(subject) = find(conn, user_id)? {
        return Ok(subject);
    }
    let row = (
        openid_subjects::user_id.eq(user_id),
        openid_subjects::subject.eq(candidate),
    );
    match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(openid_subjects::table)
            .values(row)
            .execute(c)?,
        Conn::Postgres(c) => diesel::insert_into(openid_subjects::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    openid_subjects::table
        .find(user_id)
        .select(openid_subjects::subject)
        .first(conn)
}
