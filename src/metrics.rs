//! Prometheus metrics, served at `/metrics`: upstream requests, cache hits,
//! coalesced waits, upstream latency and errors, by source (and code).
//!
//! Built on prometheus-client; one [`Metrics`] handle is shared by every
//! upstream. Labels never carry URLs or keys.

use crate::error_codes as codes;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::source::Source;

mod process;

/// Most distinct operation names labelled in `operations_by_name`; later
/// names count as "other", so that clients cannot grow the series without
/// bound by naming operations at random.
pub const MAX_OPERATION_NAMES: usize = 100;

/// The extensions.code values of failed upstream requests, present at zero
/// from the start.
const UPSTREAM_ERROR_CODES: &[&str] = &[
    codes::UPSTREAM_TIMEOUT,
    codes::UPSTREAM_UNAVAILABLE,
    codes::UPSTREAM_UNAUTHORIZED,
    codes::UPSTREAM_REJECTED,
    codes::UPSTREAM_RATE_LIMITED,
    codes::UPSTREAM_BAD_RESPONSE,
];

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
    operations: Family<OutcomeLabels, Counter>,
    operation_errors: Family<CodeLabels, Counter>,
    operation_duration: Histogram,
    subscription_polls: Family<FeedLabels, Counter>,
    subscriptions_open: Gauge,
    websockets_open: Gauge,
    dropped: Family<DroppedLabels, Counter>,
    held: Family<SourceLabels, Gauge>,
    operations_by_name: Family<NameLabels, Counter>,
    /// The names given their own series so far (at most
    /// [`MAX_OPERATION_NAMES`]).
    operation_names: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Set once `--redis-url` is in use: `redis_up` is exported only then.
    redis: Arc<std::sync::OnceLock<Arc<std::sync::atomic::AtomicBool>>>,
}

/// `trade_graph_redis_up`, only for a gateway that has a Redis to reach
/// (0 from a gateway with none would read as an outage).
#[derive(Debug)]
struct RedisCollector(Arc<std::sync::OnceLock<Arc<std::sync::atomic::AtomicBool>>>);

impl prometheus_client::collector::Collector for RedisCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let Some(available) = self.0.get() else {
            return Ok(());
        };
        let gauge = prometheus_client::metrics::gauge::ConstGauge::new(i64::from(
            available.load(std::sync::atomic::Ordering::Relaxed),
        ));
        gauge.encode(encoder.encode_descriptor(
            "redis_up",
            "With --redis-url: 1 while Redis is reachable, 0 while the replicas answer without it",
            None,
            gauge.metric_type(),
        )?)
    }
}

/// Failed OTLP exports, read from the exporter when scraped (it is built
/// before the registry, and its count is the process's): 0 when traces
/// are off or every export went through.
#[derive(Debug)]
struct ExportFailuresCollector;

impl prometheus_client::collector::Collector for ExportFailuresCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let counter = prometheus_client::metrics::counter::ConstCounter::new(
            crate::telemetry::export_failures(),
        );
        counter.encode(encoder.encode_descriptor(
            "otlp_export_failures",
            "Batches of spans the OTLP trace exporter could not send (their spans are lost); 0 when traces are off",
            None,
            counter.metric_type(),
        )?)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    operation_name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DroppedLabels {
    source: String,
    reason: &'static str,
}

/// Why an upstream attempt was dropped before it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DroppedReason {
    /// The operation's deadline passed while the upstream had not answered:
    /// counted against the upstream, as a timeout.
    Deadline,
    /// The operation was cancelled (the client went away): not the
    /// upstream's doing.
    Cancelled,
}

impl DroppedReason {
    fn label(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    feed: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    cache: &'static str,
}

/// Whether an operation was answered from the whole-response cache, for
/// the `cache` label of `trade_graph_operations_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseCacheUse {
    /// Answered from the cache: nothing ran.
    Hit,
    /// Looked up, not there: it ran.
    Miss,
    /// Not looked up (the cache is off, or the request never got that far).
    None,
}

impl ResponseCacheUse {
    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::None => "none",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// How an operation ended, for `trade_graph_operations_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationOutcome {
    /// Data and no errors.
    Ok,
    /// Data with errors (a source failed; the rest answered).
    Partial,
    /// No data: refused before running (limits, validation, bad request).
    Refused,
}

impl OperationOutcome {
    /// Its label in the metrics and the access log.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Refused => "refused",
        }
    }
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
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let registry = root.sub_registry_with_prefix("trade_graph");
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
        let operations = Family::<OutcomeLabels, Counter>::default();
        let operation_errors = Family::<CodeLabels, Counter>::default();
        let subscription_polls = Family::<FeedLabels, Counter>::default();
        let subscriptions_open = Gauge::default();
        let websockets_open = Gauge::default();
        let dropped = Family::<DroppedLabels, Counter>::default();
        let held = Family::<SourceLabels, Gauge>::default();
        let operations_by_name = Family::<NameLabels, Counter>::default();
        let redis = Arc::new(std::sync::OnceLock::new());
        // Present from the start, at zero, so that an alert on them sees 0
        // rather than no data.
        for outcome in ["ok", "partial", "refused"] {
            for cache in [
                ResponseCacheUse::Hit,
                ResponseCacheUse::Miss,
                ResponseCacheUse::None,
            ] {
                let _ = operations.get_or_create(&OutcomeLabels {
                    outcome,
                    cache: cache.label(),
                });
            }
        }
        for feed in ["interventions", "trade_leads"] {
            let _ = subscription_polls.get_or_create(&FeedLabels { feed });
        }
        let _ = operations_by_name.get_or_create(&NameLabels {
            operation_name: "other".into(),
        });
        for from in Source::ALL {
            for family in [&requests, &cache_hits, &coalesced, &retries, &stale] {
                let _ = family.get_or_create(&source(from));
            }
            let _ = latency.get_or_create(&source(from));
            let _ = breaker.get_or_create(&source(from));
            for code in UPSTREAM_ERROR_CODES {
                let _ = errors.get_or_create(&ErrorLabels {
                    source: from.name().to_owned(),
                    code: (*code).to_owned(),
                });
            }
            for reason in [DroppedReason::Deadline, DroppedReason::Cancelled] {
                let _ = dropped.get_or_create(&DroppedLabels {
                    source: from.name().to_owned(),
                    reason: reason.label(),
                });
            }
            let _ = held.get_or_create(&source(from));
        }
        // A gauge at 1 rather than an info metric: Prometheus' text format
        // 0.0.4, the default exposition, has no `info` type, and a scraper
        // refuses the whole scrape on it.
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "build_info",
            "The running build: its version (always 1)",
            build,
        );
        for code in [
            codes::GRAPHQL_PARSE_FAILED,
            codes::GRAPHQL_VALIDATION_FAILED,
            codes::OPERATION_TOO_COSTLY,
            codes::UPSTREAM_UNAVAILABLE,
            codes::UPSTREAM_TIMEOUT,
            codes::UPSTREAM_RATE_LIMITED,
            codes::UPSTREAM_BUDGET_EXHAUSTED,
            codes::SERVER_OVERLOADED,
        ] {
            let _ = operation_errors.get_or_create(&CodeLabels {
                code: code.to_owned(),
            });
        }
        registry.register(
            "operations_by_name",
            "GraphQL operations answered, by operation name (the first 100 names seen; later ones, and anonymous operations, as \"other\")",
            operations_by_name.clone(),
        );
        registry.register_collector(Box::new(RedisCollector(redis.clone())));
        registry.register_collector(Box::new(ExportFailuresCollector));
        registry.register(
            "upstream_dropped_attempts",
            "Upstream attempts dropped before the upstream answered: reason=deadline (the operation's deadline passed; counted by the breaker as a timeout) or cancelled (the client went away)",
            dropped.clone(),
        );
        registry.register(
            "upstream_held_until_timestamp_seconds",
            "When (Unix time) the hold an upstream's Retry-After put on a source ends; nothing is sent to it before (held now: the value is above time())",
            held.clone(),
        );
        registry.register(
            "subscription_polls",
            "Upstream polls of the subscription feeds (one per interval per set of jurisdictions subscribed to, however many subscribers)",
            subscription_polls.clone(),
        );
        registry.register(
            "subscriptions_open",
            "Subscriptions open over WebSocket connections",
            subscriptions_open.clone(),
        );
        registry.register(
            "websockets_open",
            "WebSocket connections open (at most --max-websockets)",
            websockets_open.clone(),
        );
        // 1 ms to about 30 s.
        let operation_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "operations",
            "GraphQL operations answered, by outcome: ok (data, no errors), partial (data and errors), refused (no data); and by cache: hit (answered from the whole-response cache), miss (looked up and run), none (not looked up)",
            operations.clone(),
        );
        registry.register(
            "operation_errors",
            "Errors in GraphQL responses, by extensions.code",
            operation_errors.clone(),
        );
        registry.register(
            "operation_duration_seconds",
            "Time to answer a GraphQL operation, from its request to its response",
            operation_duration.clone(),
        );
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
                registry: root,
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
                operations,
                operation_errors,
                operation_duration,
                subscription_polls,
                subscriptions_open,
                websockets_open,
                dropped,
                held,
                operations_by_name,
                operation_names: Default::default(),
                redis,
            }),
        }
    }
}

impl Metrics {
    /// One poll of a subscription feed.
    pub fn subscription_poll(&self, feed: &'static str) {
        self.inner
            .subscription_polls
            .get_or_create(&FeedLabels { feed })
            .inc();
    }

    /// A subscription opened (+1) or ended (-1).
    pub fn subscriptions_open(&self, change: i64) {
        self.inner.subscriptions_open.inc_by(change);
    }

    /// A WebSocket connection opened (+1) or closed (-1).
    pub fn websockets_open(&self, change: i64) {
        self.inner.websockets_open.inc_by(change);
    }

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

    /// An upstream attempt dropped before the upstream answered.
    pub fn dropped_attempt(&self, from: Source, reason: DroppedReason) {
        self.inner
            .dropped
            .get_or_create(&DroppedLabels {
                source: from.name().to_owned(),
                reason: reason.label(),
            })
            .inc();
    }

    /// `from` is held by an upstream's `Retry-After` for `remaining` more.
    pub fn held_for(&self, from: Source, remaining: Duration) {
        let until = std::time::SystemTime::now() + remaining;
        let seconds = until
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.inner
            .held
            .get_or_create(&source(from))
            .set(seconds.try_into().unwrap_or(i64::MAX));
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

    /// One operation answered: how it ended, its errors' codes and how long
    /// it took.
    pub fn operation<'a>(
        &self,
        outcome: OperationOutcome,
        cache: ResponseCacheUse,
        codes: impl IntoIterator<Item = &'a str>,
        took: Duration,
    ) {
        let outcome = match outcome {
            OperationOutcome::Ok => "ok",
            OperationOutcome::Partial => "partial",
            OperationOutcome::Refused => "refused",
        };
        self.inner
            .operations
            .get_or_create(&OutcomeLabels {
                outcome,
                cache: cache.label(),
            })
            .inc();
        for code in codes {
            self.inner
                .operation_errors
                .get_or_create(&CodeLabels {
                    code: code.to_owned(),
                })
                .inc();
        }
        self.inner.operation_duration.observe(took.as_secs_f64());
    }

    /// One operation answered, by its name (bounded: see
    /// [`MAX_OPERATION_NAMES`]).
    pub fn operation_named(&self, name: Option<&str>) {
        let name = match name {
            Some(name) if !name.is_empty() => {
                let mut names = self
                    .inner
                    .operation_names
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if names.contains(name) {
                    name
                } else if names.len() < MAX_OPERATION_NAMES && name.len() <= 128 {
                    names.insert(name.to_owned());
                    name
                } else {
                    "other"
                }
            }
            _ => "other",
        };
        self.inner
            .operations_by_name
            .get_or_create(&NameLabels {
                operation_name: name.to_owned(),
            })
            .inc();
    }

    /// Exports `redis_up` from the flag the replicas' Redis link keeps.
    pub fn watch_redis(&self, available: Arc<std::sync::atomic::AtomicBool>) {
        let _ = self.inner.redis.set(available);
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

    /// The exposition in the format `accept` (a request's `Accept`) asks
    /// for: OpenMetrics when it prefers `application/openmetrics-text`,
    /// else Prometheus' text format 0.0.4, which every scraper reads.
    pub fn render_for(&self, accept: Option<&str>) -> (ExpositionFormat, String) {
        let format = ExpositionFormat::negotiate(accept);
        let text = self.render();
        match format {
            ExpositionFormat::OpenMetrics => (format, text),
            ExpositionFormat::PrometheusText => (format, to_prometheus_text(&text)),
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// The two text formats scrapers ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpositionFormat {
    OpenMetrics,
    PrometheusText,
}

impl ExpositionFormat {
    /// The format `accept` prefers (by `q`, then order).
    pub fn negotiate(accept: Option<&str>) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for entry in accept.unwrap_or_default().split(',') {
            let mut parts = entry.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|param| param.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let format = match media.as_str() {
                "application/openmetrics-text" => Self::OpenMetrics,
                "text/plain" => Self::PrometheusText,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, format));
            }
        }
        best.map_or(Self::PrometheusText, |(_, format)| format)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// OpenMetrics text as Prometheus' format 0.0.4: counters are named with
/// their `_total` in `# HELP` and `# TYPE`, and `# UNIT` and `# EOF` go.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(renamed) => text.push_str(&renamed),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}
