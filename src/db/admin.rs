//! The admin review: every app, its owner and its secrets, filtered, sorted and paginated in
//! the database so that a page costs the same with 10 apps or 10,000.

use super::schema::{apps, client_secrets, review_generation, teams, users};
use super::secrets::SecretRow;
use super::{Backend, Conn, MultiBackend};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use std::ops::ControlFlow;

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
        if let Some(search) = filter.searched() {
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
        let query = match filter.owner {
            OwnerFilter::Any => query,
            OwnerFilter::Personal => query.filter(apps::team_id.is_null()),
            OwnerFilter::Team(team_id) => query.filter(apps::team_id.eq(team_id)),
        };
        narrowed!(query, filter, now)
    }};
}

/// Applies the status and usage filters, which read only the secret: on a query over
/// client_secrets alone too.
macro_rules! narrowed {
    ($query:expr, $filter:expr, $now:expr) => {{
        let filter: &AdminFilter = $filter;
        let now: NaiveDateTime = $now;
        let mut query = $query;
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

/// The columns of an [`AdminRow`], over any of the joins below.
macro_rules! row_columns {
    () => {
        (
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
        )
    };
}

/// Every app with each of its secrets (or alone, when it has none), by app name: the apps_name
/// index serves the order, so a page reads only its own rows.
macro_rules! app_rows {
    ($filter:expr, $now:expr, $db:ty) => {{
        let query = apps::table
            .inner_join(users::table)
            .left_join(teams::table)
            .left_join(client_secrets::table)
            .select(row_columns!())
            .into_boxed::<$db>();
        filtered!(query, $filter, $now).order((
            apps::name.asc(),
            apps::id.asc(),
            client_secrets::id.nullable().desc(),
        ))
    }};
}

/// The secrets with their apps, in a secret's order. Driven from client_secrets (an inner
/// join), so the last_used_at index or the primary key serves the order: from apps, a left join
/// made SQLite and PostgreSQL sort every secret for each page (2 s at a million apps).
macro_rules! secret_rows {
    ($filter:expr, $now:expr, $backend:expr, $db:ty) => {{
        let filter: &AdminFilter = $filter;
        let query = client_secrets::table
            .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
            .select(row_columns!())
            .into_boxed::<$db>();
        let query = filtered!(query, filter, $now);
        let backend: Backend = $backend;
        match filter.sort {
            // SQLite sorts NULL (never used) first ascending and last descending, which is
            // what both orders want.
            AdminSort::LastUsedOldest if backend == Backend::Sqlite => {
                query.order((client_secrets::last_used_at.asc(), client_secrets::id.asc()))
            }
            AdminSort::LastUsedNewest if backend == Backend::Sqlite => query.order((
                client_secrets::last_used_at.desc(),
                client_secrets::id.desc(),
            )),
            // PostgreSQL sorts NULL as the largest value, so the order says where it goes, in
            // the words of the client_secrets_last_used index (an expression such as
            // `last_used_at IS NULL` would match no index). Diesel's `nulls_first()` is for
            // PostgreSQL alone, not for a query written for both.
            AdminSort::LastUsedOldest => query
                .order(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
                >(
                    "client_secrets.last_used_at ASC NULLS FIRST"
                ))
                .then_order_by(client_secrets::id.asc()),
            AdminSort::LastUsedNewest => query
                .order(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
                >(
                    "client_secrets.last_used_at DESC NULLS LAST"
                ))
                .then_order_by(client_secrets::id.desc()),
            AdminSort::NewestSecret | AdminSort::App => query.order(client_secrets::id.desc()),
        }
    }};
}

/// Apps without any secret, after the secrets in a secret's order: newest app first under
/// "newest secret first", else oldest first.
macro_rules! secretless_rows {
    ($filter:expr, $now:expr, $db:ty) => {{
        let filter: &AdminFilter = $filter;
        let query = apps::table
            .inner_join(users::table)
            .left_join(teams::table)
            .left_join(client_secrets::table)
            .filter(client_secrets::id.nullable().is_null())
            .select(row_columns!())
            .into_boxed::<$db>();
        let query = filtered!(query, filter, $now);
        if filter.sort == AdminSort::NewestSecret {
            query.order(apps::id.desc())
        } else {
            query.order(apps::id.asc())
        }
    }};
}

impl AdminSort {
    /// Whether rows follow their secrets (then apps without one come last) rather than apps.
    fn by_secret(self) -> bool {
        self != AdminSort::App
    }
}

impl AdminFilter {
    /// The words searched for, if any.
    fn searched(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether an app without secrets can match (it has no status and no Last Used).
    fn admits_secretless(&self) -> bool {
        self.status == StatusFilter::All && self.unused == UnusedFilter::Any
    }
}

/// How many rows match, counted up to a cap: counting every one of a million would cost more
/// than the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matches {
    Exactly(i64),
    /// More than this many.
    MoreThan(i64),
}

/// One page of the review.
#[derive(Debug, Clone)]
pub struct AdminPage {
    pub matches: Matches,
    pub rows: Vec<AdminRow>,
    /// Whether rows follow this page.
    pub more: bool,
}

/// Which page, and how far to count the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Rows before the page.
    pub offset: i64,
    /// Rows on the page.
    pub limit: i64,
    /// Matches are counted up to this many.
    pub count_cap: i64,
}

/// One page of rows, and how many match, counted up to the window's cap.
pub fn page(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
    window: Window,
) -> QueryResult<AdminPage> {
    let Window {
        offset,
        limit,
        count_cap,
    } = window;
    let matches = count_up_to(conn, filter, now, count_cap)?;
    // One row past the page says whether another page follows.
    let mut rows = if filter.sort.by_secret() {
        secret_ordered_page(conn, filter, now, offset, limit + 1)?
    } else {
        app_rows!(filter, now, MultiBackend)
            .offset(offset)
            .limit(limit + 1)
            .load(conn)?
    };
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(AdminPage {
        matches,
        rows,
        more,
    })
}

/// How many rows match, counting no further than `cap + 1`: at most that many rows are read,
/// however many match.
fn count_up_to(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
    cap: i64,
) -> QueryResult<Matches> {
    let limit = cap.saturating_add(1);
    let counted = if filter.searched().is_none() && filter.owner == OwnerFilter::Any {
        // Every secret has an app and every app an owner, so without a search or an owner
        // the secrets alone are counted (an index scan, no joins: 2 ms instead of 25 at the
        // cap), then the apps without one if they can match.
        let secrets = client_secrets::table
            .select(client_secrets::id)
            .into_boxed::<MultiBackend>();
        let secrets = narrowed!(secrets, filter, now)
            .limit(limit)
            .load::<i32>(conn)?
            .len();
        let secrets = i64::try_from(secrets).unwrap_or(i64::MAX);
        if secrets < limit && filter.admits_secretless() {
            let secretless = apps::table
                .left_join(client_secrets::table)
                .filter(client_secrets::id.nullable().is_null())
                .select(apps::id)
                .limit(limit - secrets)
                .load::<i32>(conn)?
                .len();
            secrets + i64::try_from(secretless).unwrap_or(i64::MAX)
        } else {
            secrets
        }
    } else {
        let rows = apps::table
            .inner_join(users::table)
            .left_join(teams::table)
            .left_join(client_secrets::table)
            .select(apps::id)
            .into_boxed::<MultiBackend>();
        let rows = filtered!(rows, filter, now)
            .limit(limit)
            .load::<i32>(conn)?
            .len();
        i64::try_from(rows).unwrap_or(i64::MAX)
    };
    Ok(if counted > cap {
        Matches::MoreThan(cap)
    } else {
        Matches::Exactly(counted)
    })
}

/// Rows `offset..offset + limit` in a secret's order: secrets first, then apps without one.
fn secret_ordered_page(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AdminRow>> {
    let backend = conn.backend();
    let mut rows: Vec<AdminRow> = secret_rows!(filter, now, backend, MultiBackend)
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    let found = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    if found == limit || !filter.admits_secretless() {
        return Ok(rows);
    }
    // Past the last secret. How many secrets there are is known unless this page starts after
    // them; only then are they counted (every one: such deep pages are slower).
    let secrets = if found > 0 || offset == 0 {
        offset + found
    } else {
        let count = client_secrets::table
            .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
            .select(diesel::dsl::count_star())
            .into_boxed::<MultiBackend>();
        filtered!(count, filter, now).get_result(conn)?
    };
    let secretless: Vec<AdminRow> = secretless_rows!(filter, now, MultiBackend)
        .offset((offset - secrets).max(0))
        .limit(limit - found)
        .load(conn)?;
    rows.extend(secretless);
    Ok(rows)
}

/// Hands every matching row, in the review's order, to `each` as it is read, until `each`
/// says stop. Rows are never all in memory: SQLite steps through its statement; PostgreSQL
/// keeps them behind a cursor and sends a thousand at a time (libpq would otherwise hold the
/// whole result, and its row-by-row mode would, on a stop, read every remaining row before the
/// connection could serve again). Call it in a read transaction: the cursor lives in it, and
/// secrets and apps without one come from the same snapshot.
pub fn export(
    conn: &mut Conn,
    filter: &AdminFilter,
    now: NaiveDateTime,
    each: &mut dyn FnMut(AdminRow) -> ControlFlow<()>,
) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(c) => {
            use diesel::connection::DefaultLoadingMode;
            if !filter.sort.by_secret() {
                let query = app_rows!(filter, now, diesel::sqlite::Sqlite);
                let rows = query.load_iter::<AdminRow, DefaultLoadingMode>(c)?;
                return hand_over(rows, each).map(drop);
            }
            let query = secret_rows!(filter, now, Backend::Sqlite, diesel::sqlite::Sqlite);
            let rows = query.load_iter::<AdminRow, DefaultLoadingMode>(c)?;
            if hand_over(rows, each)?.is_break() || !filter.admits_secretless() {
                return Ok(());
            }
            let query = secretless_rows!(filter, now, diesel::sqlite::Sqlite);
            let rows = query.load_iter::<AdminRow, DefaultLoadingMode>(c)?;
            hand_over(rows, each).map(drop)
        }
        Conn::Postgres(c) => {
            // A cursor's plan is chosen for its first rows only in part (cursor_tuple_fraction);
            // without sorting, the planner follows the indexes that give the order, and the
            // first rows leave at once instead of after a sort of every row.
            c.batch_execute("SET LOCAL enable_sort = off")?;
            if !filter.sort.by_secret() {
                DeclareExport(app_rows!(filter, now, diesel::pg::Pg)).execute(c)?;
                return fetch_all(c, each).map(drop);
            }
            DeclareExport(secret_rows!(filter, now, Backend::Postgres, diesel::pg::Pg))
                .execute(c)?;
            if fetch_all(c, each)?.is_break() || !filter.admits_secretless() {
                return Ok(());
            }
            c.batch_execute("CLOSE admin_export")?;
            DeclareExport(secretless_rows!(filter, now, diesel::pg::Pg)).execute(c)?;
            fetch_all(c, each).map(drop)
        }
    }
}

fn hand_over(
    rows: impl Iterator<Item = QueryResult<AdminRow>>,
    each: &mut dyn FnMut(AdminRow) -> ControlFlow<()>,
) -> QueryResult<ControlFlow<()>> {
    for row in rows {
        if each(row?).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Every row of the `admin_export` cursor, a thousand at a time, to `each` until it says stop.
fn fetch_all(
    conn: &mut diesel::PgConnection,
    each: &mut dyn FnMut(AdminRow) -> ControlFlow<()>,
) -> QueryResult<ControlFlow<()>> {
    loop {
        let rows: Vec<AdminRow> = FetchExport.load(conn)?;
        if rows.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        if hand_over(rows.into_iter().map(Ok), each)?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
}

/// `DECLARE admin_export NO SCROLL CURSOR FOR` a query (closed with its transaction).
struct DeclareExport<Q>(Q);

impl<Q: QueryFragment<diesel::pg::Pg>> QueryFragment<diesel::pg::Pg> for DeclareExport<Q> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("DECLARE admin_export NO SCROLL CURSOR FOR ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> diesel::query_builder::QueryId for DeclareExport<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> RunQueryDsl<diesel::PgConnection> for DeclareExport<Q> {}

/// The next thousand rows of the `admin_export` cursor, typed as [`AdminRow`]s.
#[derive(diesel::query_builder::QueryId)]
struct FetchExport;

impl diesel::query_builder::Query for FetchExport {
    type SqlType = (
        diesel::sql_types::Integer,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
        diesel::sql_types::Nullable<diesel::sql_types::Integer>,
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
    );
}

impl QueryFragment<diesel::pg::Pg> for FetchExport {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("FETCH 1000 FROM admin_export");
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for FetchExport {}

/// Moves with every change to apps, owners or secrets (triggers in the migrations).
pub fn review_generation(conn: &mut Conn) -> QueryResult<i64> {
    // On every cached page, hence on the connection's own backend.
    on_backend!(conn, c => review_generation::table
        .select(review_generation::generation)
        .get_result(c))
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

/// Up to `limit` live secrets never used, or last used before `cutoff`; the stalest first.
pub fn stale_secrets(
    conn: &mut Conn,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<StaleSecret>> {
    let query = client_secrets::table
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
        .select((
            apps::id,
            apps::name,
            users::email,
            teams::name.nullable(),
            SecretRow::as_select(),
        ))
        .limit(limit)
        .into_boxed::<MultiBackend>();
    // Never used first, in the order of the last_used_at index, which then serves the whole
    // query: an order by `last_used_at IS NULL` sorted every live secret (1.6 s at a million
    // apps). SQLite puts NULL first ascending by itself.
    let query = match conn.backend() {
        Backend::Sqlite => {
            query.order((client_secrets::last_used_at.asc(), client_secrets::id.asc()))
        }
        Backend::Postgres => query
            .order(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
            >("client_secrets.last_used_at ASC NULLS FIRST"))
            .then_order_by(client_secrets::id.asc()),
    };
    query.load(conn)
}

/// Up to `limit` live secrets that stop after `now` but by `until` (their lifetime ends, or a
/// revocation is scheduled); the soonest first.
pub fn expiring_secrets(
    conn: &mut Conn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<StaleSecret>> {
    client_secrets::table
        .inner_join(apps::table.inner_join(users::table).left_join(teams::table))
        .filter(client_secrets::revoked_at.is_null())
        .filter(client_secrets::expires_at.gt(now))
        .filter(client_secrets::expires_at.le(until))
        .order((client_secrets::expires_at.asc(), client_secrets::id.asc()))
        .limit(limit)
        .select((
            apps::id,
            apps::name,
            users::email,
            teams::name.nullable(),
            SecretRow::as_select(),
        ))
        .load(conn)
}

/// The live secrets of up to `limit` apps that have had two or more live secrets since before
/// `cutoff` (a rotation left half-done), grouped by app, oldest secret first.
pub fn half_done_rotations(
    conn: &mut Conn,
    now: NaiveDateTime,
    cutoff: NaiveDateTime,
    limit: i64,
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
        .limit(limit)
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
