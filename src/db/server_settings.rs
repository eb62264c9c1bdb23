use super::schema::server_settings;
use super::Conn;
use diesel::prelude::*;

/// Stores `value` under `name` unless a value is already there, and returns the stored one.
/// Concurrent first starts therefore agree on a single value.
pub fn get_or_insert(conn: &mut Conn, name: &str, value: &str) -> QueryResult<String> {
    let row = (
        server_settings::name.eq(name),
        server_settings::value.eq(value),
    );
    match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(server_settings::table)
            .values(row)
            .execute(c)?,
        Conn::Postgres(c) => diesel::insert_into(server_settings::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    server_settings::table
        .find(name)
        .select(server_settings::value)
        .first(conn)
}

pub fn get(conn: &mut Conn, name: &str) -> QueryResult<Option<String>> {
    server_settings::table
        .find(name)
        .select(server_settings::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `name`, replacing what was there.
pub fn set(conn: &mut Conn, name: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(server_settings::table.find(name))
        .set(server_settings::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(server_settings::table)
            .values((
                server_settings::name.eq(name),
                server_settings::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}
