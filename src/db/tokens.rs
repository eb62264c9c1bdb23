//! Access tokens.

use super::schema::{
    access_tokens, apps, client_keys, client_secrets, refresh_tokens, revoked_client_tokens, users,
};
use super::Conn;
use crate::domain::Credential;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewAccessToken<'a> {
    pub token_hash: &'a str,
    pub app_id: i32,
    pub secret_id: Option<i32>,
    pub key_id: Option<i32>,
    pub user_id: Option<i32>,
    pub grant_id: Option<i32>,
    pub scope: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// What an access token stands for.
#[derive(Debug, Clone, Queryable)]
pub struct TokenGrant {
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

/// The stored token with this hash (its row id and what it stands for), live or not.
pub fn find(conn: &mut Conn, token_hash: &str) -> QueryResult<Option<(i32, TokenGrant)>> {
    access_tokens::table
        .inner_join(apps::table)
        .left_join(users::table.on(access_tokens::user_id.eq(users::id.nullable())))
        .filter(access_tokens::token_hash.eq(token_hash))
        .select((
            access_tokens::id,
            (
                access_tokens::app_id,
                apps::client_id,
                apps::name,
                access_tokens::user_id,
                users::email.nullable(),
                access_tokens::scope,
                access_tokens::created_at,
                access_tokens::expires_at,
                access_tokens::revoked_at,
            ),
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

/// Revokes every token issued on a request authenticated with this key, as
/// [`revoke_issued_with_secret`] does for a secret.
pub fn revoke_issued_with_key(
    conn: &mut Conn,
    key_id: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let access = diesel::update(
        access_tokens::table
            .filter(access_tokens::key_id.eq(key_id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)?;
    let refresh = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::key_id.eq(key_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    let signed = diesel::update(
        client_keys::table
            .find(key_id)
            .filter(client_keys::tokens_revoked_at.is_null()),
    )
    .set(client_keys::tokens_revoked_at.eq(now))
    .execute(conn)?;
    Ok(access + refresh + signed > 0)
}

/// Revokes every token issued on a request authenticated with this secret: stored access and
/// refresh tokens, and (through the secret's `tokens_revoked_at`) every signed client token.
/// Returns whether there was anything left to revoke.
pub fn revoke_issued_with_secret(
    conn: &mut Conn,
    secret_id: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
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
    let signed = diesel::update(
        client_secrets::table
            .find(secret_id)
            .filter(client_secrets::tokens_revoked_at.is_null()),
    )
    .set(client_secrets::tokens_revoked_at.eq(now))
    .execute(conn)?;
    Ok(access + refresh + signed > 0)
}

/// What the database says about a signed client credentials token (see
/// `domain::ClientTokenClaims`): its app, and whether it was revoked, on its own or with its
/// secret. `None` when the app or the secret no longer exists (or they do not belong together).
pub struct ClientTokenState {
    pub client_id: String,
    pub app_name: String,
    pub revoked: bool,
}

pub fn client_token_state(
    conn: &mut Conn,
    app_id: i32,
    credential: Credential,
    token_id: &str,
) -> QueryResult<Option<ClientTokenState>> {
    // On every use of a client token, hence on the connection's own backend.
    let found: Option<(String, String, Option<NaiveDateTime>)> = match credential {
        Credential::Secret(secret_id) => on_backend!(conn, c => client_secrets::table
            .inner_join(apps::table)
            .filter(client_secrets::id.eq(secret_id))
            .filter(client_secrets::app_id.eq(app_id))
            .select((
                apps::client_id,
                apps::name,
                client_secrets::tokens_revoked_at,
            ))
            .get_result(c)
            .optional())?,
        Credential::Key(key_id) => client_keys::table
            .inner_join(apps::table)
            .filter(client_keys::id.eq(key_id))
            .filter(client_keys::app_id.eq(app_id))
            .select((apps::client_id, apps::name, client_keys::tokens_revoked_at))
            .get_result(conn)
            .optional()?,
    };
    let Some((client_id, app_name, tokens_revoked_at)) = found else {
        return Ok(None);
    };
    let listed: i64 = on_backend!(conn, c => revoked_client_tokens::table
        .filter(revoked_client_tokens::token_id.eq(token_id))
        .count()
        .get_result(c))?;
    Ok(Some(ClientTokenState {
        client_id,
        app_name,
        revoked: tokens_revoked_at.is_some() || listed > 0,
    }))
}

/// Lists a signed token as revoked until it expires (revoking twice is harmless).
pub fn revoke_client_token(
    conn: &mut Conn,
    token_id: &str,
    app_id: i32,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = (
        revoked_client_tokens::token_id.eq(token_id),
        revoked_client_tokens::app_id.eq(app_id),
        revoked_client_tokens::expires_at.eq(expires_at),
        revoked_client_tokens::revoked_at.eq(now),
    );
    match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(revoked_client_tokens::table)
            .values(row)
            .execute(c),
        Conn::Postgres(c) => diesel::insert_into(revoked_client_tokens::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
    }
    .map(drop)
}

/// Deletes up to `limit` access tokens that expired before `cutoff`; returns how many.
pub fn purge_expired(conn: &mut Conn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let expired: Vec<i32> = access_tokens::table
        .filter(access_tokens::expires_at.lt(cutoff))
        .select(access_tokens::id)
        .limit(limit)
        .load(conn)?;
    let stored = diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(expired)))
        .execute(conn)?;
    // Listed revocations of signed tokens are needed only while the token could be presented.
    let listed = diesel::delete(
        revoked_client_tokens::table.filter(revoked_client_tokens::expires_at.lt(cutoff)),
    )
    .execute(conn)?;
    Ok(stored + listed)
}
