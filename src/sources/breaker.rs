//! The circuit breaker stage: a source that keeps failing is not asked
//! again by every operation.
//!
//! Closed, every attempt goes out and consecutive failures are counted
//! (timeouts, connection failures, 5xx: what says the upstream is unwell,
//! not refusals of a request). At `failure_threshold` in a row it opens:
//! attempts fail at once with `UPSTREAM_UNAVAILABLE` and how long until the
//! next try. After `open_for` it half-opens: one attempt (the probe) goes
//! out, the others still fail fast; the probe's success closes it, its
//! failure opens it again. A hung upstream so costs one timeout per window,
//! not one per operation. Time is tokio's, which tests pause.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Source;
use crate::error::Error;

/// When a source's breaker opens, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failed attempts in a row that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// A breaker's state, as `/healthz` and `/metrics` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }

    /// For the metric gauge: 0 closed, 1 half-open, 2 open.
    pub fn level(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The probe is out; everyone else waits for its outcome.
    HalfOpen,
}

/// One source's breaker. A std `Mutex`: held only to read and change the
/// state, never across an await.
#[derive(Debug)]
pub struct CircuitBreaker {
    source: Source,
    policy: BreakerPolicy,
    state: Mutex<State>,
}

/// What an admitted attempt reports back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream answered (whatever it said).
    Answered,
    /// The upstream is unwell: timeout, connection failure, 5xx.
    Failed,
}

impl Outcome {
    /// How the breaker counts an attempt that ended with `result`.
    pub fn of<T>(result: &Result<T, Error>) -> Self {
        match result {
            Err(Error::UpstreamTimeout { .. } | Error::UpstreamUnavailable { .. }) => Self::Failed,
            _ => Self::Answered,
        }
    }
}

impl CircuitBreaker {
    pub fn new(source: Source, policy: BreakerPolicy) -> Self {
        Self {
            source,
            policy,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets an attempt go out, or fails it fast while the breaker is open.
    pub fn admit(&self) -> Result<(), Error> {
        let mut state = self.lock();
        let now = Instant::now();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= until => {
                *state = State::HalfOpen;
                Ok(())
            }
            State::Open { until } => Err(self.fail_fast(until - now)),
            State::HalfOpen => Err(self.fail_fast(Duration::from_secs(1))),
        }
    }

    /// Records how an admitted attempt ended.
    pub fn record(&self, outcome: Outcome) {
        let mut state = self.lock();
        *state = match (outcome, &*state) {
            (Outcome::Answered, _) => State::Closed { failures: 0 },
            (Outcome::Failed, State::Closed { failures })
                if failures + 1 < self.policy.failure_threshold =>
            {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (Outcome::Failed, _) => {
                tracing::warn!(source = %self.source, open_for = ?self.policy.open_for, "circuit breaker open");
                State::Open {
                    until: Instant::now() + self.policy.open_for,
                }
            }
        };
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    fn fail_fast(&self, wait: Duration) -> Error {
        Error::UpstreamUnavailable {
            upstream: self.source,
            status: None,
            // Whole seconds, rounded up: "retry after 0 s" helps no one.
            retry_after: Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(
            Source::Comtrade,
            BreakerPolicy {
                failure_threshold: 3,
                open_for: Duration::from_secs(30),
            },
        )
    }

    /// Opens after the threshold, fails fast with the wait, half-opens for
    /// one probe, and closes on its success (paused time).
    #[tokio::test(start_paused = true)]
    async fn opens_fails_fast_and_probes() {
        let breaker = breaker();
        for _ in 0..2 {
            breaker.admit().unwrap();
            breaker.record(Outcome::Failed);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.admit().unwrap();
        breaker.record(Outcome::Failed);
        assert_eq!(breaker.state(), BreakerState::Open);
        match breaker.admit().unwrap_err() {
            Error::UpstreamUnavailable {
                upstream,
                retry_after,
                ..
            } => {
                assert_eq!(upstream, Source::Comtrade);
                assert_eq!(retry_after, Some(30));
            }
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.admit().expect("the probe goes out");
        assert!(breaker.admit().is_err(), "one probe at a time");
        breaker.record(Outcome::Answered);
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.admit().unwrap();
    }

    /// A failed probe opens the breaker for another window; answers in
    /// between failures reset the count.
    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_and_answers_reset_the_count() {
        let breaker = breaker();
        for outcome in [
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Answered,
            Outcome::Failed,
        ] {
            breaker.admit().unwrap();
            breaker.record(outcome);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        for _ in 0..2 {
            breaker.record(Outcome::Failed);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(31)).await;
        breaker.admit().unwrap();
        breaker.record(Outcome::Failed);
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(breaker.admit().is_err());
    }
}
