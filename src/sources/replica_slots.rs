//! A replica's own pacing turns while Redis is away: a grid of the
//! upstream's interval on the wall clock, each replica taking every N-th
//! slot by its index (`--replicas N`).
//!
//! Without Redis, each replica has to keep to its share of the rate alone.
//! Pacing each at N intervals keeps the *rate*, but not the *rule*: three
//! replicas that happen to be in phase send three requests in the same
//! second (an audit saw up to four in one second while Redis was frozen).
//! On a common grid, replica `k` sends only in slots `m` with
//! `m mod N == k`, so two replicas never share an interval, whatever their
//! load. The grid is the wall clock's, which replicas share through NTP; a
//! skew between hosts eats into the interval's slack.
//!
//! Each replica's index is leased in Redis while Redis is there
//! ([`SharedAdmission`](super::shared_admission::SharedAdmission) renews
//! it), and kept when Redis goes: the moment the index matters is the
//! moment it can no longer be asked for. A replica that never reached Redis
//! guesses one at random, which may collide (it says so).
//!
//! Reservations made in one mode are honoured by the other: a local turn
//! never comes before the last shared slot this replica knows of (a
//! request may still be sleeping until it), and [`ReplicaSlots::local_end`]
//! is reported to Redis when it returns, so that shared slots start after
//! the turns this replica handed out alone.
//!
//! Times are tokio's (tests pause them), anchored once to the wall clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// One replica's turns on the grid.
#[derive(Debug)]
pub struct ReplicaSlots {
    /// The grid's step: the upstream's interval, slack included (ms).
    interval_ms: u64,
    replicas: u64,
    /// This replica's index in `0..replicas`.
    index: AtomicU64,
    /// Whether the index was leased in Redis (else guessed).
    leased: std::sync::atomic::AtomicBool,
    /// A tokio instant and the wall-clock milliseconds it stands for.
    anchor: (Instant, u64),
    turns: Mutex<Turns>,
}

#[derive(Debug)]
struct Turns {
    /// No turn starts before this: the last turn taken plus an interval,
    /// or the end of the shared schedule this replica knows of.
    not_before: Instant,
    /// The end of the last turn handed out alone (its start plus an
    /// interval); `None` before any.
    local_end: Option<Instant>,
    /// The furthest end of the shared schedule Redis told this replica of.
    known_end: Option<Instant>,
}

impl ReplicaSlots {
    /// Turns on a grid of `interval` for one of `replicas`, at a random
    /// index until one is leased.
    pub fn new(interval: Duration, replicas: u32) -> Self {
        let replicas = u64::from(replicas.max(1));
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let now = Instant::now();
        Self {
            interval_ms: (interval.as_millis() as u64).max(1),
            replicas,
            index: AtomicU64::new(fastrand::u64(..replicas)),
            leased: std::sync::atomic::AtomicBool::new(false),
            anchor: (now, wall),
            turns: Mutex::new(Turns {
                not_before: now,
                local_end: None,
                known_end: None,
            }),
        }
    }

    /// This replica's index on the grid.
    pub fn index(&self) -> u64 {
        self.index.load(Ordering::Relaxed)
    }

    /// Whether the index was leased in Redis (a guessed one may collide
    /// with another replica's).
    pub fn is_leased(&self) -> bool {
        self.leased.load(Ordering::Relaxed)
    }

    /// Takes the index Redis leased to this replica.
    pub fn set_index(&self, index: u64) {
        self.index.store(index % self.replicas, Ordering::Relaxed);
        self.leased.store(true, Ordering::Relaxed);
    }

    fn wall_ms(&self, at: Instant) -> u64 {
        let (instant, wall) = self.anchor;
        if at >= instant {
            wall + at.duration_since(instant).as_millis() as u64
        } else {
            wall.saturating_sub(instant.duration_since(at).as_millis() as u64)
        }
    }

    fn instant(&self, wall_ms: u64) -> Instant {
        let (instant, wall) = self.anchor;
        if wall_ms >= wall {
            instant + Duration::from_millis(wall_ms - wall)
        } else {
            instant
                .checked_sub(Duration::from_millis(wall - wall_ms))
                .unwrap_or(instant)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Turns> {
        self.turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes this replica's next turn, or says how long it would wait when
    /// that is past `deadline` (nothing is taken then).
    pub fn take(&self, deadline: Option<Instant>) -> Result<Instant, Duration> {
        let now = Instant::now();
        let mut turns = self.lock();
        let earliest = now.max(turns.not_before);
        let (step, replicas, index) = (self.interval_ms, self.replicas, self.index());
        let mut slot = self.wall_ms(earliest).div_ceil(step);
        slot += (index + replicas - slot % replicas) % replicas;
        let at = self.instant(slot * step).max(earliest);
        if deadline.is_some_and(|deadline| at > deadline) {
            return Err(at - now);
        }
        let end = at + Duration::from_millis(step);
        turns.not_before = end;
        turns.local_end = Some(end);
        Ok(at)
    }

    /// Redis said the shared schedule runs until `end`; other replicas may
    /// take this replica's cells up to `allowance` past the end it knew of,
    /// so its own turns start no earlier than that.
    pub fn learned_schedule_end(&self, end: Instant, allowance: Duration) {
        let mut turns = self.lock();
        turns.known_end = Some(turns.known_end.map_or(end, |known| known.max(end)));
        turns.not_before = turns.not_before.max(end + allowance);
    }

    /// How far past now this replica's own turns, and what it knows other
    /// replicas may have taken of its cells, reach: where a schedule that
    /// Redis forgot resumes for it.
    pub fn restart_floor(&self) -> Duration {
        let turns = self.lock();
        let reach = turns
            .local_end
            .map_or(turns.not_before, |end| end.max(turns.not_before));
        reach.saturating_duration_since(Instant::now())
    }

    /// The furthest schedule end this replica was told of, in wall-clock
    /// milliseconds (0: none yet), which Redis records as known to it.
    pub fn known_end_wall_ms(&self) -> u64 {
        self.lock().known_end.map_or(0, |known| self.wall_ms(known))
    }

    /// How far past now the turns this replica handed out alone reach
    /// (zero when they are all past): what Redis must not schedule over.
    pub fn local_end(&self) -> Duration {
        self.lock().local_end.map_or(Duration::ZERO, |end| {
            end.saturating_duration_since(Instant::now())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule: turns of different replicas on one grid are never within
    /// an interval of each other, and one replica's are N intervals apart,
    /// however their requests arrive and whatever their phase.
    fn turns_of(replicas: u32, interval_ms: u64, arrivals: &[(usize, u64)]) -> Vec<(usize, u64)> {
        let interval = Duration::from_millis(interval_ms);
        let grids: Vec<ReplicaSlots> = (0..replicas)
            .map(|index| {
                let slots = ReplicaSlots::new(interval, replicas);
                slots.set_index(u64::from(index));
                slots
            })
            .collect();
        // One anchor for all: the replicas share a wall clock.
        let anchor = grids[0].anchor;
        let grids: Vec<ReplicaSlots> = grids
            .into_iter()
            .map(|slots| ReplicaSlots { anchor, ..slots })
            .collect();
        let start = anchor.0;
        let mut taken = Vec::new();
        for &(replica, offset_ms) in arrivals {
            let slots = &grids[replica % grids.len()];
            // Each replica's requests ask in the order they arrive; time
            // itself is not advanced: turns are reservations.
            let mut turns = slots.lock();
            turns.not_before = turns
                .not_before
                .max(start + Duration::from_millis(offset_ms));
            drop(turns);
            let at = slots.take(None).expect("no deadline");
            taken.push((replica % grids.len(), slots.wall_ms(at)));
        }
        taken
    }

    proptest! {
        #[test]
        fn replicas_never_share_an_interval(
            replicas in 1u32..6,
            interval_ms in 1u64..2000,
            arrivals in proptest::collection::vec((0usize..6, 0u64..20_000), 1..60),
        ) {
            let mut taken = turns_of(replicas, interval_ms, &arrivals);
            taken.sort_by_key(|&(_, at)| at);
            for pair in taken.windows(2) {
                let ((first, a), (second, b)) = (pair[0], pair[1]);
                let gap = b - a;
                prop_assert!(gap >= interval_ms, "{first} at {a}, {second} at {b}");
                if first == second {
                    prop_assert!(gap >= interval_ms * u64::from(replicas));
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_past_the_deadline_is_not_taken() {
        let slots = ReplicaSlots::new(Duration::from_secs(1), 3);
        let first = slots.take(None).unwrap();
        let deadline = first + Duration::from_secs(2);
        let refused = slots.take(Some(deadline)).unwrap_err();
        assert!(refused > Duration::from_secs(2), "{refused:?}");
        // Nothing taken: the same turn is offered without the deadline.
        let next = slots.take(None).unwrap();
        assert_eq!(next - first, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn turns_wait_for_the_shared_schedule_and_report_their_end() {
        let slots = ReplicaSlots::new(Duration::from_secs(1), 2);
        assert_eq!(slots.local_end(), Duration::ZERO);
        let shared_until = Instant::now() + Duration::from_secs(10);
        slots.learned_schedule_end(shared_until, Duration::ZERO);
        let turn = slots.take(None).unwrap();
        assert!(
            turn >= shared_until,
            "a local turn inside the shared schedule"
        );
        assert!(slots.local_end() >= Duration::from_secs(11));
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(slots.local_end(), Duration::ZERO);
    }
}
