//! The connection loop: accepts connections, serves the router on each, and
//! shuts down with a deadline.
//!
//! axum's `serve` would do, but it has no header read timeout and waits for
//! every connection at shutdown: a client that never finishes its headers
//! held its connection (and a file descriptor) forever and blocked shutdown,
//! and shutdown waited for the slowest upstream. Here hyper's builder closes
//! a connection whose headers are not complete in time, and shutdown gives
//! requests in flight a deadline, after which they are abandoned.
//!
//! Every connection is also bounded in time and number, whatever protocol
//! it speaks or fails to speak (issue 22: 1,100 silent connections took
//! every descriptor of a process limited to 1,024):
//! - a connection with no request in flight is closed: before its first
//!   request after `--header-read-timeout` (silence, half an HTTP/2
//!   preface, a preface and nothing more), after that `--idle-timeout`
//!   after its last answer was sent (an idle keep-alive or HTTP/2
//!   connection). Only requests count: bytes that are not a request (HTTP/2
//!   PINGs, WINDOW_UPDATEs, empty SETTINGS a second) do not keep a
//!   connection open, and a request is in flight until its answer's body
//!   has been sent;
//! - a request body must arrive whole within `--body-read-timeout`, however
//!   it trickles (a per-read timeout restarts on every byte);
//! - a response must reach the client within `--response-write-timeout`
//!   of its headers: a client that stops reading (an HTTP/2 window of zero,
//!   a TCP window of zero under a streamed asset) kept its request in
//!   flight, and so its connection open, for ever;
//! - HTTP/2 connections are pinged (every 20 s; no answer in 20 s closes
//!   them), carry at most 100 streams at once, and a client that resets
//!   streams as fast as it opens them (CVE-2023-44487) is cut off; request
//!   heads are at most 64 KiB in both protocols;
//! - at most `--max-connections` are open; past it the loop stops
//!   accepting, so new clients wait in the listen backlog and the process
//!   keeps descriptors for its upstreams. A WebSocket keeps the slot of
//!   the connection it was upgraded from for as long as it is open (issue
//!   22: a thousand idle sockets, counted only against `--max-websockets`,
//!   took every descriptor), and is closed when it has had no subscription
//!   and no message for `--idle-timeout`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::ServiceExt;

/// The slot of `--max-connections` a connection holds, in its requests'
/// extensions: a WebSocket upgraded from it keeps it while the socket is
/// open.
#[derive(Clone, Debug)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<tokio::sync::OwnedSemaphorePermit>);

/// How connections are held to time and number.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, and how
    /// long a new connection may stay silent.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive, in all.
    pub body_read_timeout: Duration,
    /// How long a response may take to be sent, from its head to its end.
    pub response_write_timeout: Duration,
    /// How long a connection may sit with no request in flight and nothing
    /// sent or received.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long requests in flight may finish after shutdown begins.
    pub shutdown_timeout: Duration,
}

/// The largest request head (request line and headers) either protocol
/// reads; past it HTTP/1 answers 431 and HTTP/2 resets the stream.
const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// How often an HTTP/2 connection is pinged, and how long its answer may
/// take: a peer that vanished without a FIN is found within 40 s.
const HTTP2_PING: Duration = Duration::from_secs(20);

/// Streams one HTTP/2 connection may have open at once.
const HTTP2_MAX_STREAMS: u32 = 100;

/// Streams a client may reset before the server has accepted them, and
/// streams the server may reset for a client's errors, before the
/// connection is closed (the rapid-reset attack).
const HTTP2_MAX_PENDING_RESETS: usize = 20;
const HTTP2_MAX_ERROR_RESETS: usize = 256;

/// The default for `--max-connections`: three quarters of the process's
/// descriptor limit, the rest kept for upstream connections, Redis and
/// files; 1,024 when the limit cannot be read.
pub fn default_max_connections() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !read || limit.rlim_cur == libc::RLIM_INFINITY {
        return 1024;
    }
    usize::try_from(limit.rlim_cur / 4 * 3)
        .unwrap_or(usize::MAX)
        .clamp(16, 1_000_000)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// requests in flight finish for at most `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_PING)
        .keep_alive_timeout(HTTP2_PING)
        .max_concurrent_streams(HTTP2_MAX_STREAMS)
        .max_pending_accept_reset_streams(HTTP2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(HTTP2_MAX_ERROR_RESETS)
        .max_header_list_size(MAX_REQUEST_HEAD_BYTES as u32);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the bound, clients wait in the listen backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, typically: wait for some to
                    // close rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = ConnectionSlot(Arc::new(slot));
        let activity = Arc::new(Activity::new());
        // Each request learns its connection's peer address (axum's
        // `ConnectInfo`): budgets give each client its share.
        let router = router.clone();
        let requests = activity.clone();
        let body_read_timeout = limits.body_read_timeout;
        let connection_slot = slot.clone();
        let service = hyper::service::service_fn(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let in_flight = requests.begin();
                let deadline = Instant::now() + body_read_timeout;
                let mut request =
                    request.map(|body| axum::body::Body::new(DeadlineBody::new(body, deadline)));
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(connection_slot.clone());
                let answer = router.clone().oneshot(request);
                async move {
                    // In flight until the body is sent (or dropped), and
                    // from here held to the response write timeout.
                    answer.await.map(|response| {
                        in_flight.responding();
                        response.map(|body| {
                            axum::body::Body::new(InFlightBody {
                                inner: body,
                                _in_flight: in_flight,
                            })
                        })
                    })
                }
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            let recheck = limits.idle_timeout.min(limits.header_read_timeout);
            loop {
                let allowed = if activity.served_any() {
                    limits.idle_timeout
                } else {
                    limits.header_read_timeout
                };
                let quiet = activity.quiet_for();
                if activity.idle() && quiet >= allowed {
                    tracing::debug!(%peer, quiet = ?quiet, "closing an idle connection");
                    return;
                }
                let sending = activity.longest_sending();
                if sending >= limits.response_write_timeout {
                    tracing::debug!(%peer, sending = ?sending, "closing a connection whose client does not take its response");
                    return;
                }
                let write_deadline = limits.response_write_timeout.saturating_sub(sending);
                tokio::select! {
                    ended = &mut connection => {
                        if let Err(error) = ended {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        return;
                    }
                    // Woken at least as often as the shorter timeout, so
                    // a first request that switches to the other is seen.
                    () = tokio::time::sleep(allowed.saturating_sub(quiet).min(recheck).min(write_deadline).max(Duration::from_millis(10))) => {}
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every request in flight finished"),
        () = tokio::time::sleep(limits.shutdown_timeout) => tracing::warn!(
            timeout = %humantime::format_duration(limits.shutdown_timeout),
            "shutdown deadline passed: abandoning requests still in flight"
        ),
    }
}

/// What a connection is doing: requests in flight, and when the last one
/// ended.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` when the last request ended.
    last: AtomicU64,
    in_flight: AtomicUsize,
    served: AtomicBool,
    /// When each response being sent had its head ready, by request.
    sending: Mutex<HashMap<u64, Instant>>,
    next_request: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            sending: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(0),
        }
    }

    fn sending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Instant>> {
        self.sending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long the response that has been sending longest has been.
    fn longest_sending(&self) -> Duration {
        self.sending()
            .values()
            .min()
            .map_or(Duration::ZERO, |started| started.elapsed())
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    fn served_any(&self) -> bool {
        self.served.load(Ordering::Relaxed)
    }

    /// A request started; it is in flight until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            activity: self.clone(),
            request: self.next_request.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A request in flight: from its head to the end of its response.
struct InFlight {
    activity: Arc<Activity>,
    request: u64,
}

impl InFlight {
    /// Its response's head is ready: sending starts now.
    fn responding(&self) {
        self.activity.sending().insert(self.request, Instant::now());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.sending().remove(&self.request);
        self.activity.touch();
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it is sent.
struct InFlightBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for InFlightBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that must arrive whole by a deadline: a per-read timeout
/// restarts on every byte, so a body trickled a byte a second never ends.
struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, deadline: Instant) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

/// The body did not arrive in time.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive within --body-read-timeout")
    }
}

impl std::error::Error for BodyTimedOut {}

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
