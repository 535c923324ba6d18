//! The second level of the response cache, shared by replicas through Redis
//! (`--redis-url`): raw upstream bodies keyed by the upstream request
//! (source, method, path, query, body; never the key, which is added only
//! when sending), kept for the source's time to live. A replica that misses
//! its own cache asks Redis before the upstream, and puts there what it
//! fetches, so replicas behind a load balancer fetch each answer once.
//!
//! An entry stored before the latest news of its source (a subscription
//! poll that saw new records, on any replica: [`news_key`]) is not used:
//! otherwise an operation dropped from the whole-response cache for that
//! news would be rebuilt from the same old upstream answer.
//!
//! Redis is never on the critical path of an answer (see [`RedisLink`]):
//! when it is unreachable the replica goes to the upstream as it would
//! alone, and says so (`/healthz` `redis`, `trade_graph_redis_available`).

use std::time::Duration;

use redis::AsyncCommands;

use super::cache::CacheKey;
use super::redis_link::RedisLink;

/// Where replicas write the time (Unix milliseconds) a subscription poll
/// last saw news of `source`: the shared answers, upstream and whole
/// responses, stored before it are not used.
pub fn news_key(source: super::Source) -> String {
    format!("trade-graph:response:v1:news:{source}")
}

/// Now, in Unix milliseconds: what entries and news times are compared in
/// (replicas' clocks are assumed to agree within a poll interval).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// An entry as stored: when it was stored (8 bytes, big-endian Unix
/// milliseconds), then the body.
fn encode(stored_ms: u64, body: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(8 + body.len());
    value.extend_from_slice(&stored_ms.to_be_bytes());
    value.extend_from_slice(body);
    value
}

fn decode(value: &[u8]) -> Option<(u64, &[u8])> {
    let (stored, body) = value.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*stored), body))
}

/// A handle on the shared cache; cheap to clone.
#[derive(Clone)]
pub struct SharedCache {
    link: RedisLink,
    /// Per-source times to live, indexed by `Source::index`.
    ttls: [Duration; 3],
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCache")
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl SharedCache {
    /// The cache shared through `link`, with per-source times to live.
    pub fn new(link: RedisLink, ttls: [Duration; 3]) -> Self {
        Self { link, ttls }
    }

    /// The Redis key of an upstream request: readable, exact, keyless.
    fn redis_key(key: &CacheKey) -> String {
        let request = &key.request;
        let method = request.method.as_str();
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!(
            "trade-graph:v2:{}:{method} {}?{}\n{}",
            key.source,
            request.path,
            query.join("&"),
            request.body.as_deref().unwrap_or_default()
        )
    }

    /// The body another replica stored for `key`, if any (and Redis answers
    /// in time).
    pub async fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        if self.ttls[key.source.index()].is_zero() {
            return None;
        }
        let keys = [Self::redis_key(key), news_key(key.source)];
        let [entry, news] = self
            .link
            .call(|mut connection| async move {
                connection.mget::<_, [Option<Vec<u8>>; 2]>(&keys).await
            })
            .await?;
        let entry = entry?;
        let (stored_ms, body) = decode(&entry)?;
        let news_ms = news
            .and_then(|news| String::from_utf8(news).ok())
            .and_then(|news| news.parse::<u64>().ok());
        if news_ms.is_some_and(|news_ms| news_ms >= stored_ms) {
            return None;
        }
        Some(body.to_vec())
    }

    /// How many of `keys` another replica has stored (`0` when Redis does
    /// not answer): one round trip for a whole plan.
    pub async fn count_stored(&self, keys: &[CacheKey]) -> usize {
        let redis_keys: Vec<String> = keys
            .iter()
            .filter(|key| !self.ttls[key.source.index()].is_zero())
            .map(Self::redis_key)
            .collect();
        if redis_keys.is_empty() {
            return 0;
        }
        self.link
            .call(|mut connection| async move {
                let mut pipe = redis::pipe();
                for key in &redis_keys {
                    pipe.exists(key);
                }
                pipe.query_async::<Vec<bool>>(&mut connection).await
            })
            .await
            .map_or(0, |stored| {
                stored.into_iter().filter(|&stored| stored).count()
            })
    }

    /// Stores `body` for `key` for the source's time to live, in the
    /// background: the answer does not wait for Redis.
    pub fn put(&self, key: &CacheKey, body: &[u8]) {
        let ttl = self.ttls[key.source.index()];
        if ttl.is_zero() {
            return;
        }
        let this = self.clone();
        let redis_key = Self::redis_key(key);
        let body = encode(now_ms(), body);
        tokio::spawn(async move {
            this.link
                .call(|mut connection| async move {
                    connection
                        .set_ex::<_, _, ()>(redis_key, body, ttl.as_secs().max(1))
                        .await
                })
                .await;
        });
    }
}
