//! The throttles' attempt counts in PostgreSQL (`throttle_attempts`), shared by every instance.
//! On SQLite the counts stay in memory (`crate::infra::throttle`), and these functions are not called.

use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    oldest: Option<NaiveDateTime>,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Counts one attempt for (`scope`, `key`) unless `limit` attempts newer than `since` are
/// already counted: `Ok(row id)`, or `Err(the oldest counted attempt)`. Checked and counted in
/// one transaction under a lock on the key, so concurrent attempts on any instance queue for it
/// instead of all reading the same count.
pub fn reserve(
    conn: &mut Conn,
    scope: &str,
    key: &str,
    limit: usize,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> anyhow::Result<Result<i64, NaiveDateTime>> {
    let Conn::Postgres(pg) = conn else {
        anyhow::bail!("throttle counts live in the database only on PostgreSQL");
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let outcome = pg.transaction(|pg| {
        // Two 32-bit keys: a lock space apart from the write transactions' single 64-bit key.
        diesel::sql_query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(19286, hashtext($1 || chr(31) || $2))) AS locked")
            .bind::<Text, _>(scope)
            .bind::<Text, _>(key)
            .execute(pg)?;
        diesel::sql_query(
            "DELETE FROM throttle_attempts WHERE scope = $1 AND key = $2 AND attempted_at <= $3",
        )
        .bind::<Text, _>(scope)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(since)
        .execute(pg)?;
        let count: Count = diesel::sql_query(
            "SELECT count(*) AS n, min(attempted_at) AS oldest FROM throttle_attempts \
             WHERE scope = $1 AND key = $2",
        )
        .bind::<Text, _>(scope)
        .bind::<Text, _>(key)
        .get_result(pg)?;
        if count.n >= limit {
            return Ok(Err(count.oldest.unwrap_or(now)));
        }
        let row: Id = diesel::sql_query(
            "INSERT INTO throttle_attempts (scope, key, attempted_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind::<Text, _>(scope)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .get_result(pg)?;
        Ok::<_, diesel::result::Error>(Ok(row.id))
    })?;
    Ok(outcome)
}

/// Takes back one counted attempt.
pub fn release(conn: &mut Conn, id: i64) -> anyhow::Result<()> {
    let Conn::Postgres(pg) = conn else {
        return Ok(());
    };
    diesel::sql_query("DELETE FROM throttle_attempts WHERE id = $1")
        .bind::<BigInt, _>(id)
        .execute(pg)?;
    Ok(())
}

/// Forgets every counted attempt of (`scope`, `key`).
pub fn clear(conn: &mut Conn, scope: &str, key: &str) -> anyhow::Result<()> {
    let Conn::Postgres(pg) = conn else {
        return Ok(());
    };
    diesel::sql_query("DELETE FROM throttle_attempts WHERE scope = $1 AND key = $2")
        .bind::<Text, _>(scope)
        .bind::<Text, _>(key)
        .execute(pg)?;
    Ok(())
}

/// Deletes attempts that no window can count any more.
pub fn purge(conn: &mut Conn, before: NaiveDateTime) -> anyhow::Result<()> {
    if let Conn::Postgres(pg) = conn {
        diesel::sql_query("DELETE FROM throttle_attempts WHERE attempted_at <= $1")
            .bind::<Timestamp, _>(before)
            .execute(pg)?;
    }
    Ok(())
}
