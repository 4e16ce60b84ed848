//! Answers kept for as long as the data they were computed from is unchanged.
//!
//! Every write transaction increases the data version in the database (`db::data_version`),
//! so an answer computed at version N is exact for as long as the version is N, on every
//! instance that serves the same database. An answer is reused only at the version it was
//! computed at; when the version moves on, the older answers are dropped.
//!
//! A question asked again while its answer at that version is being computed waits for that
//! computation instead of starting its own: right after a write, the clients asking the
//! same question cost one computation, not one each.
//!
//! The answers are weighed by the bytes of their JSON, so that their number cannot be
//! turned into memory: beyond the byte capacity the least recently used answer goes (moka),
//! and an answer larger than the whole capacity is not kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde::Serialize;
use tokio::sync::OnceCell;

pub struct AnswerCache<T: Serialize + Send + Sync + 'static> {
    /// Question → (the version it was computed at, the answer). `None` keeps nothing.
    answers: Option<Cache<String, (i64, Arc<T>)>>,
    /// The newest version an answer was kept for.
    newest: AtomicI64,
    /// The answers being computed, by (version, question): whoever asks meanwhile waits on
    /// the same cell. If the computing request goes away or fails, a waiting one computes.
    computing: Mutex<HashMap<(i64, String), Computing<T>>>,
}

/// One answer being computed: empty until it is made.
type Computing<T> = Arc<OnceCell<Arc<T>>>;

/// Takes a question's cell out of the table when dropped, if it is still that cell (a
/// newer asker may have put its own there).
struct Forget<'a, T> {
    computing: &'a Mutex<HashMap<(i64, String), Computing<T>>>,
    key: &'a (i64, String),
    cell: &'a Computing<T>,
}

impl<T> Drop for Forget<'_, T> {
    fn drop(&mut self) {
        let mut computing = self
            .computing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if computing
            .get(self.key)
            .is_some_and(|cell| Arc::ptr_eq(cell, self.cell))
        {
            computing.remove(self.key);
        }
    }
}

/// The bytes of `answer`'s JSON, counted as it is written out, without holding it.
fn json_bytes(answer: &impl Serialize) -> u64 {
    struct Counter(u64);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // An answer that cannot be written out is weighed as too large to keep.
    match serde_json::to_writer(&mut counter, answer) {
        Ok(()) => counter.0,
        Err(_) => u64::MAX,
    }
}

impl<T: Serialize + Send + Sync + 'static> AnswerCache<T> {
    /// Keeps answers of at most `capacity_bytes` of JSON in all (their key included); 0
    /// keeps none.
    pub fn new(capacity_bytes: u64) -> AnswerCache<T> {
        let answers = (capacity_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|question: &String, (_, answer): &(i64, Arc<T>)| {
                    let bytes = (question.len() as u64).saturating_add(json_bytes(answer.as_ref()));
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .eviction_policy(EvictionPolicy::lru())
                .build()
        });
        AnswerCache {
            answers,
            newest: AtomicI64::new(i64::MIN),
            computing: Mutex::new(HashMap::new()),
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

    /// The answer to `question` at `version`: kept, or made by `compute` and kept. Who asks
    /// while it is being computed waits for that answer.
    pub async fn kept_or_computed<E, F>(
        &self,
        version: i64,
        question: String,
        compute: impl FnOnce() -> F,
    ) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        if let Some(kept) = self.get(version, &question) {
            return Ok(kept);
        }
        let key = (version, question);
        let cell = {
            let mut computing = self
                .computing
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Older versions are asked for no more: who waits on one of their cells holds it.
            computing.retain(|(computed_at, _), _| *computed_at >= version);
            Arc::clone(computing.entry(key.clone()).or_default())
        };
        // Forgotten whatever the outcome: made (kept now), failed or given up by its client,
        // so that the table holds only what is being computed. Who already waits on the
        // cell keeps it, and computes in turn if it was not made.
        let _forget = Forget {
            computing: &self.computing,
            key: &key,
            cell: &cell,
        };
        let answer = cell
            .get_or_try_init(|| async {
                let answer = Arc::new(compute().await?);
                self.put(key.0, key.1.clone(), Arc::clone(&answer));
                Ok(answer)
            })
            .await?;
        Ok(Arc::clone(answer))
    }

    /// The bytes the kept answers weigh, as of the cache's last housekeeping.
    pub fn weighted_size(&self) -> u64 {
        self.answers.as_ref().map_or(0, |answers| {
            answers.run_pending_tasks();
            answers.weighted_size()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(cache: &AnswerCache<String>, version: i64, questions: &[&str]) -> Vec<String> {
        if let Some(answers) = &cache.answers {
            answers.run_pending_tasks();
        }
        questions
            .iter()
            .filter(|q| cache.get(version, q).is_some())
            .map(|q| q.to_string())
            .collect()
    }

    /// An answer whose JSON (with its key of one byte) weighs 100 bytes.
    fn answer(n: u8) -> Arc<String> {
        Arc::new(format!("{n}").repeat(97))
    }

    #[test]
    fn answers_live_until_the_version_moves_on() {
        let cache = AnswerCache::new(1000);
        cache.put(7, "a".into(), answer(1));
        assert_eq!(cache.get(7, "a"), Some(answer(1)));
        assert_eq!(cache.get(8, "a"), None, "newer data: recompute");
        cache.put(8, "b".into(), answer(2));
        assert_eq!(cache.get(7, "a"), None, "forgotten with its version");
        cache.put(7, "c".into(), answer(3));
        assert_eq!(
            cache.get(7, "c"),
            None,
            "an answer of older data is not kept"
        );
    }

    #[test]
    fn the_least_recently_used_answer_goes_first() {
        let cache = AnswerCache::new(200);
        cache.put(1, "a".into(), answer(1));
        cache.put(1, "b".into(), answer(2));
        assert_eq!(kept(&cache, 1, &["a", "b"]), ["a", "b"]);
        assert_eq!(cache.weighted_size(), 200);
        assert!(cache.get(1, "a").is_some(), "a is used again");
        cache.put(1, "c".into(), answer(3));
        assert_eq!(kept(&cache, 1, &["a", "b", "c"]), ["a", "c"]);
        assert_eq!(cache.weighted_size(), 200);
    }

    #[test]
    fn answers_are_kept_by_their_bytes() {
        let cache = AnswerCache::new(1000);
        for n in 0..50u8 {
            cache.put(1, format!("{n:03}"), Arc::new("x".repeat(300)));
            assert!(cache.weighted_size() <= 1000);
        }
        cache.put(1, "huge".into(), Arc::new("x".repeat(2000)));
        assert_eq!(
            kept(&cache, 1, &["huge"]),
            Vec::<String>::new(),
            "larger than all"
        );
        assert!(cache.weighted_size() <= 1000);
    }

    #[test]
    fn who_asks_while_the_answer_is_computed_waits_for_it() {
        let cache = AnswerCache::new(1000);
        let computations = std::sync::atomic::AtomicUsize::new(0);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let compute = || async {
            computations.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>("answer".to_string())
        };
        let first = cache.kept_or_computed(1, "q".into(), || async {
            released.await.map_err(drop)?;
            compute().await
        });
        let second = cache.kept_or_computed(1, "q".into(), compute);
        let (first, second, ()) = actix_web::rt::System::new().block_on(async {
            futures_util::join!(first, second, async {
                release.send(()).expect("the first waits")
            })
        });
        assert_eq!(first, Ok(Arc::new("answer".to_string())));
        assert_eq!(second, first);
        assert_eq!(computations.load(Ordering::Relaxed), 1, "computed once");
        assert_eq!(cache.get(1, "q"), Some(Arc::new("answer".to_string())));
    }

    #[test]
    fn a_failed_computation_leaves_the_question_to_the_next() {
        let cache = AnswerCache::new(1000);
        let failed = actix_web::rt::System::new().block_on(cache.kept_or_computed(
            1,
            "q".into(),
            || async { Err::<String, _>("no") },
        ));
        assert_eq!(failed, Err("no"));
        let answered = actix_web::rt::System::new().block_on(cache.kept_or_computed(
            1,
            "q".into(),
            || async { Ok::<_, &str>("yes".to_string()) },
        ));
        assert_eq!(answered, Ok(Arc::new("yes".to_string())));
    }

    #[test]
    fn nothing_is_left_computing_after_a_failure_or_a_client_gone() {
        let cache: AnswerCache<String> = AnswerCache::new(1000);
        for question in ["a", "b", "c"] {
            let failed = actix_web::rt::System::new().block_on(cache.kept_or_computed(
                1,
                question.into(),
                || async { Err::<String, _>("no") },
            ));
            assert_eq!(failed, Err("no"));
        }
        // Given up while computing: its future dropped before the answer was made.
        actix_web::rt::System::new().block_on(async {
            let asked = cache.kept_or_computed(1, "d".into(), || {
                std::future::pending::<Result<String, &str>>()
            });
            let given_up =
                actix_web::rt::time::timeout(std::time::Duration::from_millis(10), asked).await;
            assert!(given_up.is_err());
        });
        assert!(cache.computing.lock().unwrap().is_empty());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = AnswerCache::new(0);
        cache.put(1, "a".into(), answer(1));
        assert_eq!(cache.get(1, "a"), None);
        assert_eq!(cache.weighted_size(), 0);
    }
}
