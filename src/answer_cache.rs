//! Answers kept for as long as the data they were computed from is unchanged.
//!
//! Every write transaction increases the data version in the database (`db::data_version`),
//! so an answer computed at version N is exact for as long as the version is N, on every
//! instance that serves the same database. An answer is reused only at the version it was
//! computed at; when the version moves on, the older answers are dropped. Beyond the
//! capacity the least recently used answer goes (moka).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

pub struct AnswerCache<T: Send + Sync + 'static> {
    /// Question → (the version it was computed at, the answer). `None` keeps nothing.
    answers: Option<Cache<String, (i64, Arc<T>)>>,
    /// The newest version an answer was kept for.
    newest: AtomicI64,
}

impl<T: Send + Sync + 'static> AnswerCache<T> {
    /// Keeps at most `capacity` answers; 0 keeps none.
    pub fn new(capacity: usize) -> AnswerCache<T> {
        let answers = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity as u64)
                .eviction_policy(EvictionPolicy::lru())
                .build()
        });
        AnswerCache {
            answers,
            newest: AtomicI64::new(i64::MIN),
        }
    }

    /// The answer to `question` computed at `version`, if kept.
    pub fn get(&self, version: i64, question: &str) -> Option<Arc<T>> {
        let (computed_at, answer) = self.answers.as_ref()?.get(question)?;
        (computed_at == version).then_some(answer)
    }

    /// Keeps `answer`, computed from data at least as new as `version`.
    pub fn put(&self, version: i64, question: String, answer: Arc<T>) {
        let Some(answers) = &self.answers else {
            return;
        };
        let newest = self.newest.fetch_max(version, Ordering::AcqRel);
        if version < newest {
            return;
        }
        if version > newest {
            answers.invalidate_all();
        }
        answers.insert(question, (version, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(cache: &AnswerCache<i32>, version: i64, questions: &[&str]) -> Vec<String> {
        if let Some(answers) = &cache.answers {
            answers.run_pending_tasks();
        }
        questions
            .iter()
            .filter(|q| cache.get(version, q).is_some())
            .map(|q| q.to_string())
            .collect()
    }

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
    }

    #[test]
    fn the_least_recently_used_answer_goes_first() {
        let cache = AnswerCache::new(2);
        cache.put(1, "a".into(), Arc::new(1));
        cache.put(1, "b".into(), Arc::new(2));
        assert_eq!(kept(&cache, 1, &["a", "b"]), ["a", "b"]);
        assert!(cache.get(1, "a").is_some(), "a is used again");
        cache.put(1, "c".into(), Arc::new(3));
        assert_eq!(kept(&cache, 1, &["a", "b", "c"]), ["a", "c"]);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = AnswerCache::new(0);
        cache.put(1, "a".into(), Arc::new(1));
        assert_eq!(cache.get(1, "a"), None);
    }
}
