//! Pacing and budgets for upstreams with usage limits (Comtrade: one request
//! per second, 100 or 10,000 an hour by seed 004).
//!
//! One [`Pacer`] per source is shared by every operation: a governor rate
//! limiter spaces requests so the upstream never sees two within its
//! interval, and a sliding-window budget refuses an operation whose plan
//! needs more requests than the window has left, before any is sent.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::Source;
use crate::error::Error;

/// Slack added to the upstream's interval: the upstream measures arrival
/// times, which jitter by a few milliseconds around our send times.
const INTERVAL_SLACK: Duration = Duration::from_millis(20);

/// A request budget: at most `limit` requests in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub window: Duration,
}

/// Spaces and budgets one source's requests.
#[derive(Debug)]
pub struct Pacer {
    source: Source,
    /// `None` when the interval is zero (no pacing).
    limiter: Option<DefaultDirectRateLimiter>,
    budget: Option<Budget>,
    /// Send times within the budget window, oldest first. A std `Mutex`: it is
    /// held only to count and push, never across an await.
    spent: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(source: Source, interval: Duration, budget: Option<Budget>) -> Self {
        let limiter = (!interval.is_zero())
            .then(|| Quota::with_period(interval + INTERVAL_SLACK))
            .flatten()
            .map(|quota| RateLimiter::direct(quota.allow_burst(NonZeroU32::MIN)));
        Self {
            source,
            limiter,
            budget,
            spent: Mutex::new(VecDeque::new()),
        }
    }

    /// Refuses, with the numbers, a plan of `needed` requests that the
    /// budget cannot cover now. Takes nothing: each request sent takes its
    /// own share ([`Pacer::take_one`]), so answers served from cache cost
    /// nothing.
    pub fn check(&self, needed: u32) -> Result<(), Error> {
        self.with_window(|spent, budget, now| {
            let remaining = budget.limit.saturating_sub(spent.len() as u32);
            if needed > remaining {
                return Err(self.exhausted(spent, budget, now, needed, remaining));
            }
            Ok(())
        })
    }

    /// Takes one request from the budget, or refuses if none remain (a
    /// concurrent operation may have spent what `check` saw).
    pub fn take_one(&self) -> Result<(), Error> {
        self.with_window(|spent, budget, now| {
            if spent.len() as u32 >= budget.limit {
                return Err(self.exhausted(spent, budget, now, 1, 0));
            }
            spent.push_back(now);
            Ok(())
        })
    }

    /// Runs `f` on the send times still inside the window.
    fn with_window(
        &self,
        f: impl FnOnce(&mut VecDeque<Instant>, Budget, Instant) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        let now = Instant::now();
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while spent
            .front()
            .is_some_and(|sent| now.duration_since(*sent) >= budget.window)
        {
            spent.pop_front();
        }
        f(&mut spent, budget, now)
    }

    fn exhausted(
        &self,
        spent: &VecDeque<Instant>,
        budget: Budget,
        now: Instant,
        needed: u32,
        remaining: u32,
    ) -> Error {
        let retry_after = spent
            .front()
            .map(|oldest| budget.window.saturating_sub(now.duration_since(*oldest)))
            .unwrap_or_default();
        Error::UpstreamBudgetExhausted {
            upstream: self.source,
            needed,
            remaining,
            limit: budget.limit,
            window: budget.window,
            retry_after: retry_after.as_secs() + 1,
        }
    }

    /// Waits until this source may send its next request.
    pub async fn wait_turn(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_refuse_whole_plans_with_the_numbers() {
        let pacer = Pacer::new(
            Source::Comtrade,
            Duration::ZERO,
            Some(Budget {
                limit: 10,
                window: Duration::from_secs(3600),
            }),
        );
        for _ in 0..6 {
            pacer.take_one().unwrap();
        }
        let error = pacer.check(5).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs 5 requests but only 4 of 10 per 1h remain"),
            "{error}"
        );
        pacer.check(4).unwrap();
        for _ in 0..4 {
            pacer.take_one().unwrap();
        }
        assert!(pacer.take_one().is_err());
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_interval() {
        let pacer = Pacer::new(Source::Comtrade, Duration::from_millis(50), None);
        let started = Instant::now();
        for _ in 0..4 {
            pacer.wait_turn().await;
        }
        assert!(
            started.elapsed() >= Duration::from_millis(3 * 50),
            "{:?}",
            started.elapsed()
        );
    }
}
