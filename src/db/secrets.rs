use super::schema::{apps, client_secrets, secret_callers, secret_usage, users};
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_secrets)]
pub struct SecretRow {
    pub id: i32,
    pub app_id: i32,
    pub public_id: String,
    pub secret_hash: String,
    pub hint: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// When the secret stops: the end of its lifetime or a scheduled revocation, the earlier.
    pub expires_at: Option<NaiveDateTime>,
    /// The end of the lifetime chosen when it was generated.
    pub lifetime_ends_at: Option<NaiveDateTime>,
    pub label: String,
    pub created_by: Option<i32>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    /// Revoke when quiet: the newer secret this one waits for (see `service::secrets`).
    pub quiet_for_secret_id: Option<i32>,
    pub first_used_at: Option<NaiveDateTime>,
    /// A keyed digest recorded once bcrypt accepted the secret (see `SecretProofKey`).
    pub proof: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = client_secrets)]
pub struct NewSecret<'a> {
    pub app_id: i32,
    pub public_id: &'a str,
    pub secret_hash: &'a str,
    pub hint: &'a str,
    pub created_at: NaiveDateTime,
    pub request_nonce: Option<&'a str>,
    pub label: &'a str,
    pub created_by: Option<i32>,
    pub expires_at: Option<NaiveDateTime>,
    pub lifetime_ends_at: Option<NaiveDateTime>,
}

/// Secrets that still authenticate at `now`: not revoked and not past a scheduled expiry.
pub fn count_active(conn: &mut Conn, app_id: i32, now: NaiveDateTime) -> QueryResult<i64> {
    client_secrets::table
        .filter(client_secrets::app_id.eq(app_id))
        .filter(client_secrets::revoked_at.is_null())
        .filter(
            client_secrets::expires_at
                .is_null()
                .or(client_secrets::expires_at.gt(now)),
        )
        .count()
        .get_result(conn)
}

/// Turns scheduled revocations that have come due into real ones (revoked at the scheduled
/// time), so that the max-two rule and its trigger only ever count live secrets.
pub fn settle_expired(conn: &mut Conn, app_id: i32, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::app_id.eq(app_id))
            .filter(client_secrets::revoked_at.is_null())
            .filter(client_secrets::expires_at.le(now)),
    )
    .set(client_secrets::revoked_at.eq(client_secrets::expires_at))
    .execute(conn)
}

/// Schedules the revocation at `at` of every live secret of the app that has no schedule yet
/// and would otherwise still work then.
pub fn schedule_live(conn: &mut Conn, app_id: i32, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::app_id.eq(app_id))
            .filter(client_secrets::revoked_at.is_null())
            .filter(
                client_secrets::expires_at
                    .is_null()
                    .or(client_secrets::expires_at
                        .nullable()
                        .eq(client_secrets::lifetime_ends_at)
                        .assume_not_null()
                        .and(client_secrets::expires_at.gt(at))),
            ),
    )
    .set(client_secrets::expires_at.eq(at))
    .execute(conn)
}

/// Removes a pending schedule, so the secret works until the end of its lifetime again;
/// `false` if there was no schedule still pending.
pub fn cancel_schedule(conn: &mut Conn, secret_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::id.eq(secret_id))
            .filter(client_secrets::revoked_at.is_null())
            .filter(client_secrets::expires_at.gt(now))
            .filter(
                client_secrets::lifetime_ends_at
                    .is_null()
                    .or(client_secrets::lifetime_ends_at
                        .nullable()
                        .ne(client_secrets::expires_at)
                        .assume_not_null()),
            ),
    )
    .set((
        client_secrets::expires_at.eq(client_secrets::lifetime_ends_at),
        client_secrets::quiet_for_secret_id.eq(None::<i32>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn set_label(conn: &mut Conn, secret_id: i32, label: &str) -> QueryResult<()> {
    diesel::update(client_secrets::table.find(secret_id))
        .set(client_secrets::label.eq(label))
        .execute(conn)
        .map(drop)
}

pub fn insert(conn: &mut Conn, new: &NewSecret) -> QueryResult<SecretRow> {
    // Diesel's MultiConnection cannot return a `Selectable` struct; read it back by id.
    let id = diesel::insert_into(client_secrets::table)
        .values(new)
        .returning(client_secrets::id)
        .get_result::<i32>(conn)?;
    client_secrets::table
        .find(id)
        .select(SecretRow::as_select())
        .first(conn)
}

/// All of an app's secrets, newest first, revoked ones included (they are the history), each
/// with the email of whoever generated it.
pub fn list_for_app(conn: &mut Conn, app_id: i32) -> QueryResult<Vec<(SecretRow, Option<String>)>> {
    client_secrets::table
        .left_join(users::table.on(client_secrets::created_by.eq(users::id.nullable())))
        .filter(client_secrets::app_id.eq(app_id))
        .order(client_secrets::id.desc())
        .select((SecretRow::as_select(), users::email.nullable()))
        .load(conn)
}

pub fn find(conn: &mut Conn, secret_id: i32) -> QueryResult<Option<SecretRow>> {
    client_secrets::table
        .find(secret_id)
        .select(SecretRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_for_app(
    conn: &mut Conn,
    app_id: i32,
    secret_id: i32,
) -> QueryResult<Option<SecretRow>> {
    client_secrets::table
        .filter(client_secrets::id.eq(secret_id))
        .filter(client_secrets::app_id.eq(app_id))
        .select(SecretRow::as_select())
        .first(conn)
        .optional()
}

/// Sets `revoked_at` unless it is already set; returns whether this call revoked it.
pub fn revoke(conn: &mut Conn, secret_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::id.eq(secret_id))
            .filter(client_secrets::revoked_at.is_null()),
    )
    .set(client_secrets::revoked_at.eq(now))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// Client authentication's lookup of the secrets `$matching` selects: each with its app's client
/// id and the first use of the newer secret it waits for. A macro because Diesel's query types
/// cannot be named.
macro_rules! authentication_lookup {
    ($matching:expr) => {{
        let newer = diesel::alias!(client_secrets as newer);
        client_secrets::table
            .inner_join(apps::table)
            .left_join(
                newer.on(client_secrets::quiet_for_secret_id
                    .eq(newer.field(client_secrets::id).nullable())
                    .and(newer.field(client_secrets::revoked_at).is_null())),
            )
            .filter($matching)
            .select((
                SecretRow::as_select(),
                apps::client_id,
                newer.field(client_secrets::first_used_at).nullable(),
            ))
    }};
}

/// The secret with this public id together with its app's client id, in one query.
///
/// The third value: for a secret set to be revoked when quiet, when the newer secret it waits
/// for was first used (if it was, and is still live).
pub fn find_for_authentication(
    conn: &mut Conn,
    public_id: &str,
) -> QueryResult<Option<(SecretRow, String, Option<NaiveDateTime>)>> {
    // On every client authentication, hence on the connection's own backend.
    on_backend!(conn, c => authentication_lookup!(client_secrets::public_id.eq(public_id))
        .first(c)
        .optional())
}

/// [`find_for_authentication`] for many public ids in one query: on PostgreSQL one array
/// parameter, so one prepared statement whatever the count (SQLite would prepare each anew).
pub fn find_many_for_authentication(
    conn: &mut Conn,
    public_ids: &[&str],
) -> QueryResult<Vec<(SecretRow, String, Option<NaiveDateTime>)>> {
    on_backend!(conn, c => authentication_lookup!(client_secrets::public_id.eq_any(public_ids))
        .load(c))
}

diesel::define_sql_function! {
    /// SQL's COALESCE for a timestamp: the first that is not NULL.
    fn coalesce(first: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, otherwise: diesel::sql_types::Timestamp) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamp>;
}

/// Records the most recent use and where it came from (and the first use, if this is it), and
/// the caller (address and User-Agent) as one of the app's callers.
pub fn record_use(
    conn: &mut Conn,
    app_id: i32,
    secret_id: i32,
    now: NaiveDateTime,
    (ip, user_agent): (Option<&str>, Option<&str>),
) -> QueryResult<()> {
    diesel::update(client_secrets::table.find(secret_id))
        .set((
            client_secrets::last_used_at.eq(now),
            client_secrets::last_used_ip.eq(ip),
            client_secrets::last_used_user_agent.eq(user_agent),
            client_secrets::first_used_at.eq(coalesce(client_secrets::first_used_at, now)),
        ))
        .execute(conn)?;
    let caller = (
        secret_callers::app_id.eq(app_id),
        secret_callers::ip.eq(ip.unwrap_or_default()),
        secret_callers::user_agent.eq(user_agent.unwrap_or_default()),
        secret_callers::secret_id.eq(secret_id),
        secret_callers::last_seen_at.eq(now),
    );
    let key = (
        secret_callers::app_id,
        secret_callers::ip,
        secret_callers::user_agent,
    );
    let seen = (
        secret_callers::secret_id.eq(secret_id),
        secret_callers::last_seen_at.eq(now),
    );
    // The same upsert on both; Diesel offers it per backend only.
    match conn {
        Conn::Sqlite(c) => diesel::insert_into(secret_callers::table)
            .values(caller)
            .on_conflict(key)
            .do_update()
            .set(seen)
            .execute(c),
        Conn::Postgres(c) => diesel::insert_into(secret_callers::table)
            .values(caller)
            .on_conflict(key)
            .do_update()
            .set(seen)
            .execute(c),
    }
    .map(drop)
}

/// One caller of an app's secrets: where it called from, and the secret it last used.
#[derive(Debug, Clone, Queryable)]
pub struct Caller {
    pub ip: String,
    pub user_agent: String,
    pub secret_id: i32,
    pub hint: String,
    pub last_seen_at: NaiveDateTime,
}

/// The app's callers seen after `since`, most recent first.
pub fn callers_since(
    conn: &mut Conn,
    app_id: i32,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Caller>> {
    secret_callers::table
        .inner_join(client_secrets::table)
        .filter(secret_callers::app_id.eq(app_id))
        .filter(secret_callers::last_seen_at.gt(since))
        // The older secrets' callers first: the machines still to be moved.
        .order((
            secret_callers::secret_id.asc(),
            secret_callers::last_seen_at.desc(),
            secret_callers::ip.asc(),
        ))
        .limit(limit)
        .select((
            secret_callers::ip,
            secret_callers::user_agent,
            secret_callers::secret_id,
            client_secrets::hint,
            secret_callers::last_seen_at,
        ))
        .load(conn)
}

/// How many callers the app had after `since`.
pub fn count_callers_since(conn: &mut Conn, app_id: i32, since: NaiveDateTime) -> QueryResult<i64> {
    secret_callers::table
        .filter(secret_callers::app_id.eq(app_id))
        .filter(secret_callers::last_seen_at.gt(since))
        .count()
        .get_result(conn)
}

pub fn purge_callers(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(secret_callers::table.filter(secret_callers::last_seen_at.lt(before)))
        .execute(conn)
}

/// Marks the live secrets of the app just scheduled for `deadline` as revoked when quiet:
/// they wait for `newer_id` to be used.
pub fn watch_quiet(
    conn: &mut Conn,
    app_id: i32,
    newer_id: i32,
    deadline: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::app_id.eq(app_id))
            .filter(client_secrets::id.ne(newer_id))
            .filter(client_secrets::revoked_at.is_null())
            .filter(client_secrets::expires_at.eq(deadline)),
    )
    .set(client_secrets::quiet_for_secret_id.eq(newer_id))
    .execute(conn)
}

/// Live secrets waiting to go quiet whose quiet period has passed at `now`: the newer secret
/// (still live) was first used, and neither that use nor their own last one is more recent than
/// `quiet_since`. Oldest first, a bounded batch per round.
pub fn due_quiet(
    conn: &mut Conn,
    now: NaiveDateTime,
    quiet_since: NaiveDateTime,
) -> QueryResult<Vec<SecretRow>> {
    let newer = diesel::alias!(client_secrets as newer);
    client_secrets::table
        .inner_join(
            newer
                .on(client_secrets::quiet_for_secret_id
                    .eq(newer.field(client_secrets::id).nullable())),
        )
        .filter(client_secrets::quiet_for_secret_id.is_not_null())
        .filter(client_secrets::revoked_at.is_null())
        .filter(client_secrets::expires_at.gt(now))
        .filter(newer.field(client_secrets::revoked_at).is_null())
        .filter(newer.field(client_secrets::first_used_at).le(quiet_since))
        .filter(
            client_secrets::last_used_at
                .is_null()
                .or(client_secrets::last_used_at.le(quiet_since)),
        )
        .order(client_secrets::id.asc())
        .limit(500)
        .select(SecretRow::as_select())
        .load(conn)
}

/// Stops the secrets waiting for `newer_id` to be used from waiting (it was revoked): their
/// schedule stays, as the deadline it was.
pub fn stop_watching(conn: &mut Conn, newer_id: i32) -> QueryResult<usize> {
    diesel::update(
        client_secrets::table
            .filter(client_secrets::quiet_for_secret_id.eq(newer_id))
            .filter(client_secrets::revoked_at.is_null()),
    )
    .set(client_secrets::quiet_for_secret_id.eq(None::<i32>))
    .execute(conn)
}

/// When the secret this one waits for was first used; `None` if not yet (or it is gone, or
/// revoked).
pub fn first_use_of(conn: &mut Conn, secret_id: i32) -> QueryResult<Option<NaiveDateTime>> {
    client_secrets::table
        .filter(client_secrets::id.eq(secret_id))
        .filter(client_secrets::revoked_at.is_null())
        .select(client_secrets::first_used_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Adds `uses` to the secret's count for the hour starting at `hour`.
pub fn add_usage(
    conn: &mut Conn,
    secret_id: i32,
    hour: NaiveDateTime,
    uses: i32,
) -> QueryResult<()> {
    // The same upsert on both; Diesel offers it per backend only.
    let row = (
        secret_usage::secret_id.eq(secret_id),
        secret_usage::hour.eq(hour),
        secret_usage::uses.eq(uses),
    );
    let key = (secret_usage::secret_id, secret_usage::hour);
    let add = secret_usage::uses.eq(secret_usage::uses + uses);
    match conn {
        Conn::Sqlite(c) => diesel::insert_into(secret_usage::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c),
        Conn::Postgres(c) => diesel::insert_into(secret_usage::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c),
    }
    .map(drop)
}

/// Uses recorded in hours starting at or after `since`.
pub fn usage_since(conn: &mut Conn, secret_id: i32, since: NaiveDateTime) -> QueryResult<i64> {
    use diesel::dsl::sum;
    secret_usage::table
        .filter(secret_usage::secret_id.eq(secret_id))
        .filter(secret_usage::hour.ge(since))
        .select(sum(secret_usage::uses))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// Stores `proof` (none: leaves the stored one) for a secret bcrypt has just accepted, if it
/// still authenticates at `now`; says whether it does.
pub fn record_proof(
    conn: &mut Conn,
    secret_id: i32,
    proof: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let Some(proof) = proof else {
        return is_live(conn, secret_id, now);
    };
    let updated = diesel::update(
        client_secrets::table
            .filter(client_secrets::id.eq(secret_id))
            .filter(client_secrets::revoked_at.is_null())
            .filter(
                client_secrets::expires_at
                    .is_null()
                    .or(client_secrets::expires_at.gt(now)),
            ),
    )
    .set(client_secrets::proof.eq(proof))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Whether the secret authenticates at `now` (not revoked, schedule not passed).
pub fn is_live(conn: &mut Conn, secret_id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    let rows: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = client_secrets::table
        .filter(client_secrets::id.eq(secret_id))
        .select((client_secrets::revoked_at, client_secrets::expires_at))
        .load(conn)?;
    Ok(rows
        .first()
        .is_some_and(|(revoked, expires)| revoked.is_none() && expires.is_none_or(|e| e > now)))
}
