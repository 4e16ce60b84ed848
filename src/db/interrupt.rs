//! Stopping a started read when nobody waits for its answer any more. SQLite: every
//! connection gets a progress handler (installed for each connection the process opens),
//! which stops the statement the thread runs once its computation is given up. PostgreSQL:
//! the backend serving the computation is asked to cancel its statement, from a connection
//! of its own, until the computation has ended. Either way the statement fails, and with
//! it the read transaction, so the next statement of an answer is never run.

use std::cell::RefCell;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use diesel::prelude::*;
use diesel::{PgConnection, QueryResult};

use crate::db::DbConnection;

/// SQLite calls the progress handler every this many steps of its virtual machine: a few
/// tens of microseconds of work, so a given-up statement stops at once and a running one
/// pays a check that costs nanoseconds.
const SQLITE_STEPS_PER_CHECK: c_int = 1_000;

/// How often PostgreSQL is asked again to cancel a given-up computation's statement: a
/// cancel that arrives between two statements is ignored by the server, so the next one is
/// cancelled when it runs.
const POSTGRES_CANCEL_AGAIN: Duration = Duration::from_millis(100);

/// Whether somebody still waits for a read, and what to stop when nobody does. Shared by
/// the request (which gives up) and the thread that runs the read.
#[derive(Clone)]
pub struct Asking(Arc<Shared>);

struct Shared {
    asked: AtomicBool,
    running: Mutex<Running>,
}

/// Where the read runs: the PostgreSQL backend to cancel, while it runs the read.
#[derive(Clone, Copy)]
enum Running {
    Nowhere,
    Postgres { pid: i32 },
}

thread_local! {
    /// The read this thread runs on SQLite, for the progress handler.
    static RUNNING_HERE: RefCell<Option<Asking>> = const { RefCell::new(None) };
}

/// This thread's read for the progress handler, cleared when dropped, also on a panic.
struct RunningHere;

impl RunningHere {
    fn set(asking: &Asking) -> RunningHere {
        RUNNING_HERE.with(|here| *here.borrow_mut() = Some(asking.clone()));
        RunningHere
    }
}

impl Drop for RunningHere {
    fn drop(&mut self) {
        RUNNING_HERE.with(|here| *here.borrow_mut() = None);
    }
}

/// The backend a read runs on, for the canceller. Forgotten when dropped, also on a panic:
/// from then on the connection may serve another read, which is never cancelled.
struct OnBackend<'a>(&'a Asking);

impl OnBackend<'_> {
    fn set(asking: &Asking, pid: i32) -> OnBackend<'_> {
        *locked(&asking.0.running) = Running::Postgres { pid };
        OnBackend(asking)
    }
}

impl Drop for OnBackend<'_> {
    fn drop(&mut self) {
        *locked(&self.0.0.running) = Running::Nowhere;
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What is guarded is one value, replaced whole: never left half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

impl Default for Asking {
    fn default() -> Self {
        Asking(Arc::new(Shared {
            asked: AtomicBool::new(true),
            running: Mutex::new(Running::Nowhere),
        }))
    }
}

impl Asking {
    /// Whether somebody still waits for the answer.
    pub fn is_asked(&self) -> bool {
        self.0.asked.load(Ordering::Acquire)
    }

    /// Nobody waits any more: a read not yet started is not to start, and a started one
    /// on PostgreSQL (`database`, its connection string) is cancelled from a thread of its
    /// own until it has ended. On SQLite the read's own thread stops it.
    pub fn give_up(&self, database: &str) {
        self.0.asked.store(false, Ordering::Release);
        if matches!(*locked(&self.0.running), Running::Postgres { .. }) {
            let asking = self.clone();
            let database = database.to_string();
            std::thread::spawn(move || asking.cancel_on_postgres(&database));
        }
    }

    /// Runs `f` on `conn` so that `give_up` stops its statements, on the thread that runs
    /// the read; None if it was given up before `f` started.
    pub fn run<T>(
        &self,
        conn: &mut DbConnection,
        f: impl FnOnce(&mut DbConnection) -> T,
    ) -> QueryResult<Option<T>> {
        match conn {
            DbConnection::Postgres(pg) => {
                let BackendPid { pid } =
                    diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(pg)?;
                let _on_backend = OnBackend::set(self, pid);
                // Given up before the backend was known, nobody would cancel it: not run.
                Ok(self.is_asked().then(|| f(conn)))
            }
            DbConnection::Sqlite(_) => {
                let _here = RunningHere::set(self);
                Ok(Some(f(conn)))
            }
        }
    }

    /// Asks PostgreSQL to cancel the backend's statement until the read has ended. The
    /// lock is held while asking, so a backend that has gone back to the pool is never
    /// asked.
    fn cancel_on_postgres(&self, database: &str) {
        let mut canceller = match PgConnection::establish(database) {
            Ok(canceller) => canceller,
            Err(error) => {
                tracing::warn!(%error, "cannot connect to cancel a given-up computation");
                return;
            }
        };
        loop {
            {
                let running = locked(&self.0.running);
                let Running::Postgres { pid } = *running else {
                    return;
                };
                if let Err(error) = diesel::sql_query("SELECT pg_cancel_backend($1)")
                    .bind::<diesel::sql_types::Integer, _>(pid)
                    .execute(&mut canceller)
                {
                    tracing::warn!(%error, "cannot cancel a given-up computation");
                    return;
                }
            }
            std::thread::sleep(POSTGRES_CANCEL_AGAIN);
        }
    }
}

/// Installs, once per process, a progress handler on every SQLite connection opened from
/// then on. SQLite offers its handle only there: diesel keeps its own private. Call it
/// before the pool opens its connections.
pub fn install_sqlite_progress_handler() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `on_open` has the signature SQLite calls an extension's entry point with.
        unsafe {
            libsqlite3_sys::sqlite3_auto_extension(Some(on_open));
        }
    });
}

unsafe extern "C" fn on_open(
    db: *mut libsqlite3_sys::sqlite3,
    _error: *mut *mut c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite hands over a connection it has just opened; the handler takes no
    // argument of its own.
    unsafe {
        libsqlite3_sys::sqlite3_progress_handler(
            db,
            SQLITE_STEPS_PER_CHECK,
            Some(stop_if_given_up),
            std::ptr::null_mut(),
        );
    }
    libsqlite3_sys::SQLITE_OK
}

/// SQLite's progress handler: non-zero stops the statement (SQLITE_INTERRUPT). Only a read
/// run by `Asking::run` on this thread and given up is stopped; it never panics.
unsafe extern "C" fn stop_if_given_up(_: *mut c_void) -> c_int {
    let given_up = RUNNING_HERE
        .try_with(|here| {
            here.try_borrow()
                .is_ok_and(|asking| asking.as_ref().is_some_and(|asking| !asking.is_asked()))
        })
        .unwrap_or(false);
    c_int::from(given_up)
}
