//! Personal API tokens and the Idempotency-Keys of the secrets created with them.

use super::schema::{api_idempotency_keys, api_tokens, users};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub user_id: i32,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub request_nonce: Option<&'a str>,
}

pub fn insert(conn: &mut Conn, new: &NewApiToken) -> QueryResult<ApiTokenRow> {
    let id = diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(api_tokens::id)
        .get_result::<i32>(conn)?;
    api_tokens::table
        .find(id)
        .select(ApiTokenRow::as_select())
        .first(conn)
}

/// The user's tokens, newest first; revoked and expired ones stay listed for a while as history.
pub fn list_for_user(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<ApiTokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(ApiTokenRow::as_select())
        .load(conn)
}

/// How many of the user's tokens still work at `now`.
pub fn count_live(conn: &mut Conn, user_id: i32, now: NaiveDateTime) -> QueryResult<i64> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .count()
        .get_result(conn)
}

/// Every user's tokens with their owner's email, newest first, for admins.
pub fn list_all(conn: &mut Conn, limit: i64) -> QueryResult<Vec<(ApiTokenRow, String)>> {
    api_tokens::table
        .inner_join(users::table)
        .order(api_tokens::id.desc())
        .limit(limit)
        .select((ApiTokenRow::as_select(), users::email))
        .load(conn)
}

/// The token with this hash and its owner.
pub fn find_by_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> QueryResult<Option<(ApiTokenRow, TokenOwner)>> {
    on_backend!(conn, c => api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((ApiTokenRow::as_select(), TokenOwner::as_select()))
        .first(c)
        .optional())
}

/// Who a token acts for.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct TokenOwner {
    pub email: String,
    pub is_admin: bool,
    pub two_factor_since: Option<NaiveDateTime>,
}

pub fn find(conn: &mut Conn, id: i32) -> QueryResult<Option<ApiTokenRow>> {
    api_tokens::table
        .find(id)
        .select(ApiTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Sets `revoked_at` unless it is already set; returns whether this call revoked it.
pub fn revoke(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Revokes every live token of the user (a password reset).
pub fn revoke_all_for_user(
    conn: &mut Conn,
    user_id: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn record_use(
    conn: &mut Conn,
    id: i32,
    now: NaiveDateTime,
    ip: Option<&str>,
) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set((
            api_tokens::last_used_at.eq(now),
            api_tokens::last_used_ip.eq(ip),
        ))
        .execute(conn)
        .map(drop)
}

/// Deletes tokens that ended (revoked or expired) before `before`.
pub fn purge_ended(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        api_tokens::table.filter(
            api_tokens::revoked_at
                .lt(before)
                .or(api_tokens::expires_at.lt(before)),
        ),
    )
    .execute(conn)
}

/// A remembered Idempotency-Key: the digest of the request it came with, and its secret.
pub fn find_idempotency_key(
    conn: &mut Conn,
    api_token_id: i32,
    key_hash: &str,
    since: NaiveDateTime,
) -> QueryResult<Option<(String, i32)>> {
    api_idempotency_keys::table
        .filter(api_idempotency_keys::api_token_id.eq(api_token_id))
        .filter(api_idempotency_keys::key_hash.eq(key_hash))
        .filter(api_idempotency_keys::created_at.gt(since))
        .select((
            api_idempotency_keys::request_hash,
            api_idempotency_keys::secret_id,
        ))
        .first(conn)
        .optional()
}

/// Remembers a key; a key older than `expired_before` is replaced. Fails with a unique
/// violation when a live key is already there (two requests with the same key at once).
pub fn remember_idempotency_key(
    conn: &mut Conn,
    api_token_id: i32,
    key_hash: &str,
    request_hash: &str,
    secret_id: i32,
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        api_idempotency_keys::table
            .filter(api_idempotency_keys::api_token_id.eq(api_token_id))
            .filter(api_idempotency_keys::key_hash.eq(key_hash))
            .filter(api_idempotency_keys::created_at.le(expired_before)),
    )
    .execute(conn)?;
    diesel::insert_into(api_idempotency_keys::table)
        .values((
            api_idempotency_keys::api_token_id.eq(api_token_id),
            api_idempotency_keys::key_hash.eq(key_hash),
            api_idempotency_keys::request_hash.eq(request_hash),
            api_idempotency_keys::secret_id.eq(secret_id),
            api_idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn purge_idempotency_keys(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(api_idempotency_keys::table.filter(api_idempotency_keys::created_at.lt(before)))
        .execute(conn)
}
