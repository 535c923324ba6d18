//! Fault injection and request accounting for the simulator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::SimulatorState;
use crate::source::Source;

/// What the simulator does instead of answering normally.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and body.
    Status { status: u16, body: String },
    /// Answer 200 with a body that is not the API's JSON.
    Malformed,
    /// Wait this long before answering (longer than the gateway's timeout
    /// makes a timeout).
    Delay(Duration),
    /// Answer with this HTTP status and a `Retry-After` of `seconds`.
    RetryAfter { status: u16, seconds: u64 },
    /// Apply `fault` to the next `times` requests, then answer normally (a
    /// flapping upstream).
    FirstRequests { times: u32, fault: Box<Fault> },
    /// Answer 200 and send the first bytes of a body, then stall this long
    /// before the rest (longer than the gateway's timeout makes a timeout
    /// mid-body).
    SlowBody(Duration),
    /// Answer 200, send the first bytes of a body, then break the
    /// connection.
    TruncatedBody,
    /// Answer 200 with a body of `bytes` bytes, streamed without a
    /// `Content-Length` (a giant answer the gateway must not hold whole).
    Huge { bytes: usize },
    /// Answer 200 with this body (a record shaped as the test needs).
    Answer { body: String },
    /// Answer with this HTTP status and a `Retry-After` header of `value`
    /// as written (the HTTP-date form, say).
    RetryAfterHeader { status: u16, value: String },
}

/// One request as the simulator received it: what tests assert the wire on.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    /// When it arrived: tests check the spacing of requests on it.
    pub received: std::time::Instant,
}

#[derive(Default)]
struct SourceState {
    fault: Option<Fault>,
    requests: Vec<RecordedRequest>,
}

/// Per-source faults and request logs. A std `Mutex` is right here: it is
/// held only to copy a few values, never across an await.
#[derive(Clone, Default)]
pub(super) struct Faults {
    sources: Arc<Mutex<HashMap<Source, SourceState>>>,
}

impl Faults {
    pub fn set(&self, source: Source, fault: Option<Fault>) {
        self.lock().entry(source).or_default().fault = fault;
    }

    /// Records a request and returns the fault to apply to it.
    pub fn record(&self, source: Source, request: RecordedRequest) -> Option<Fault> {
        let mut sources = self.lock();
        let state = sources.entry(source).or_default();
        state.requests.push(request);
        match &mut state.fault {
            Some(Fault::FirstRequests { times: 0, .. }) => None,
            Some(Fault::FirstRequests { times, fault }) => {
                *times -= 1;
                Some((**fault).clone())
            }
            other => other.clone(),
        }
    }

    pub fn count(&self, source: Source) -> u64 {
        self.lock()
            .get(&source)
            .map_or(0, |state| state.requests.len() as u64)
    }

    pub fn recorded(&self, source: Source) -> Vec<RecordedRequest> {
        self.lock()
            .get(&source)
            .map(|state| state.requests.clone())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Source, SourceState>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A 200 JSON answer with `body`.
fn body_response(body: axum::body::Body) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

/// Applies the injected fault, if any; `None` means answer normally.
pub(super) async fn apply_fault(
    state: &SimulatorState,
    source: Source,
    request: RecordedRequest,
) -> Option<Response> {
    let fault = state.faults.record(source, request);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    match fault? {
        Fault::Status { status, body } => Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [("content-type", "application/json")],
                body,
            )
                .into_response(),
        ),
        Fault::Malformed => Some(
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"results\": [{\"intervention_id\": ",
            )
                .into_response(),
        ),
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::RetryAfter { status, seconds } => Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                [
                    ("content-type", "application/json".to_owned()),
                    ("retry-after", seconds.to_string()),
                ],
                "{}",
            )
                .into_response(),
        ),
        // Unwrapped by `Faults::record`.
        Fault::FirstRequests { .. } => None,
        Fault::SlowBody(stall) => {
            let head = futures::stream::iter([Ok::<_, std::io::Error>("{\"results\": [")]);
            let tail = futures::stream::once(async move {
                tokio::time::sleep(stall).await;
                Ok("]}")
            });
            Some(body_response(axum::body::Body::from_stream(
                head.chain(tail),
            )))
        }
        Fault::Huge { bytes } => {
            const CHUNK: usize = 64 * 1024;
            let chunks = bytes.div_ceil(CHUNK);
            let body = futures::stream::iter(0..chunks).map(move |index| {
                let size = CHUNK.min(bytes - index * CHUNK);
                Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; size]))
            });
            Some(body_response(axum::body::Body::from_stream(body)))
        }
        Fault::Answer { body } => Some(body_response(axum::body::Body::from(body))),
        Fault::RetryAfterHeader { status, value } => Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                [
                    ("content-type", "application/json".to_owned()),
                    ("retry-after", value),
                ],
                "{}",
            )
                .into_response(),
        ),
        Fault::TruncatedBody => {
            let head = futures::stream::iter([
                Ok("{\"results\": [{\"id\": 1"),
                Err(std::io::Error::other("connection broken mid-body")),
            ]);
            Some(body_response(axum::body::Body::from_stream(head)))
        }
    }
}
