//! One access log line per request, and the request's context on every
//! line logged while it is answered.
//!
//! Each request runs inside a `request` span carrying its id (the
//! client's `X-Request-Id` when it sends a sane one, else a new one, sent
//! back either way), method and path; the GraphQL handler records the
//! operation's name, the client it counts against and the upstream
//! requests it cost on that span. Every event logged inside carries those
//! fields (the JSON format lists them under `span`), and the access line
//! itself is logged at info with the status and duration when the answer
//! is ready. Silence it with `--log info,trade_graph::access=warn`.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    /// The request span of the request being answered, for the handler to
    /// record what it learns (operation name, client, upstream requests)
    /// even from inside deeper spans.
    static REQUEST_SPAN: tracing::Span;
}

/// Records on the span of the request being answered (nothing outside
/// one, as on a WebSocket's later messages).
pub(super) fn note(record: impl FnOnce(&tracing::Span)) {
    let _ = REQUEST_SPAN.try_with(|span| record(span));
}

/// Runs `future` as the request `span` (for an operation a WebSocket
/// carries: the handler records on it as on an HTTP request's).
pub(super) async fn scoped<F: std::future::Future>(span: tracing::Span, future: F) -> F::Output {
    REQUEST_SPAN
        .scope(span.clone(), future.instrument(span))
        .await
}

/// The span of one operation a WebSocket carries (a subscribe message): a
/// `request` as an HTTP request's, for the logs (its own id, method `WS`,
/// the connection's client), and the operation's span in a trace (renamed
/// "subscription Name" once parsed), under the connection's span.
pub(super) fn websocket_operation_span(connection: &tracing::Span, client: &str) -> tracing::Span {
    tracing::info_span!(
        parent: connection,
        "request",
        id = %new_request_id(),
        method = "WS",
        path = "/graphql",
        operation_name = tracing::field::Empty,
        client = %client,
        upstream_requests = tracing::field::Empty,
        otel.name = "graphql.operation",
        graphql.operation.name = tracing::field::Empty,
        graphql.operation.type = tracing::field::Empty,
        trade_graph.response_cache.hit = tracing::field::Empty,
    )
}

/// The access line of a WebSocket operation, when it ends: how it ended
/// (`ok`, `partial`, `refused`; a subscription `completed`), how long it
/// ran and, for a subscription, the events it sent. Logged in `span`.
pub(super) fn websocket_access(
    span: &tracing::Span,
    outcome: &str,
    started: Instant,
    events: Option<u64>,
) {
    let _entered = span.enter();
    tracing::info!(
        target: "trade_graph::access",
        outcome,
        events,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "answered"
    );
}

/// The header carrying a request's id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id a client sent, when it is one a log can carry safely: short, and
/// made of letters, digits and `-_.:` only (anything else could forge log
/// lines or hide a payload).
fn sane_request_id(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    (!value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte)))
    .then_some(value)
}

/// A new request id: 16 hex digits.
fn new_request_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// The middleware: wraps the request in its span and logs its access line.
pub(super) async fn log_access(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .map_or_else(new_request_id, str::to_owned);
    let id_header = HeaderValue::from_str(&id).expect("sane ids are header values");
    request.headers_mut().insert(REQUEST_ID, id_header.clone());
    let path = request.uri().path();
    // The server span of a trace: named by method and route, as the HTTP
    // semantic conventions ask (the routes are fixed paths).
    let route = match path {
        "/graphql" | "/healthz" | "/readyz" | "/metrics" | "/" => path,
        _ => "other",
    };
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %path,
        operation_name = tracing::field::Empty,
        client = tracing::field::Empty,
        upstream_requests = tracing::field::Empty,
        otel.name = %format_args!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    if request.headers().contains_key("traceparent") {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let _ = span.set_parent(crate::telemetry::incoming_context(request.headers()));
    }
    let mut response = REQUEST_SPAN
        .scope(span.clone(), next.run(request).instrument(span.clone()))
        .await;
    response.headers_mut().insert(REQUEST_ID, id_header);
    span.record(
        "http.response.status_code",
        i64::from(response.status().as_u16()),
    );
    let _entered = span.enter();
    tracing::info!(
        target: "trade_graph::access",
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "answered"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_clients() {
        for good in ["abc-123", "4bf92f3577b34da6a3ce929d0e0e4736", "req_1.2:3"] {
            assert_eq!(sane_request_id(&HeaderValue::from_static(good)), Some(good));
        }
        let long = "a".repeat(65);
        for bad in ["", "a b", "x\"}{", long.as_str(), "line\tbreak"] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert_eq!(sane_request_id(&value), None, "{bad:?}");
        }
        assert_eq!(new_request_id().len(), 16);
    }
}
