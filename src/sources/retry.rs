//! The retry stage: which failed attempts are worth another, how long to
//! wait before it, and how many retries the upstream can be asked to bear.
//!
//! Retried: timeouts, connection failures, 502/503/504, and 409/429 that say
//! when to come back (`Retry-After`). Not retried: what another attempt
//! cannot change (4xx refusals, bad credentials, answers that do not
//! decode) and a `Retry-After` longer than the gateway is willing to hold an
//! operation for. The wait is exponential with full jitter (so operations
//! that failed together do not retry together), and at least what
//! `Retry-After` asked. A retry budget, as in apollographql/router's and
//! Linkerd's, keeps retries to a fraction of recent traffic: every first
//! attempt deposits `budget_ratio` of a retry, every retry withdraws one, so
//! a failing upstream gets a trickle of retries, not a multiple of its load.
//! Time is tokio's, which tests pause.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::Error;

/// How one source retries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    pub max_attempts: u32,
    /// The first retry's wait before jitter; doubled for each one after.
    pub base_delay: Duration,
    /// The longest wait between attempts, before jitter.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured by waiting; a longer one fails
    /// the attempt at once (and is passed on to the client).
    pub max_retry_after: Duration,
    /// Retries allowed per first attempt, over time (0.2: one retry per
    /// five requests).
    pub budget_ratio: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            budget_ratio: 0.2,
        }
    }
}

/// Retries a failed attempt may cost: `Some(wait at least)` when the failure
/// is worth another attempt.
pub fn retryable(error: &Error) -> Option<Duration> {
    match error {
        Error::UpstreamTimeout { .. } => Some(Duration::ZERO),
        Error::UpstreamUnavailable {
            status: None | Some(502..=504),
            retry_after,
            ..
        } => Some(Duration::from_secs(retry_after.unwrap_or(0))),
        Error::UpstreamRateLimited {
            retry_after: Some(seconds),
            ..
        } => Some(Duration::from_secs(*seconds)),
        _ => None,
    }
}

/// The retries a source may still make: a token bucket filled by first
/// attempts. A std `Mutex`: held only to add or take a token.
#[derive(Debug)]
pub struct RetryBudget {
    /// Thousandths of a retry each first attempt earns.
    earned: u64,
    /// Thousandths of a retry in the bucket.
    tokens: Mutex<u64>,
}

/// One retry, in the budget's unit.
const RETRY: u64 = 1000;
/// Retries the budget starts with and can hold: a burst after a quiet
/// period, no more.
const BUDGET_CAPACITY: u64 = 10 * RETRY;

impl RetryBudget {
    pub fn new(ratio: f64) -> Self {
        Self {
            earned: (ratio.clamp(0.0, 1000.0) * RETRY as f64).round() as u64,
            tokens: Mutex::new(BUDGET_CAPACITY),
        }
    }

    /// A first attempt was made.
    pub fn deposit(&self) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *tokens = (*tokens + self.earned).min(BUDGET_CAPACITY);
    }

    /// Takes one retry, if the budget has one.
    pub fn withdraw(&self) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *tokens >= RETRY {
            *tokens -= RETRY;
            true
        } else {
            false
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt` (2 for the first retry),
    /// given the upstream asked for at least `retry_after`; `None` when that
    /// is longer than the policy waits.
    pub fn wait_before(&self, attempt: u32, retry_after: Duration) -> Option<Duration> {
        if retry_after > self.max_retry_after {
            return None;
        }
        let doublings = attempt.saturating_sub(2).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        // Full jitter: anywhere between nothing and the ceiling.
        let jittered = ceiling.mul_f64(fastrand::f64());
        Some(jittered.max(retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Source;

    #[test]
    fn only_failures_another_attempt_can_change_are_retried() {
        let gta = Source::Gta;
        assert!(retryable(&Error::UpstreamTimeout {
            upstream: gta,
            after: Duration::from_secs(1)
        })
        .is_some());
        for status in [None, Some(502), Some(503), Some(504)] {
            let error = Error::UpstreamUnavailable {
                upstream: gta,
                status,
                retry_after: None,
            };
            assert_eq!(retryable(&error), Some(Duration::ZERO), "{status:?}");
        }
        assert_eq!(
            retryable(&Error::UpstreamUnavailable {
                upstream: gta,
                status: Some(503),
                retry_after: Some(2)
            }),
            Some(Duration::from_secs(2))
        );
        assert!(retryable(&Error::UpstreamUnavailable {
            upstream: gta,
            status: Some(500),
            retry_after: None
        })
        .is_none());
        assert_eq!(
            retryable(&Error::UpstreamRateLimited {
                upstream: gta,
                retry_after: Some(3),
                message: None
            }),
            Some(Duration::from_secs(3))
        );
        assert!(retryable(&Error::UpstreamRateLimited {
            upstream: gta,
            retry_after: None,
            message: None
        })
        .is_none());
        assert!(retryable(&Error::UpstreamUnauthorized {
            upstream: gta,
            status: 401
        })
        .is_none());
        assert!(retryable(&Error::UpstreamBadResponse {
            upstream: gta,
            path: "x".into(),
            detail: "y".into()
        })
        .is_none());
    }

    #[test]
    fn waits_grow_with_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            assert!(policy.wait_before(2, Duration::ZERO).unwrap() <= Duration::from_millis(100));
            assert!(policy.wait_before(3, Duration::ZERO).unwrap() <= Duration::from_millis(200));
            assert!(policy.wait_before(30, Duration::ZERO).unwrap() <= Duration::from_secs(2));
        }
        assert_eq!(
            policy.wait_before(2, Duration::from_secs(3)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.wait_before(2, Duration::from_secs(60)), None);
    }

    #[test]
    fn the_budget_allows_a_fraction_of_traffic_after_its_burst() {
        let budget = RetryBudget::new(0.2);
        let burst = (0..100).take_while(|_| budget.withdraw()).count();
        assert_eq!(burst, 10);
        for _ in 0..10 {
            budget.deposit();
        }
        assert!(budget.withdraw(), "ten requests earn two retries");
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
    }

    proptest::proptest! {
        /// Generated policies, attempts and `Retry-After`s: a wait past
        /// the longest honoured is no retry; any other is at least what
        /// the upstream asked, and at most the larger of that and the
        /// attempt's ceiling (the base doubled per retry, within the
        /// longest wait).
        #[test]
        fn a_wait_is_at_least_the_upstreams_and_within_the_ceiling(
            base_ms in 1u64..2_000,
            max_ms in 1u64..20_000,
            max_after_s in 0u64..30,
            attempt in 2u32..40,
            after_ms in 0u64..40_000,
        ) {
            let policy = RetryPolicy {
                max_attempts: 50,
                base_delay: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(max_ms),
                max_retry_after: Duration::from_secs(max_after_s),
                budget_ratio: 0.2,
            };
            let retry_after = Duration::from_millis(after_ms);
            let wait = policy.wait_before(attempt, retry_after);
            if retry_after > policy.max_retry_after {
                proptest::prop_assert_eq!(wait, None);
            } else {
                let wait = wait.unwrap();
                let ceiling = Duration::from_millis(
                    base_ms.saturating_mul(1 << (attempt - 2).min(16)).min(max_ms),
                );
                proptest::prop_assert!(wait >= retry_after);
                proptest::prop_assert!(wait <= ceiling.max(retry_after), "{wait:?} over {ceiling:?}");
            }
        }

        /// Generated first attempts and retries against a model bucket:
        /// a retry is allowed exactly when the bucket holds one; first
        /// attempts fill it by the ratio, never past its capacity; so the
        /// retries of any run are at most the burst plus the ratio of its
        /// first attempts.
        #[test]
        fn retries_are_the_burst_and_the_ratio_of_first_attempts(
            ratio in 0.0f64..2.0,
            steps in proptest::collection::vec(proptest::bool::ANY, 0..400),
        ) {
            let budget = RetryBudget::new(ratio);
            let earned = (ratio * RETRY as f64).round() as u64;
            let mut tokens = BUDGET_CAPACITY;
            let (mut firsts, mut retries) = (0u64, 0u64);
            for first in steps {
                if first {
                    budget.deposit();
                    tokens = (tokens + earned).min(BUDGET_CAPACITY);
                    firsts += 1;
                } else {
                    let allowed = tokens >= RETRY;
                    proptest::prop_assert_eq!(budget.withdraw(), allowed);
                    if allowed {
                        tokens -= RETRY;
                        retries += 1;
                    }
                }
            }
            proptest::prop_assert!(retries * RETRY <= BUDGET_CAPACITY + firsts * earned);
        }
    }
}
