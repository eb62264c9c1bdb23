//! The keys that sign ID tokens (`signing_keys`): public JWK, sealed private key, and when
//! each signs from. A handful of rows, read whole.

use super::schema::signing_keys;
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A stored key. The private key is sealed; `Debug` leaves it out anyway.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub id: i32,
    pub sequence: i32,
    pub kid: String,
    pub public_jwk: String,
    pub sealed_private_key: String,
    pub created_at: NaiveDateTime,
    pub signs_from: NaiveDateTime,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("sequence", &self.sequence)
            .field("kid", &self.kid)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

pub struct NewSigningKeyRow<'a> {
    pub kid: &'a str,
    pub public_jwk: &'a str,
    pub sealed_private_key: &'a str,
    pub created_at: NaiveDateTime,
    pub signs_from: NaiveDateTime,
}

pub fn all(conn: &mut Conn) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order(signing_keys::sequence)
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// Adds `new` after the last key; `false` when another writer added one at the same moment
/// (the unique `sequence` settles that race even outside a write transaction).
pub fn add(conn: &mut Conn, new: &NewSigningKeyRow) -> QueryResult<bool> {
    let last: Option<i32> = signing_keys::table
        .select(diesel::dsl::max(signing_keys::sequence))
        .first(conn)?;
    let inserted = diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::sequence.eq(last.unwrap_or(0) + 1),
            signing_keys::kid.eq(new.kid),
            signing_keys::public_jwk.eq(new.public_jwk),
            signing_keys::sealed_private_key.eq(new.sealed_private_key),
            signing_keys::created_at.eq(new.created_at),
            signing_keys::signs_from.eq(new.signs_from),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes keys that are of no more use (neither signing nor published).
pub fn delete(conn: &mut Conn, ids: &[i32]) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.filter(signing_keys::id.eq_any(ids))).execute(conn)
}
