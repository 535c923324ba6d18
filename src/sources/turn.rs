//! An attempt's turn: the last stage before a request goes out.
//!
//! In this order: the operation's request maximum (a request it refuses
//! spends no budget and waits for nothing), the budget's place (the one the
//! operation's plan reserved, else one of its own), the pacing turn (never
//! past the operation's deadline; the replicas' hold read while it waits),
//! any hold that arrived meanwhile, and the time left to run. A request
//! refused anywhere here is not counted as sent and its place in the
//! budget is given back; one that gets its turn has its place spent.

use std::time::Duration;

use super::admission::Admission;
use super::hold::Hold;
use super::{Source, UpstreamUsage};
use crate::error::Error;
use crate::metrics::Metrics;

/// What an attempt's turn is taken from: the source's admission (none for
/// a source without pacing or budget), its hold and its metrics.
pub(super) struct Turn<'a> {
    pub(super) source: Source,
    pub(super) admission: Option<&'a Admission>,
    pub(super) hold: &'a Hold,
    pub(super) metrics: &'a Metrics,
}

impl Turn<'_> {
    /// Waits for the attempt's turn and says how long it may run (the
    /// source's `timeout`, never past the operation's deadline), or why it
    /// has no turn. Counted in `usage` as sent only when it has one.
    pub(super) async fn take(
        &self,
        usage: &UpstreamUsage,
        timeout: Duration,
    ) -> Result<Duration, Error> {
        // The operation's maximum first: a request it refuses must not
        // spend budget or wait for pacing.
        usage.record_request(self.source)?;
        let turn = self.queue(usage, timeout).await;
        if turn.is_err() {
            usage.unrecord_request(self.source);
        }
        turn
    }

    async fn queue(&self, usage: &UpstreamUsage, timeout: Duration) -> Result<Duration, Error> {
        let source = self.source;
        // The place its plan reserved, else one of its own; given back if
        // dropped before it is committed (refused here, or the operation
        // went away while it waited).
        let reservation = match self.admission {
            Some(admission) => match usage.take_held(source) {
                Some(held) => Some(held),
                None => Some(admission.reserve(usage.client()).await?),
            },
            None => None,
        };
        if let Some(admission) = self.admission {
            if let Some(remaining) = admission.remaining() {
                self.metrics.budget_remaining(source, remaining);
            }
            // A request that would queue past the operation's deadline fails
            // now, rather than wait to be cut off.
            //
            // The replicas' hold is read from Redis while the request waits
            // its turn, never after it: a Redis call between the turn and
            // the send (250 ms when Redis is frozen) made the request late
            // for its turn, within the interval of the next one (two
            // Comtrade requests 0.77 s apart). A read not answered by the
            // turn is left to the hold's own poll.
            let turn = admission.wait_turn(usage.deadline());
            let read = self.hold.read_shared();
            let turn = {
                tokio::pin!(turn, read);
                let mut read_done = false;
                loop {
                    tokio::select! {
                        biased;
                        turn = &mut turn => break turn,
                        () = &mut read, if !read_done => read_done = true,
                    }
                }
            };
            if let Err(no_turn) = turn {
                return Err(Error::UpstreamRateLimited {
                    upstream: source,
                    retry_after: Some(no_turn.wait().as_secs() + 1),
                    message: Some(no_turn.describe(source)),
                });
            }
            // A Retry-After may have arrived, here or on another replica,
            // while this request waited its turn: it is held like the
            // requests that come after it.
            self.hold.check()?;
        }
        // The source's timeout, but never past the operation's deadline: an
        // attempt cut off by the deadline would otherwise end unrecorded,
        // and a hung upstream would never open the breaker.
        let timeout = usage.deadline().map_or(timeout, |deadline| {
            timeout.min(deadline.saturating_duration_since(tokio::time::Instant::now()))
        });
        if timeout.is_zero() {
            // The deadline passed while this request waited its turn: not
            // the upstream's doing, nothing is sent and its place is given
            // back.
            return Err(Error::UpstreamRateLimited {
                upstream: source,
                retry_after: Some(1),
                message: Some(format!(
                    "the operation's deadline passed while this request waited its turn for {source}"
                )),
            });
        }
        if let Some(reservation) = reservation {
            reservation.commit();
        }
        Ok(timeout)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::limits::DemandLimits;
    use crate::sources::pacing::{Budget, Pacer};

    /// One attempt asked of the stage: after how long, under which
    /// deadline (from its asking), and whether a hold arrives first.
    #[derive(Clone, Debug)]
    struct Ask {
        after_ms: u64,
        deadline_ms: Option<u64>,
        held_before: bool,
    }

    fn ask() -> impl Strategy<Value = Ask> {
        (
            0u64..3_000,
            proptest::option::of(0u64..5_000),
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(after_ms, deadline_ms, held_before)| Ask {
                after_ms,
                deadline_ms,
                held_before,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Generated attempts (any spacing, deadlines, holds, request
        /// maxima, budgets and intervals), on paused time: an attempt is
        /// counted as sent exactly when it gets its turn; the budget spends
        /// exactly the turns given (refusals give their place back); two
        /// turns are never closer than the interval; a turn never comes past
        /// its deadline, and the time it may run ends by it.
        #[test]
        fn a_turn_is_counted_and_spent_exactly_when_given(
            asks in proptest::collection::vec(ask(), 1..12),
            maximum in 1u64..12,
            limit in 1u32..12,
            interval_ms in prop_oneof![Just(0u64), 100u64..1_500],
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let source = Source::Comtrade;
                let interval = Duration::from_millis(interval_ms);
                let budget = Budget { limit, window: Duration::from_secs(3_600) };
                let admission = Admission::Local(Arc::new(Pacer::new(source, interval, Some(budget))));
                let hold = Hold::new(source);
                let metrics = Metrics::default();
                let turn = Turn { source, admission: Some(&admission), hold: &hold, metrics: &metrics };
                let usage = UpstreamUsage::with_limits(DemandLimits { gta: 0, comtrade: maximum, ita: 0 });
                let timeout = Duration::from_secs(30);
                let mut given: Vec<tokio::time::Instant> = Vec::new();
                for ask in &asks {
                    tokio::time::sleep(Duration::from_millis(ask.after_ms)).await;
                    if ask.held_before {
                        hold.hold_for(Duration::from_millis(500)).await;
                    }
                    let asked = tokio::time::Instant::now();
                    let deadline = ask.deadline_ms.map(|ms| asked + Duration::from_millis(ms));
                    let usage = match deadline {
                        Some(deadline) => usage.clone().with_deadline(deadline),
                        None => usage.clone(),
                    };
                    let before = usage.requests(source);
                    let outcome = turn.take(&usage, timeout).await;
                    let now = tokio::time::Instant::now();
                    let counted = usage.requests(source) - before;
                    match outcome {
                        Ok(may_run) => {
                            prop_assert_eq!(counted, 1);
                            if let Some(deadline) = deadline {
                                prop_assert!(now < deadline, "a turn past its deadline");
                                prop_assert!(now + may_run <= deadline, "runs past its deadline");
                            }
                            prop_assert!(may_run <= timeout);
                            if let Some(last) = given.last() {
                                if !interval.is_zero() {
                                    prop_assert!(now - *last >= interval, "{:?} apart", now - *last);
                                }
                            }
                            given.push(now);
                        }
                        Err(error) => {
                            prop_assert_eq!(counted, 0, "refused ({}) yet counted", error.code());
                        }
                    }
                    prop_assert!(given.len() as u64 <= maximum, "past the operation's maximum");
                    prop_assert_eq!(
                        admission.remaining(),
                        Some(limit.saturating_sub(given.len() as u32)),
                        "the budget spends exactly the turns given"
                    );
                }
                Ok(())
            })?;
        }
    }

    /// A source without admission takes its turn at once, counted, with
    /// no hold checked here (the retry loop checks it before the breaker).
    #[tokio::test(start_paused = true)]
    async fn a_source_without_admission_goes_at_once() {
        let hold = Hold::new(Source::Gta);
        let metrics = Metrics::default();
        let turn = Turn {
            source: Source::Gta,
            admission: None,
            hold: &hold,
            metrics: &metrics,
        };
        let usage = UpstreamUsage::default();
        let asked = tokio::time::Instant::now();
        let may_run = turn.take(&usage, Duration::from_secs(5)).await.unwrap();
        assert_eq!(tokio::time::Instant::now(), asked);
        assert_eq!(may_run, Duration::from_secs(5));
        assert_eq!(usage.requests(Source::Gta), 1);
    }
}
