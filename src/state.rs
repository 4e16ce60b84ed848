//! What every request and command shares: the database pool with its queues, the token
//! keys, the rate limiter, the kept answers and the configuration.

use std::time::Duration;

use actix_web::web;
use tokio::sync::Semaphore;

use crate::answer_cache::AnswerCache;
use crate::auth::TokenKeys;
use crate::config::{Config, ConfigError, DatabaseUrl};
use crate::db::{self, DbConnection, DbPool};
use crate::error::AppError;
use crate::rate_limit::RateLimiter;
use crate::views::aggregates::Aggregate;

/// How long a request waits for its turn at the database before it is answered 503.
const DATABASE_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// What every request handler shares. Everything else lives in the database, so several
/// instances can serve one PostgreSQL.
pub struct AppState {
    pub pool: DbPool,
    pub keys: TokenKeys,
    pub rate_limiter: Option<RateLimiter>,
    /// Aggregate answers, kept until the data changes, up to `KEPT_ANSWERS_BYTES`.
    pub answers: AnswerCache<Aggregate>,
    /// One per pooled connection: the requests that may use the database at once.
    db_permits: Semaphore,
    /// One per processor core: the answers that may be computed at once.
    computation_permits: Semaphore,
    /// One write at a time: the database runs them one at a time anyway (SQLite has one
    /// writer; on PostgreSQL writers take the data version row first), so a waiting write
    /// holds neither a connection nor its parsed body.
    write_permits: Semaphore,
    pub config: Config,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    Database(String),
}

impl AppState {
    /// Connects to the database, applies pending migrations and loads the token keys.
    pub fn open(config: Config) -> Result<AppState, StartupError> {
        if let DatabaseUrl::Sqlite(path) = &config.database
            && let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            crate::config::ensure_dir(folder, "DATABASE_URL")?;
        }
        let pool = db::connect(&config.database, config.pool_size)
            .map_err(|e| StartupError::Database(format!("cannot connect: {e}")))?;
        let mut conn = pool
            .get()
            .map_err(|e| StartupError::Database(format!("cannot connect: {e}")))?;
        let applied = db::run_migrations(&mut conn)
            .map_err(|e| StartupError::Database(format!("migrations failed: {e}")))?;
        tracing::info!(applied, "database migrated");
        let keys = TokenKeys::load(&config)?;
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        Ok(AppState {
            pool,
            keys,
            rate_limiter: RateLimiter::new(config.rate_limit_per_second),
            answers: AnswerCache::new(config.kept_answers_bytes),
            db_permits: Semaphore::new(config.pool_size as usize),
            computation_permits: Semaphore::new(cores),
            write_permits: Semaphore::new(1),
            config,
        })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, so that database work
    /// never stalls the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        // Waiting here, in turn and without holding a thread, rather than for a pooled
        // connection: a burst of slow questions queues instead of failing after the pool's
        // short wait, which is left to tell that the database is gone.
        let _turn = take_turn(&self.db_permits).await?;
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }

    /// Runs `f` as `db` does, for work that keeps a processor busy (computing an answer
    /// from every matched value): no more at once than there are cores, since more would
    /// not finish sooner but would hold the memory of each at the same time.
    pub async fn compute<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let _turn = take_turn(&self.computation_permits).await?;
        self.db(f).await
    }

    /// Runs `f`, which writes, as `db` does, after the writes before it. On SQLite the next
    /// writer is handed the turn at once, where SQLite itself would let it poll for the
    /// lock in sleeps of up to 100 ms; and a queue of bulk submissions waits unparsed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let _turn = take_turn(&self.write_permits).await?;
        self.db(f).await
    }
}

/// Waits in turn for one of `permits`, up to `DATABASE_QUEUE_WAIT`.
async fn take_turn(permits: &Semaphore) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
    actix_web::rt::time::timeout(DATABASE_QUEUE_WAIT, permits.acquire())
        .await
        .map_err(|_| AppError::Unavailable("no turn at the database in time".into()))?
        .map_err(|_| AppError::Internal("the database queue is closed".into()))
}
