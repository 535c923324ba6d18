//! Prometheus metrics, served at `/metrics`: upstream requests, cache hits,
//! coalesced waits, upstream latency and errors, by source (and code).
//!
//! Built on prometheus-client; one [`Metrics`] handle is shared by every
//! upstream. Labels never carry URLs or keys.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::sources::Source;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    source: String,
    code: String,
}

type LatencyFamily = Family<SourceLabels, Histogram, fn() -> Histogram>;

/// The gateway's metrics: a cheap `Clone` handle.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<SourceLabels, Counter>,
    cache_hits: Family<SourceLabels, Counter>,
    coalesced: Family<SourceLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: LatencyFamily,
    retries: Family<SourceLabels, Counter>,
    breaker: Family<SourceLabels, Gauge>,
    stale: Family<SourceLabels, Counter>,
    budget: Family<SourceLabels, Gauge>,
    admission_shared: Family<SourceLabels, Gauge>,
    admission_redis_calls: Family<SourceLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 5 ms to about 10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

fn source(source: Source) -> SourceLabels {
    SourceLabels {
        source: source.name().to_owned(),
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("trade_graph");
        let requests = Family::<SourceLabels, Counter>::default();
        let cache_hits = Family::<SourceLabels, Counter>::default();
        let coalesced = Family::<SourceLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let retries = Family::<SourceLabels, Counter>::default();
        let breaker = Family::<SourceLabels, Gauge>::default();
        let stale = Family::<SourceLabels, Counter>::default();
        let budget = Family::<SourceLabels, Gauge>::default();
        let admission_shared = Family::<SourceLabels, Gauge>::default();
        let admission_redis_calls = Family::<SourceLabels, Counter>::default();
        registry.register(
            "upstream_admission_shared",
            "With --redis-url: 1 while the source's budget and pacing are decided with the other replicas, 0 while Redis is away and this replica keeps to its local share",
            admission_shared.clone(),
        );
        registry.register(
            "upstream_admission_redis_calls",
            "Admission decisions (budget reservations, pacing slots) asked of Redis",
            admission_redis_calls.clone(),
        );
        registry.register(
            "upstream_budget_remaining",
            "Requests the source's budget has left in its window (sources with a budget)",
            budget.clone(),
        );
        registry.register(
            "upstream_stale_answers",
            "Answers served from a stale copy because the upstream failed",
            stale.clone(),
        );
        registry.register(
            "upstream_retries",
            "Upstream attempts that were retries of a failed one",
            retries.clone(),
        );
        registry.register(
            "upstream_circuit_breaker_state",
            "Each source's circuit breaker: 0 closed, 1 half-open, 2 open",
            breaker.clone(),
        );
        registry.register(
            "upstream_requests",
            "HTTP requests sent to an upstream",
            requests.clone(),
        );
        registry.register(
            "upstream_cache_hits",
            "Upstream answers served from the response cache",
            cache_hits.clone(),
        );
        registry.register(
            "upstream_coalesced_waits",
            "Upstream requests that joined an identical request already in flight",
            coalesced.clone(),
        );
        registry.register(
            "upstream_errors",
            "Failed upstream requests, by the error's extensions.code",
            errors.clone(),
        );
        registry.register(
            "upstream_request_duration_seconds",
            "Time from sending an upstream request to having its body (time queued for pacing excluded)",
            latency.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                cache_hits,
                coalesced,
                errors,
                latency,
                retries,
                breaker,
                stale,
                budget,
                admission_shared,
                admission_redis_calls,
            }),
        }
    }
}

impl Metrics {
    pub fn request(&self, from: Source, took: Duration) {
        self.inner.requests.get_or_create(&source(from)).inc();
        self.inner
            .latency
            .get_or_create(&source(from))
            .observe(took.as_secs_f64());
    }

    pub fn cache_hit(&self, from: Source) {
        self.inner.cache_hits.get_or_create(&source(from)).inc();
    }

    pub fn coalesced(&self, from: Source) {
        self.inner.coalesced.get_or_create(&source(from)).inc();
    }

    pub fn error(&self, from: Source, code: &str) {
        self.inner
            .errors
            .get_or_create(&ErrorLabels {
                source: from.name().to_owned(),
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn retry(&self, from: Source) {
        self.inner.retries.get_or_create(&source(from)).inc();
    }

    pub fn budget_remaining(&self, from: Source, remaining: u32) {
        self.inner
            .budget
            .get_or_create(&source(from))
            .set(i64::from(remaining));
    }

    /// Whether `from`'s admission is shared with the other replicas now.
    pub fn admission_shared(&self, from: Source, shared: bool) {
        self.inner
            .admission_shared
            .get_or_create(&source(from))
            .set(i64::from(shared));
    }

    pub fn admission_redis_call(&self, from: Source) {
        self.inner
            .admission_redis_calls
            .get_or_create(&source(from))
            .inc();
    }

    pub fn stale(&self, from: Source) {
        self.inner.stale.get_or_create(&source(from)).inc();
    }

    /// Sets a source's breaker state (`BreakerState::level`).
    pub fn breaker_state(&self, from: Source, level: i64) {
        self.inner.breaker.get_or_create(&source(from)).set(level);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}
