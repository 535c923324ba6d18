//! The shared upstream response cache: bounded by the size of the answers
//! (moka), keyed by the exact upstream request (source, method, path, query,
//! body; never the key, which is added only when sending), with a time to
//! live per source. It holds answers already decoded, so a hit costs neither
//! a request nor a parse; an answer that does not decode is never stored.
//!
//! The same cache coalesces: identical requests in flight at once, from any
//! operations, go out once and every waiter gets the answer (or the error).
//! Errors are never cached.
//!
//! Stale-if-error: every answer is also kept, past its time to live, for a
//! grace period in a second map ([`ResponseCache::stale`]); when the
//! upstream then fails, the operation is answered from that copy and told so
//! (`extensions.upstream.<source>.stale`). The values are shared (`Arc`), so
//! the copy costs a key, not a second answer.

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

/// Per-source times to live plus the stale grace period.
#[derive(Clone, Copy, Debug)]
struct StaleTtl(PerSourceTtl, Duration);

impl Expiry<CacheKey, CachedAnswer> for StaleTtl {
    fn expire_after_create(
        &self,
        key: &CacheKey,
        _answer: &CachedAnswer,
        _created: Instant,
    ) -> Option<Duration> {
        Some(self.0 .0[key.source.index()].saturating_add(self.1))
    }
}

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

/// A decoded answer, what it holds in memory (its weight), and when it was
/// fetched.
#[derive(Clone)]
struct CachedAnswer {
    weight: usize,
    value: Arc<dyn Any + Send + Sync>,
    fetched: Instant,
}

/// The response cache: a cheap `Clone` handle shared by every upstream.
#[derive(Clone)]
pub struct ResponseCache {
    cache: Cache<CacheKey, CachedAnswer>,
    /// Every answer, for its time to live plus the grace period; `None`
    /// when stale answers are off.
    stale: Option<Cache<CacheKey, CachedAnswer>>,
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
    /// A cache holding at most `max_bytes` of answers, fresh and (with a
    /// `stale_grace` above zero) stale together: half each then, since a
    /// stale copy outlives its fresh one and then holds the answer alone.
    pub fn new(max_bytes: u64, ttls: CacheTtls, stale_grace: Duration) -> Self {
        let ttl = PerSourceTtl([ttls.gta, ttls.comtrade, ttls.ita]);
        let keeps_stale = !stale_grace.is_zero() && max_bytes > 0;
        let max_bytes = if keeps_stale {
            max_bytes / 2
        } else {
            max_bytes
        };
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .expire_after(ttl)
            .support_invalidation_closures()
            .build();
        let stale = keeps_stale.then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weigh)
                .expire_after(StaleTtl(ttl, stale_grace))
                .build()
        });
        Self { cache, stale }
    }

    /// The kept copy of `key`'s answer, however old (within the grace
    /// period), and its age: for when the upstream fails.
    pub async fn stale<T: Send + Sync + 'static>(
        &self,
        key: &CacheKey,
    ) -> Option<(Arc<T>, Duration)> {
        let answer = self.stale.as_ref()?.get(key).await?;
        let age = answer.fetched.elapsed();
        answer.value.downcast::<T>().ok().map(|value| (value, age))
    }
}

/// An entry's weight: what its decoded answer holds, its key, and the
/// cache's own bookkeeping for it.
fn weigh(key: &CacheKey, answer: &CachedAnswer) -> u32 {
    let key_bytes = key.request.path.len()
        + key.request.body.as_ref().map_or(0, String::len)
        + key
            .request
            .query
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    u32::try_from(answer.weight + key_bytes + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// What moka keeps per entry beside the key and value (its node, the
/// deques' links, the timer wheel's slot, the `Arc`s): a few hundred bytes.
const ENTRY_OVERHEAD: usize = 512;

impl ResponseCache {
    /// The cached answer of type `T`, if there is one.
    pub async fn get<T: Send + Sync + 'static>(&self, key: &CacheKey) -> Option<Arc<T>> {
        self.cache
            .get(key)
            .await
            .and_then(|answer| answer.value.downcast::<T>().ok())
    }

    /// The cached answer of type `T` and how long ago it was fetched.
    pub async fn get_aged<T: Send + Sync + 'static>(
        &self,
        key: &CacheKey,
    ) -> Option<(Arc<T>, Duration)> {
        let answer = self.cache.get(key).await?;
        let age = answer.fetched.elapsed();
        answer.value.downcast::<T>().ok().map(|value| (value, age))
    }

    /// Stores `value` (holding `weight` bytes) as `key`'s answer, replacing
    /// any: an answer fetched past the cache (a subscription's poll) is the
    /// newest there is.
    pub async fn insert<T: Send + Sync + 'static>(
        &self,
        key: CacheKey,
        value: Arc<T>,
        weight: usize,
    ) {
        let answer = CachedAnswer {
            weight,
            value,
            fetched: Instant::now(),
        };
        if let Some(stale) = &self.stale {
            stale.insert(key.clone(), answer.clone()).await;
        }
        self.cache.insert(key, answer).await;
    }

    /// Drops every fresh answer of `source`: a subscription poll saw new
    /// records there, so what was cached is out of date (the stale copies
    /// stay, for when the upstream fails).
    pub fn invalidate_source(&self, source: Source) {
        if let Err(error) = self
            .cache
            .invalidate_entries_if(move |key, _| key.source == source)
        {
            tracing::warn!(%error, %source, "cannot drop the source's cached answers");
        }
    }

    pub fn contains(&self, key: &CacheKey) -> bool {
        self.cache.contains_key(key)
    }

    /// The cached answer, or the one `fetch` produces (a decoded value and
    /// what it holds in memory); concurrent calls for the same key run `fetch`
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
        let stale_key = self.stale.as_ref().map(|_| key.clone());
        let outcome = self
            .cache
            .try_get_with(key, async {
                ran.store(true, std::sync::atomic::Ordering::Relaxed);
                let answer = fetch.await.map(|(value, weight)| CachedAnswer {
                    weight,
                    value: Arc::new(value),
                    fetched: Instant::now(),
                })?;
                if let (Some(stale), Some(key)) = (&self.stale, stale_key) {
                    stale.insert(key, answer.clone()).await;
                }
                Ok(answer)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;

    fn cache() -> ResponseCache {
        let ttl = Duration::from_secs(60);
        ResponseCache::new(
            1 << 20,
            CacheTtls {
                gta: ttl,
                comtrade: ttl,
                ita: ttl,
            },
            Duration::from_secs(600),
        )
    }

    fn key(source: Source, path: usize) -> CacheKey {
        CacheKey {
            source,
            request: UpstreamRequest::get(format!("/p{path}"), Vec::new()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The coalescing stage's rules, over generated callers: callers of
        /// one key while its request is in flight send it once and all get
        /// its outcome; an answer is kept, an error never is (the next
        /// caller sends again).
        #[test]
        fn identical_requests_in_flight_go_out_once_and_errors_are_not_kept(
            callers in proptest::collection::vec(0usize..3, 1..8),
            fails in proptest::collection::vec(any::<bool>(), 3),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let cache = cache();
                let sent: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
                let gate = tokio::sync::Notify::new();
                let fetch = |path: usize| {
                    let (sent, gate, fails) = (&sent, &gate, &fails);
                    async move {
                        sent[path].fetch_add(1, Ordering::SeqCst);
                        // Held until every caller has asked.
                        gate.notified().await;
                        if fails[path] {
                            Err(format!("upstream {path} failed"))
                        } else {
                            Ok((path * 10, 8))
                        }
                    }
                };
                let asks = callers.iter().map(|&path| {
                    let cache = &cache;
                    let fetch = fetch(path);
                    async move { (path, cache.get_or_fetch(key(Source::Gta, path), fetch).await) }
                });
                // Polled after every caller: by then each has asked.
                let release = async {
                    tokio::task::yield_now().await;
                    gate.notify_waiters();
                };
                let (outcomes, ()) = tokio::join!(futures::future::join_all(asks), release);
                let mut senders = [0usize; 3];
                for (path, (outcome, ran)) in &outcomes {
                    senders[*path] += usize::from(*ran);
                    match outcome {
                        Ok(value) => prop_assert!(!fails[*path] && **value == path * 10),
                        Err(error) => prop_assert!(fails[*path] && error.contains(&path.to_string())),
                    }
                }
                for path in 0..3 {
                    let asked = callers.contains(&path);
                    prop_assert_eq!(sent[path].load(Ordering::SeqCst), usize::from(asked), "path {}", path);
                    prop_assert_eq!(senders[path], usize::from(asked));
                    prop_assert_eq!(cache.contains(&key(Source::Gta, path)), asked && !fails[path]);
                    if asked && fails[path] {
                        // Not kept: the next caller sends again.
                        let (_, ran) = cache
                            .get_or_fetch(key(Source::Gta, path), async { Ok::<_, String>((1usize, 8)) })
                            .await;
                        prop_assert!(ran);
                    }
                }
                Ok(())
            })?;
        }
    }

    /// News of a source drops its fresh answers and only its; the stale
    /// copies stay for when the upstream fails.
    #[tokio::test]
    async fn news_drops_a_sources_fresh_answers_and_keeps_stale_copies() {
        let cache = cache();
        cache.insert(key(Source::Gta, 1), Arc::new(1usize), 8).await;
        cache.insert(key(Source::Ita, 1), Arc::new(2usize), 8).await;
        cache.invalidate_source(Source::Gta);
        assert!(cache.get::<usize>(&key(Source::Gta, 1)).await.is_none());
        assert_eq!(
            cache.get::<usize>(&key(Source::Ita, 1)).await.as_deref(),
            Some(&2)
        );
        let (stale, _) = cache.stale::<usize>(&key(Source::Gta, 1)).await.unwrap();
        assert_eq!(*stale, 1);
    }
}
