//! Access tokens.

use super::schema::{access_tokens, apps, refresh_tokens, users};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewAccessToken<'a> {
    pub token_hash: &'a str,
    pub app_id: i32,
    pub secret_id: Option<i32>,
    pub user_id: Option<i32>,
    pub grant_id: Option<i32>,
    pub scope: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// What an access token stands for.
#[derive(Debug, Clone, Queryable)]
pub struct TokenGrant {
    pub id: i32,
    pub app_id: i32,
    pub client_id: String,
    pub app_name: String,
    pub user_id: Option<i32>,
    pub user_email: Option<String>,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut Conn, new: &NewAccessToken) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

/// The token with this hash, live or not, with its app and user.
pub fn find(conn: &mut Conn, token_hash: &str) -> QueryResult<Option<TokenGrant>> {
    access_tokens::table
        .inner_join(apps::table)
        .left_join(users::table.on(access_tokens::user_id.eq(users::id.nullable())))
        .filter(access_tokens::token_hash.eq(token_hash))
        .select((
            access_tokens::id,
            access_tokens::app_id,
            apps::client_id,
            apps::name,
            access_tokens::user_id,
            users::email.nullable(),
            access_tokens::scope,
            access_tokens::created_at,
            access_tokens::expires_at,
            access_tokens::revoked_at,
        ))
        .first(conn)
        .optional()
}

pub fn revoke(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        access_tokens::table
            .find(id)
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(drop)
}

/// Revokes every access and refresh token issued on a request authenticated with this secret.
pub fn revoke_issued_with_secret(
    conn: &mut Conn,
    secret_id: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let access = diesel::update(
        access_tokens::table
            .filter(access_tokens::secret_id.eq(secret_id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)?;
    let refresh = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::secret_id.eq(secret_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(access + refresh)
}

/// Deletes up to `limit` access tokens that expired before `cutoff`; returns how many.
pub fn purge_expired(conn: &mut Conn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let expired: Vec<i32> = access_tokens::table
        .filter(access_tokens::expires_at.lt(cutoff))
        .select(access_tokens::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(expired))).execute(conn)
}
