//! The second level of the response cache, shared by replicas through Redis
//! (`--redis-url`): raw upstream bodies keyed by the upstream request
//! (source, method, path, query, body; never the key, which is added only
//! when sending), kept for the source's time to live. A replica that misses
//! its own cache asks Redis before the upstream, and puts there what it
//! fetches, so replicas behind a load balancer fetch each answer once.
//!
//! Redis is never on the critical path of an answer (see [`RedisLink`]):
//! when it is unreachable the replica goes to the upstream as it would
//! alone, and says so (`/healthz` `redis`, `trade_graph_redis_available`).

use std::time::Duration;

use redis::AsyncCommands;

use super::cache::CacheKey;
use super::http::Method;
use super::redis_link::RedisLink;

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
        let method = match request.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!(
            "trade-graph:v1:{}:{method} {}?{}\n{}",
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
        let redis_key = Self::redis_key(key);
        self.link
            .call(|mut connection| async move {
                connection.get::<_, Option<Vec<u8>>>(redis_key).await
            })
            .await
            .flatten()
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
        let body = body.to_vec();
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
