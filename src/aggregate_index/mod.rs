//! An exact copy in memory of what aggregates are counted from: each project's
//! classification, dates, amounts and plans, and every current value with its parts and
//! enterprises, in compact columns. It answers what `db::aggregates` answers for the live
//! data (`questions`), so both paths hand the same domain inputs to `domain::aggregate`.
//!
//! Exact and fresh: the index holds one data version. Before it answers at a version (the
//! one the answer's read transaction sees), it catches up with every write committed since
//! its own, in data-version order (`load::catch_up`), so instances sharing one PostgreSQL
//! database answer alike. Bounded: its bytes, with what it keeps between questions
//! (`kept`, at most 32 MiB), are counted after every load and catch-up; over
//! `AGGREGATE_INDEX_BYTES` what is kept is forgotten first, and if the columns alone are
//! still over, the index is dropped, said in the log and in `/metrics`, and aggregates are
//! computed in SQL again until the instance restarts.

mod columns;
mod kept;
mod load;
mod questions;

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use crate::db::DbConnection;

pub use columns::Index;

/// A catch-up of at least this many values follows a large submission (or an instance that
/// answered nothing while a portfolio was stored, which grows the index as a load does):
/// what storing and applying it freed is given back before the next. A catch-up of a few
/// values does not pay for it.
const LARGE_CATCH_UP: usize = 5_000;

/// Growing to a million values, the index leaves behind every vector and table it
/// outgrew, tens of megabytes that glibc keeps in its arenas for the process's lifetime,
/// as it keeps what a large submission's storing freed; given back after a load or a large
/// catch-up, the service's memory is the index's and the work in flight, not their growth's
/// (run 9 in docs/benchmarks.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back_freed_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_memory() {}

/// The index of one instance, shared by its requests.
pub struct AggregateIndex {
    max_bytes: u64,
    state: RwLock<State>,
    /// What `/metrics` reports, kept apart so that reading it never waits for the index.
    bytes: AtomicU64,
    values: AtomicU64,
    over_cap: AtomicBool,
}

/// What the index holds now, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub bytes: u64,
    pub values: u64,
    /// Dropped for passing its cap: aggregates are computed in SQL.
    pub over_cap: bool,
}

enum State {
    /// Not loaded yet: the first question at a version loads it.
    Empty,
    Ready(Box<Index>),
    /// Dropped for passing the cap (or turned off with a cap of 0): SQL answers.
    Off,
}

/// The index as found for a question at one data version.
pub enum At<'a> {
    /// At that version.
    Ready(Reading<'a>),
    /// Already past it: a question at a newer version caught it up first. A read
    /// transaction begun after sees at least the index's version.
    Ahead,
    /// Dropped for passing its cap, or turned off: aggregates are computed in SQL.
    Off,
}

/// The index read at one data version; writers wait while it is held.
pub struct Reading<'a>(RwLockReadGuard<'a, State>);

impl Deref for Reading<'_> {
    type Target = Index;

    fn deref(&self) -> &Index {
        match &*self.0 {
            State::Ready(index) => index,
            State::Empty | State::Off => unreachable!("a reading is made of a ready index"),
        }
    }
}

impl AggregateIndex {
    /// An index that may hold up to `max_bytes`; 0 keeps none.
    pub fn new(max_bytes: u64) -> AggregateIndex {
        let state = if max_bytes == 0 {
            State::Off
        } else {
            State::Empty
        };
        AggregateIndex {
            max_bytes,
            state: RwLock::new(state),
            bytes: AtomicU64::new(0),
            values: AtomicU64::new(0),
            over_cap: AtomicBool::new(false),
        }
    }

    /// The index at exactly `version`, the data version `conn`'s read transaction sees:
    /// loaded, or caught up with the writes committed since its version.
    pub fn at(&self, conn: &mut DbConnection, version: i64) -> diesel::QueryResult<At<'_>> {
        if let Some(found) = self.found_at(version) {
            return Ok(found);
        }
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            // Taken out while it is changed: a failed read leaves it to be loaded again.
            let taken = std::mem::replace(&mut *state, State::Empty);
            let next = match taken {
                State::Off => State::Off,
                State::Empty => {
                    let started = std::time::Instant::now();
                    let index = load::everything(conn, version)?;
                    tracing::info!(
                        version,
                        values = index.value_count(),
                        bytes = index.bytes(),
                        millis = started.elapsed().as_millis() as u64,
                        "aggregate index loaded"
                    );
                    give_back_freed_memory();
                    self.within_cap(Box::new(index))
                }
                State::Ready(mut index) if index.version < version => {
                    if load::catch_up(conn, &mut index, version)? >= LARGE_CATCH_UP {
                        give_back_freed_memory();
                    }
                    self.within_cap(index)
                }
                ready @ State::Ready(_) => ready,
            };
            let (bytes, values) = match &next {
                State::Ready(index) => (index.bytes() as u64, index.value_count() as u64),
                State::Empty | State::Off => (0, 0),
            };
            self.bytes.store(bytes, Ordering::Relaxed);
            self.values.store(values, Ordering::Relaxed);
            *state = next;
        }
        // Now loaded or caught up to at least `version`, or off: found.
        Ok(self.found_at(version).unwrap_or(At::Off))
    }

    /// The index as it stands for a question at `version`; `None` when it must first be
    /// loaded or caught up.
    fn found_at(&self, version: i64) -> Option<At<'_>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            State::Ready(index) if index.version == version => Some(At::Ready(Reading(state))),
            State::Ready(index) if index.version > version => Some(At::Ahead),
            State::Off => Some(At::Off),
            State::Ready(_) | State::Empty => None,
        }
    }

    fn within_cap(&self, mut index: Box<Index>) -> State {
        if index.bytes() as u64 > self.max_bytes {
            // What is kept between questions is made again on demand: it goes first.
            index.forget_kept();
        }
        let bytes = index.bytes() as u64;
        if bytes <= self.max_bytes {
            return State::Ready(index);
        }
        tracing::warn!(
            bytes,
            cap = self.max_bytes,
            values = index.value_count(),
            "the aggregate index passed AGGREGATE_INDEX_BYTES: dropped, aggregates are computed in SQL until restart"
        );
        self.over_cap.store(true, Ordering::Relaxed);
        State::Off
    }

    /// What the index holds now.
    pub fn status(&self) -> Status {
        Status {
            bytes: self.bytes.load(Ordering::Relaxed),
            values: self.values.load(Ordering::Relaxed),
            over_cap: self.over_cap.load(Ordering::Relaxed),
        }
    }
}
