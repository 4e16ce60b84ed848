//! Fair shares of what requests wait for: each subject's places in the computation limit,
//! and the submission bodies held while they are read or wait for the writer's turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{AcquireError, Semaphore};

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What is guarded is counts, each changed in one statement: never left half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Each subject's places: at most `per_subject` held at once per subject. A subject is
/// known only while it holds or waits for a place, so the table is as small as the queue.
pub struct Shares {
    per_subject: usize,
    subjects: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A subject's place, given back when dropped, also when dropped while still waiting.
pub struct Share<'a> {
    shares: &'a Shares,
    key: String,
    places: Arc<Semaphore>,
    held: bool,
}

impl Shares {
    pub fn new(per_subject: usize) -> Shares {
        Shares {
            per_subject,
            subjects: Mutex::new(HashMap::new()),
        }
    }

    /// How many places one subject may hold at once.
    pub fn per_subject(&self) -> usize {
        self.per_subject
    }

    /// Waits, in turn behind the subject's own earlier requests, for one of its places.
    pub async fn take(&self, key: String) -> Result<Share<'_>, AcquireError> {
        let places = locked(&self.subjects)
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_subject)))
            .clone();
        let mut share = Share {
            shares: self,
            key,
            places,
            held: false,
        };
        share.places.acquire().await?.forget();
        share.held = true;
        Ok(share)
    }

    /// How many places the subject holds now.
    pub fn held_by(&self, key: &str) -> usize {
        locked(&self.subjects)
            .get(key)
            .map_or(0, |places| self.per_subject - places.available_permits())
    }

    /// How many subjects hold or wait for a place.
    pub fn subjects(&self) -> usize {
        locked(&self.subjects).len()
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        if self.held {
            self.places.add_permits(1);
        }
        let mut subjects = locked(&self.shares.subjects);
        // Only the table and this share know the places: nobody holds or waits for one.
        if Arc::strong_count(&self.places) == 2
            && self.places.available_permits() == self.shares.per_subject
        {
            subjects.remove(&self.key);
        }
    }
}

/// How many submission bodies, and how many of their bytes, may be held at once: per
/// subject and in all. A body is counted from before it is read from the connection until
/// its submission is answered, so the bound covers the bytes, the parsed items and the
/// wait for the writer's turn.
pub struct BodyBudget {
    limits: BodyLimits,
    held: Mutex<Held>,
}

/// The figures of a `BodyBudget`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub bodies_per_subject: usize,
    pub bytes_per_subject: u64,
    pub bodies_in_all: usize,
    pub bytes_in_all: u64,
}

#[derive(Default)]
struct Held {
    bodies: usize,
    bytes: u64,
    by_subject: HashMap<String, (usize, u64)>,
}

/// Why a body was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The subject holds its share: its own bodies must be answered first.
    Subject,
    /// Every subject together holds the whole budget.
    InAll,
}

/// One admitted body, given back when dropped.
pub struct BodyTicket<'a> {
    budget: &'a BodyBudget,
    key: String,
    bytes: u64,
}

impl BodyBudget {
    pub fn new(limits: BodyLimits) -> BodyBudget {
        BodyBudget {
            limits,
            held: Mutex::new(Held::default()),
        }
    }

    pub fn limits(&self) -> BodyLimits {
        self.limits
    }

    /// Admits a body of `bytes` for the subject `key` at once, or refuses it: a body never
    /// waits in memory for room.
    pub fn admit(&self, key: String, bytes: u64) -> Result<BodyTicket<'_>, Refusal> {
        let limits = self.limits;
        let mut held = locked(&self.held);
        let (bodies, subject_bytes) = held.by_subject.get(&key).copied().unwrap_or((0, 0));
        if bodies + 1 > limits.bodies_per_subject
            || subject_bytes + bytes > limits.bytes_per_subject
        {
            return Err(Refusal::Subject);
        }
        if held.bodies + 1 > limits.bodies_in_all || held.bytes + bytes > limits.bytes_in_all {
            return Err(Refusal::InAll);
        }
        held.bodies += 1;
        held.bytes += bytes;
        held.by_subject
            .insert(key.clone(), (bodies + 1, subject_bytes + bytes));
        Ok(BodyTicket {
            budget: self,
            key,
            bytes,
        })
    }

    /// The bodies and bytes held now, in all.
    pub fn held(&self) -> (usize, u64) {
        let held = locked(&self.held);
        (held.bodies, held.bytes)
    }
}

impl Drop for BodyTicket<'_> {
    fn drop(&mut self) {
        let mut held = locked(&self.budget.held);
        held.bodies -= 1;
        held.bytes -= self.bytes;
        if let Some((bodies, bytes)) = held.by_subject.get_mut(&self.key) {
            *bodies -= 1;
            *bytes -= self.bytes;
            if *bodies == 0 {
                held.by_subject.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn a_subject_is_forgotten_when_it_holds_and_awaits_nothing() {
        let shares = Shares::new(1);
        let first = shares.take("a".into()).now_or_never().unwrap().unwrap();
        assert_eq!(shares.held_by("a"), 1);
        let mut second = Box::pin(shares.take("a".into()));
        assert!((&mut second).now_or_never().is_none(), "the share is held");
        let other = shares.take("b".into()).now_or_never().unwrap().unwrap();
        assert_eq!(shares.subjects(), 2);
        drop(other);
        assert_eq!(shares.subjects(), 1);
        // A wait given up is no place taken.
        drop(second);
        drop(first);
        assert_eq!(shares.subjects(), 0);
        assert_eq!(shares.held_by("a"), 0);
    }

    #[test]
    fn bodies_are_bounded_per_subject_and_in_all() {
        let budget = BodyBudget::new(BodyLimits {
            bodies_per_subject: 2,
            bytes_per_subject: 100,
            bodies_in_all: 3,
            bytes_in_all: 150,
        });
        let a1 = budget.admit("a".into(), 60).unwrap();
        assert_eq!(budget.admit("a".into(), 41).err(), Some(Refusal::Subject));
        let a2 = budget.admit("a".into(), 40).unwrap();
        assert_eq!(budget.admit("a".into(), 0).err(), Some(Refusal::Subject));
        assert_eq!(budget.admit("b".into(), 51).err(), Some(Refusal::InAll));
        let b1 = budget.admit("b".into(), 50).unwrap();
        assert_eq!(budget.admit("c".into(), 0).err(), Some(Refusal::InAll));
        assert_eq!(budget.held(), (3, 150));
        drop((a1, a2, b1));
        assert_eq!(budget.held(), (0, 0));
        assert!(locked(&budget.held).by_subject.is_empty());
    }
}
