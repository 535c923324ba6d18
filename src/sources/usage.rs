//! Per-operation accounting of upstream requests, reported to the client as
//! `extensions.upstream`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::Source;
use crate::error::Error;
use crate::limits::DemandLimits;
use crate::sources::pacing::{ClientId, PlanReservation, Reservation};

/// What one GraphQL operation cost each upstream. A cheap `Clone` handle: the
/// server creates one per operation and every loader of that operation records
/// into it. Relaxed atomics suffice: the counts are read once, after execution.
#[derive(Clone, Debug, Default)]
pub struct UpstreamUsage {
    counters: Arc<[SourceCounters; 3]>,
    /// Most requests per source (`None`: no maximum).
    limits: Option<DemandLimits>,
    /// Whom the operation is for: budgets give each client its share.
    client: ClientId,
    /// When the operation's waiting loads are cut off: a request that would
    /// queue past it for pacing fails at once.
    deadline: Option<tokio::time::Instant>,
    /// Budget reserved for the operation's plans, drawn from as their
    /// requests go out; the rest is refunded when the operation ends.
    held: Arc<std::sync::Mutex<Vec<PlanReservation>>>,
    /// The operation's estimate per source (`u64::MAX`: none), and the
    /// requests its plans have committed to so far: work that could add
    /// requests beyond the plan (splitting a truncated answer) is done only
    /// while the estimate has room, so that what is sent never exceeds it.
    planned: Arc<[PlannedCount; 3]>,
}

#[derive(Debug)]
struct PlannedCount {
    estimate: AtomicU64,
    committed: AtomicU64,
}

impl Default for PlannedCount {
    fn default() -> Self {
        Self {
            estimate: AtomicU64::new(u64::MAX),
            committed: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct SourceCounters {
    requests: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    /// Answers served from a stale copy because the upstream failed, and
    /// the oldest one's age in seconds.
    stale: AtomicU64,
    stale_age_seconds: AtomicU64,
    /// The age, in milliseconds, of the oldest cached answer served: what
    /// is left of the source's time to live bounds how long a whole
    /// response built from it may be kept (`operation::response_cache`).
    oldest_answer_ms: AtomicU64,
}

impl UpstreamUsage {
    /// Accounting that refuses requests past `limits` (per source, per
    /// operation).
    pub fn with_limits(limits: DemandLimits) -> Self {
        Self {
            limits: Some(limits),
            ..Self::default()
        }
    }

    /// This accounting, for `client`'s operation.
    pub fn for_client(self, client: ClientId) -> Self {
        Self { client, ..self }
    }

    /// Whom the operation is for.
    pub fn client(&self) -> &ClientId {
        &self.client
    }

    /// This accounting, for an operation whose loads are cut off at
    /// `deadline`.
    pub fn with_deadline(self, deadline: tokio::time::Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self
        }
    }

    /// The operation's deadline, if it has one.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        self.deadline
    }

    /// Starts the accounting over: counts back to zero, the held
    /// reservations refunded. A subscription's events each get what one
    /// operation gets (the counts and request maximum are per event).
    pub fn reset(&self) {
        for counters in self.counters.iter() {
            counters.requests.store(0, Ordering::Relaxed);
            counters.retries.store(0, Ordering::Relaxed);
            counters.cache_hits.store(0, Ordering::Relaxed);
            counters.stale.store(0, Ordering::Relaxed);
            counters.stale_age_seconds.store(0, Ordering::Relaxed);
            counters.oldest_answer_ms.store(0, Ordering::Relaxed);
        }
        self.held_plans().clear();
        for planned in self.planned.iter() {
            planned.committed.store(0, Ordering::Relaxed);
        }
    }

    /// Sets the operation's estimate of its requests to `source` (the cost
    /// step's, before it runs): [`Self::try_commit`] keeps within it.
    pub fn set_estimate(&self, source: Source, estimate: u64) {
        self.planned[source.index()]
            .estimate
            .store(estimate, Ordering::Relaxed);
    }

    /// Counts `requests` a plan to `source` is about to send (planned
    /// within the estimate by construction).
    pub fn commit(&self, source: Source, requests: u64) {
        self.planned[source.index()]
            .committed
            .fetch_add(requests, Ordering::Relaxed);
    }

    /// Counts `requests` more to `source` if the operation's estimate has
    /// room for them, else counts nothing and says no: a truncated answer
    /// is split only this way.
    pub fn try_commit(&self, source: Source, requests: u64) -> bool {
        let planned = &self.planned[source.index()];
        let estimate = planned.estimate.load(Ordering::Relaxed);
        planned
            .committed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |committed| {
                committed
                    .checked_add(requests)
                    .filter(|after| *after <= estimate)
            })
            .is_ok()
    }

    /// Requests to `source` the operation's estimate still has room for
    /// (`u64::MAX` without an estimate).
    pub fn room(&self, source: Source) -> u64 {
        let planned = &self.planned[source.index()];
        planned
            .estimate
            .load(Ordering::Relaxed)
            .saturating_sub(planned.committed.load(Ordering::Relaxed))
    }

    /// Keeps `plan`'s reservation for the operation's requests to its source.
    pub fn hold(&self, plan: PlanReservation) {
        if !plan.is_empty() {
            self.held_plans().push(plan);
        }
    }

    /// A place reserved by one of the operation's plans for `source`, if
    /// one is left.
    pub fn take_held(&self, source: Source) -> Option<Reservation> {
        self.held_plans()
            .iter_mut()
            .filter(|plan| plan.source() == source)
            .find_map(PlanReservation::take)
    }

    fn held_plans(&self) -> std::sync::MutexGuard<'_, Vec<PlanReservation>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one HTTP request about to be sent to `source`, or refuses it
    /// when the operation has sent its maximum (it is then not counted).
    pub fn record_request(&self, source: Source) -> Result<(), Error> {
        let requests = &self.counters[source.index()].requests;
        let sent = requests.fetch_add(1, Ordering::Relaxed);
        if let Some(limit) = self.limits.map(|limits| limits.for_source(source)) {
            if sent >= limit {
                requests.fetch_sub(1, Ordering::Relaxed);
                return Err(Error::UpstreamDemandExceeded {
                    upstream: source,
                    limit,
                });
            }
        }
        Ok(())
    }

    /// Takes back a request counted by [`Self::record_request`] that was not
    /// sent after all (its budget refused it).
    pub fn unrecord_request(&self, source: Source) {
        self.counters[source.index()]
            .requests
            .fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts one retry (an attempt after a failed one; it is also counted
    /// as a request when it is sent).
    pub fn record_retry(&self, source: Source) {
        self.counters[source.index()]
            .retries
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Retries of failed attempts to `source` so far.
    pub fn retries(&self, source: Source) -> u64 {
        self.counters[source.index()]
            .retries
            .load(Ordering::Relaxed)
    }

    /// Counts one answer served from a stale copy `age` old, because
    /// `source` failed.
    pub fn record_stale(&self, source: Source, age: std::time::Duration) {
        let counters = &self.counters[source.index()];
        counters.stale.fetch_add(1, Ordering::Relaxed);
        counters
            .stale_age_seconds
            .fetch_max(age.as_secs(), Ordering::Relaxed);
    }

    /// Counts one answer served without an HTTP request to `source`.
    pub fn record_cache_hit(&self, source: Source) {
        self.counters[source.index()]
            .cache_hits
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one answer served from a cached copy fetched `age` ago.
    pub fn record_cache_hit_aged(&self, source: Source, age: std::time::Duration) {
        let counters = &self.counters[source.index()];
        counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        counters.oldest_answer_ms.fetch_max(
            u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Adds what `other` counted (requests, retries, answers from cache) to
    /// this accounting: work done for the operation before its accounting
    /// began (the reference lists its estimate read).
    pub fn absorb(&self, other: &UpstreamUsage) {
        for source in Source::ALL {
            let (to, from) = (
                &self.counters[source.index()],
                &other.counters[source.index()],
            );
            for (to, from) in [
                (&to.requests, &from.requests),
                (&to.retries, &from.retries),
                (&to.cache_hits, &from.cache_hits),
            ] {
                to.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    }

    /// Whether `source` answered this operation (sent, or from a cache).
    pub fn used(&self, source: Source) -> bool {
        self.requests(source) > 0 || self.cache_hits(source) > 0 || self.stale_answers(source) > 0
    }

    /// Answers from a stale copy (the upstream failed) for `source` so far.
    pub fn stale_answers(&self, source: Source) -> u64 {
        self.counters[source.index()].stale.load(Ordering::Relaxed)
    }

    /// The age of the oldest cached answer `source` served (zero when
    /// every answer was fetched now).
    pub fn oldest_answer_age(&self, source: Source) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.counters[source.index()]
                .oldest_answer_ms
                .load(Ordering::Relaxed),
        )
    }

    /// HTTP requests sent to `source` so far.
    pub fn requests(&self, source: Source) -> u64 {
        self.counters[source.index()]
            .requests
            .load(Ordering::Relaxed)
    }

    /// Answers from cache for `source` so far.
    pub fn cache_hits(&self, source: Source) -> u64 {
        self.counters[source.index()]
            .cache_hits
            .load(Ordering::Relaxed)
    }

    /// The `extensions.upstream` value:
    /// `{"gta": {"requests": 1, "retries": 0, "cacheHits": 0}, "comtrade": {...}, "ita": {...}}`
    /// (`requests` counts every attempt sent, retries included).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for source in Source::ALL {
            let mut counts = serde_json::json!({
                "requests": self.requests(source),
                "retries": self.retries(source),
                "cacheHits": self.cache_hits(source),
            });
            // Only when it happened: data is never silently stale, and a
            // fresh answer carries no noise.
            let counters = &self.counters[source.index()];
            let stale = counters.stale.load(Ordering::Relaxed);
            if stale > 0 {
                counts["stale"] = serde_json::json!({
                    "answers": stale,
                    "oldestAgeSeconds": counters.stale_age_seconds.load(Ordering::Relaxed),
                });
            }
            map.insert(source.name().to_owned(), counts);
        }
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// One step of an operation's accounting.
    #[derive(Clone, Debug)]
    enum Step {
        /// Requests sent at once (each counted before it goes out).
        Send(u64),
        /// A counted request its budget refused after all.
        Unsend,
        /// A truncated answer's split into this many more requests.
        Split(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u64..6).prop_map(Step::Send),
            Just(Step::Unsend),
            (1u64..5).prop_map(Step::Split),
        ]
    }

    proptest! {
        /// The request maximum stage's rules, over generated histories
        /// with concurrent senders: what is counted never passes the
        /// source's maximum (a request past it is refused and not
        /// counted), and splits never pass the estimate.
        #[test]
        fn counted_requests_stay_within_the_maximum_and_splits_within_the_estimate(
            maximum in 0u64..12,
            estimate in 0u64..12,
            steps in proptest::collection::vec(step(), 1..30),
        ) {
            let usage = UpstreamUsage::with_limits(DemandLimits { gta: 100, comtrade: maximum, ita: 100 });
            usage.set_estimate(Source::Comtrade, estimate);
            let mut committed = 0;
            for step in steps {
                match step {
                    Step::Send(count) => {
                        let before = usage.requests(Source::Comtrade);
                        let usage = &usage;
                        let refused = std::thread::scope(|scope| {
                            let senders: Vec<_> = (0..count)
                                .map(|_| scope.spawn(move || usage.record_request(Source::Comtrade).is_err()))
                                .collect();
                            senders
                                .into_iter()
                                .map(|sender| u64::from(sender.join().unwrap()))
                                .sum::<u64>()
                        });
                        let after = usage.requests(Source::Comtrade);
                        prop_assert!(after <= maximum, "{after} counted past {maximum}");
                        prop_assert_eq!(after, (before + count).min(maximum));
                        prop_assert_eq!(refused, before + count - after);
                    }
                    Step::Unsend => {
                        let before = usage.requests(Source::Comtrade);
                        if before > 0 {
                            usage.unrecord_request(Source::Comtrade);
                            prop_assert_eq!(usage.requests(Source::Comtrade), before - 1);
                        }
                    }
                    Step::Split(count) => {
                        let fits = committed + count <= estimate;
                        prop_assert_eq!(usage.try_commit(Source::Comtrade, count), fits);
                        if fits {
                            committed += count;
                        }
                        prop_assert_eq!(usage.room(Source::Comtrade), estimate - committed);
                    }
                }
            }
            // The other sources saw nothing.
            prop_assert_eq!(usage.requests(Source::Gta), 0);
        }
    }
}
