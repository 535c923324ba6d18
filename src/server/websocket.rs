//! GraphQL over WebSocket on `GET /graphql`: `graphql-transport-ws` (the
//! `graphql-ws` library's protocol) and the older `graphql-ws` protocol of
//! subscriptions-transport-ws, through async-graphql-axum.
//!
//! Every operation a socket carries is held to what HTTP holds it to (the
//! document guard, cost and upstream demand, the operation slots), with the
//! client identity of the upgrade request. Subscriptions are bounded in the
//! process (`--max-subscriptions`) and per connection
//! (`--max-subscriptions-per-connection`), and sockets in the process
//! (`--max-websockets`); each event carries
//! `extensions.upstream`, what resolving it cost.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, RawQuery, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::access_log;
use super::graphql_http;
use super::pipeline::{self, Response_};
use super::AppState;
use crate::graph::OperationContext;
use crate::limits::{Refusal, RefusalCode};
use crate::operation::SelectionOrder;
use crate::sources::pacing::ClientId;
use tracing::Instrument;

/// `GET /graphql`: a WebSocket upgrade when the request asks for one,
/// else GraphQL over HTTP.
pub(super) async fn get(
    state: State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    connection_slot: Option<Extension<super::connections::ConnectionSlot>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    query: RawQuery,
) -> Response {
    if !asks_for_websocket(&headers) {
        return graphql_http::get(state, peer, headers, query).await;
    }
    let State(state) = state;
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(protocol) = protocol else {
        return upgrade_refused(
            StatusCode::BAD_REQUEST,
            "a GraphQL WebSocket must offer the subprotocol graphql-transport-ws (or the older graphql-ws) in Sec-WebSocket-Protocol",
            crate::error_codes::BAD_REQUEST,
        );
    };
    let Ok(socket_slot) = state.websockets.clone().try_acquire_owned() else {
        let mut refused = upgrade_refused(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "the gateway has {} WebSocket connections open, as many as it is configured for (--max-websockets); retry later, or share a connection between subscriptions",
                state.subscription_limits.max_websockets
            ),
            crate::error_codes::TOO_MANY_WEBSOCKETS,
        );
        refused
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return refused;
    };
    let open_socket = OpenSocket::new(&state.metrics, socket_slot);
    let client = state
        .clients
        .of(&headers, peer.map(|Extension(ConnectInfo(peer))| peer));
    let per_connection = state.subscription_limits.max_per_connection;
    // A subscribe message is a request body: held to the same size, and
    // the protocol's first message to the headers' time.
    let max_message = state.max_body_bytes;
    let init_timeout = state.header_read_timeout;
    let idle_timeout = state.idle_timeout;
    // The connection's span, under the upgrade request's (whose id it
    // keeps in the logs); each operation's span is its child.
    let connection = tracing::info_span!(
        "websocket",
        otel.name = "graphql.websocket",
        client = %client.0,
    );
    let executor = SocketExecutor {
        state,
        client,
        connection,
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(SOCKET_READ_BUFFER)
        .max_message_size(max_message)
        .on_upgrade(move |socket| async move {
            // Held until the socket's task ends: the socket counts against
            // --max-connections as the connection it came from did.
            let _open_socket = open_socket;
            let _connection_slot = connection_slot;
            let (initialised, init) = tokio::sync::oneshot::channel::<()>();
            // A subscribe reusing an id in use closes the socket (4409).
            let (served, served_signal) = tokio::sync::oneshot::channel::<()>();
            let (sink, stream, forward, activity) =
                super::socket_ids::guard(socket, served_signal);
            // Kept to close an idle socket; `forward` ends on `served`, not
            // on every sender being dropped.
            let closer = sink.clone();
            let serve = GraphQLWebSocket::new_with_pair(sink, stream, executor, protocol)
                .on_connection_init(move |_payload| async move {
                    let _ = initialised.send(());
                    let mut data = Data::default();
                    data.insert(ConnectionSlots(Arc::new(Semaphore::new(per_connection))));
                    Ok(data)
                })
                .serve();
            // The server's messages reach the socket through `forward`,
            // which sends what is queued and ends once `serve` is done.
            let serve = async move {
                let serve = async move {
                    serve.await;
                    let _ = served.send(());
                };
                futures::join!(serve, forward);
            };
            let mut serve = std::pin::pin!(serve);
            // A socket that never initialises is closed with 4408, as the
            // protocol says, so that it cannot hold a task and a descriptor
            // for ever (the client learns why, rather than seeing the
            // connection drop).
            tokio::select! {
                () = &mut serve => return,
                init = tokio::time::timeout(init_timeout, init) => {
                    if !matches!(init, Ok(Ok(()))) {
                        tracing::debug!("closing a WebSocket that sent no connection_init in time");
                        close_socket(closer, 4408, "Connection initialisation timeout", &mut serve).await;
                        return;
                    }
                }
            }
            // A socket with no subscription and no message for the idle
            // timeout is closed (1001, going away), as an idle keep-alive
            // connection is.
            let idle = async {
                loop {
                    let quiet = activity.idle_for();
                    if quiet.is_some_and(|quiet| quiet >= idle_timeout) {
                        return;
                    }
                    let left = quiet.map_or(idle_timeout, |quiet| idle_timeout.saturating_sub(quiet));
                    tokio::time::sleep(left.max(std::time::Duration::from_millis(10))).await;
                }
            };
            tokio::select! {
                () = &mut serve => {}
                () = idle => {
                    tracing::debug!("closing a WebSocket idle for --idle-timeout");
                    close_socket(closer, 1001, "idle: no subscription and no message for --idle-timeout", &mut serve).await;
                }
            }
        })
}

/// Sends a close frame with `code` and `reason` through `closer` and lets
/// `serve` run long enough for it to be written (at most a second).
async fn close_socket(
    mut closer: futures::channel::mpsc::Sender<axum::extract::ws::Message>,
    code: u16,
    reason: &'static str,
    serve: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) {
    let _ = futures::SinkExt::send(
        &mut closer,
        axum::extract::ws::Message::Close(Some(axum::extract::ws::CloseFrame {
            code,
            reason: reason.into(),
        })),
    )
    .await;
    drop(closer);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), serve.as_mut()).await;
}

/// An upgrade refused before a socket opens: an HTTP answer whose body is
/// a GraphQL error with `code`.
fn upgrade_refused(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }).to_string(),
    )
        .into_response()
}

/// Bytes each socket reserves for what its client sends. tungstenite's
/// default (128 KiB, reserved when the socket opens) is sized for streams
/// of large frames; a GraphQL client sends a few small subscribe messages,
/// and the buffer still grows for a larger one (up to `--max-body-bytes`).
/// Measured in `benches/subscriptions.rs`.
const SOCKET_READ_BUFFER: usize = 8 * 1024;

/// Whether the request is a WebSocket handshake (`Upgrade: websocket`).
fn asks_for_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// A WebSocket connection's slot under `--max-websockets`, and its count in
/// the metrics; given back when the socket closes (or the upgrade fails).
struct OpenSocket {
    _slot: OwnedSemaphorePermit,
    metrics: crate::metrics::Metrics,
}

impl OpenSocket {
    fn new(metrics: &crate::metrics::Metrics, slot: OwnedSemaphorePermit) -> Self {
        metrics.websockets_open(1);
        Self {
            _slot: slot,
            metrics: metrics.clone(),
        }
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.metrics.websockets_open(-1);
    }
}

/// The subscriptions one connection may still open.
struct ConnectionSlots(Arc<Semaphore>);

/// Runs the operations of one WebSocket connection.
#[derive(Clone)]
struct SocketExecutor {
    state: AppState,
    client: ClientId,
    /// The connection's span, open while the socket is.
    connection: tracing::Span,
}

impl Executor for SocketExecutor {
    /// An operation outside a socket's subscribe messages (async-graphql
    /// sends every one through [`Executor::execute_stream`]); as over HTTP.
    async fn execute(&self, request: Request) -> Response_ {
        match self.check(request).await {
            Ok(Checked::Other(response)) | Err(response) => response,
            Ok(Checked::Subscription { .. }) => coded(
                "a subscription needs a subscribe message of its own",
                crate::error_codes::BAD_REQUEST,
            ),
        }
    }

    fn execute_stream(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response_> {
        let executor = self.clone();
        stream::once(async move { executor.open(request, session).await })
            .flatten()
            .boxed()
    }
}

impl SocketExecutor {
    /// The responses of one subscribe message: one for a query, the events
    /// of a subscription, or the one error that refused it.
    ///
    /// Each runs in a span of its own (see
    /// [`access_log::websocket_operation_span`]), logged with an access
    /// line once answered, or, for a subscription, once it ends (completed
    /// by the client, by the server, or by the socket closing).
    async fn open(
        self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response_> {
        let started = std::time::Instant::now();
        let span = access_log::websocket_operation_span(&self.connection, &self.client.0);
        let opened = access_log::scoped(span.clone(), self.subscription(request, session)).await;
        match opened {
            Ok(Opened::Events(events, operation)) => {
                let logged = SubscriptionLog {
                    span: span.clone(),
                    started,
                    events: 0,
                    operation,
                };
                // Each event is resolved inside the operation's span.
                stream::unfold((events, logged), move |(mut events, mut logged)| {
                    let span = logged.span.clone();
                    async move {
                        let event = events.next().await?;
                        logged.events += 1;
                        Some((event, (events, logged)))
                    }
                    .instrument(span)
                })
                .boxed()
            }
            Ok(Opened::Answered(response)) | Err(response) => {
                pipeline::record_response(&self.state, &response, started);
                let (outcome, _) = pipeline::outcome(&response);
                access_log::websocket_access(&span, outcome.label(), started, None);
                stream::once(async move { response }).boxed()
            }
        }
    }

    /// Holds `request` to the limits. A query or mutation is run at once.
    async fn check(&self, mut request: Request) -> Result<Checked, Response_> {
        let state = &self.state;
        state
            .guard
            .check_text(&request.query)
            .map_err(|refusal| pipeline::refusal_response(&refusal))?;
        let checked = pipeline::check_document(state, &mut request)
            .await
            .map_err(|refusal| pipeline::refusal_response(&refusal))?;
        match checked {
            Some(checked) if checked.kind == OperationType::Subscription => {
                pipeline::name_operation(
                    checked.analysis.operation_name.as_deref(),
                    checked.analysis.operation_type,
                    &self.client,
                );
                Ok(Checked::Subscription {
                    request,
                    order: checked.order,
                })
            }
            checked => {
                let (analysis, order) = match checked {
                    Some(checked) => (Some(checked.analysis), Some(checked.order)),
                    None => (None, None),
                };
                let response = pipeline::run_operation(
                    state,
                    request,
                    analysis,
                    order.as_ref(),
                    self.client.clone(),
                )
                    .await
                    .unwrap_or_else(|| {
                        coded(
                            "the gateway is running as many operations as it is configured for; retry after 1 s",
                            crate::error_codes::SERVER_OVERLOADED,
                        )
                    });
                Ok(Checked::Other(response))
            }
        }
    }

    /// A subscription's events, each with `extensions.upstream`; a query's
    /// one response; or the response that refused it.
    async fn subscription(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> Result<Opened, Response_> {
        let (request, order) = match self.check(request).await? {
            Checked::Subscription { request, order } => (request, order),
            Checked::Other(response) => return Ok(Opened::Answered(response)),
        };
        let state = &self.state;
        let limits = state.subscription_limits;
        let Ok(process_slot) = state.subscriptions.clone().try_acquire_owned() else {
            return Err(refusal(
                RefusalCode::TooManySubscriptions,
                &format!(
                    "the gateway has {} subscriptions open, as many as it is configured for (--max-subscriptions); try again later",
                    limits.max_subscriptions
                ),
            ));
        };
        let connection_slots = session
            .as_ref()
            .and_then(|data| data.get(&std::any::TypeId::of::<ConnectionSlots>()))
            .and_then(|slots| slots.downcast_ref::<ConnectionSlots>())
            .map(|slots| slots.0.clone());
        let connection_slot = match connection_slots.map(Semaphore::try_acquire_owned) {
            Some(Ok(slot)) => Some(slot),
            Some(Err(_)) => {
                return Err(refusal(
                    RefusalCode::TooManySubscriptions,
                    &format!(
                        "this connection has {} subscriptions open, as many as one may (--max-subscriptions-per-connection); complete one first",
                        limits.max_per_connection
                    ),
                ))
            }
            None => None,
        };
        let open = OpenSubscription::new(state, process_slot, connection_slot);
        let operation = OperationContext::for_subscription(&state.sources, self.client.clone());
        let logged = operation.clone();
        let request = request
            .data(operation.result_size.clone())
            .data(operation.clone());
        let schema = &state.schema;
        let events = match session {
            Some(session) => schema.execute_stream_with_session_data(request, session),
            None => schema.execute_stream(request),
        };
        // Each event is driven like an operation, so that its loads batch.
        // An event that grows past the result cap is stopped, and with it
        // the subscription (its refusal is the last message).
        let schema_index = state.guard.schema_handle();
        let events = stream::unfold(Some((events, operation, open)), move |state| {
            let order = order.clone();
            let schema_index = schema_index.clone();
            async move {
                let (mut events, operation, open) = state?;
                let mut response = match operation.run(events.next()).await {
                    Ok(Some(response)) => response,
                    Ok(None) => return None,
                    Err(refusal) => return Some((pipeline::refusal_response(&refusal), None)),
                };
                if let Ok(upstream) = async_graphql::Value::from_json(operation.usage.to_json()) {
                    response.extensions.insert("upstream".into(), upstream);
                }
                order.apply(&mut response.data, &schema_index);
                pipeline::code_request_errors(&mut response, true);
                Some((response, Some((events, operation, open))))
            }
        });
        Ok(Opened::Events(events.boxed(), Box::new(logged)))
    }
}

/// What a subscribe message opened: a subscription's events (and its
/// operation, for its access line), or a query's one answer.
enum Opened {
    Events(BoxStream<'static, Response_>, Box<OperationContext>),
    Answered(Response_),
}

/// A subscription's access line, logged when its stream is dropped: when
/// it ended, was completed by the client, or its socket closed.
struct SubscriptionLog {
    span: tracing::Span,
    started: std::time::Instant,
    events: u64,
    operation: Box<OperationContext>,
}

impl Drop for SubscriptionLog {
    fn drop(&mut self) {
        let usage = &self.operation.usage;
        let upstream_requests: u64 = crate::source::Source::ALL
            .iter()
            .map(|source| usage.requests(*source))
            .sum();
        self.span.record(
            "upstream_requests",
            i64::try_from(upstream_requests).unwrap_or(i64::MAX),
        );
        access_log::websocket_access(&self.span, "completed", self.started, Some(self.events));
    }
}

/// What checking a subscribe message gave.
enum Checked {
    /// A subscription, ready to open (its events are counted as they are
    /// built, as every operation's result is).
    Subscription {
        request: Request,
        order: SelectionOrder,
    },
    /// Anything else, already run.
    Other(Response_),
}

/// The slots an open subscription holds, and its count in the metrics;
/// all given back when it ends.
struct OpenSubscription {
    _process: OwnedSemaphorePermit,
    _connection: Option<OwnedSemaphorePermit>,
    metrics: crate::metrics::Metrics,
}

impl OpenSubscription {
    fn new(
        state: &AppState,
        process: OwnedSemaphorePermit,
        connection: Option<OwnedSemaphorePermit>,
    ) -> Self {
        state.metrics.subscriptions_open(1);
        Self {
            _process: process,
            _connection: connection,
            metrics: state.metrics.clone(),
        }
    }
}

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        self.metrics.subscriptions_open(-1);
    }
}

/// A request error with a limit's `code` and no upstream call.
fn refusal(code: RefusalCode, message: &str) -> Response_ {
    pipeline::refusal_response(&Refusal::new(code, message))
}

/// A request error with `code`.
fn coded(message: &str, code: &str) -> Response_ {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    Response_::from_errors(vec![error])
}
