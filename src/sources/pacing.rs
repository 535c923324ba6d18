//! Pacing and budgets for upstreams with usage limits (Comtrade: one request
//! per second, 100 or 10,000 an hour by seed 004).
//!
//! One [`Pacer`] per source is shared by every operation: a governor rate
//! limiter spaces requests so the upstream never sees two within its
//! interval, and a sliding-window budget refuses an operation whose plan
//! needs more requests than the window has left, before any is sent.
//!
//! The budget is scarce (Comtrade's free key: 500 requests a day) and shared
//! by every user, so:
//! - a plan's requests are reserved together ([`PlanReservation`]), and
//!   each request takes a [`Reservation`] (from its plan's) before it waits
//!   for its turn; only a request that goes out spends it: a reservation
//!   dropped unsent (the operation gave up while queued, or another
//!   operation's request answered it) is refunded;
//! - each client may spend at most its share of a window (`client_share`),
//!   so one client's burst leaves the others theirs.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::Source;
use crate::error::Error;

/// Slack added to the upstream's interval: the upstream measures arrival
/// times, which jitter by a few milliseconds around our send times.
pub const INTERVAL_SLACK: Duration = Duration::from_millis(20);

/// governor's clock, read from tokio's: paced waits sleep on tokio's timer,
/// so tests pause and advance time instead of sleeping for real.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

/// One request per interval, on tokio's clock.
type IntervalLimiter =
    RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// A request budget: at most `limit` requests in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub window: Duration,
}

impl Budget {
    /// How many requests of a window one client may spend with `share` of
    /// it: at least one, unless the budget itself allows none.
    pub fn client_limit(self, share: f64) -> u32 {
        ((f64::from(self.limit) * share).ceil() as u32)
            .max(1)
            .min(self.limit)
    }

    /// The refusal of `needed` requests of `source` when `remaining` of
    /// `limit` are left, and room comes back in `wait`.
    pub fn refusal(
        self,
        source: Source,
        limit: u32,
        needed: u32,
        remaining: u32,
        wait: Duration,
    ) -> Error {
        Error::UpstreamBudgetExhausted {
            upstream: source,
            needed,
            remaining,
            limit,
            window: self.window,
            // More than the whole budget (or share) never fits, however
            // long the client waits.
            retry_after: (needed <= limit).then(|| wait.as_secs() + 1),
        }
    }
}

/// Who an operation is for, as far as budgets are concerned: the caller's
/// own API key (hashed: it never appears in logs or metrics) when the
/// operator names a header for it, else its address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ClientId(pub String);

/// One reserved or spent request: when, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spent {
    at: Instant,
    client: ClientId,
    /// A reservation not yet committed (refunded if dropped).
    id: u64,
}

/// Spaces and budgets one source's requests.
#[derive(Debug)]
pub struct Pacer {
    source: Source,
    /// `None` when the interval is zero (no pacing).
    limiter: Option<IntervalLimiter>,
    budget: Option<Budget>,
    /// The part of a window one client may spend (1.0: all of it).
    client_share: f64,
    /// Requests within the budget window, oldest first. A std `Mutex`: it is
    /// held only to count and push, never across an await.
    spent: Mutex<VecDeque<Spent>>,
    next_id: std::sync::atomic::AtomicU64,
    /// The interval, and requests waiting for their turn: together, how
    /// long a new request would queue.
    interval: Duration,
    queued: std::sync::atomic::AtomicU32,
}

/// Where reservations are kept: this process's [`Pacer`], or the budget
/// replicas share through Redis. A reservation tells its ledger when it is
/// sent or given back.
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// Gives back reservations `ids` of `client`, not sent.
    fn refund(&self, ids: &[u64], client: &ClientId);

    /// Reservation `id` of `client` went out.
    fn committed(&self, _id: u64, _client: &ClientId) {}
}

/// A request's place in the budget, taken before it waits for its turn.
/// [`Reservation::commit`] when it is sent; dropped unsent, it is refunded.
#[must_use = "a reservation is refunded when dropped; commit it when the request is sent"]
#[derive(Debug)]
pub struct Reservation {
    ledger: Arc<dyn Ledger>,
    client: ClientId,
    id: Option<u64>,
}

impl Reservation {
    /// A place that holds nothing (the source has no budget).
    pub fn none(ledger: Arc<dyn Ledger>, client: ClientId) -> Self {
        Self {
            ledger,
            client,
            id: None,
        }
    }

    /// Hands the place over to another ledger: it is neither sent nor
    /// refunded here. `0` when it held nothing.
    pub fn forget(mut self) -> u64 {
        self.id.take().unwrap_or_default()
    }

    /// The request is going out: the budget is spent.
    pub fn commit(mut self) {
        if let Some(id) = self.id.take() {
            self.ledger.committed(id, &self.client);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.ledger.refund(&[id], &self.client);
        }
    }
}

/// Budget held for a whole plan, taken in one step so that two operations
/// cannot each be told the last requests are theirs. Its requests draw
/// from it as they go out ([`PlanReservation::take`]); what none used (an
/// answer came from a request another operation sent) is refunded when it
/// is dropped, at the latest when the operation ends.
#[derive(Debug)]
pub struct PlanReservation {
    ledger: Arc<dyn Ledger>,
    source: Source,
    client: ClientId,
    ids: Vec<u64>,
}

impl PlanReservation {
    /// Places `ids` of `client` in `ledger`, for `source`'s requests.
    pub fn new(ledger: Arc<dyn Ledger>, source: Source, client: ClientId, ids: Vec<u64>) -> Self {
        Self {
            ledger,
            source,
            client,
            ids,
        }
    }

    /// The source whose budget this is.
    pub fn source(&self) -> Source {
        self.source
    }

    /// One request's place, out of the plan's, if any is left.
    pub fn take(&mut self) -> Option<Reservation> {
        let id = self.ids.pop()?;
        Some(Reservation {
            ledger: self.ledger.clone(),
            client: self.client.clone(),
            id: Some(id),
        })
    }

    /// Places not yet taken.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Drop for PlanReservation {
    fn drop(&mut self) {
        if !self.ids.is_empty() {
            self.ledger.refund(&self.ids, &self.client);
        }
    }
}

impl Ledger for Pacer {
    fn refund(&self, ids: &[u64], _client: &ClientId) {
        let mut spent = self.lock();
        spent.retain(|entry| !ids.contains(&entry.id));
    }
}

impl Pacer {
    pub fn new(source: Source, interval: Duration, budget: Option<Budget>) -> Self {
        Self::with_client_share(source, interval, budget, 1.0)
    }

    /// A pacer whose budget lets one client spend at most `client_share` of
    /// a window.
    pub fn with_client_share(
        source: Source,
        interval: Duration,
        budget: Option<Budget>,
        client_share: f64,
    ) -> Self {
        let limiter = (!interval.is_zero())
            .then(|| Quota::with_period(interval + INTERVAL_SLACK))
            .flatten()
            .map(|quota| {
                RateLimiter::direct_with_clock(quota.allow_burst(NonZeroU32::MIN), TokioClock)
            });
        Self {
            source,
            limiter,
            budget,
            client_share: client_share.clamp(0.0, 1.0),
            spent: Mutex::new(VecDeque::new()),
            next_id: std::sync::atomic::AtomicU64::new(1),
            interval,
            queued: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// About how long a request asking now would wait for its turn.
    pub fn expected_wait(&self) -> Duration {
        if self.limiter.is_none() {
            return Duration::ZERO;
        }
        let queued = self.queued.load(std::sync::atomic::Ordering::Relaxed);
        (self.interval + INTERVAL_SLACK).saturating_mul(queued)
    }

    /// Requests the budget has left in its window now (`None`: no budget).
    pub fn remaining(&self) -> Option<u32> {
        let mut remaining = None;
        let _ = self.with_window(|spent, budget, _| {
            remaining = Some(budget.limit.saturating_sub(spent.len() as u32));
            Ok(())
        });
        remaining
    }

    /// Requests `client` may still spend in this window: the budget's
    /// remainder and the client's share of it (`None`: no budget).
    pub fn client_room(&self, client: &ClientId) -> Option<u32> {
        let mut room = None;
        let _ = self.with_window(|spent, budget, _| {
            let left = budget.limit.saturating_sub(spent.len() as u32);
            room = Some(left.min(self.client_remaining(spent, budget, client)));
            Ok(())
        });
        room
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Spent>> {
        self.spent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many requests of a window one client may spend.
    fn client_limit(&self, budget: Budget) -> u32 {
        budget.client_limit(self.client_share)
    }

    /// Reserves `needed` requests for `client`'s plan in one step, or
    /// refuses the whole plan, with the numbers, if the budget (or the
    /// client's share of it) cannot cover it now; nothing is taken then.
    pub fn reserve_plan(
        self: &Arc<Self>,
        needed: u32,
        client: &ClientId,
    ) -> Result<PlanReservation, Error> {
        let mut ids = Vec::new();
        self.with_window(|spent, budget, now| {
            if let Some(refusal) = self.refusal_of(spent, budget, now, needed, client) {
                return Err(refusal);
            }
            for _ in 0..needed {
                let id = self.next_id();
                spent.push_back(Spent {
                    at: now,
                    client: client.clone(),
                    id,
                });
                ids.push(id);
            }
            Ok(())
        })?;
        Ok(PlanReservation::new(
            self.clone(),
            self.source,
            client.clone(),
            ids,
        ))
    }

    fn next_id(&self) -> u64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a request this replica sent under the budget replicas share,
    /// so that its local share (used while Redis is away) knows it.
    pub fn record_sent(&self, client: &ClientId) {
        let id = self.next_id();
        let _ = self.with_window(|spent, _, now| {
            spent.push_back(Spent {
                at: now,
                client: client.clone(),
                id,
            });
            Ok(())
        });
    }

    /// Reserves one request in the budget for `client`, or refuses if the
    /// window (or the client's share of it) has none left. Checking and
    /// taking are one step, under one lock.
    pub fn reserve(self: &Arc<Self>, client: &ClientId) -> Result<Reservation, Error> {
        let id = self.next_id();
        let mut reserved = false;
        self.with_window(|spent, budget, now| {
            if let Some(refusal) = self.refusal_of(spent, budget, now, 1, client) {
                return Err(refusal);
            }
            spent.push_back(Spent {
                at: now,
                client: client.clone(),
                id,
            });
            reserved = true;
            Ok(())
        })?;
        Ok(Reservation {
            ledger: self.clone(),
            client: client.clone(),
            id: reserved.then_some(id),
        })
    }

    fn client_remaining(&self, spent: &VecDeque<Spent>, budget: Budget, client: &ClientId) -> u32 {
        let used = spent.iter().filter(|entry| &entry.client == client).count() as u32;
        self.client_limit(budget).saturating_sub(used)
    }

    /// Runs `f` on the requests still inside the window.
    fn with_window(
        &self,
        f: impl FnOnce(&mut VecDeque<Spent>, Budget, Instant) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        let now = Instant::now();
        let mut spent = self.lock();
        while spent
            .front()
            .is_some_and(|sent| now.duration_since(sent.at) >= budget.window)
        {
            spent.pop_front();
        }
        f(&mut spent, budget, now)
    }

    /// Why `needed` more requests for `client` do not fit in the window now,
    /// or `None` when they do. The refusal names the limit that binds (the
    /// budget's, else the client's share) and says when the plan fits both
    /// (when enough requests have left the window for each: the oldest
    /// alone leaving made room for one request, not for the plan), or no
    /// wait at all when the plan is larger than the whole budget or share.
    fn refusal_of(
        &self,
        spent: &VecDeque<Spent>,
        budget: Budget,
        now: Instant,
        needed: u32,
        client: &ClientId,
    ) -> Option<Error> {
        let remaining = budget.limit.saturating_sub(spent.len() as u32);
        let client_remaining = self.client_remaining(spent, budget, client);
        if needed <= remaining && needed <= client_remaining {
            return None;
        }
        let share = self.client_limit(budget);
        // Until `needed - left` of `entries` (oldest first) have left.
        let fits_after = |mut entries: Box<dyn Iterator<Item = &Spent> + '_>, left: u32| {
            let to_leave = needed.saturating_sub(left) as usize;
            if to_leave == 0 {
                return Duration::ZERO;
            }
            entries
                .nth(to_leave - 1)
                .map(|entry| budget.window.saturating_sub(now.duration_since(entry.at)))
                .unwrap_or_default()
        };
        let wait = fits_after(Box::new(spent.iter()), remaining).max(fits_after(
            Box::new(spent.iter().filter(|entry| &entry.client == client)),
            client_remaining,
        ));
        // The share is at most the budget: a plan past it never fits.
        let (limit, left) = if needed > share {
            (share, client_remaining)
        } else if needed > remaining {
            (budget.limit, remaining)
        } else {
            (share, client_remaining)
        };
        Some(budget.refusal(self.source, limit, needed, left, wait))
    }

    /// Waits until this source may send its next request.
    pub async fn wait_turn(&self) {
        if let Some(limiter) = &self.limiter {
            /// Counts a waiter while it waits, however the wait ends.
            struct Queued<'a>(&'a std::sync::atomic::AtomicU32);
            impl Drop for Queued<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            self.queued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _queued = Queued(&self.queued);
            while let Err(not_until) = limiter.check() {
                tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgeted(limit: u32, window: Duration, client_share: f64) -> Arc<Pacer> {
        Arc::new(Pacer::with_client_share(
            Source::Comtrade,
            Duration::ZERO,
            Some(Budget { limit, window }),
            client_share,
        ))
    }

    #[test]
    fn budgets_refuse_whole_plans_with_the_numbers() {
        let pacer = budgeted(10, Duration::from_secs(3600), 1.0);
        let client = ClientId::default();
        for _ in 0..6 {
            pacer.reserve(&client).unwrap().commit();
        }
        let error = pacer.reserve_plan(5, &client).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs 5 requests but only 4 of 10 per 1h remain"),
            "{error}"
        );
        assert_eq!(pacer.remaining(), Some(4), "a refused plan takes nothing");
        let mut plan = pacer.reserve_plan(4, &client).unwrap();
        assert_eq!(
            pacer.remaining(),
            Some(0),
            "the plan holds its four at once"
        );
        assert!(pacer.reserve(&client).is_err(), "nobody else gets them");
        for _ in 0..4 {
            plan.take().expect("the plan's own place").commit();
        }
        assert!(plan.take().is_none());
        drop(plan);
        assert_eq!(pacer.remaining(), Some(0), "all four were sent");
    }

    #[test]
    fn what_a_plan_did_not_send_is_refunded() {
        let pacer = budgeted(10, Duration::from_secs(3600), 1.0);
        let client = ClientId::default();
        let mut plan = pacer.reserve_plan(5, &client).unwrap();
        plan.take().unwrap().commit();
        drop(plan.take().unwrap()); // taken, then not sent
        assert_eq!(plan.len(), 3);
        drop(plan); // three answered by another operation's requests
        assert_eq!(pacer.remaining(), Some(9), "only the request sent is spent");
    }

    #[test]
    fn a_reservation_dropped_unsent_is_refunded() {
        let pacer = budgeted(2, Duration::from_secs(3600), 1.0);
        let client = ClientId::default();
        pacer.reserve(&client).unwrap().commit();
        let queued = pacer.reserve(&client).unwrap();
        assert!(pacer.reserve(&client).is_err(), "both reserved");
        drop(queued);
        pacer.reserve(&client).expect("refunded").commit();
        assert!(pacer.reserve(&client).is_err());
    }

    #[test]
    fn one_client_cannot_spend_more_than_its_share() {
        let pacer = budgeted(100, Duration::from_secs(86_400), 0.25);
        let burst = ClientId("10.0.0.1".into());
        let spent = (0..100)
            .take_while(|_| pacer.reserve(&burst).map(Reservation::commit).is_ok())
            .count();
        assert_eq!(spent, 25);
        let error = pacer.reserve(&burst).err().unwrap();
        assert!(error.to_string().contains("0 of 25 per 1day"), "{error}");
        for other in ["10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            let other = ClientId(other.into());
            let mut plan = pacer.reserve_plan(25, &other).unwrap();
            while let Some(place) = plan.take() {
                place.commit();
            }
        }
        let late = ClientId("10.0.0.5".into());
        assert!(pacer.reserve(&late).is_err(), "the whole budget is spent");
    }

    /// Paused time: tokio advances the clock to each turn, nothing sleeps.
    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_interval() {
        let pacer = Pacer::new(Source::Comtrade, Duration::from_secs(1), None);
        let started = Instant::now();
        let mut turns = Vec::new();
        for _ in 0..4 {
            pacer.wait_turn().await;
            turns.push(started.elapsed());
        }
        let turn = Duration::from_secs(1) + INTERVAL_SLACK;
        assert_eq!(turns, [Duration::ZERO, turn, turn * 2, turn * 3]);
    }

    /// The expected wait counts the requests queued ahead (nothing here
    /// waits: the queued turns are an hour apart and are dropped).
    #[tokio::test]
    async fn the_expected_wait_counts_the_queue() {
        let pacer = std::sync::Arc::new(Pacer::new(
            Source::Comtrade,
            Duration::from_secs(3600),
            None,
        ));
        assert_eq!(pacer.expected_wait(), Duration::ZERO);
        pacer.wait_turn().await; // the first turn is free
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let pacer = pacer.clone();
                tokio::spawn(async move { pacer.wait_turn().await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let one_turn = Duration::from_secs(3600) + INTERVAL_SLACK;
        assert_eq!(pacer.expected_wait(), one_turn * 3);
        for waiting in &queued {
            waiting.abort();
        }
        for waiting in queued {
            let _ = waiting.await;
        }
        assert_eq!(
            pacer.expected_wait(),
            Duration::ZERO,
            "a dropped wait leaves the queue"
        );
        assert_eq!(
            Pacer::new(Source::Comtrade, Duration::ZERO, None).expected_wait(),
            Duration::ZERO
        );
    }

    /// The window slides on tokio's clock: spent requests come back as they
    /// leave it, and the refusal says when (paused time).
    #[tokio::test(start_paused = true)]
    async fn the_budget_window_slides() {
        let pacer = budgeted(2, Duration::from_secs(3600), 1.0);
        let client = ClientId::default();
        pacer.reserve(&client).unwrap().commit();
        tokio::time::advance(Duration::from_secs(600)).await;
        pacer.reserve(&client).unwrap().commit();
        match pacer.reserve(&client).err().unwrap() {
            Error::UpstreamBudgetExhausted { retry_after, .. } => {
                assert_eq!(retry_after, Some(3001))
            }
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_secs(3000)).await;
        pacer
            .reserve(&client)
            .expect("the first request left the window")
            .commit();
        assert_eq!(pacer.remaining(), Some(0));
    }

    proptest::proptest! {
        /// A budget refusal's retryAfterSeconds is honest, on paused time
        /// over generated histories of two clients' requests: waiting it
        /// (and nothing else spent) the same plan fits, a second less it
        /// does not; a plan larger than the whole budget, or the client's
        /// whole share, is told no wait at all. (The wait was until the
        /// oldest request left the window, room for one, while the plan
        /// needed several; and a plan past the budget was told "retry in
        /// 1 s".)
        #[test]
        fn a_refusal_says_when_the_same_plan_fits(
            limit in 1u32..12,
            share in proptest::prop_oneof![proptest::strategy::Just(1.0f64), 0.3f64..1.0],
            history in proptest::collection::vec((0u64..3_600, proptest::prelude::any::<bool>()), 0..14),
            needed in 1u32..16,
            second_client in proptest::prelude::any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let window = Duration::from_secs(3_600);
                let pacer = budgeted(limit, window, share);
                let clients = [ClientId("a".into()), ClientId("b".into())];
                let mut history = history;
                history.sort_unstable();
                let mut elapsed = 0;
                for (at, second) in history {
                    tokio::time::advance(Duration::from_secs(at - elapsed)).await;
                    elapsed = at;
                    if let Ok(reservation) = pacer.reserve(&clients[usize::from(second)]) {
                        reservation.commit();
                    }
                }
                let client = &clients[usize::from(second_client)];
                let Err(refusal) = pacer.reserve_plan(needed, client) else {
                    return Ok(());
                };
                let Error::UpstreamBudgetExhausted { retry_after, limit: told, .. } = refusal else {
                    panic!("{refusal:?}");
                };
                let share_limit = Budget { limit, window }.client_limit(share);
                if needed > told {
                    proptest::prop_assert_eq!(retry_after, None, "needs {} of {}", needed, told);
                    proptest::prop_assert!(needed > share_limit || needed > limit);
                    return Ok(());
                }
                let retry_after = retry_after.expect("a plan within the budget is told when");
                if retry_after >= 2 {
                    tokio::time::advance(Duration::from_secs(retry_after - 2)).await;
                    proptest::prop_assert!(
                        pacer.reserve_plan(needed, client).is_err(),
                        "fits before the {} s it was told", retry_after
                    );
                    tokio::time::advance(Duration::from_secs(2)).await;
                } else {
                    tokio::time::advance(Duration::from_secs(retry_after)).await;
                }
                proptest::prop_assert!(
                    pacer.reserve_plan(needed, client).is_ok(),
                    "does not fit after the {} s it was told", retry_after
                );
                Ok(())
            })?;
        }
    }
}
