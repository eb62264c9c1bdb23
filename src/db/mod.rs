//! Database access: the connection pool, per-connection settings, embedded migrations, and one
//! module per table. Query functions are synchronous and take `&mut SqliteConnection`; async code
//! reaches them only through [`run`], which moves the work onto the blocking thread pool.

pub mod admin;
pub mod apps;
pub mod audit;
pub mod grants;
pub mod schema;
pub mod secrets;
pub mod server_settings;
pub mod tokens;
pub mod users;
pub mod writer;

use anyhow::{anyhow, Context};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub type Conn = SqliteConnection;
pub type DbPool = Pool<ConnectionManager<Conn>>;
pub type PooledConn = PooledConnection<ConnectionManager<Conn>>;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applied to every connection the pool opens: WAL for concurrent readers, a busy timeout so
/// writers queue instead of failing, and foreign keys (off by default in SQLite).
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u32,
}

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
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

/// As [`connect_and_migrate`], with how long a write waits for the lock before failing.
pub fn connect_and_migrate_with(
    database_url: &str,
    busy_timeout_ms: u32,
) -> anyhow::Result<DbPool> {
    let pool = connect(database_url, busy_timeout_ms)?;
    migrate(&pool)?;
    Ok(pool)
}

/// Builds the pool (creating the database file if needed) without touching the schema.
pub fn connect(database_url: &str, busy_timeout_ms: u32) -> anyhow::Result<DbPool> {
    let manager = ConnectionManager::<Conn>::new(sqlite_path(database_url));
    Pool::builder()
        .max_size(8)
        // r2d2 would run `SELECT 1` before handing out every connection; a connection to a
        // local file does not go stale, and a failing one fails its own query just as clearly.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(15))
        .connection_customizer(Box::new(SqlitePragmas { busy_timeout_ms }))
        .build(manager)
        .with_context(|| format!("opening the database at {database_url}"))
}

/// Applies the migrations the database has not had yet; returns their names, oldest first.
pub fn migrate(pool: &DbPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().context("getting a connection to migrate")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow!("applying migrations: {e}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// The migrations this build has that the database has not had yet.
pub fn pending_migrations(pool: &DbPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().context("getting a connection")?;
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow!("reading the applied migrations: {e}"))?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
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
    actix_web::web::block(move || {
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
        let mut conn = <Conn as diesel::Connection>::establish(":memory:").unwrap_or_else(|e| {
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
