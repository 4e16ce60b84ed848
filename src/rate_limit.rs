//! Requests per second per caller, with a burst of twice the rate (governor's GCRA, one
//! state per caller). A caller is a token's issuer, role, region and subject, or for a
//! request without a valid token the address it comes from. A request costs what its work
//! costs (`api::access::cost`), so the rate is one of plain reads. Each instance limits on
//! its own: behind a load balancer with N instances a caller gets at most N times the
//! rate, which still stops a runaway client.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Governor};

/// Checks between two sweeps that forget the subjects idle long enough to have their whole
/// burst again: the map holds the recently active subjects, not every subject ever seen.
const CHECKS_PER_SWEEP: u64 = 1024;

pub struct RateLimiter<C: Clock + Clone = DefaultClock> {
    subjects: Governor<String, DashMapStateStore<String>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    checks: AtomicU64,
    /// The most one request may cost: the burst.
    burst: NonZeroU32,
}

impl RateLimiter {
    /// `None` when `per_second` is 0: no limit.
    pub fn new(per_second: u32) -> Option<RateLimiter> {
        RateLimiter::with_clock(per_second, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    fn with_clock(per_second: u32, clock: C) -> Option<RateLimiter<C>> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        let quota = Quota::per_second(rate).allow_burst(burst);
        Some(RateLimiter {
            subjects: Governor::dashmap_with_clock(quota, clock.clone()),
            clock,
            checks: AtomicU64::new(0),
            burst,
        })
    }

    /// Lets one request of `caller` that costs `cost` pass, or says in how many whole
    /// seconds it would be allowed. A cost above the burst counts as the whole burst.
    pub fn check(&self, caller: &str, cost: u32) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            self.forget_idle();
        }
        let cost = NonZeroU32::new(cost)
            .unwrap_or(NonZeroU32::MIN)
            .min(self.burst);
        match self.subjects.check_key_n(&caller.to_string(), cost) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(wait.as_secs_f64().ceil().max(1.0) as u64)
            }
            // Not reached: the cost is at most the burst.
            Err(_) => Err(1),
        }
    }

    fn forget_idle(&self) {
        self.subjects.retain_recent();
        self.subjects.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(2, clock.clone()).unwrap();
        for _ in 0..4 {
            assert_eq!(limiter.check("a", 1), Ok(()));
        }
        assert_eq!(limiter.check("a", 1), Err(1));
        assert_eq!(
            limiter.check("b", 1),
            Ok(()),
            "callers have their own state"
        );
        clock.advance(Duration::from_millis(600));
        assert_eq!(limiter.check("a", 1), Ok(()));
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn a_request_costs_its_work() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(5, clock.clone()).unwrap();
        assert_eq!(limiter.check("a", 6), Ok(()));
        assert_eq!(limiter.check("a", 4), Ok(()));
        assert_eq!(limiter.check("a", 1), Err(1), "the burst of ten is spent");
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.check("a", 100), Ok(()), "at most the whole burst");
        assert_eq!(limiter.check("a", 1), Err(1));
    }

    #[test]
    fn idle_subjects_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(10, clock.clone()).unwrap();
        for subject in 0..100 {
            assert_eq!(limiter.check(&format!("system-{subject}"), 1), Ok(()));
        }
        assert_eq!(limiter.subjects.len(), 100);
        clock.advance(Duration::from_secs(1));
        limiter.check("active", 1).unwrap();
        limiter.forget_idle();
        assert_eq!(limiter.subjects.len(), 1, "only the active subject is kept");
        for _ in 0..CHECKS_PER_SWEEP {
            let _ = limiter.check("active", 1);
        }
        clock.advance(Duration::from_secs(10));
        for _ in 0..CHECKS_PER_SWEEP {
            let _ = limiter.check("other", 1);
        }
        assert_eq!(
            limiter.subjects.len(),
            1,
            "a sweep runs by itself every {CHECKS_PER_SWEEP} checks"
        );
    }
}
