//! The database: one connection type over PostgreSQL and SQLite, its pool, the embedded
//! migrations, and query functions per aggregate root. Everything here returns `QueryResult`.

pub mod aggregates;
mod binds;
pub mod completeness;
pub mod data_version;
pub mod indicators;
pub mod narratives;
pub mod periods;
pub mod projects;
pub mod reference;
pub mod schema;
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
                     PRAGMA cache_size = -{SQLITE_CACHE_KIB};"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens a pool of `size` connections.
pub fn connect(url: &DatabaseUrl, size: u32) -> Result<DbPool, diesel::r2d2::PoolError> {
    let manager = ConnectionManager::<DbConnection>::new(url.connection_string());
    Pool::builder()
        .max_size(size)
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
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

/// Runs `f` in a transaction meant to write. On SQLite it starts with `BEGIN IMMEDIATE`,
/// which takes the write lock up front: a deferred transaction that reads first and writes
/// later fails at once with "database is locked" when another writer got there in between,
/// while an immediate one waits its turn (busy_timeout).
///
/// Every write transaction increases the data version last, just before it commits, so that
/// cached answers are never reused after a change.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let f = |conn: &mut DbConnection| {
        let value = f(conn)?;
        data_version::increase(conn)?;
        Ok(value)
    };
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    // `f` ran on the enum, whose transaction manager is the inner connection's, so the
    // inner manager sees one open transaction here whatever `f` nested inside.
    let DbConnection::Sqlite(sqlite) = conn else {
        unreachable!("the variant of a connection never changes")
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(error)
        }
    }
}

/// Rows per multi-row INSERT: below both backends' limits on bound parameters for the
/// widest table written in batches (value_revisions, 13 columns).
pub const BATCH_ROWS: usize = 1_000;

/// Inserts `rows` (a slice of `Insertable`s) into `table` with one multi-row INSERT per
/// `BATCH_ROWS`. `MultiBackend` cannot express a batch insert, so each backend's own
/// connection does it.
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut inserted = 0;
        for chunk in $rows.chunks($crate::db::BATCH_ROWS) {
            inserted += match &mut *$conn {
                $crate::db::DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                $crate::db::DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
            };
        }
        inserted
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
