//! Requests per second per token subject, as a token bucket with a burst of twice the rate.
//! Each instance limits on its own: behind a load balancer with N instances a subject gets
//! at most N times the rate, which still stops a runaway client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// `None` when `per_second` is 0: no limit.
    pub fn new(per_second: u32) -> Option<RateLimiter> {
        (per_second > 0).then(|| RateLimiter {
            per_second: f64::from(per_second),
            burst: 2.0 * f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one request from the subject's bucket, or says in how many whole seconds the
    /// next one is allowed.
    pub fn check(&self, subject: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(subject.to_string()).or_insert(Bucket {
            tokens: self.burst,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(2).unwrap();
        let start = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.check("a", start), Ok(()));
        }
        assert_eq!(limiter.check("a", start), Err(1));
        assert_eq!(
            limiter.check("b", start),
            Ok(()),
            "subjects have their own buckets"
        );
        assert_eq!(
            limiter.check("a", start + Duration::from_millis(600)),
            Ok(())
        );
        assert!(RateLimiter::new(0).is_none());
    }
}
