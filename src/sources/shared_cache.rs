//! The second level of the response cache, shared by replicas through Redis
//! (`--redis-url`): raw upstream bodies keyed by the upstream request
//! (source, method, path, query, body; never the key, which is added only
//! when sending), kept for the source's time to live. A replica that misses
//! its own cache asks Redis before the upstream, and puts there what it
//! fetches, so replicas behind a load balancer fetch each answer once.
//!
//! Redis is never on the critical path of an answer: every call is bounded
//! by a short timeout, and when Redis is unreachable the replica goes to the
//! upstream as it would alone, and says so (`/healthz` `redis`,
//! `trade_graph_shared_cache_available`). The connection manager reconnects
//! when Redis comes back.
//!
//! Not shared yet: budgets and pacing (each replica still paces and budgets
//! only itself; see the README's deployment notes).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use super::cache::CacheKey;
use super::http::{Method, Secret};

/// How long a Redis call may take before the replica goes to the upstream.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// A handle on the shared cache; cheap to clone.
#[derive(Clone)]
pub struct SharedCache {
    connection: ConnectionManager,
    /// Per-source times to live, indexed by `Source::index`.
    ttls: [Duration; 3],
    available: Arc<AtomicBool>,
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("SharedCache")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

impl SharedCache {
    /// Connects to Redis at `url`; an error says why, without the URL.
    pub async fn connect(url: &Secret, ttls: [Duration; 3]) -> Result<Self, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|error| format!("--redis-url is not a Redis URL: {:?}", error.kind()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|error| format!("cannot reach Redis at --redis-url: {:?}", error.kind()))?;
        Ok(Self {
            connection,
            ttls,
            available: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Whether the last call reached Redis.
    pub fn available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    fn note(&self, reached: bool) {
        let was = self.available.swap(reached, Ordering::Relaxed);
        if was != reached {
            if reached {
                tracing::info!("Redis is reachable again: the response cache is shared");
            } else {
                tracing::warn!(
                    "Redis is unreachable: this replica fetches on its own until it returns"
                );
            }
        }
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
        let mut connection = self.connection.clone();
        let call = connection.get::<_, Option<Vec<u8>>>(Self::redis_key(key));
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(body)) => {
                self.note(true);
                body
            }
            _ => {
                self.note(false);
                None
            }
        }
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
            let mut connection = this.connection.clone();
            let call = connection.set_ex::<_, _, ()>(redis_key, body, ttl.as_secs().max(1));
            let reached = matches!(tokio::time::timeout(CALL_TIMEOUT, call).await, Ok(Ok(())));
            this.note(reached);
        });
    }
}
