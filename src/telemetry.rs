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
//! `graphql.execute`, one `source.batch` per loader batch and one
//! `http.fetch` per upstream attempt (its source, method, path without any
//! key, status, `http.request.resend_count`), whose `traceparent` goes to the
//! upstream. Cache hits and stale answers are events on the batch's span.

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
