//! An exact copy in memory of what aggregates are counted from: each project's
//! classification, dates, amounts and plans, and every current value with its parts and
//! enterprises, in compact columns. It answers what `db::aggregates` answers for the live
//! data (`questions`), so both paths hand the same domain inputs to `domain::aggregate`.
//!
//! Exact and fresh: the index holds one data version. Before it answers at a version (the
//! one the answer's read transaction sees), it catches up with every write committed since
//! its own, in data-version order (`load::catch_up`), so instances sharing one PostgreSQL
//! database answer alike. Bounded: its bytes are counted after every load and catch-up;
//! over `AGGREGATE_INDEX_BYTES` it is dropped, said in the log and in `/metrics`, and
//! aggregates are computed in SQL again until the instance restarts.

mod columns;
mod load;
mod questions;

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use crate::db::DbConnection;

pub use columns::Index;

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
    /// loaded, or caught up with the writes committed since its version. `None` when it is
    /// off (over its cap), or already past `version` (a newer question caught it up first),
    /// where the answer is computed in SQL.
    pub fn at(
        &self,
        conn: &mut DbConnection,
        version: i64,
    ) -> diesel::QueryResult<Option<Reading<'_>>> {
        if let Some(reading) = self.reading_at(version) {
            return Ok(Some(reading));
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
                    self.within_cap(Box::new(index))
                }
                State::Ready(mut index) if index.version < version => {
                    load::catch_up(conn, &mut index, version)?;
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
        Ok(self.reading_at(version))
    }

    fn reading_at(&self, version: i64) -> Option<Reading<'_>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            State::Ready(index) if index.version == version => Some(Reading(state)),
            _ => None,
        }
    }

    fn within_cap(&self, index: Box<Index>) -> State {
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
