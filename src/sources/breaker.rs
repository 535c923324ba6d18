//! The circuit breaker stage: a source that keeps failing is not asked
//! again by every operation.
//!
//! Closed, every attempt goes out and failures are counted (timeouts,
//! connection failures, 5xx: what says the upstream is unwell, not refusals
//! of a request). At `failure_threshold` in a row, or when the failures
//! among the last `RATIO_WINDOW` attempts reach `failure_ratio` (a flapping
//! upstream never fails five times in a row), it opens:
//! attempts fail at once with `UPSTREAM_UNAVAILABLE` and how long until the
//! next try. After `open_for` it half-opens: one attempt (the probe) goes
//! out, the others still fail fast; the probe's success closes it, its
//! failure opens it again. A hung upstream so costs one timeout per window,
//! not one per operation. Time is tokio's, which tests pause.
//!
//! Every admitted attempt holds a [`Permit`]. A probe whose permit is
//! dropped without an outcome (its operation was cancelled: the client
//! went away, the deadline passed) gives the probe slot back, so the next
//! attempt probes; without that the breaker stayed half-open for the life
//! of the process, failing every attempt fast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::Source;
use crate::error::Error;

/// When a source's breaker opens, and for how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerPolicy {
    /// Failed attempts in a row that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
    /// The share of failed attempts among the last [`RATIO_WINDOW`] that
    /// opens the breaker (0: only consecutive failures count).
    pub failure_ratio: f64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
            failure_ratio: 0.5,
        }
    }
}

/// The attempts the failure ratio is taken over.
pub const RATIO_WINDOW: u32 = 20;

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
    /// `failures` in a row; `recent`: the last attempts, newest in bit 0
    /// (1: failed), `seen` of them (at most [`RATIO_WINDOW`]).
    Closed {
        failures: u32,
        recent: u32,
        seen: u32,
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
    /// How many times the breaker has opened: an attempt admitted before
    /// the latest opening reports too late to count (the breaker already
    /// decided without it), and must not be taken for the probe's outcome.
    openings: std::sync::atomic::AtomicU64,
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
            openings: std::sync::atomic::AtomicU64::new(0),
            state: Mutex::new(State::Closed {
                failures: 0,
                recent: 0,
                seen: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets an attempt go out, or fails it fast while the breaker is open.
    /// The permit records the attempt's outcome; dropped without one, a
    /// probe gives its slot back.
    pub fn admit(self: &Arc<Self>) -> Result<Permit, Error> {
        let mut state = self.lock();
        let now = Instant::now();
        let opening = self.openings.load(std::sync::atomic::Ordering::Relaxed);
        match *state {
            State::Closed { .. } => Ok(Permit {
                breaker: Arc::clone(self),
                probe: false,
                opening,
                done: false,
            }),
            State::Open { until } if now >= until => {
                *state = State::HalfOpen;
                Ok(Permit {
                    breaker: Arc::clone(self),
                    probe: true,
                    opening,
                    done: false,
                })
            }
            State::Open { until } => Err(self.fail_fast(until - now)),
            State::HalfOpen => Err(self.fail_fast(Duration::from_secs(1))),
        }
    }

    /// A probe ended without an outcome: the next attempt probes instead.
    fn release_probe(&self) {
        let mut state = self.lock();
        if matches!(*state, State::HalfOpen) {
            *state = State::Open {
                until: Instant::now(),
            };
        }
    }

    /// Records how an admitted attempt ended; `admitted`: whether it was
    /// the probe, and the breaker's openings when it was admitted. An
    /// attempt admitted before the latest opening, or one that is not the
    /// probe while a probe decides, reports too late and counts for nothing.
    fn record(&self, outcome: Outcome, admitted: Option<(bool, u64)>) {
        let mut state = self.lock();
        if let Some((probe, opening)) = admitted {
            let current = self.openings.load(std::sync::atomic::Ordering::Relaxed);
            if opening != current || (!probe && !matches!(*state, State::Closed { .. })) {
                return;
            }
        }
        let failed = outcome == Outcome::Failed;
        let (failures, recent, seen) = match *state {
            State::Closed {
                failures,
                recent,
                seen,
            } => (failures, recent, seen),
            // A probe's outcome decides alone.
            State::Open { .. } | State::HalfOpen => (0, 0, 0),
        };
        let mask = (1u32 << RATIO_WINDOW) - 1;
        let recent = ((recent << 1) | u32::from(failed)) & mask;
        let seen = (seen + 1).min(RATIO_WINDOW);
        let failures = if failed { failures + 1 } else { 0 };
        let ratio_reached = self.policy.failure_ratio > 0.0
            && seen == RATIO_WINDOW
            && f64::from(recent.count_ones())
                >= self.policy.failure_ratio * f64::from(RATIO_WINDOW);
        let probe_failed = failed && matches!(*state, State::Open { .. } | State::HalfOpen);
        *state = if failures >= self.policy.failure_threshold || ratio_reached || probe_failed {
            tracing::warn!(source = %self.source, open_for = ?self.policy.open_for, "circuit breaker open");
            self.openings
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            State::Open {
                until: Instant::now() + self.policy.open_for,
            }
        } else if failed {
            State::Closed {
                failures,
                recent,
                seen,
            }
        } else if matches!(*state, State::Closed { .. }) {
            State::Closed {
                failures: 0,
                recent,
                seen,
            }
        } else {
            // The probe answered: a fresh start.
            State::Closed {
                failures: 0,
                recent: 0,
                seen: 0,
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
        // A wait of zero (a probe slot just given back) still says "soon".
        let wait = wait.max(Duration::from_millis(1));
        Error::UpstreamUnavailable {
            upstream: self.source,
            status: None,
            // Whole seconds, rounded up: "retry after 0 s" helps no one.
            retry_after: Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
        }
    }
}

/// One admitted attempt. [`Permit::record`] reports how it ended; a permit
/// dropped unrecorded (the attempt was cancelled) counts for nothing, and a
/// probe's slot is given back. It owns its breaker, so that an attempt
/// that has gone out can run to its end apart from the operation that sent
/// it (`http::Upstream`), and report.
#[must_use = "an attempt's outcome is recorded through its permit"]
#[derive(Debug)]
pub struct Permit {
    breaker: Arc<CircuitBreaker>,
    probe: bool,
    /// The breaker's openings when the attempt was admitted.
    opening: u64,
    done: bool,
}

impl Permit {
    /// Records how the attempt ended.
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker
            .record(outcome, Some((self.probe, self.opening)));
    }

    /// The attempt was refused before it was sent (budget, demand): it
    /// says nothing of the upstream's health.
    pub fn forget(self) {}
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.done {
            self.breaker.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Arc<CircuitBreaker> {
        Arc::new(CircuitBreaker::new(
            Source::Comtrade,
            BreakerPolicy {
                failure_threshold: 3,
                open_for: Duration::from_secs(30),
                failure_ratio: 0.5,
            },
        ))
    }

    /// Opens after the threshold, fails fast with the wait, half-opens for
    /// one probe, and closes on its success (paused time).
    #[tokio::test(start_paused = true)]
    async fn opens_fails_fast_and_probes() {
        let breaker = breaker();
        for _ in 0..2 {
            breaker.admit().unwrap().record(Outcome::Failed);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.admit().unwrap().record(Outcome::Failed);
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
        let probe = breaker.admit().expect("the probe goes out");
        assert!(breaker.admit().is_err(), "one probe at a time");
        probe.record(Outcome::Answered);
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.admit().unwrap().record(Outcome::Answered);
    }

    /// The probe's operation is cancelled (client gone, deadline passed):
    /// the slot is given back and the next attempt probes, rather than the
    /// breaker failing everything fast for the life of the process.
    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_gives_its_slot_back() {
        let breaker = breaker();
        for _ in 0..3 {
            breaker.admit().unwrap().record(Outcome::Failed);
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        let probe = breaker.admit().expect("the probe goes out");
        drop(probe);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker
            .admit()
            .expect("the next attempt probes")
            .record(Outcome::Answered);
        assert_eq!(breaker.state(), BreakerState::Closed);
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
            breaker.admit().unwrap().record(outcome);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        for _ in 0..2 {
            breaker.record(Outcome::Failed, None);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(31)).await;
        breaker.admit().unwrap().record(Outcome::Failed);
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(breaker.admit().is_err());
    }

    /// A flapping upstream (every other attempt fails) never fails three in
    /// a row, but half of the last twenty attempts opens the breaker.
    #[tokio::test(start_paused = true)]
    async fn a_failure_ratio_opens_it_too() {
        let breaker = breaker();
        for attempt in 0..RATIO_WINDOW - 1 {
            breaker.admit().unwrap().record(if attempt % 2 == 0 {
                Outcome::Failed
            } else {
                Outcome::Answered
            });
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "19 attempts: not yet a window"
        );
        breaker.admit().unwrap().record(Outcome::Answered);
        assert_eq!(breaker.state(), BreakerState::Open, "10 of 20 failed");
    }

    /// What the model test does next.
    #[derive(Clone, Debug)]
    enum Step {
        /// Ask for a permit (kept outstanding when granted).
        Admit,
        /// The outstanding permit at this index (modulo) ends so.
        Finish(usize, Option<Outcome>),
        /// Time passes, in seconds.
        Advance(u64),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            3 => Just(Step::Admit),
            4 => (0usize..8, prop_oneof![
                Just(Some(Outcome::Failed)),
                Just(Some(Outcome::Answered)),
                // Cancelled: dropped without an outcome.
                Just(None),
            ]).prop_map(|(index, outcome)| Step::Finish(index, outcome)),
            1 => (0u64..45).prop_map(Step::Advance),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The breaker's rules under any interleaving of attempts, outcomes,
        /// cancellations and time: at most one probe is out at a time; an
        /// open breaker's fail-fast wait never exceeds its window; and it is
        /// never stuck: once every attempt has ended and a window has
        /// passed, an attempt goes out.
        #[test]
        fn the_breaker_is_never_stuck_and_probes_one_at_a_time(
            steps in proptest::collection::vec(step(), 0..80),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let breaker = breaker();
                let mut outstanding: Vec<Permit> = Vec::new();
                for step in steps {
                    match step {
                        Step::Admit => match breaker.admit() {
                            Ok(permit) => outstanding.push(permit),
                            Err(Error::UpstreamUnavailable { retry_after: Some(wait), .. }) => {
                                proptest::prop_assert!((1..=30).contains(&wait), "wait {wait}");
                            }
                            Err(other) => proptest::prop_assert!(false, "{other:?}"),
                        },
                        Step::Finish(index, outcome) if !outstanding.is_empty() => {
                            let permit = outstanding.remove(index % outstanding.len());
                            match outcome {
                                Some(outcome) => permit.record(outcome),
                                None => drop(permit),
                            }
                        }
                        Step::Finish(..) => {}
                        Step::Advance(seconds) => {
                            tokio::time::advance(Duration::from_secs(seconds)).await;
                        }
                    }
                    let probes = outstanding.iter().filter(|permit| permit.probe).count();
                    proptest::prop_assert!(probes <= 1, "{probes} probes out at once");
                }
                drop(outstanding);
                tokio::time::advance(Duration::from_secs(30)).await;
                proptest::prop_assert!(
                    breaker.admit().is_ok(),
                    "stuck in {:?} with no attempt outstanding",
                    breaker.state()
                );
                Ok(())
            })?;
        }
    }
}
