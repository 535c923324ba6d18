//! One admission decision for all replicas (`--redis-url`): the budget and
//! the pacing of a source are kept in Redis, and each decision is one
//! atomic Lua script, so two replicas can never both take the last request
//! of a window or the same pacing slot.
//!
//! - Budget: a sliding window. Every reserved request is a member of a
//!   sorted set scored by Redis's clock (`TIME`, one clock for all
//!   replicas); a second set per client holds its share. The script drops
//!   what left the window, checks the total and the client's share, and
//!   adds the whole plan's requests, or refuses with the numbers.
//! - Pacing: a schedule of slots. Redis keeps the next free slot; each
//!   request takes the next one and sleeps until it, so requests from all
//!   replicas leave at least one interval apart. A request whose slot would
//!   come after its operation's deadline takes none.
//!
//! When Redis cannot be reached, the replica keeps to a local share that
//! cannot break the rule together with the others: the budget divided by
//! `--replicas`, and one pacing turn in `--replicas` on a grid the replicas
//! share ([`ReplicaSlots`]; the slot script hands out the same grid's
//! cells, and keeps each replica's own cells free of slots it was not
//! told of). The local share counts
//! every request the replica sent in the window, shared ones too, so the
//! replicas' shares together never pass the budget: each spends at most
//! its share less what it already sent. What it sends meanwhile is reported
//! to Redis when it returns, so the shared window counts it (a Redis that
//! lost its data forgets the rest of the window: run it with persistence
//! where that matters).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::admission::NoTurn;
use super::pacing::{
    Budget, ClientId, Ledger, Pacer, PlanReservation, Reservation, INTERVAL_SLACK,
};
use super::redis_link::{RedisLink, CALL_TIMEOUT};
use super::replica_slots::ReplicaSlots;
use super::Source;
use crate::error::Error;
use crate::metrics::Metrics;

/// Checks and takes a plan's requests in the sliding window.
///
/// KEYS: the window's set, the client's set. ARGV: window (ms), limit,
/// client limit, needed, unreported, then `needed` members for the plan and
/// `unreported` members for requests sent while Redis was away (counted
/// first, unchecked: they went out). Returns `{1, remaining, 0}` when taken,
/// `{0, remaining, wait_ms}` when the window is spent, `{-1, remaining,
/// wait_ms}` when the client's share is (`wait_ms`: until the plan fits).
static RESERVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local client_limit = tonumber(ARGV[3])
local needed = tonumber(ARGV[4])
local unreported = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
for i = 1, unreported do
  redis.call('ZADD', KEYS[1], now, ARGV[5 + needed + i])
end
local used = redis.call('ZCARD', KEYS[1])
-- When the plan fits: once `used + needed - allowed` of the set have
-- left the window (oldest first), not only the oldest.
local function wait_for(key, used, allowed)
  local k = math.max(used + needed - allowed, 1) - 1
  local entry = redis.call('ZRANGE', KEYS[key], k, k, 'WITHSCORES')
  if entry[2] then return tonumber(entry[2]) + window - now end
  return 0
end
local client_used = redis.call('ZCARD', KEYS[2])
-- Past the client's whole share (at most the budget) it never fits.
if needed > client_limit then
  return {-1, math.max(client_limit - client_used, 0), 0}
end
local short = used + needed > limit
local share_short = client_used + needed > client_limit
if short or share_short then
  -- When the plan fits both: the later of the two.
  local wait = 0
  if short then wait = wait_for(1, used, limit) end
  if share_short then wait = math.max(wait, wait_for(2, client_used, client_limit)) end
  if short then return {0, math.max(limit - used, 0), wait} end
  return {-1, math.max(client_limit - client_used, 0), wait}
end
for i = 1, needed do
  redis.call('ZADD', KEYS[1], now, ARGV[5 + i])
  redis.call('ZADD', KEYS[2], now, ARGV[5 + i])
end
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {1, limit - used - needed, 0}
",
    )
});

/// Takes the next pacing slot, unless it comes later than the caller can
/// wait.
///
/// Slots are the cells of a grid of the interval on Redis's clock, and cell
/// `m` is replica `m mod N`'s turn when Redis is away ([`ReplicaSlots`]).
/// While Redis is there any replica may take any cell, with one exception
/// that keeps the turns of a replica that loses Redis free: another
/// replica's cell is taken only if it ends within [`UNSEEN_ALLOWANCE`] of
/// the schedule's end that replica was last told (its `known` key). A
/// replica that loses Redis starts its own turns only after that end plus
/// the allowance, so no cell handed out behind its back can be one of them.
///
/// KEYS: the schedule's end (ms on Redis's clock), its epoch, then each
/// index's `known` end. ARGV: interval (ms), longest wait (ms; negative: any), how
/// far this replica's turns taken alone reach (ms from now: no slot
/// before), this replica's index (-1: none leased: no cell is its own, and
/// it takes only cells their owners know of; none within 64 cells is a
/// refusal to wait an interval), the allowance (ms), how long a `known` end is
/// kept (ms), the schedule's end this replica already knows of (wall-clock
/// ms; 0: none). That, not the end this call hands back, is what is
/// recorded as known to it: an answer lost on the way back (a timeout, a
/// frozen Redis thawing later) must not record an end the replica never
/// learned; then the tail (ms): how much longer than the interval the slot
/// keeps the schedule (a replica whose last answer came back too late to
/// know its slot's time within the slack asks again with a tail as long as
/// that uncertainty). Returns `{1, wait_ms, end_ms}` when taken (the
/// schedule's end after it, from now), `{0, wait_ms, 0}` when the slot is
/// too late (nothing taken), each with the schedule's epoch; the last two
/// ARGV are those of [`EPOCH`].
static SLOT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"
{EPOCH}
local interval = tonumber(ARGV[1])
local longest = tonumber(ARGV[2])
local floor = now + tonumber(ARGV[3])
local me = tonumber(ARGV[4])
local allowance = tonumber(ARGV[5])
local keep = tonumber(ARGV[6])
local replicas = #KEYS - 2
local start = math.max(now, floor, cursor)
local cell = math.ceil(start / interval)
local found = false
for _ = 1, math.max(64, replicas) do
  local owner = cell % replicas
  if owner == me then found = true break end
  local known = tonumber(redis.call('GET', KEYS[3 + owner]) or '0')
  if (cell + 1) * interval <= known + allowance then found = true break end
  cell = cell + 1
end
if not found then return {{0, interval, 0, epoch}} end
local slot = math.max(cell * interval, now)
local wait = slot - now
if longest >= 0 and wait > longest then return {{0, wait, 0, epoch}} end
local after = slot + interval + tonumber(ARGV[8])
redis.call('SET', KEYS[1], after, 'PX', math.max(after - now + interval, 1))
if me >= 0 and tonumber(ARGV[7]) > 0 then
  redis.call('SET', KEYS[3 + me], ARGV[7], 'PX', keep)
end
return {{1, wait, after - now, epoch}}
"
    ))
});

/// Leases this replica its index on the grid ([`ReplicaSlots`]), tells
/// Redis how far its turns taken alone reach, and learns (and records as
/// known to it) how far the shared schedule does.
///
/// KEYS: the schedule's end, its epoch, then one lease key per index, then
/// one `known` key per index. ARGV: this replica's member, lease (ms), how far
/// its local turns reach (ms from now), the index it has (leased before,
/// or guessed), which it keeps if free (a replica's cells must not change
/// under turns it already handed out: a Redis that restarted empty has no
/// leases, and giving out the lowest free index first reshuffled them),
/// the schedule's end it already knows of (as in the slot script). Returns
/// `{index or -1 when every index is leased, ms until the schedule's end,
/// epoch}`; the last two ARGV are those of [`EPOCH`].
static LEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"
{EPOCH}
local lease = tonumber(ARGV[2])
local reach = tonumber(ARGV[3])
local replicas = (#KEYS - 2) / 2
local index = -1
for i = 0, replicas - 1 do
  if redis.call('GET', KEYS[3 + i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[3 + i], lease)
    index = i
    break
  end
end
local preferred = tonumber(ARGV[4])
if index < 0 and preferred >= 0 and preferred < replicas
  and redis.call('SET', KEYS[3 + preferred], ARGV[1], 'NX', 'PX', lease) then
  index = preferred
end
if index < 0 then
  for i = 0, replicas - 1 do
    if redis.call('SET', KEYS[3 + i], ARGV[1], 'NX', 'PX', lease) then
      index = i
      break
    end
  end
end
local slot = math.max(now, cursor)
if reach > 0 and now + reach > slot then
  slot = now + reach
  redis.call('SET', KEYS[1], slot, 'PX', reach + lease)
end
if index >= 0 and tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[3 + replicas + index], ARGV[5], 'PX', lease)
end
return {{index, slot - now, epoch}}
"
    ))
});

/// The start both scripts share: Redis's clock, and the schedule's epoch.
///
/// A Redis that restarted empty forgot the schedule's end, while replicas
/// may still hold slots the old one gave them. Each replica remembers the
/// epoch it last saw (KEYS[2] holds it, made on first use) and passes it
/// (the next to last ARGV) with how far its own turns and what it knew of
/// the schedule reach, plus the allowance (the last ARGV, ms from now): the
/// first time it
/// sees a new epoch, the schedule resumes past that. Its old slots on its
/// own cells end before it; those it took on another's cells, before that
/// other's floor, which the other brings when it first calls. Leaves
/// `now`, `cursor` (the schedule's end, floored) and `epoch` set.
const EPOCH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[2], epoch)
end
local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
if epoch ~= ARGV[#ARGV - 1] then
  local restart_floor = now + tonumber(ARGV[#ARGV])
  if restart_floor > cursor then
    cursor = restart_floor
    redis.call('SET', KEYS[1], cursor, 'PX', tonumber(ARGV[#ARGV]) + 60000)
  end
end
";

/// How long an index lease (and a replica's `known` end) lasts, and how
/// often it is renewed.
const LEASE_FOR: Duration = Duration::from_secs(10);
const LEASE_RENEWAL: Duration = Duration::from_secs(1);

/// How far past the schedule's end a replica was told another may take its
/// cells; a replica that loses Redis waits this long past that end before
/// its own turns. Longer lets one busy replica use the others' cells
/// further ahead (bursts at the full rate); shorter resumes sooner when
/// Redis goes. With renewals every second, three seconds lets a burst run
/// at the full rate about two seconds ahead.
const UNSEEN_ALLOWANCE: Duration = Duration::from_secs(3);

/// Ids of reservations kept in Redis; those of the local share are the
/// local pacer's (always below this bit).
const SHARED_ID: u64 = 1 << 63;

/// A source's budget and pacing, shared by the replicas through Redis, with
/// the local share to keep to while Redis is away.
#[derive(Debug)]
pub struct SharedAdmission {
    source: Source,
    link: RedisLink,
    budget: Option<Budget>,
    /// The interval the upstream asks for, with its slack.
    interval: Duration,
    client_share: f64,
    replicas: u32,
    /// This replica's local share of the budget (budget / replicas), which
    /// also counts every request this replica sends.
    local: Arc<Pacer>,
    /// This replica's pacing turns while Redis is away (every N-th slot of
    /// the interval's grid), which also remember the shared schedule.
    slots: ReplicaSlots,
    /// Whether "more replicas than --replicas" was said.
    overcrowded_logged: AtomicBool,
    /// Whether Redis last said every index is leased to another replica:
    /// then this replica has no turns of its own to keep to alone.
    crowded_out: AtomicBool,
    /// The epoch of the shared schedule this replica last saw (see the
    /// scripts' `EPOCH`).
    epoch: Mutex<String>,
    /// Tells this replica's reservations from other replicas' in Redis.
    replica: u64,
    next_id: AtomicU64,
    last_remaining: AtomicU32,
    /// Whether the last decision was taken in Redis.
    shared: AtomicBool,
    /// Clients of requests sent on the local share, not yet reported.
    unreported: Mutex<Vec<ClientId>>,
    metrics: Option<Metrics>,
}

/// What a script answered, or that Redis could not be asked.
enum Decision {
    Taken { remaining: u32 },
    WindowSpent { remaining: u32, wait: Duration },
    ShareSpent { remaining: u32, wait: Duration },
}

impl SharedAdmission {
    /// `interval` is the one the upstream asks for (slack included), `local`
    /// this replica's share of the budget (its pacing is not used: turns
    /// alone come from the grid). Leases this replica's index on the grid
    /// in the background while the admission lives.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: Source,
        link: RedisLink,
        interval: Duration,
        budget: Option<Budget>,
        client_share: f64,
        replicas: u32,
        local: Pacer,
        metrics: Option<Metrics>,
    ) -> Arc<Self> {
        let admission = Arc::new(Self {
            source,
            slots: ReplicaSlots::new(interval, replicas),
            overcrowded_logged: AtomicBool::new(false),
            crowded_out: AtomicBool::new(false),
            epoch: Mutex::new(String::new()),
            link,
            budget,
            interval,
            client_share: client_share.clamp(0.0, 1.0),
            replicas: replicas.max(1),
            local: Arc::new(local),
            replica: fastrand::u64(..),
            next_id: AtomicU64::new(0),
            last_remaining: AtomicU32::new(budget.map_or(0, |budget| budget.limit)),
            shared: AtomicBool::new(true),
            unreported: Mutex::new(Vec::new()),
            metrics,
        });
        admission.lease_index();
        admission
    }

    /// Leases this replica's index on the grid now and every
    /// [`LEASE_RENEWAL`] while Redis answers, reporting how far its turns
    /// taken alone reach and learning how far the shared schedule does.
    fn lease_index(self: &Arc<Self>) {
        if self.interval.is_zero() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let admission = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                let Some(this) = admission.upgrade() else {
                    return;
                };
                this.renew_lease().await;
                drop(this);
                tokio::time::sleep(LEASE_RENEWAL).await;
            }
        });
    }

    /// Leases this replica's index before it serves, trying for up to
    /// about three seconds while Redis is connected (each call is bounded
    /// to 250 ms, which a busy Redis can miss); a Redis that does not answer
    /// leaves the guessed index, which the log names when it is used.
    pub async fn lease_before_serving(&self) {
        for _ in 0..12 {
            if self.interval.is_zero() || self.slots.is_leased() || !self.link.available() {
                return;
            }
            self.renew_lease().await;
        }
    }

    async fn renew_lease(&self) {
        if !self.link.available() {
            return;
        }
        let mut invocation = LEASE.prepare_invoke();
        invocation.key(self.key("next-slot")).key(self.key("epoch"));
        for index in 0..self.replicas {
            invocation.key(self.key(&format!("replica:{index}")));
        }
        for index in 0..self.replicas {
            invocation.key(self.key(&format!("known:{index}")));
        }
        invocation
            .arg(format!("{:016x}", self.replica))
            .arg(LEASE_FOR.as_millis() as u64)
            .arg(self.slots.local_end().as_millis() as u64)
            // Kept if free, leased or guessed: turns may already have
            // been taken on it.
            .arg(self.slots.index() as i64)
            .arg(self.slots.known_end_wall_ms())
            .arg(self.epoch())
            .arg(self.slots.restart_floor().as_millis() as u64);
        self.note_redis_call();
        let answer: Option<(i64, i64, String)> = self
            .link
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
        let Some((index, end_ms, epoch)) = answer else {
            return;
        };
        self.learned_schedule_end(end_ms);
        self.saw_epoch(epoch);
        self.crowded_out.store(index < 0, Ordering::Relaxed);
        match u64::try_from(index) {
            Ok(index) => self.slots.set_index(index),
            Err(_) => {
                if !self.overcrowded_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        source = %self.source,
                        replicas = self.replicas,
                        "more replicas share Redis than --replicas says: without Redis, two of them may pace in the same turns"
                    );
                }
            }
        }
    }

    /// Redis told this replica the shared schedule ends `end_ms` from now
    /// (and recorded it as known to it): should Redis go, this replica's
    /// own turns start past that end and the allowance other replicas had
    /// on its cells.
    fn learned_schedule_end(&self, end_ms: i64) {
        let end = Instant::now() + Duration::from_millis(end_ms.max(0) as u64);
        self.slots.learned_schedule_end(end, UNSEEN_ALLOWANCE);
    }

    fn epoch(&self) -> String {
        self.epoch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn saw_epoch(&self, epoch: String) {
        *self
            .epoch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = epoch;
    }

    /// Whether decisions are being taken with the other replicas (else on
    /// this replica's local share).
    pub fn is_shared(&self) -> bool {
        self.link.available() && self.shared.load(Ordering::Relaxed)
    }

    /// The number of replicas the local share divides by.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// Requests the budget has left: the shared window's at the last
    /// decision, or the local share's.
    pub fn remaining(&self) -> Option<u32> {
        self.budget?;
        if self.is_shared() {
            Some(self.last_remaining.load(Ordering::Relaxed))
        } else {
            self.local.remaining()
        }
    }

    fn key(&self, part: &str) -> String {
        format!("trade-graph:v1:admission:{}:{part}", self.source)
    }

    /// The client's set: hashed, so that no address or key is stored.
    fn client_key(&self, client: &ClientId) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        client.0.hash(&mut hasher);
        self.key(&format!("client:{:016x}", hasher.finish()))
    }

    fn member(&self, id: u64) -> String {
        format!("{:016x}:{:x}", self.replica, id & !SHARED_ID)
    }

    fn note_redis_call(&self) {
        if let Some(metrics) = &self.metrics {
            metrics.admission_redis_call(self.source);
        }
    }

    /// Records which way decisions are taken.
    fn set_shared(&self, shared: bool) {
        let was = self.shared.swap(shared, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.admission_shared(self.source, shared);
        }
        if was && !shared {
            tracing::warn!(
                source = %self.source,
                replicas = self.replicas,
                turn = self.slots.index(),
                turn_leased = self.slots.is_leased(),
                "shared admission unavailable: keeping to this replica's local share (every n-th turn of the pacing grid; a turn not leased from Redis was guessed and may be another replica's)"
            );
        }
    }

    /// Reserves `needed` requests for `client`: in the shared window, or on
    /// the local share when Redis cannot be asked.
    pub async fn reserve_plan(
        self: &Arc<Self>,
        needed: u32,
        client: &ClientId,
    ) -> Result<PlanReservation, Error> {
        let Some(budget) = self.budget.filter(|_| needed > 0) else {
            // Nothing to reserve: no budget, or every request was cached.
            return Ok(PlanReservation::new(
                self.clone(),
                self.source,
                client.clone(),
                Vec::new(),
            ));
        };
        let ids: Vec<u64> = (0..needed)
            .map(|_| self.next_id.fetch_add(1, Ordering::Relaxed) | SHARED_ID)
            .collect();
        match self.decide(budget, &ids, client).await {
            Some(Decision::Taken { remaining }) => {
                self.last_remaining.store(remaining, Ordering::Relaxed);
                Ok(PlanReservation::new(
                    self.clone(),
                    self.source,
                    client.clone(),
                    ids,
                ))
            }
            Some(Decision::WindowSpent { remaining, wait }) => {
                self.last_remaining.store(remaining, Ordering::Relaxed);
                Err(budget.refusal(self.source, budget.limit, needed, remaining, wait))
            }
            Some(Decision::ShareSpent { remaining, wait }) => Err(budget.refusal(
                self.source,
                budget.client_limit(self.client_share),
                needed,
                remaining,
                wait,
            )),
            None => {
                // On the local share: its reservations are the local
                // pacer's, kept through this ledger so that what is sent
                // is reported when Redis returns.
                let mut local = self.local.reserve_plan(needed, client)?;
                let mut ids = Vec::with_capacity(needed as usize);
                while let Some(reservation) = local.take() {
                    ids.push(reservation.forget());
                }
                Ok(PlanReservation::new(
                    self.clone(),
                    self.source,
                    client.clone(),
                    ids,
                ))
            }
        }
    }

    /// Reserves one request for `client`.
    pub async fn reserve(self: &Arc<Self>, client: &ClientId) -> Result<Reservation, Error> {
        let mut plan = self.reserve_plan(1, client).await?;
        Ok(plan
            .take()
            .unwrap_or_else(|| Reservation::none(self.clone(), client.clone())))
    }

    /// Runs the reserve script; `None` when Redis cannot be asked.
    async fn decide(&self, budget: Budget, ids: &[u64], client: &ClientId) -> Option<Decision> {
        let unreported = std::mem::take(&mut *self.lock_unreported());
        let mut invocation = RESERVE.prepare_invoke();
        invocation
            .key(self.key("window"))
            .key(self.client_key(client))
            .arg(budget.window.as_millis() as u64)
            .arg(budget.limit)
            .arg(budget.client_limit(self.client_share))
            .arg(ids.len())
            .arg(unreported.len());
        for &id in ids {
            invocation.arg(self.member(id));
        }
        for _ in &unreported {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            invocation.arg(format!("{}:away", self.member(id)));
        }
        self.note_redis_call();
        let answer: Option<(i64, i64, i64)> = self
            .link
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
        let Some((status, remaining, wait_ms)) = answer else {
            // Not reported: kept for the next decision Redis takes.
            self.lock_unreported().extend(unreported);
            self.set_shared(false);
            return None;
        };
        self.set_shared(true);
        let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
        let wait = Duration::from_millis(wait_ms.max(0) as u64);
        Some(match status {
            1 => Decision::Taken { remaining },
            0 => Decision::WindowSpent { remaining, wait },
            _ => Decision::ShareSpent { remaining, wait },
        })
    }

    fn lock_unreported(&self) -> std::sync::MutexGuard<'_, Vec<ClientId>> {
        self.unreported
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for this request's pacing slot, or says how long it would be
    /// when that is past `deadline` (nothing is taken then).
    ///
    /// A slot is kept only if this request goes out within
    /// [`INTERVAL_SLACK`] (plus the slot's tail) of the slot's own time: the
    /// next slot, maybe another replica's, is one interval after it, and a
    /// request sent late by more than the slack would reach the upstream
    /// within its interval of that one. Two things make a request late: an
    /// answer from Redis that took longer than the slack to come back (the
    /// slot's time is known only within that round trip; the script ran
    /// somewhere in it), and a wake-up late on a busy machine. Either way
    /// the slot is left unused (a hole in the schedule breaks no rule) and
    /// another is asked for, with a tail as long as the lateness seen, so
    /// that the next one holds the schedule long enough to be used.
    pub async fn wait_turn(&self, deadline: Option<Instant>) -> Result<(), NoTurn> {
        if self.interval.is_zero() {
            return Ok(());
        }
        let mut tail = Duration::ZERO;
        for _ in 0..MAX_TURN_ASKS {
            let asked = Instant::now();
            match self.ask_slot(deadline, tail).await {
                Some(Ok(wait)) => {
                    let received = Instant::now();
                    // The slot is at least `asked + wait` (the script ran
                    // after the ask), at most `received + wait`: sleeping
                    // until the latest never sends before it.
                    let mut kept = slot_kept(asked, wait, received, tail);
                    if kept.is_ok() {
                        if !wait.is_zero() {
                            tokio::time::sleep_until(received + wait).await;
                        }
                        kept = slot_kept(asked, wait, Instant::now(), tail);
                    }
                    let Err(late) = kept else {
                        return Ok(());
                    };
                    tail = turn_tail(late);
                    tracing::debug!(
                        source = %self.source,
                        late_ms = late.as_millis() as u64,
                        "a pacing slot left unused: this request could not go out within the slack of it"
                    );
                }
                Some(Err(wait)) => return Err(NoTurn::PastDeadline(wait)),
                None => {
                    // Redis is away: this replica's own turns on the grid,
                    // under the same rule (a late wake-up leaves the turn),
                    // and none when Redis said every index is another
                    // replica's: a replica that restarted while its old
                    // lease still held every index kept a guessed one, took
                    // another's turns, and two requests left 0.5 ms apart
                    // every three intervals. (One that never reached Redis
                    // guesses, and says so at start.)
                    if self.crowded_out.load(Ordering::Relaxed) {
                        return Err(NoTurn::NoOwnTurn(self.interval));
                    }
                    for _ in 0..MAX_TURN_ASKS {
                        let turn = self.slots.take(deadline).map_err(NoTurn::PastDeadline)?;
                        tokio::time::sleep_until(turn).await;
                        if Instant::now().saturating_duration_since(turn) <= INTERVAL_SLACK {
                            return Ok(());
                        }
                    }
                    return Err(NoTurn::Late(self.interval));
                }
            }
        }
        // Late every time: the machine is too busy to keep the interval;
        // refused with an interval to wait rather than sent out of turn.
        Err(NoTurn::Late(self.interval))
    }

    /// Asks Redis for the next slot: `Some(Ok(wait))` when taken (the slot
    /// is `wait` after the script ran), `Some(Err(wait))` when it would be
    /// past the deadline, `None` when Redis cannot be asked.
    async fn ask_slot(
        &self,
        deadline: Option<Instant>,
        tail: Duration,
    ) -> Option<Result<Duration, Duration>> {
        let longest = deadline.map_or(-1, |deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as i64
        });
        let mut invocation = SLOT.prepare_invoke();
        invocation.key(self.key("next-slot")).key(self.key("epoch"));
        for index in 0..self.replicas {
            invocation.key(self.key(&format!("known:{index}")));
        }
        let me = if self.slots.is_leased() {
            self.slots.index() as i64
        } else {
            -1
        };
        invocation
            .arg(self.interval.as_millis() as u64)
            .arg(longest)
            .arg(self.slots.local_end().as_millis() as u64)
            .arg(me)
            .arg(UNSEEN_ALLOWANCE.as_millis() as u64)
            .arg(LEASE_FOR.as_millis() as u64)
            .arg(self.slots.known_end_wall_ms())
            .arg(tail.as_millis() as u64)
            .arg(self.epoch())
            .arg(self.slots.restart_floor().as_millis() as u64);
        self.note_redis_call();
        let answer: Option<(i64, i64, i64, String)> = self
            .link
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
        let Some((taken, wait_ms, end_ms, epoch)) = answer else {
            self.set_shared(false);
            return None;
        };
        self.set_shared(true);
        self.saw_epoch(epoch);
        let wait = Duration::from_millis(wait_ms.max(0) as u64);
        if taken != 1 {
            return Some(Err(wait));
        }
        self.learned_schedule_end(end_ms);
        Some(Ok(wait))
    }
}

/// Whether a request asked for at `asked`, told its slot is `wait` after
/// the script ran, can go out at `now` on a slot with `tail`: only within
/// [`INTERVAL_SLACK`] and the tail of the slot's earliest time (the next
/// slot is an interval and the tail after the slot's true time, which is
/// no earlier). Else how late it is.
fn slot_kept(asked: Instant, wait: Duration, now: Instant, tail: Duration) -> Result<(), Duration> {
    let late = now.saturating_duration_since(asked + wait);
    if late <= INTERVAL_SLACK + tail {
        Ok(())
    } else {
        Err(late)
    }
}

/// How many slots (or turns) a request asks for before it gives up being
/// on time (each one left is a hole in the schedule, not a request).
const MAX_TURN_ASKS: usize = 4;

/// The tail a slot asks for after one was left for being `late`: twice the
/// lateness, within what a Redis call can take ([`CALL_TIMEOUT`] bounds
/// it, so a tail of that length always covers the round trip).
fn turn_tail(late: Duration) -> Duration {
    (late * 2).min(CALL_TIMEOUT + INTERVAL_SLACK)
}

impl Ledger for SharedAdmission {
    fn refund(&self, ids: &[u64], client: &ClientId) {
        let (shared, local): (Vec<u64>, Vec<u64>) =
            ids.iter().partition(|&&id| id & SHARED_ID != 0);
        if !local.is_empty() {
            Ledger::refund(&*self.local, &local, client);
        }
        if shared.is_empty() {
            return;
        }
        let members: Vec<String> = shared.iter().map(|&id| self.member(id)).collect();
        let window = self.key("window");
        let client_key = self.client_key(client);
        let link = self.link.clone();
        // Given back in the background: a drop cannot wait, and a refund
        // that never arrives only leaves the budget more careful.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            link.call(|mut connection| async move {
                redis::pipe()
                    .zrem(&window, &members)
                    .ignore()
                    .zrem(&client_key, &members)
                    .ignore()
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
        });
    }

    fn committed(&self, id: u64, client: &ClientId) {
        if id & SHARED_ID != 0 {
            // Counted in the local share too, in case Redis goes away.
            self.local.record_sent(client);
        } else {
            self.lock_unreported().push(client.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::http::Secret;

    /// A replica of three whose Redis never answers: a port nothing listens on.
    async fn without_redis(interval: Duration, budget: Budget) -> Arc<SharedAdmission> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Secret::new(format!("redis://127.0.0.1:{port}/0"));
        let link = RedisLink::open(&url).await.expect("a Redis URL");
        let local = Pacer::new(
            Source::Comtrade,
            interval * 3,
            Some(Budget {
                limit: budget.limit / 3,
                window: budget.window,
            }),
        );
        SharedAdmission::new(
            Source::Comtrade,
            link,
            interval,
            Some(budget),
            1.0,
            3,
            local,
            None,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn without_redis_a_replica_keeps_to_its_share_of_the_budget() {
        let budget = Budget {
            limit: 30,
            window: Duration::from_secs(3600),
        };
        let admission = without_redis(Duration::ZERO, budget).await;
        let client = ClientId::default();
        assert!(!admission.is_shared());
        for _ in 0..10 {
            admission.reserve(&client).await.unwrap().commit();
        }
        let refused = admission.reserve(&client).await.unwrap_err();
        assert!(
            matches!(
                refused,
                Error::UpstreamBudgetExhausted {
                    limit: 10,
                    remaining: 0,
                    ..
                }
            ),
            "{refused:?}"
        );
        assert_eq!(admission.remaining(), Some(0));
        // What it sent alone is kept to be reported when Redis returns.
        assert_eq!(admission.lock_unreported().len(), 10);

        // A plan dropped unsent gives its places back to the local share.
        tokio::time::advance(budget.window).await;
        let plan = admission.reserve_plan(4, &client).await.unwrap();
        assert_eq!(admission.remaining(), Some(6));
        drop(plan);
        assert_eq!(admission.remaining(), Some(10));
    }

    #[tokio::test(start_paused = true)]
    async fn without_redis_a_replica_paces_at_its_share_of_the_rate() {
        let interval = Duration::from_secs(1);
        let admission = without_redis(
            interval,
            Budget {
                limit: 300,
                window: Duration::from_secs(3600),
            },
        )
        .await;
        let started = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..3 {
            admission.wait_turn(None).await.unwrap();
            sent.push(started.elapsed());
        }
        for pair in sent.windows(2) {
            assert!(
                pair[1] - pair[0] >= interval * 3,
                "three replicas alone pace at three intervals: {sent:?}"
            );
        }
    }

    /// A replica Redis last told that every index is another's (it
    /// restarted while its old lease still held one) takes no turns of its
    /// own while Redis is away, whichever index it had: they may be
    /// another replica's. Told it has one again, it paces on it.
    #[tokio::test(start_paused = true)]
    async fn a_replica_crowded_out_of_the_grid_takes_no_turns_alone() {
        let interval = Duration::from_secs(1);
        let admission = without_redis(
            interval,
            Budget {
                limit: 300,
                window: Duration::from_secs(3600),
            },
        )
        .await;
        admission.slots.set_index(1);
        admission.crowded_out.store(true, Ordering::Relaxed);
        assert_eq!(
            admission.wait_turn(None).await,
            Err(NoTurn::NoOwnTurn(interval))
        );
        admission.crowded_out.store(false, Ordering::Relaxed);
        assert_eq!(admission.wait_turn(None).await, Ok(()));
    }

    /// One ask for a slot in the model below: when it is made, how long
    /// until Redis runs the script, how long the answer takes to come back,
    /// and how late the wake-up is.
    #[derive(Debug, Clone, Copy)]
    struct Ask {
        at: u64,
        to_redis: u64,
        back: u64,
        wake_late: u64,
        tail: u64,
        asks: usize,
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The pacing rule through a slow Redis and late wake-ups: Redis
        /// hands out slots an interval (slack included) and a tail apart,
        /// each request decides with `slot_kept` as `wait_turn` does
        /// (before sleeping and after), leaves a slot it cannot keep and
        /// asks again with the tail `turn_tail` gives. Whatever the delays,
        /// the requests that go out are the upstream's interval apart.
        /// (Sending at the answer's arrival plus the wait, as before, let a
        /// slow answer bring a request within 0.77 s of the next.)
        #[test]
        fn requests_sent_on_kept_slots_are_an_upstream_interval_apart(
            asks in proptest::collection::vec(
                (0u64..4_000, 0u64..300, 0u64..300, 0u64..200),
                1..30,
            ),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let upstream = 1_000u64;
            let slack = INTERVAL_SLACK.as_millis() as u64;
            let interval = upstream + slack;
            let timeout = CALL_TIMEOUT.as_millis() as u64;
            let mut rng = fastrand::Rng::with_seed(seed);
            let base = Instant::now();
            let ms = |at: u64| base + Duration::from_millis(at);
            // Asks wait for Redis in the order they reach it.
            let mut pending: Vec<Ask> = asks
                .iter()
                .map(|&(at, to_redis, back, wake_late)| Ask { at, to_redis, back, wake_late, tail: 0, asks: 1 })
                .collect();
            let mut cursor = 0u64;
            let mut sent = Vec::new();
            while !pending.is_empty() {
                let next = (0..pending.len())
                    .min_by_key(|&i| pending[i].at + pending[i].to_redis)
                    .unwrap();
                let ask = pending.swap_remove(next);
                let ran = ask.at + ask.to_redis;
                let slot = ran.max(cursor);
                cursor = slot + interval + ask.tail;
                let wait = slot - ran;
                let received = ran + ask.back;
                if received - ask.at > timeout {
                    // Timed out: the slot is a hole; the request goes to
                    // the local grid (another rule's).
                    continue;
                }
                let tail = Duration::from_millis(ask.tail);
                let wait_d = Duration::from_millis(wait);
                let mut kept = slot_kept(ms(ask.at), wait_d, ms(received), tail);
                let mut now = received;
                if kept.is_ok() {
                    now = received + wait + if wait > 0 { ask.wake_late } else { 0 };
                    kept = slot_kept(ms(ask.at), wait_d, ms(now), tail);
                }
                match kept {
                    Ok(()) => sent.push(now),
                    Err(late) if ask.asks < MAX_TURN_ASKS => pending.push(Ask {
                        at: now,
                        to_redis: rng.u64(0..300),
                        back: rng.u64(0..300),
                        wake_late: rng.u64(0..200),
                        tail: turn_tail(late).as_millis() as u64,
                        asks: ask.asks + 1,
                    }),
                    Err(_) => {}
                }
            }
            sent.sort_unstable();
            for pair in sent.windows(2) {
                proptest::prop_assert!(
                    pair[1] - pair[0] >= upstream,
                    "two requests {} ms apart: {sent:?}",
                    pair[1] - pair[0]
                );
            }
        }
    }
}
