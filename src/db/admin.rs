//! The admin review: every app, its owner and its secrets, filtered, sorted and paginated in
//! the database so that a page costs the same with 10 apps or 10,000.

use super::schema::{apps, client_secrets, review_generation, teams, users};
use super::secrets::SecretRow;
use super::{Backend, Conn, MultiBackend};
use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::define_sql_function! {
    /// Case folding for the search (SQLite's LIKE ignores ASCII case, PostgreSQL's does not),
    /// applied by the database to both sides so each backend folds them alike.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    All,
    /// Live, including those with a scheduled revocation.
    Active,
    /// Live with a scheduled revocation.
    Expiring,
    /// Revoked by hand.
    Revoked,
    /// Stopped at its end date: the end of its lifetime or a scheduled revocation.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnusedFilter {
    Any,
    Never,
    /// Last used before this many days ago, or never.
    MoreThanDays(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminSort {
    /// By app name, then newest secret first: each app with its secrets under it.
    App,
    /// Never used first, then the longest unused: stale secrets on top.
    LastUsedOldest,
    LastUsedNewest,
    NewestSecret,
}

/// Whose apps: anybody's, personal apps only, or one team's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerFilter {
    Any,
    Personal,
    Team(i32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdminFilter {
    pub search: Option<String>,
    pub owner: OwnerFilter,
    pub status: StatusFilter,
    pub unused: UnusedFilter,
    pub sort: AdminSort,
}

/// One row: an app with one of its secrets, or with none (then every secret field is `None`).
#[derive(Debug, Clone, Queryable)]
pub struct AdminRow {
    pub app_id: i32,
    pub app_name: String,
    pub client_id: String,
    /// Who created the app.
    pub owner_email: String,
    /// The team that owns the app, if any: the owner the review shows.
    pub team_name: Option<String>,
    pub secret_id: Option<i32>,
    pub hint: Option<String>,
    pub label: Option<String>,
    pub created_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

/// Applies the search and filters to a boxed query over apps, owners and secrets. A macro
/// because Diesel's boxed select type cannot be named outside Diesel.
macro_rules! filtered {
    ($query:expr, $filter:expr, $now:expr) => {{
        let filter: &AdminFilter = $filter;
        let now: NaiveDateTime = $now;
        let mut query = $query;
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let escaped = search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            query = query.filter(
                lower(apps::name)
                    .like(lower(pattern.clone()))
                    .escape('\\')
                    .or(lower(users::email)
                        .like(lower(pattern.clone()))
                        .escape('\\'))
                    .or(lower(apps::client_id)
                        .like(lower(pattern.clone()))
                        .escape('\\'))
                    .or(lower(teams::name.nullable().assume_not_null())
                        .like(lower(pattern))
                        .escape('\\')),
            );
        }
        query = match filter.owner {
            OwnerFilter::Any => query,
            OwnerFilter::Personal => query.filter(apps::team_id.is_null()),
            OwnerFilter::Team(team_id) => query.filter(apps::team_id.eq(team_id)),
        };
        let has_secret = client_secrets::id.nullable().is_not_null();
        let not_revoked = client_secrets::revoked_at.nullable().is_null();
        let no_schedule = client_secrets::expires_at.nullable().is_null();
        let schedule_pending = client_secrets::expires_at.nullable().gt(now);
        query = match filter.status {
            StatusFilter::All => query,
            StatusFilter::Active => query.filter(
                has_secret
                    .and(not_revoked)
                    .and(no_schedule.or(schedule_pending)),
            ),
            StatusFilter::Expiring => {
                query.filter(has_secret.and(not_revoked).and(schedule_pending))
            }
            StatusFilter::Revoked => query.filter(
                has_secret
                    .and(client_secrets::revoked_at.nullable().is_not_null())
                    .and(
                        client_secrets::expires_at.nullable().is_null().or(
                            client_secrets::revoked_at
                                .nullable()
                                .ne(client_secrets::expires_at.nullable())
                                .assume_not_null(),
                        ),
                    ),
            ),
            StatusFilter::Expired => query.filter(
                has_secret.and(
                    client_secrets::revoked_at
                        .nullable()
                        .eq(client_secrets::expires_at.nullable())
                        .assume_not_null()
                        .or(not_revoked.and(client_secrets::expires_at.nullable().le(now))),
                ),
            ),
        };
        match filter.unused {
            UnusedFilter::Any => query,
            UnusedFilter::Never => {
                query.filter(has_secret.and(client_secrets::last_used_at.nullable().is_null()))
            }
            UnusedFilter::MoreThanDays(days) => {
                let cutoff = now - chrono::TimeDelta::days(days);
                query.filter(
                    has_secret.and(
                        client_secrets::last_used_at
                            .nullable()
                            .is_null()
                            .or(client_secrets::last_used_at.nullable().lt(cutoff)),
                    ),
                )
            }
        }
    }};
}

/// The rows query, filtered and sorted.
macro_rules! rows {
    ($filter:expr, $now:expr, $backend:expr) => {{
        let filter: &AdminFilter = $filter;
        let query = apps::table
            .inner_join(users::table)
            .left_join(teams::table)
            .left_join(client_secrets::table)
            .select((
                apps::id,
                apps::name,
                apps::client_id,
                users::email,
                teams::name.nullable(),
                client_secrets::id.nullable(),
                client_secrets::hint.nullable(),
                client_secrets::label.nullable(),
                client_secrets::created_at.nullable(),
                client_secrets::last_used_at.nullable(),
                client_secrets::revoked_at.nullable(),
                client_secrets::expires_at.nullable(),
            ))
            .into_boxed::<MultiBackend>();
        let query = filtered!(query, filter, $now);
        let backend: Backend = $backend;
        match filter.sort {
            AdminSort::App => query.order((
                apps::name.asc(),
                apps::id.asc(),
                client_secrets::id.nullable().desc(),
            )),
            // SQLite sorts NULL (never used) first ascending and last descending, which is
            // what both orders want, and a plain column order lets the last_used_at index
            // serve the page without sorting every match (20 ms -> 1 ms at 10,000 apps).
            AdminSort::LastUsedOldest if backend == Backend::Sqlite => query.order((
                client_secrets::last_used_at.nullable().asc(),
                client_secrets::id.nullable().asc(),
            )),
            AdminSort::LastUsedNewest if backend == Backend::Sqlite => query.order((
                client_secrets::last_used_at.nullable().desc(),
                client_secrets::id.nullable().desc(),
            )),
            // PostgreSQL sorts NULL as the largest value, so the order says where it goes.
            AdminSort::LastUsedOldest => query.order((
                client_secrets::last_used_at.nullable().is_null().desc(),
                client_secrets::last_used_at.nullable().asc(),
                client_secrets::id.nullable().asc(),
            )),
            AdminSort::LastUsedNewest => query.order((
                client_secrets::last_used_at.nullable().is_null().asc(),
                client_secrets::last_used_at.nullable().desc(),
                client_secrets::id.nullable().desc(),
            )),
            AdminSort::NewestSecret => {
                query.order((client_secrets::id.nullable().desc(), apps::id.desc()))
            }
        }
    }};
}

/// One page of rows and the total number of rows that match.
pub fn page(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<AdminRow>)> {
    let count = apps::table
        .inner_join(users::table)
        .left_join(teams::table)
        .left_join(client_secrets::table)
        .select(diesel::dsl::count_star())
        .into_boxed::<MultiBackend>();
    let total = filtered!(count, filter, now).get_result(conn)?;
    let rows = rows!(filter, now, conn.backend())
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((total, rows))
}

/// Moves with every change to apps, owners or secrets (triggers in the migrations).
pub fn review_generation(conn: &mut Conn) -> QueryResult<i64> {
    // On every cached page, hence on the connection's own backend.
    on_backend!(conn, c => review_generation::table
        .select(review_generation::generation)
        .get_result(c))
}

/// Every matching row, for the CSV export.
pub fn all(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
) -> QueryResult<Vec<AdminRow>> {
    rows!(filter, now, conn.backend()).load(conn)
}

/// A live secret that nobody has used in a while (or ever).
#[derive(Debug, Clone, Queryable)]
pub struct StaleSecret {
    pub app_id: i32,
    pub app_name: String,
    pub owner_email: String,
    /// The team that owns the app, if any.
    pub team_name: Option<String>,
    pub secret: SecretRow,
}

/// Live secrets never used, or last used before `cutoff`; the stalest first.
pub fn stale_secrets(
    conn: &mut Conn,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
) -> QueryResult<Vec<StaleSecret>> {
    client_secrets::table
        .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
        .filter(client_secrets::revoked_at.is_null())
        .filter(
            client_secrets::expires_at
                .is_null()
                .or(client_secrets::expires_at.gt(now)),
        )
        .filter(
            client_secrets::last_used_at
                .is_null()
                .or(client_secrets::last_used_at.lt(cutoff)),
        )
        .order((
            client_secrets::last_used_at.is_null().desc(),
            client_secrets::last_used_at.asc(),
            client_secrets::id.asc(),
        ))
        .limit(500)
        .select((
            apps::id,
            apps::name,
            users::email,
            teams::name.nullable(),
            SecretRow::as_select(),
        ))
        .load(conn)
}

/// Live secrets that stop after `now` but by `until` (their lifetime ends, or a revocation is
/// scheduled); the soonest first.
pub fn expiring_secrets(
    conn: &mut Conn,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<StaleSecret>> {
    client_secrets::table
        .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
        .filter(client_secrets::revoked_at.is_null())
        .filter(client_secrets::expires_at.gt(now))
        .filter(client_secrets::expires_at.le(until))
        .order((client_secrets::expires_at.asc(), client_secrets::id.asc()))
        .limit(500)
        .select((
            apps::id,
            apps::name,
            users::email,
            teams::name.nullable(),
            SecretRow::as_select(),
        ))
        .load(conn)
}

/// The live secrets of apps that have had two or more live secrets since before `cutoff`
/// (a rotation left half-done), grouped by app, oldest secret first.
pub fn half_done_rotations(
    conn: &mut Conn,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
) -> QueryResult<Vec<StaleSecret>> {
    use diesel::dsl::{count, max};
    let live = client_secrets::revoked_at.is_null().and(
        client_secrets::expires_at
            .is_null()
            .or(client_secrets::expires_at.gt(now)),
    );
    let app_ids: Vec<i32> = client_secrets::table
        .filter(live)
        .group_by(client_secrets::app_id)
        .having(
            count(client_secrets::id)
                .ge(2)
                .and(max(client_secrets::created_at).le(cutoff)),
        )
        .select(client_secrets::app_id)
        .limit(500)
        .load(conn)?;
    client_secrets::table
        .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
        .filter(client_secrets::app_id.eq_any(app_ids))
        .filter(live)
        .order((client_secrets::app_id.asc(), client_secrets::id.asc()))
        .select((
            apps::id,
            apps::name,
            users::email,
            teams::name.nullable(),
            SecretRow::as_select(),
        ))
        .load(conn)
}

/// A secret by id alone, for admins.
pub fn find_secret(conn: &mut Conn, secret_id: i32) -> QueryResult<Option<SecretRow>> {
    client_secrets::table
        .find(secret_id)
        .select(SecretRow::as_select())
        .first(conn)
        .optional()
}
