//! Database access: the connection pool, per-connection settings, embedded migrations, and one
//! module per table. Query functions are synchronous and take `&mut Conn` (SQLite or PostgreSQL,
//! chosen by `DATABASE_URL`); async code reaches them only through [`run`], which moves the work
//! onto the blocking thread pool.

/// Runs `$body` with `$c` bound to the connection's own SQLite or PostgreSQL connection (the
/// body is compiled once for each). For the hot path: through the `MultiConnection`, Diesel
/// writes a query's SQL text again on every call, which cost the token endpoint a fifth of its
/// throughput on SQLite; on the inner connection a query is a cached prepared statement.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}

pub mod account_links;
pub mod admin;
pub mod api_tokens;
pub mod apps;
pub mod audit;
pub mod client_keys;
pub mod grants;
pub mod lookups;
pub mod notifications;
pub mod openid_subjects;
pub mod passkeys;
pub mod schema;
pub mod secrets;
pub mod server_settings;
pub mod sessions;
pub mod signing_keys;
pub mod teams;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub mod webhooks;
pub mod writer;

use anyhow::{anyhow, Context};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

/// One connection to whichever database `DATABASE_URL` names. Queries written against it run on
/// both; the few statements that differ (an upsert that ignores, SQLite's pragmas) match on it.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The database behind a `DATABASE_URL`: `postgres://` or `postgresql://` is PostgreSQL,
/// anything else a SQLite file (with or without a `sqlite://` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(database_url: &str) -> Backend {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    fn migrations(&self) -> EmbeddedMigrations {
        match self.backend() {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        }
    }
}

/// Opens connections for the pool, choosing the backend from the URL's scheme (Diesel's own
/// `MultiConnection::establish` would try each backend in turn, and SQLite accepts any string
/// as a file name).
pub struct Manager {
    backend: Backend,
    database_url: String,
    busy_timeout_ms: u32,
}

// By hand: the URL can carry a database password.
impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.database_url))
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL for concurrent readers, a busy timeout so writers queue instead of
                // failing, and foreign keys (off by default in SQLite).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.database_url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // The same bound on waiting for a lock as SQLite's busy timeout; timestamps are
                // stored without a zone, always UTC.
                conn.batch_execute(&format!(
                    "SET lock_timeout = {}; SET TIME ZONE 'UTC';",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        <Conn as diesel::r2d2::R2D2Connection>::is_broken(conn)
    }
}

/// Turns `DATABASE_URL` into a path SQLite understands; `sqlite://` prefixes are accepted.
fn sqlite_path(database_url: &str) -> &str {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url)
}

/// Creates the database file if needed, applies pending migrations, and builds the pool.
pub fn connect_and_migrate(database_url: &str) -> anyhow::Result<DbPool> {
    connect_and_migrate_with(database_url, 5000)
}

/// As [`connect_and_migrate`], with how long a write waits for a lock before failing.
pub fn connect_and_migrate_with(
    database_url: &str,
    busy_timeout_ms: u32,
) -> anyhow::Result<DbPool> {
    let pool = connect(database_url, busy_timeout_ms, None)?;
    migrate(&pool)?;
    Ok(pool)
}

/// Builds the pool (creating a SQLite file if needed) without touching the schema. `pool_wait`,
/// when given, times every wait for a connection.
pub fn connect(
    database_url: &str,
    busy_timeout_ms: u32,
    pool_wait: Option<prometheus::Histogram>,
) -> anyhow::Result<DbPool> {
    let backend = Backend::of(database_url);
    let manager = Manager {
        backend,
        database_url: database_url.to_owned(),
        busy_timeout_ms,
    };
    let mut builder = Pool::builder();
    if let Some(histogram) = pool_wait {
        builder = builder.event_handler(Box::new(PoolWait(histogram)));
    }
    builder
        .max_size(8)
        // r2d2 would run `SELECT 1` before handing out every connection. A SQLite file does
        // not go stale; a PostgreSQL connection can (a restarted server), and is checked.
        .test_on_check_out(backend == Backend::Postgres)
        // Open connections as they are needed, not all eight up front: several instances
        // share one PostgreSQL server and its connection limit.
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
        .with_context(|| format!("opening the {} database", backend.name()))
}

/// Times each checkout of a pooled connection.
#[derive(Debug)]
struct PoolWait(prometheus::Histogram);

impl diesel::r2d2::event::HandleEvent for PoolWait {
    fn handle_checkout(&self, event: diesel::r2d2::event::CheckoutEvent) {
        self.0.observe(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, event: diesel::r2d2::event::TimeoutEvent) {
        self.0.observe(event.timeout().as_secs_f64());
    }
}

/// Applies the migrations the database has not had yet; returns their names, oldest first.
pub fn migrate(pool: &DbPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().context("getting a connection to migrate")?;
    let migrations = conn.migrations();
    let run = |conn: &mut Conn| {
        conn.run_pending_migrations(migrations)
            .map(|applied| applied.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow!("applying migrations: {e}"))
    };
    match conn.backend() {
        Backend::Sqlite => run(&mut conn),
        // Instances that start together on one database take turns on a lock, however long the
        // migrations take: the first applies them, the others then find nothing pending. The
        // pending migrations commit together, or not at all.
        Backend::Postgres => in_transaction(&mut conn, Transaction::Migrate, run),
    }
}

/// The migrations this build has that the database has not had yet.
pub fn pending_migrations(pool: &DbPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().context("getting a connection")?;
    let migrations = conn.migrations();
    let pending = conn
        .pending_migrations(migrations)
        .map_err(|e| anyhow!("reading the applied migrations: {e}"))?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// Asks the database a trivial question: does it answer?
pub fn ping(conn: &mut Conn) -> anyhow::Result<()> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1")
        .execute(conn)
        .context("readiness query")?;
    Ok(())
}

/// Folds SQLite's write-ahead log back into the database file, so the next start does not
/// replay it. PostgreSQL has nothing to fold.
pub fn checkpoint(conn: &mut Conn) -> anyhow::Result<()> {
    match conn {
        Conn::Sqlite(sqlite) => sqlite
            .batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .context("folding the write-ahead log"),
        Conn::Postgres(_) => Ok(()),
    }
}

/// Runs `work` in a transaction that writes after it reads, one such transaction at a time.
///
/// SQLite: `BEGIN IMMEDIATE` takes the write lock up front, so no other writer can change what
/// `work` read before it writes. PostgreSQL: the first statement takes one transaction-scoped
/// advisory lock that every such transaction shares, which gives the same guarantee across
/// every instance on the database, without rewriting each read-then-write as a row lock.
pub fn write_transaction<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    in_transaction(conn, Transaction::Write, work)
}

/// Runs `work` in a read-only transaction that sees one snapshot of the database (SQLite's
/// deferred transaction; PostgreSQL's REPEATABLE READ, where each statement would otherwise see
/// whatever had committed when it started).
pub fn read_transaction<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    in_transaction(conn, Transaction::Read, work)
}

#[derive(Clone, Copy)]
enum Transaction {
    Read,
    Write,
    /// PostgreSQL only: see [`migrate`].
    Migrate,
}

fn in_transaction<T, E, F>(conn: &mut Conn, kind: Transaction, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    begin(conn, kind)?;
    match work(conn) {
        Ok(value) => {
            <Conn as TransactionManager<Conn>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = <Conn as TransactionManager<Conn>>::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// The advisory lock write transactions take on PostgreSQL (the key is arbitrary).
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(19284)";
/// The advisory lock [`migrate`] holds on PostgreSQL, waiting for it without a time limit.
const MIGRATION_LOCK: &str = "SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock(19285)";

fn begin(conn: &mut Conn, kind: Transaction) -> diesel::QueryResult<()> {
    match (conn, kind) {
        (Conn::Sqlite(c), Transaction::Read) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")
        }
        (Conn::Sqlite(c), Transaction::Write | Transaction::Migrate) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        (Conn::Postgres(c), Transaction::Read) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
        (Conn::Postgres(c), Transaction::Write) => begin_locked(c, WRITE_LOCK),
        (Conn::Postgres(c), Transaction::Migrate) => begin_locked(c, MIGRATION_LOCK),
    }
}

/// Begins a PostgreSQL transaction whose first statement takes `lock`.
fn begin_locked(conn: &mut PgConnection, lock: &str) -> diesel::QueryResult<()> {
    AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN")?;
    conn.batch_execute(lock).inspect_err(|_| {
        let _ = <AnsiTransactionManager as TransactionManager<PgConnection>>::rollback_transaction(
            conn,
        );
    })
}

/// Begins a batch of the group-commit writer. Its jobs are single reads and single-statement
/// writes: SQLite needs the write lock for them, but on PostgreSQL they need no turn with the
/// write transactions, so token requests never wait for the portal's writes.
pub(crate) fn begin_batch(conn: &mut Conn) -> diesel::QueryResult<()> {
    match conn {
        Conn::Sqlite(_) => begin(conn, Transaction::Write),
        Conn::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
    }
}

/// Runs `work` with a pooled connection on the blocking thread pool, so neither the wait for a
/// connection nor the query ever stalls an async worker.
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<anyhow::Error> + Send + 'static,
{
    let pool = pool.clone();
    // The request's span (its id) goes along, for whatever the query logs.
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _request = span.enter();
        let mut conn = pool.get().context("getting a database connection")?;
        work(&mut conn)
    })
    .await
    .map_err(|e| E::from(anyhow!("blocking task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::{sql_query, sql_types::Text, QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// The options in .cargo/config.toml reach the bundled SQLite (a build without that file
    /// would be slower, and this test says why).
    #[test]
    fn sqlite_is_built_with_the_configured_options() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap_or_else(|e| {
            panic!("an in-memory database opens: {e}");
        });
        let options: Vec<String> = sql_query("SELECT compile_options FROM pragma_compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        for expected in ["DEFAULT_MEMSTATUS=0", "ENABLE_QPSG", "THREADSAFE=2"] {
            assert!(
                options.iter().any(|o| o == expected),
                "{expected} in {options:?}"
            );
        }
    }
}
