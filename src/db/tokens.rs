use super::schema::{access_tokens, apps};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewAccessToken<'a> {
    pub token_hash: &'a str,
    pub app_id: i32,
    pub secret_id: Option<i32>,
    pub scope: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// What a valid bearer token grants.
#[derive(Debug, Clone, Queryable)]
pub struct TokenGrant {
    pub client_id: String,
    pub app_name: String,
    pub scope: String,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut Conn, new: &NewAccessToken) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

/// The grant behind a token hash, if the token exists, is not revoked and has not expired.
pub fn find_active(
    conn: &mut Conn,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<TokenGrant>> {
    access_tokens::table
        .inner_join(apps::table)
        .filter(access_tokens::token_hash.eq(token_hash))
        .filter(access_tokens::revoked_at.is_null())
        .filter(access_tokens::expires_at.gt(now))
        .select((
            apps::client_id,
            apps::name,
            access_tokens::scope,
            access_tokens::expires_at,
        ))
        .first(conn)
        .optional()
}
