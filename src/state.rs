//! What every request and command shares: the database pool with its queues, the token
//! keys, the rate limiter, the kept answers and the configuration.

use std::time::Duration;

use actix_web::web;
use tokio::sync::Semaphore;

use crate::answer_cache::AnswerCache;
use crate::auth::{Principal, TokenKeys};
use crate::config::{Config, ConfigError, DatabaseUrl};
use crate::db::{self, DbConnection, DbPool};
use crate::error::AppError;
use crate::queues::{BodyBudget, BodyLimits, BodyTicket, Refusal, subject_key};
use crate::rate_limit::RateLimiter;
use crate::views::aggregates::Aggregate;

/// How many aggregate answers an instance keeps.
pub const KEPT_ANSWERS: usize = 256;

/// How long a request waits for its turn at the database before it is answered 503.
const DATABASE_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// What every request handler shares. Everything else lives in the database, so several
/// instances can serve one PostgreSQL.
pub struct AppState {
    pub pool: DbPool,
    pub keys: TokenKeys,
    pub rate_limiter: Option<RateLimiter>,
    /// Aggregate answers, kept until the data changes.
    pub answers: AnswerCache<Aggregate>,
    /// One per pooled connection: the requests that may use the database at once.
    db_permits: Semaphore,
    /// One per processor core: the answers that may be computed at once.
    computation_permits: Semaphore,
    /// One per processor core: the submission bodies that may be read (parsed) at once.
    reading_permits: Semaphore,
    /// One write at a time: the database runs them one at a time anyway (SQLite has one
    /// writer; on PostgreSQL writers take the data version row first), so a waiting write
    /// holds neither a connection nor its parsed body.
    write_permits: Semaphore,
    /// The submission bodies held from arrival until answered, per subject and in all.
    bodies: BodyBudget,
    pub config: Config,
}

/// How many submission bodies one subject, and all together, may have held at once (being
/// received, read or waiting for the writer's turn), and how many of the submission byte
/// limits their bytes may add up to.
pub const BODIES_PER_SUBJECT: usize = 4;
pub const BODIES_IN_ALL: usize = 32;
pub const BODY_LIMITS_PER_SUBJECT: u64 = 2;
pub const BODY_LIMITS_IN_ALL: u64 = 4;

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
            answers: AnswerCache::new(KEPT_ANSWERS),
            db_permits: Semaphore::new(config.pool_size as usize),
            computation_permits: Semaphore::new(cores),
            reading_permits: Semaphore::new(cores),
            write_permits: Semaphore::new(1),
            bodies: BodyBudget::new(body_limits(config.max_submission_bytes)),
            config,
        })
    }

    /// Admits a submission body of `declared` bytes (`Content-Length`; unknown counts as the
    /// largest allowed) from `caller` before it is read, or refuses it at once: 429 when the
    /// caller's own bodies fill its share, 503 when all bodies fill the service's room. The
    /// ticket holds the room until it is dropped, when the submission has been answered.
    pub fn admit_body(
        &self,
        caller: &Principal,
        declared: Option<u64>,
    ) -> Result<BodyTicket<'_>, AppError> {
        let largest = self.config.max_submission_bytes as u64;
        let bytes = declared.map_or(largest, |declared| declared.min(largest));
        self.bodies
            .admit(subject_key(caller), bytes)
            .map_err(|refusal| match refusal {
                Refusal::Subject => AppError::Busy {
                    own_share: true,
                    detail: "This token's earlier submissions are still being read or stored; send the next when one has been answered.",
                },
                Refusal::InAll => AppError::Busy {
                    own_share: false,
                    detail: "Too many submissions are being read or stored right now; try again shortly.",
                },
            })
    }

    /// The submission bodies and their bytes held now.
    pub fn bodies_held(&self) -> (usize, u64) {
        self.bodies.held()
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

    /// Runs `f`, which reads a submission's body, on the blocking thread pool, no more at
    /// once than there are cores, and before the writer's turn: a slow or hostile file
    /// keeps a processor busy but never holds up other regions' writes.
    pub async fn read_body<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
    {
        let _turn = take_turn(&self.reading_permits).await?;
        web::block(f)
            .await
            .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }

    /// Runs `f`, which writes, as `db` does, after the writes before it. On SQLite the next
    /// writer is handed the turn at once, where SQLite itself would let it poll for the
    /// lock in sleeps of up to 100 ms.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let _turn = take_turn(&self.write_permits).await?;
        self.db(f).await
    }
}

fn body_limits(max_submission_bytes: usize) -> BodyLimits {
    let largest = max_submission_bytes as u64;
    BodyLimits {
        bodies_per_subject: BODIES_PER_SUBJECT,
        bytes_per_subject: BODY_LIMITS_PER_SUBJECT * largest,
        bodies_in_all: BODIES_IN_ALL,
        bytes_in_all: BODY_LIMITS_IN_ALL * largest,
    }
}

/// Waits in turn for one of `permits`, up to `DATABASE_QUEUE_WAIT`.
async fn take_turn(permits: &Semaphore) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
    actix_web::rt::time::timeout(DATABASE_QUEUE_WAIT, permits.acquire())
        .await
        .map_err(|_| AppError::Unavailable("no turn at the database in time".into()))?
        .map_err(|_| AppError::Internal("the database queue is closed".into()))
}
