//! The hold stage: an upstream that answers "come back later" (`Retry-After`
//! on a 429, 503 or a source's own quota refusal) is not asked again, by
//! any operation, until then.
//!
//! Honouring `Retry-After` only within the request that received it meant
//! every other operation still sent its own request into the refusal (GTA
//! answering 429 with `Retry-After: 30` got one request per operation for
//! 30 s). The hold is the source's, so all operations (and subscription
//! polls) see it; what it refuses is answered with the time left, and
//! `/metrics` shows it (`trade_graph_upstream_held_seconds`). A wait longer
//! than [`MAX_HOLD`] is held for [`MAX_HOLD`]: an upstream's typo must not
//! silence it for a year. Time is tokio's, which tests pause.
//!
//! With `--redis-url` the hold is the replicas': the replica that was told
//! writes it to Redis (a key that expires when the hold does) before it
//! answers, and every replica reads the source's key before each attempt
//! (and every [`SHARED_HOLD_POLL`], for `/healthz` and `/metrics`), so the
//! others stop as soon as the refusal is known instead of each sending into
//! it. Requests already in flight when the upstream answers cannot be
//! recalled.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::redis_link::RedisLink;
use super::Source;
use crate::error::Error;

/// How often a replica reads the holds other replicas were told of.
pub const SHARED_HOLD_POLL: Duration = Duration::from_secs(1);

/// Lengthens the hold in Redis, never shortening it. KEYS: the hold.
/// ARGV: its length (ms).
static LENGTHEN: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
",
    )
});

/// The longest an upstream's `Retry-After` holds a source.
pub const MAX_HOLD: Duration = Duration::from_secs(3600);

/// One source's hold. A std `Mutex`: held only to read or set the instant.
#[derive(Debug)]
pub struct Hold {
    source: Source,
    until: Mutex<Option<Instant>>,
    /// Redis, where replicas share their holds.
    shared: Option<RedisLink>,
    /// Where a hold learned from another replica is shown.
    metrics: Option<crate::metrics::Metrics>,
}

impl Hold {
    pub fn new(source: Source) -> Self {
        Self {
            source,
            until: Mutex::new(None),
            shared: None,
            metrics: None,
        }
    }

    /// A hold shared with the other replicas through `link`: this replica
    /// reads theirs every [`SHARED_HOLD_POLL`] while the hold lives.
    pub fn shared(
        source: Source,
        link: RedisLink,
        metrics: Option<crate::metrics::Metrics>,
    ) -> Arc<Self> {
        let hold = Arc::new(Self {
            source,
            until: Mutex::new(None),
            shared: Some(link),
            metrics,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&hold);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(SHARED_HOLD_POLL).await;
                    let Some(hold) = weak.upgrade() else {
                        return;
                    };
                    hold.read_shared().await;
                }
            });
        }
        hold
    }

    fn key(&self) -> String {
        format!("trade-graph:v1:hold:{}", self.source)
    }

    /// Takes over a hold another replica was told of (read by the poll,
    /// and while an attempt waits its pacing turn).
    pub async fn read_shared(&self) {
        let Some(link) = &self.shared else {
            return;
        };
        if !link.available() {
            return;
        }
        let key = self.key();
        let ttl: Option<i64> = link
            .call(|mut connection| async move {
                redis::cmd("PTTL")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await;
        if let Some(ms) = ttl.filter(|&ms| ms > 0) {
            self.hold_here(Duration::from_millis(ms as u64));
            if let Some(metrics) = &self.metrics {
                metrics.held_for(self.source, self.remaining());
            }
        }
    }

    /// Holds the source for `wait` from now (never shortening a longer
    /// hold), here and, with Redis, for the other replicas: written before
    /// the refusal is answered (within the link's bound on a call), so
    /// that an operation a client sends to another replica once this one
    /// answered is held too (written in the background, the other replicas
    /// each sent their own request within 100 ms of the answer: issue 22's
    /// fourth attack). A write that fails leaves the others to learn it
    /// from the upstream.
    pub async fn hold_for(&self, wait: Duration) {
        let wait = wait.min(MAX_HOLD);
        self.hold_here(wait);
        let Some(link) = &self.shared else {
            return;
        };
        let mut invocation = LENGTHEN.prepare_invoke();
        invocation
            .key(self.key())
            .arg(wait.as_millis().max(1) as u64);
        let _: Option<i64> = link
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
    }

    fn hold_here(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_HOLD);
        let mut held = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none_or(|held| held < until) {
            *held = Some(until);
        }
    }

    /// How long the source is still held (zero: not held).
    pub fn remaining(&self) -> Duration {
        let held = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        held.map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    /// Lets an attempt go out, or refuses it with the time left.
    pub fn check(&self) -> Result<(), Error> {
        let remaining = self.remaining();
        if remaining.is_zero() {
            return Ok(());
        }
        let seconds = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
        Err(Error::UpstreamRateLimited {
            upstream: self.source,
            retry_after: Some(seconds),
            message: Some(format!(
                "{} asked to be left alone for a while (Retry-After); nothing is sent to it for {seconds} s more",
                self.source
            )),
        })
    }
}

/// A `Retry-After` header's wait, in either of its forms (RFC 9110 10.2.3):
/// whole seconds, or an HTTP date (the time until it, zero when past).
/// Seconds past what a number holds are the longest hold (the hold caps
/// every wait at [`MAX_HOLD`] anyway); anything else ("-5", "1e9", "30.5")
/// is not a `Retry-After` and is read as none, as if the header were
/// absent (the 429 or 503 still counts as what it is).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(value.parse::<u64>().map_or(MAX_HOLD, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_both_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Dec 2026 10:00:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after(" 30 ", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Dec 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("1e9", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_HOLD),
            "past u64: the longest hold"
        );
        assert_eq!(
            parse_retry_after("1000000000", now),
            Some(Duration::from_secs(1_000_000_000)),
            "capped where it is held"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_refuses_until_it_passes_and_is_never_shortened() {
        let hold = Hold::new(Source::Gta);
        hold.check().unwrap();
        hold.hold_for(Duration::from_secs(30)).await;
        hold.hold_for(Duration::from_secs(5)).await;
        match hold.check().unwrap_err() {
            Error::UpstreamRateLimited { retry_after, .. } => assert_eq!(retry_after, Some(30)),
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_millis(29_500)).await;
        match hold.check().unwrap_err() {
            Error::UpstreamRateLimited { retry_after, .. } => assert_eq!(retry_after, Some(1)),
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_millis(500)).await;
        hold.check().unwrap();
        hold.hold_for(Duration::from_secs(365 * 24 * 3600)).await;
        assert_eq!(hold.remaining(), MAX_HOLD);
    }
}
