//! Traces over OpenTelemetry (OTLP/HTTP, protobuf), configured the way the
//! OpenTelemetry specification says every SDK is: `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*` and the rest are read by the SDK
//! itself. Unset, nothing is exported and no span costs more than a
//! disabled `tracing` callsite.
//!
//! The spans are the gateway's `tracing` spans, bridged by
//! `tracing-opentelemetry`: `POST /graphql` (the server span, child of the
//! caller's W3C `traceparent`), `graphql.operation` (named `query Name` as
//! the GraphQL semantic conventions ask, with `graphql.operation.name` and
//! `graphql.operation.type`), `graphql.parse`, `graphql.validate`,
//! `graphql.execute`, one `source.batch` per loader batch, one
//! `upstream.request` per upstream request (cache hit and layer, stale
//! answer, Error status) and one `http.fetch` per attempt under it (its
//! source, method, path without any key, status, `http.request.resend_count`,
//! Error status on failure), whose `traceparent` goes to the upstream.
//! WebSocket operations come under the socket's `graphql.websocket` span.
//! Failed exports are logged (rate-limited) and counted.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The variables that turn exporting on.
const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Whether spans are exported: the hot path skips trace work when not.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process exports traces.
pub fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// The exporter, kept to flush what is buffered when the process stops.
#[must_use = "dropping it without shutdown loses the spans still buffered"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// No exporter.
    pub fn off() -> Self {
        Self { provider: None }
    }

    /// Whether spans are exported.
    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends what is buffered now (tests; the batch processor sends on its
    /// own schedule, `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }

    /// Sends what is buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "the trace exporter did not shut down cleanly");
            }
        }
    }
}

/// What the environment asks for: `Ok(None)` when traces are off.
fn wanted(variable: impl Fn(&str) -> Option<String>) -> Result<Option<()>, String> {
    let set = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    if set("OTEL_TRACES_EXPORTER").is_some_and(|value| value.trim() == "none") {
        return Ok(None);
    }
    if !ENDPOINT_VARIABLES.iter().any(|name| set(name).is_some()) {
        return Ok(None);
    }
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = set(name) {
            if protocol.trim() != "http/protobuf" {
                return Err(format!(
                    "{name}={protocol} is not built in: trade-graph exports traces as http/protobuf (an OTLP receiver's HTTP port, usually 4318); unset it or set http/protobuf"
                ));
            }
            break;
        }
    }
    Ok(Some(()))
}

/// The tracer the environment asks for, and the guard that flushes it.
/// Also installs the W3C trace context propagator, so that incoming
/// `traceparent` headers are honoured and outgoing requests carry one.
pub fn from_env() -> Result<(Telemetry, Option<opentelemetry_sdk::trace::Tracer>), String> {
    if wanted(|name| std::env::var(name).ok())?.is_none() {
        return Ok((Telemetry::off(), None));
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|error| format!("the OTLP trace exporter cannot be built: {error}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder().with_attribute(
        opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
    );
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("trade-graph");
    }
    let exporter = Reported {
        inner: exporter,
        failures: &EXPORT_FAILURES,
        log: std::sync::Mutex::new(FailureLog::default()),
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("trade-graph");
    EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok((
        Telemetry {
            provider: Some(provider),
        },
        Some(tracer),
    ))
}

/// Batches of spans the exporter failed to send since the process started
/// (the `trade_graph_otlp_export_failures_total` counter).
static EXPORT_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Batches of spans that could not be exported (the receiver was away or
/// refused them): their spans are lost.
pub fn export_failures() -> u64 {
    EXPORT_FAILURES.load(std::sync::atomic::Ordering::Relaxed)
}

/// How often a failing exporter is logged: its first failure at once, then
/// at most once a minute, with how many failed since.
const FAILURE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// When the last failure was logged, and the failures since.
#[derive(Debug, Default)]
struct FailureLog {
    logged_at: Option<std::time::Instant>,
    unlogged: u64,
}

impl FailureLog {
    /// One more failure at `now`: the number of failures to log now (this
    /// one included), or `None` while the last line is under a minute old.
    fn failed(&mut self, now: std::time::Instant) -> Option<u64> {
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|logged| now.saturating_duration_since(logged) >= FAILURE_LOG_INTERVAL);
        if !due {
            return None;
        }
        self.logged_at = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// The OTLP exporter, its failures counted and logged (the SDK drops a
/// batch it could not send without a word when its own logs are off).
#[derive(Debug)]
struct Reported<E> {
    inner: E,
    failures: &'static std::sync::atomic::AtomicU64,
    log: std::sync::Mutex<FailureLog>,
}

impl<E> Reported<E> {
    fn failed(&self, spans: usize, error: &opentelemetry_sdk::error::OTelSdkError) {
        let total = self
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let due = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .failed(std::time::Instant::now());
        if let Some(failures) = due {
            // The SDK's message, cut short: it names the failure (a refused
            // connection, an HTTP status), never the exporter's headers.
            let error: String = error.to_string().chars().take(300).collect();
            tracing::warn!(
                failures,
                total,
                spans,
                %error,
                "traces could not be exported to the OTLP endpoint (their spans are lost); logged at most once a minute, counted in trade_graph_otlp_export_failures_total"
            );
        }
    }
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Reported<E>
{
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        let spans = batch.len();
        let outcome = self.inner.export(batch).await;
        if let Err(error) = &outcome {
            self.failed(spans, error);
        }
        outcome
    }

    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Renames `span` in the trace (the bridge takes `otel.name` only before
/// the span has children, and an operation's name is known only once its
/// document is parsed). Nothing when traces are off.
pub fn rename(span: &tracing::Span, name: String) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !exporting() || span.is_disabled() {
        return;
    }
    span.context().span().update_name(name);
}

/// The caller's trace context, from a request's `traceparent`.
pub fn incoming_context(headers: &axum::http::HeaderMap) -> opentelemetry::Context {
    if !exporting() {
        return opentelemetry::Context::new();
    }
    TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers))
}

/// Adds the current span's `traceparent` to an upstream request's headers
/// (nothing when traces are off: the context is then empty).
pub fn inject_current(headers: &mut reqwest::header::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !exporting() {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new()
        .inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted_with(pairs: &[(&str, &str)]) -> Result<Option<()>, String> {
        wanted(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn traces_are_on_only_with_an_endpoint_and_not_disabled() {
        assert_eq!(wanted_with(&[]), Ok(None));
        assert_eq!(
            wanted_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")]),
            Ok(None)
        );
        assert_eq!(
            wanted_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]),
            Ok(Some(()))
        );
        assert_eq!(
            wanted_with(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces"
            )]),
            Ok(Some(()))
        );
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                wanted_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), off]),
                Ok(None)
            );
        }
    }

    /// The first failure is logged at once, then at most one line a
    /// minute carrying every failure since; time is given, not waited for.
    #[test]
    fn export_failures_are_logged_first_then_once_a_minute_with_the_count() {
        let start = std::time::Instant::now();
        let at = |seconds: u64| start + std::time::Duration::from_secs(seconds);
        let mut log = FailureLog::default();
        assert_eq!(log.failed(at(0)), Some(1));
        assert_eq!(log.failed(at(1)), None);
        assert_eq!(log.failed(at(59)), None);
        assert_eq!(log.failed(at(60)), Some(3));
        assert_eq!(log.failed(at(61)), None);
        assert_eq!(log.failed(at(500)), Some(2));
    }

    /// An exporter that fails every batch, with a message naming why.
    #[derive(Debug)]
    struct Failing;

    impl opentelemetry_sdk::trace::SpanExporter for Failing {
        async fn export(
            &self,
            _batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                "HTTP 503 from the collector".into(),
            ))
        }
    }

    /// Each failed export is counted; the warning is logged once for a
    /// burst, with the error, and the batch's failure is passed on.
    #[test]
    fn failed_exports_are_counted_and_warned_about() {
        use opentelemetry_sdk::trace::SpanExporter as _;
        static COUNTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let exporter = Reported {
            inner: Failing,
            failures: &COUNTED,
            log: std::sync::Mutex::new(FailureLog::default()),
        };
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Buffer(writer.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                let outcome = futures::executor::block_on(exporter.export(Vec::new()));
                assert!(outcome.is_err());
            }
        });
        assert_eq!(COUNTED.load(std::sync::atomic::Ordering::Relaxed), 5);
        let logged = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("HTTP 503 from the collector"), "{logged}");
        assert!(logged.contains("failures=1"), "{logged}");
    }

    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_protocol_not_built_in_is_refused_saying_which_is() {
        let refused = wanted_with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert!(
            refused.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not built in"),
            "{refused}"
        );
        // The signal's own variable wins over the general one.
        assert_eq!(
            wanted_with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ]),
            Ok(Some(()))
        );
    }
}
