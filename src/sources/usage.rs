//! Per-operation accounting of upstream requests, reported to the client as
//! `extensions.upstream`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::Source;

/// What one GraphQL operation cost each upstream. A cheap `Clone` handle: the
/// server creates one per operation and every loader of that operation records
/// into it. Relaxed atomics suffice: the counts are read once, after execution.
#[derive(Clone, Debug, Default)]
pub struct UpstreamUsage {
    counters: Arc<[SourceCounters; 3]>,
}

#[derive(Debug, Default)]
struct SourceCounters {
    requests: AtomicU64,
    cache_hits: AtomicU64,
}

impl UpstreamUsage {
    /// Counts one HTTP request sent to `source`.
    pub fn record_request(&self, source: Source) {
        self.counters[source.index()]
            .requests
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one answer served without an HTTP request to `source`.
    pub fn record_cache_hit(&self, source: Source) {
        self.counters[source.index()]
            .cache_hits
            .fetch_add(1, Ordering::Relaxed);
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
    /// `{"gta": {"requests": 1, "cacheHits": 0}, "comtrade": {...}, "ita": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for source in Source::ALL {
            map.insert(
                source.name().to_owned(),
                serde_json::json!({
                    "requests": self.requests(source),
                    "cacheHits": self.cache_hits(source),
                }),
            );
        }
        serde_json::Value::Object(map)
    }
}
