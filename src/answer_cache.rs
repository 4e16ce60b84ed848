//! Answers kept for as long as the data they were computed from is unchanged.
//!
//! Every write transaction increases the data version in the database (`db::data_version`),
//! so an answer computed at version N is exact for as long as the version is N, on every
//! instance that serves the same database. The cache holds the answers of the newest
//! version seen and forgets them all when the version moves on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct AnswerCache<T> {
    capacity: usize,
    state: Mutex<Versioned<T>>,
}

struct Versioned<T> {
    version: i64,
    answers: HashMap<String, Arc<T>>,
}

impl<T> AnswerCache<T> {
    /// Keeps at most `capacity` answers; 0 keeps none.
    pub fn new(capacity: usize) -> AnswerCache<T> {
        AnswerCache {
            capacity,
            state: Mutex::new(Versioned {
                version: i64::MIN,
                answers: HashMap::new(),
            }),
        }
    }

    /// The answer to `question` computed at `version`, if kept.
    pub fn get(&self, version: i64, question: &str) -> Option<Arc<T>> {
        let state = self.state.lock().expect("cache lock");
        if state.version != version {
            return None;
        }
        state.answers.get(question).cloned()
    }

    /// Keeps `answer`, computed from data at least as new as `version`.
    pub fn put(&self, version: i64, question: String, answer: Arc<T>) {
        let mut state = self.state.lock().expect("cache lock");
        if version < state.version || self.capacity == 0 {
            return;
        }
        if version > state.version {
            state.version = version;
            state.answers.clear();
        }
        if state.answers.len() >= self.capacity
            && let Some(evicted) = state.answers.keys().next().cloned()
        {
            state.answers.remove(&evicted);
        }
        state.answers.insert(question, answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_live_until_the_version_moves_on() {
        let cache = AnswerCache::new(2);
        cache.put(7, "a".into(), Arc::new(1));
        assert_eq!(cache.get(7, "a").as_deref(), Some(&1));
        assert_eq!(cache.get(8, "a"), None, "newer data: recompute");
        cache.put(8, "b".into(), Arc::new(2));
        assert_eq!(cache.get(7, "a"), None, "forgotten with its version");
        cache.put(7, "c".into(), Arc::new(3));
        assert_eq!(
            cache.get(7, "c"),
            None,
            "an answer of older data is not kept"
        );
        cache.put(8, "c".into(), Arc::new(3));
        cache.put(8, "d".into(), Arc::new(4));
        let kept = ["b", "c", "d"]
            .iter()
            .filter(|q| cache.get(8, q).is_some())
            .count();
        assert_eq!(kept, 2, "bounded by the capacity");
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = AnswerCache::new(0);
        cache.put(1, "a".into(), Arc::new(1));
        assert_eq!(cache.get(1, "a"), None);
    }
}
