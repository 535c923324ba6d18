//! The shared upstream response cache: bounded by the size of the answers
//! (moka), keyed by the exact upstream request (source, method, path, query,
//! body; never the key, which is added only when sending), with a time to
//! live per source. It holds answers already decoded, so a hit costs neither
//! a request nor a parse; an answer that does not decode is never stored.
//!
//! The same cache coalesces: identical requests in flight at once, from any
//! operations, go out once and every waiter gets the answer (or the error).
//! Errors are never cached.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;

use super::http::UpstreamRequest;
use super::Source;

/// An upstream request as a cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub source: Source,
    pub request: UpstreamRequest,
}

/// Per-source times to live, indexed by `Source::index`.
#[derive(Clone, Copy, Debug)]
struct PerSourceTtl([Duration; 3]);

impl Expiry<CacheKey, CachedAnswer> for PerSourceTtl {
    fn expire_after_create(
        &self,
        key: &CacheKey,
        _answer: &CachedAnswer,
        _created: Instant,
    ) -> Option<Duration> {
        Some(self.0[key.source.index()])
    }
}

/// A decoded answer and the size of the body it came from (its weight).
#[derive(Clone)]
struct CachedAnswer {
    body_bytes: usize,
    value: Arc<dyn Any + Send + Sync>,
}

/// The response cache: a cheap `Clone` handle shared by every upstream.
#[derive(Clone)]
pub struct ResponseCache {
    cache: Cache<CacheKey, CachedAnswer>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResponseCache({} entries)", self.cache.entry_count())
    }
}

/// Time to live per source.
#[derive(Clone, Copy, Debug)]
pub struct CacheTtls {
    pub gta: Duration,
    pub comtrade: Duration,
    pub ita: Duration,
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` of answers.
    pub fn new(max_bytes: u64, ttls: CacheTtls) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &CacheKey, answer: &CachedAnswer| {
                let key_bytes = key.request.path.len()
                    + key.request.body.as_ref().map_or(0, String::len)
                    + key
                        .request
                        .query
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                // Decoded records take about what their JSON took.
                u32::try_from(answer.body_bytes + key_bytes).unwrap_or(u32::MAX)
            })
            .expire_after(PerSourceTtl([ttls.gta, ttls.comtrade, ttls.ita]))
            .build();
        Self { cache }
    }

    /// The cached answer of type `T`, if there is one.
    pub async fn get<T: Send + Sync + 'static>(&self, key: &CacheKey) -> Option<Arc<T>> {
        self.cache
            .get(key)
            .await
            .and_then(|answer| answer.value.downcast::<T>().ok())
    }

    pub fn contains(&self, key: &CacheKey) -> bool {
        self.cache.contains_key(key)
    }

    /// The cached answer, or the one `fetch` produces (a decoded value and
    /// the size of its body); concurrent calls for the same key run `fetch`
    /// once and share its outcome. The flag says whether this call ran it.
    pub async fn get_or_fetch<T, E>(
        &self,
        key: CacheKey,
        fetch: impl std::future::Future<Output = Result<(T, usize), E>>,
    ) -> (Result<Arc<T>, E>, bool)
    where
        T: Send + Sync + 'static,
        E: Clone + Send + Sync + 'static,
    {
        let ran = std::sync::atomic::AtomicBool::new(false);
        let outcome = self
            .cache
            .try_get_with(key, async {
                ran.store(true, std::sync::atomic::Ordering::Relaxed);
                fetch.await.map(|(value, body_bytes)| CachedAnswer {
                    body_bytes,
                    value: Arc::new(value),
                })
            })
            .await
            .map_err(|error: Arc<E>| (*error).clone())
            .map(|answer| {
                answer
                    .value
                    .downcast::<T>()
                    // One key is always decoded by the same function, so the
                    // type always matches; a mismatch would be a bug here.
                    .expect("a cache key always holds the same answer type")
            });
        (outcome, ran.load(std::sync::atomic::Ordering::Relaxed))
    }
}
