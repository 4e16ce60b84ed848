//! What every request and command shares: the database pool with its queues, the token
//! keys, the rate limiter, the kept answers and the configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::Semaphore;

use crate::aggregate_index::AggregateIndex;
use crate::answer_cache::AnswerCache;
use crate::auth::{Principal, TokenKeys};
use crate::config::{Config, ConfigError, DatabaseUrl};
use crate::db::interrupt::Asking;
use crate::db::{self, DbConnection, DbPool};
use crate::error::{AppError, StorageFault};
use crate::oidc::Oidc;
use crate::queues::{BodyBudget, BodyLimits, BodyTicket, Refusal, Share, Shares};
use crate::rate_limit::RateLimiter;
use crate::views::aggregates::Aggregate;

/// How long a request waits for its turn at the database before it is answered 503.
const DATABASE_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// How long readiness reports a storage fault met by a write (a full disk, a read-only
/// database) after the last one; a write that succeeds clears it at once.
pub const STORAGE_FAULT_MEMORY: Duration = Duration::from_secs(60);

/// Held by a request while it waits for its blocking task; dropped with the request, as when
/// its client goes away, so that a task not yet started is not run and a started
/// computation is stopped (`db::interrupt`).
struct Asked {
    asking: Asking,
    database: String,
}

impl Drop for Asked {
    fn drop(&mut self) {
        self.asking.give_up(&self.database);
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What is guarded is one value, replaced whole: never left half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every request handler shares. Everything else lives in the database, so several
/// instances can serve one PostgreSQL.
pub struct AppState {
    pub pool: DbPool,
    pub keys: TokenKeys,
    /// The organisation's identity provider, when one is configured (`OIDC_ISSUER`).
    pub oidc: Option<Oidc>,
    pub rate_limiter: Option<RateLimiter>,
    /// Aggregate answers, kept until the data changes, up to `KEPT_ANSWERS_BYTES`.
    pub answers: AnswerCache<Aggregate>,
    /// Overviews (every indicator at once), kept the same way in an eighth of as many bytes
    /// more (`KEPT_ANSWERS_BYTES` is the answers' own, as it was before overviews):
    /// dashboards opened together after a write share one computation.
    pub overviews: AnswerCache<Vec<Aggregate>>,
    /// The aggregation facts in memory, at most `AGGREGATE_INDEX_BYTES`.
    pub aggregate_index: Arc<AggregateIndex>,
    /// One connection of its own for readiness, so that a probe never waits behind data work.
    probe: DbPool,
    /// One per pooled connection but the writer's: the reads that may use the database at
    /// once. The last connection is kept for the writer, so writes never wait behind reads.
    db_permits: Semaphore,
    /// One per processor core, and fewer than the reading places so that simple reads
    /// always find one: the heavy reads (answers computed from every matched row) at once.
    computation_permits: Semaphore,
    /// Each subject's share of `computation_permits`: half of them, so that one subject,
    /// however many questions it asks (`no-cache` or not), leaves room for the others.
    computation_shares: Shares,
    /// One per processor core: the submission bodies that may be read (parsed) at once.
    reading_permits: Semaphore,
    /// Each subject's share of `reading_permits`, so that one subject's slow files leave
    /// room for other regions' submissions.
    reading_shares: Shares,
    /// One write at a time: the database runs them one at a time anyway (SQLite has one
    /// writer; on PostgreSQL writers take the data version row first), so a waiting write
    /// holds no connection; what waits with its parsed body is bounded by `bodies`.
    write_permits: Semaphore,
    /// The submission bodies held from arrival until answered, per subject and in all.
    bodies: BodyBudget,
    /// The computations whose client went away before their answer was made: not started,
    /// or stopped while running.
    computations_cancelled: Arc<AtomicU64>,
    /// The last storage fault met (disk full, read-only) and when, for readiness.
    storage_fault: Mutex<Option<(Instant, StorageFault)>>,
    pub config: Config,
}

/// How many submission bodies one subject, and all together, may have held at once (being
/// received, read or waiting for the writer's turn), and how many of the submission byte
/// limits their bytes may add up to.
pub const BODIES_PER_SUBJECT: usize = 8;
pub const BODIES_IN_ALL: usize = 64;
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
        let oidc = match &config.oidc {
            Some(settings) => Some(Oidc::new(settings.clone()).map_err(|problem| ConfigError {
                variable: "OIDC_ISSUER",
                problem,
            })?),
            None => None,
        };
        let probe = db::connect_probe(&config.database)
            .map_err(|e| StartupError::Database(format!("cannot connect: {e}")))?;
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        let reading_places = reading_places(config.pool_size);
        let computations = cores.max(2).min(reading_places.saturating_sub(1)).max(1);
        Ok(AppState {
            pool,
            keys,
            oidc,
            rate_limiter: RateLimiter::new(config.rate_limit_per_second),
            answers: AnswerCache::new(config.kept_answers_bytes),
            overviews: AnswerCache::new(config.kept_answers_bytes / 8),
            aggregate_index: Arc::new(AggregateIndex::new(config.aggregate_index_bytes)),
            probe,
            db_permits: Semaphore::new(reading_places),
            computation_permits: Semaphore::new(computations),
            computation_shares: Shares::new((computations / 2).max(1)),
            reading_permits: Semaphore::new(cores),
            reading_shares: Shares::new((cores / 2).max(1)),
            write_permits: Semaphore::new(1),
            bodies: BodyBudget::new(body_limits(config.max_submission_bytes)),
            computations_cancelled: Arc::new(AtomicU64::new(0)),
            storage_fault: Mutex::new(None),
            config,
        })
    }

    /// Loads the aggregate index at the current data version, so that the first question
    /// finds it; a failure is logged, and the first question tries again.
    pub fn load_aggregate_index(&self) {
        let loaded = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                db::read_transaction(&mut conn, |conn| {
                    let version = db::data_version::current(conn)?;
                    self.aggregate_index.at(conn, version).map(|_| ())
                })
                .map_err(|e: diesel::result::Error| e.to_string())
            });
        if let Err(error) = loaded {
            tracing::warn!(%error, "the aggregate index was not loaded at start-up");
        }
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
            .admit(caller.caller(), bytes)
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
        self.run(f, Stop::No).await
    }

    /// Runs `f` as `db` does, for a heavy read (an answer computed from every matched row:
    /// aggregates, completeness, reports, snapshots, exports): no more at once than there
    /// are cores, since more would not finish sooner but would hold the memory of each at
    /// the same time, and no more of them for one subject than its share. When its client
    /// goes away, a computation not yet started is not run and a started one is stopped at
    /// its running statement.
    pub async fn compute<T, F>(&self, caller: &Principal, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let _share = self.computation_share(caller).await?;
        let _turn = take_turn(&self.computation_permits).await?;
        let _place = take_turn(&self.db_permits).await?;
        self.run(f, Stop::WhenGivenUp).await
    }

    /// How many computations were given up by their clients before their answer was made.
    pub fn computations_cancelled(&self) -> u64 {
        self.computations_cancelled.load(Ordering::Relaxed)
    }

    /// Waits for one of the caller's places among the computations.
    async fn computation_share(&self, caller: &Principal) -> Result<Share<'_>, AppError> {
        actix_web::rt::time::timeout(
            DATABASE_QUEUE_WAIT,
            self.computation_shares.take(caller.caller()),
        )
        .await
        .map_err(|_| AppError::Busy {
            own_share: true,
            detail: "This token's earlier questions are still being computed; ask again when one has been answered.",
        })?
        .map_err(|_| AppError::Internal("the computation queue is closed".into()))
    }

    /// How many computations the caller holds now, and how many one subject may hold.
    pub fn computations_held_by(&self, caller: &Principal) -> (usize, usize) {
        (
            self.computation_shares.held_by(&caller.caller()),
            self.computation_shares.per_subject(),
        )
    }

    /// How many reads may use the database at once (one connection is the writer's).
    pub fn reading_places(&self) -> usize {
        reading_places(self.config.pool_size)
    }

    /// Whether the database answers on the probe's own connection, and no storage fault
    /// (a full disk, a read-only database) was met lately.
    pub async fn ready(&self) -> Result<(), AppError> {
        if let Some(fault) = self.recent_storage_fault() {
            return Err(fault);
        }
        let probe = self.probe.clone();
        web::block(move || {
            let mut conn = probe
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            db::ping(&mut conn).map_err(|e| AppError::Unavailable(e.to_string()))
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }

    /// Runs `f` on a pooled connection on the blocking thread pool, unless the request was
    /// dropped (its client went away) before the task started; with `Stop::WhenGivenUp`,
    /// also stopped at its running statement when the request is dropped meanwhile.
    async fn run<T, F>(&self, f: F, stop: Stop) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let asked = Asked {
            asking: Asking::default(),
            database: self.config.database.connection_string(),
        };
        let asking = asked.asking.clone();
        let cancelled = self.computations_cancelled.clone();
        let result = web::block(move || {
            let given_up = || {
                if stop == Stop::WhenGivenUp {
                    cancelled.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("computation cancelled: its client went away");
                }
                AppError::Unavailable("nobody waits for the answer".into())
            };
            if !asking.is_asked() {
                return Err(given_up());
            }
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            match stop {
                Stop::No => f(&mut conn),
                Stop::WhenGivenUp => match asking.run(&mut conn, f)? {
                    Some(result) if asking.is_asked() => result,
                    _ => Err(given_up()),
                },
            }
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?;
        if let Err(AppError::Storage { fault, .. }) = &result {
            *locked(&self.storage_fault) = Some((Instant::now(), *fault));
        }
        result
    }

    /// The storage fault met within `STORAGE_FAULT_MEMORY`, as the error readiness answers.
    fn recent_storage_fault(&self) -> Option<AppError> {
        let remembered = *locked(&self.storage_fault);
        remembered
            .filter(|(met, _)| met.elapsed() < STORAGE_FAULT_MEMORY)
            .map(|(_, fault)| AppError::Storage {
                fault,
                cause: "remembered from a recent write".into(),
            })
    }

    /// Runs `f`, which reads a submission's body, on the blocking thread pool, no more at
    /// once than there are cores, and before the writer's turn: a slow or hostile file
    /// keeps a processor busy but never holds up other regions' writes.
    pub async fn read_body<T, F>(&self, caller: &Principal, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
    {
        let _share = actix_web::rt::time::timeout(
            DATABASE_QUEUE_WAIT,
            self.reading_shares.take(caller.caller()),
        )
        .await
        .map_err(|_| AppError::Busy {
            own_share: true,
            detail: "This token's earlier files are still being read; send the next when one has been answered.",
        })?
        .map_err(|_| AppError::Internal("the reading queue is closed".into()))?;
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
        // No reading place: the writer's connection is kept for it. A write once started
        // runs to its end: its client may retry, and finds it stored.
        let written = self.run(f, Stop::No).await;
        if written.is_ok() {
            *locked(&self.storage_fault) = None;
        }
        written
    }
}

/// Whether a started task is stopped when its request is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    No,
    WhenGivenUp,
}

/// Every pooled connection but the writer's; with one, the writer shares it.
fn reading_places(pool_size: u32) -> usize {
    (pool_size as usize).saturating_sub(1).max(1)
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
