//! Grants (a user's authorization of an app), the authorization codes and refresh tokens that
//! belong to them.

use super::schema::{access_tokens, apps, authorization_codes, grants, refresh_tokens};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = grants)]
pub struct Grant {
    pub id: i32,
    pub app_id: i32,
    pub user_id: i32,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// When the user last authenticated before approving (OpenID Connect's `auth_time`).
    pub auth_time: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCode {
    pub id: i32,
    pub grant_id: i32,
    pub redirect_uri: String,
    pub redirect_uri_explicit: bool,
    pub code_challenge: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    /// The authorization request's OpenID Connect `nonce`.
    pub nonce: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct NewAuthorizationCode<'a> {
    pub code_hash: &'a str,
    pub grant_id: i32,
    pub redirect_uri: &'a str,
    pub redirect_uri_explicit: bool,
    pub code_challenge: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub nonce: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: i32,
    pub grant_id: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub grant_id: i32,
    pub secret_id: Option<i32>,
    pub key_id: Option<i32>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_grant(
    conn: &mut Conn,
    app_id: i32,
    user_id: i32,
    scope: &str,
    auth_time: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    diesel::insert_into(grants::table)
        .values((
            grants::app_id.eq(app_id),
            grants::user_id.eq(user_id),
            grants::scope.eq(scope),
            grants::created_at.eq(now),
            grants::auth_time.eq(auth_time),
        ))
        .returning(grants::id)
        .get_result(conn)
}

/// Revokes a grant and every token that descends from it.
pub fn revoke_grant(conn: &mut Conn, grant_id: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::revoked_at.is_null()),
    )
    .set(grants::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        access_tokens::table
            .filter(access_tokens::grant_id.eq(grant_id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::grant_id.eq(grant_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

pub fn insert_code(conn: &mut Conn, new: &NewAuthorizationCode) -> QueryResult<()> {
    diesel::insert_into(authorization_codes::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

pub fn find_code(
    conn: &mut Conn,
    code_hash: &str,
) -> QueryResult<Option<(AuthorizationCode, Grant)>> {
    authorization_codes::table
        .inner_join(grants::table)
        .filter(authorization_codes::code_hash.eq(code_hash))
        .select((AuthorizationCode::as_select(), Grant::as_select()))
        .first(conn)
        .optional()
}

/// Marks a code used; `false` if it already was (the caller treats that as reuse).
pub fn use_code(conn: &mut Conn, code_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        authorization_codes::table
            .find(code_id)
            .filter(authorization_codes::used_at.is_null()),
    )
    .set(authorization_codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn insert_refresh_token(conn: &mut Conn, new: &NewRefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

pub fn find_refresh_token(
    conn: &mut Conn,
    token_hash: &str,
) -> QueryResult<Option<(RefreshToken, Grant)>> {
    refresh_tokens::table
        .inner_join(grants::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((RefreshToken::as_select(), Grant::as_select()))
        .first(conn)
        .optional()
}

/// Marks a refresh token exchanged; `false` if it already was (reuse).
pub fn use_refresh_token(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// A user's live grants with their app's name, newest first.
pub fn active_for_user(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<(Grant, String)>> {
    grants::table
        .inner_join(apps::table)
        .filter(grants::user_id.eq(user_id))
        .filter(grants::revoked_at.is_null())
        .order(grants::id.desc())
        .select((Grant::as_select(), apps::name))
        .load(conn)
}

/// The ids of a user's live grants to one app.
pub fn active_ids_for_user_app(
    conn: &mut Conn,
    user_id: i32,
    app_id: i32,
) -> QueryResult<Vec<i32>> {
    grants::table
        .filter(grants::user_id.eq(user_id))
        .filter(grants::app_id.eq(app_id))
        .filter(grants::revoked_at.is_null())
        .select(grants::id)
        .load(conn)
}

/// Deletes up to `limit` codes and refresh tokens that expired before `cutoff`.
pub fn purge_expired(conn: &mut Conn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let codes: Vec<i32> = authorization_codes::table
        .filter(authorization_codes::expires_at.lt(cutoff))
        .select(authorization_codes::id)
        .limit(limit)
        .load(conn)?;
    let refresh: Vec<i32> = refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(cutoff))
        .select(refresh_tokens::id)
        .limit(limit)
        .load(conn)?;
    let codes =
        diesel::delete(authorization_codes::table.filter(authorization_codes::id.eq_any(codes)))
            .execute(conn)?;
    let refresh = diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(refresh)))
        .execute(conn)?;
    Ok(codes + refresh)
}
