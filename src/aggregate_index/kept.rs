//! What a question derives from the projects alone, kept until a project changes: the
//! groups its matched projects fall in (`Grouping`) and its members (`Membership`s). A value
//! written changes neither, so the first question after a value's write scans only its
//! indicator's values; working out the groups of every project took most of an answer's
//! time (run 11 in docs/benchmarks.md). Each is kept under a key naming every input it is
//! derived from, and all are forgotten when any project, its codes or its plans change.

use std::sync::{Arc, OnceLock};

use moka::sync::Cache;

use super::questions::Grouping;
use crate::domain::aggregate::facts::Membership;

/// The most bytes kept: a project's groups take eight bytes, so at 770,000 projects (ten
/// million values) five groupings, at 77,000 fifty.
const KEPT_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone)]
enum Derived {
    Grouping(Arc<Grouping>),
    Members(Arc<[Membership]>),
}

impl Derived {
    fn bytes(&self) -> usize {
        match self {
            Derived::Grouping(grouping) => grouping.bytes(),
            Derived::Members(members) => members
                .iter()
                .map(|m| {
                    size_of::<Membership>()
                        + m.attributes
                            .iter()
                            .map(|a| {
                                size_of::<Option<String>>() + a.as_ref().map_or(0, String::len)
                            })
                            .sum::<usize>()
                })
                .sum(),
        }
    }
}

/// Made on first use; forgetting drops it whole (under the index's write lock, so no
/// question holds it), which no answer can outlive, unlike an invalidation by timestamp.
#[derive(Default)]
pub(super) struct Kept {
    derived: OnceLock<Cache<String, Derived>>,
}

impl Kept {
    /// The grouping named `key`, kept or made by `make` (once, however many ask at once).
    pub(super) fn grouping(&self, key: String, make: impl FnOnce() -> Grouping) -> Arc<Grouping> {
        match self
            .cache()
            .get_with(key, || Derived::Grouping(Arc::new(make())))
        {
            Derived::Grouping(grouping) => grouping,
            Derived::Members(_) => unreachable!("a grouping's key names a grouping"),
        }
    }

    /// The members named `key`, kept or counted by `count`.
    pub(super) fn members(
        &self,
        key: String,
        count: impl FnOnce() -> Vec<Membership>,
    ) -> Arc<[Membership]> {
        match self
            .cache()
            .get_with(key, || Derived::Members(count().into()))
        {
            Derived::Members(members) => members,
            Derived::Grouping(_) => unreachable!("members' key names members"),
        }
    }

    /// Forgets everything kept: a project changed.
    pub(super) fn forget(&mut self) {
        self.derived.take();
    }

    pub(super) fn bytes(&self) -> usize {
        self.derived.get().map_or(0, |cache| {
            cache.run_pending_tasks();
            usize::try_from(cache.weighted_size()).unwrap_or(usize::MAX)
        })
    }

    fn cache(&self) -> &Cache<String, Derived> {
        self.derived.get_or_init(|| {
            Cache::builder()
                .max_capacity(KEPT_BYTES)
                .weigher(|key: &String, derived: &Derived| {
                    u32::try_from(key.len() + derived.bytes()).unwrap_or(u32::MAX)
                })
                .build()
        })
    }
}
