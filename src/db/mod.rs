//! The database: one connection type over PostgreSQL and SQLite, its pool, the embedded
//! migrations, and query functions per aggregate root. Everything here returns `QueryResult`.

pub mod aggregates;
mod binds;
pub mod changes;
pub mod completeness;
pub mod data_version;
pub mod history;
pub mod indicators;
pub mod interrupt;
pub mod narratives;
pub mod periods;
pub mod projects;
pub mod reference;
pub mod reports;
pub mod schema;
pub mod sessions;
pub mod snapshots;
pub mod submissions;
pub mod values;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

/// One connection to either backend. The SQLite variant stays last: `establish` tries the
/// variants in order, and SQLite would accept any string as a file name.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledDb = PooledConnection<ConnectionManager<DbConnection>>;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a writer waits for another SQLite writer before giving up. Long, because a
/// 50,000-value submission holds the write lock for seconds and others must queue, not fail.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// Page cache per connection (8 MiB). SQLite's default (2 MiB) makes every aggregate re-read the
/// tables through system calls; the aggregates scan projects and values.
const SQLITE_CACHE_KIB: u32 = 8 * 1024;

/// Page cache of a connection while it writes (32 MiB). A bulk submission of 10,000 values
/// dirties some 2,000 pages of values, revisions, enterprises, changes and their indexes;
/// in the readers' 8 MiB SQLite writes them out to the log before the commit and reads them
/// back (42 % of the benchmark's ingest went to the kernel, 12 % with this cache). Set back
/// after the write, so that only the one writer holds the larger cache.
const SQLITE_WRITE_CACHE_KIB: u32 = 32 * 1024;

/// Pages the write-ahead log grows to (64 MB of disk) before a commit copies it into the
/// database file. At SQLite's default (1,000 pages) every bulk submission's commit copied the
/// log (a fifth of the ingest's time); a page written by several submissions between two
/// copies is copied once: ingest 13.4k → 16.5k values/s at 1M.
const SQLITE_CHECKPOINT_PAGES: u32 = 16_000;

/// How long a request waits for a free connection (or for the database to answer a new
/// connection) before it gets a 503 instead of hanging.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(sqlite) = conn {
            sqlite
                .batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA foreign_keys = ON;
                     PRAGMA cache_size = -{SQLITE_CACHE_KIB};
                     PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES};"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens a pool of `size` connections.
pub fn connect(url: &DatabaseUrl, size: u32) -> Result<DbPool, diesel::r2d2::PoolError> {
    interrupt::install_sqlite_progress_handler();
    let manager = ConnectionManager::<DbConnection>::new(url.connection_string());
    Pool::builder()
        .max_size(size)
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
}

/// How long readiness waits for its connection, or for the database to answer a new one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens readiness's own pool of one connection, outside the queues of data work, with a
/// short wait: a probe answers in seconds whatever the data work does.
pub fn connect_probe(url: &DatabaseUrl) -> Result<DbPool, diesel::r2d2::PoolError> {
    Pool::builder()
        .max_size(1)
        .connection_timeout(PROBE_TIMEOUT)
        .build(ConnectionManager::<DbConnection>::new(
            url.connection_string(),
        ))
}

/// Applies the migrations not yet applied and returns how many ran (on SQLite, after
/// switching the file to WAL). On PostgreSQL an advisory lock keeps several instances
/// starting at once from migrating together.
pub fn run_migrations(
    conn: &mut DbConnection,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    match conn {
        DbConnection::Postgres(pg) => {
            pg.batch_execute("SELECT pg_advisory_lock(2026112801)")?;
            let applied = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len());
            pg.batch_execute("SELECT pg_advisory_unlock(2026112801)")?;
            applied
        }
        DbConnection::Sqlite(sqlite) => {
            // WAL is kept in the database file, so it is set once here rather than on every
            // new connection, where it can fail with "database is locked" while another
            // connection writes.
            sqlite.batch_execute("PRAGMA journal_mode = WAL")?;
            sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len())
        }
    }
}

/// A write transaction's data version: the version it commits as if `changed` is called.
/// Dry runs, refusals and writes that find everything as it was leave the version alone, so
/// kept answers stay valid.
pub struct Write {
    pub version: i64,
    changed: bool,
    /// How many changes the transaction recorded in the change feed (`changes::record`).
    recorded: i64,
}

impl Write {
    /// Says that the transaction changed what figures are computed from.
    pub fn changed(&mut self) {
        self.changed = true;
    }
}

/// Runs `f` in a transaction meant to write. On SQLite it starts with `BEGIN IMMEDIATE`,
/// which takes the write lock up front: a deferred transaction that reads first and writes
/// later fails at once with "database is locked" when another writer got there in between,
/// while an immediate one waits its turn (busy_timeout). On PostgreSQL the data version row
/// is locked first, so writers run one at a time and commit in the order of their versions.
///
/// A transaction that changed data commits as the next data version, stamped by the
/// database's clock as its last statement, so that kept answers are never reused after a
/// change and `as_of` finds it by the time it committed rather than the time it began, on
/// the one clock all instances share.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection, &mut Write) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let f = |conn: &mut DbConnection| {
        let mut write = Write {
            version: data_version::begin_write(conn)?,
            changed: false,
            recorded: 0,
        };
        let value = f(conn, &mut write)?;
        if write.changed {
            data_version::commit(conn, write.version)?;
        }
        Ok(value)
    };
    let DbConnection::Sqlite(sqlite) = conn else {
        return run_in_transaction(conn, "BEGIN", "BEGIN IMMEDIATE", f);
    };
    sqlite.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_WRITE_CACHE_KIB}"))?;
    let result = run_in_transaction(conn, "BEGIN", "BEGIN IMMEDIATE", f);
    // The write has ended either way; a cache left large costs memory, not correctness.
    if let DbConnection::Sqlite(sqlite) = conn
        && let Err(error) =
            sqlite.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    {
        tracing::warn!(%error, "the writer's page cache was not set back");
    }
    result
}

/// Runs `f`, which only reads, on one consistent state of the database: every statement of
/// an answer sees the same committed data, whatever commits meanwhile (a read-only
/// REPEATABLE READ transaction on PostgreSQL; on SQLite a read transaction, which in WAL
/// mode keeps the state of its first read). It takes no writer's turn.
pub fn read_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    run_in_transaction(
        conn,
        "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "BEGIN DEFERRED",
        f,
    )
}

/// Runs `f` in a transaction begun with the backend's statement; commits what it returns
/// `Ok`, rolls back an error.
fn run_in_transaction<T, E>(
    conn: &mut DbConnection,
    begin_postgres: &str,
    begin_sqlite: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgres(pg) => {
            AnsiTransactionManager::begin_transaction_sql(pg, begin_postgres)?
        }
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, begin_sqlite)?
        }
    }
    let result = f(conn);
    // `f` ran on the enum, whose transaction manager is the inner connection's, so the
    // inner manager sees one open transaction here whatever `f` nested inside.
    let finished = match (conn, &result) {
        (DbConnection::Postgres(pg), Ok(_)) => AnsiTransactionManager::commit_transaction(pg),
        (DbConnection::Postgres(pg), Err(_)) => AnsiTransactionManager::rollback_transaction(pg),
        (DbConnection::Sqlite(sqlite), Ok(_)) => AnsiTransactionManager::commit_transaction(sqlite),
        (DbConnection::Sqlite(sqlite), Err(_)) => {
            AnsiTransactionManager::rollback_transaction(sqlite)
        }
    };
    match (finished, result) {
        // SQLite rolls the whole transaction back itself after some errors (a full disk
        // among them); then the rollback finds none, and the error that ended it is the
        // answer.
        (Err(diesel::result::Error::DatabaseError(_, rollback)), Err(error))
            if rollback.message().contains("no transaction is active") =>
        {
            Err(error)
        }
        (finished, result) => {
            finished?;
            result
        }
    }
}

/// Ids per `IN (…)` list on both backends: below their limits on bound parameters.
pub const BATCH_ROWS: usize = 1_000;

/// Inserts `rows` (a slice of `Insertable`s) into `table`: on PostgreSQL in one `COPY`, which
/// streams a bulk submission's rows instead of parsing a statement of their parameters; on
/// SQLite, in the process, one cached single-row INSERT run per row (a multi-row INSERT was
/// parsed and planned anew for every 1,000 rows: 4 % slower on the benchmark's ingest, and a
/// statement as large as its rows). `MultiBackend` can express neither, so each backend's own
/// connection does it. The rows' structs insert a `None` as NULL
/// (`treat_none_as_default_value = false`): COPY has no DEFAULT.
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = &$rows[..];
        match &mut *$conn {
            $crate::db::DbConnection::Postgres(c) if !rows.is_empty() => {
                diesel::copy_from($table).from_insertable(rows).execute(c)?
            }
            $crate::db::DbConnection::Postgres(_) => 0,
            $crate::db::DbConnection::Sqlite(c) => {
                let mut inserted = 0;
                for row in rows {
                    inserted += diesel::insert_into($table).values(row).execute(c)?;
                }
                inserted
            }
        }
    }};
}
pub(crate) use insert_batch;

/// Serialises writers to one region's data until the transaction ends, so that concurrent
/// submissions see each other's changes and the later one wins value by value. SQLite
/// writers are serialised by `write_transaction` already.
pub fn lock_region(conn: &mut DbConnection, region: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        let key: i64 = 2_026_000 + region.parse::<i64>().unwrap_or(0);
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// Checks that the database answers.
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}
