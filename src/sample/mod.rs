//! Sample mode: an in-process simulator of the upstream APIs.
//!
//! With no upstream URL configured, the gateway starts a [`Simulator`] on a
//! loopback port and points its ordinary clients at it, so sample mode takes
//! the same HTTP path as live mode. The simulator serves deterministic data
//! generated here (no recorded payload is copied), checks requests as the real
//! APIs document (auth header, limits, unknown filters answered with the
//! upstream's own error shape), counts and records every request, and can be
//! told to add latency or fail ([`Fault`]) for tests and benchmarks.

mod calendar;
mod comtrade;
mod comtrade_data;
mod faults;
mod gta;
mod gta_data;
mod hs_list;
mod ita;
mod ita_current;
mod ita_current_data;
mod ita_data;
mod rng;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use comtrade::ComtradeRules;

/// ISO alpha-2 codes of the countries the sample ITA data has a post in.
pub fn ita_post_countries() -> &'static [&'static str] {
    ita_data::POST_COUNTRIES
}
pub use faults::{Fault, RecordedRequest};

use crate::source::Source;
use faults::Faults;

/// The API key the simulator expects from the gateway in sample mode. It is
/// not a secret: it only proves the gateway sends its configured key.
pub const SAMPLE_KEY: &str = "sample-key";

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimulatorOptions {
    /// The key every request must carry.
    pub key: String,
    /// Latency added to every answer (benchmarks use 50 ms).
    pub latency: Duration,
    /// Comtrade's rate and hourly budgets, enforced with 409/429.
    pub comtrade: ComtradeRules,
    /// How often a new intervention and a new trade lead appear, for
    /// subscriptions to find; `None`: the data never changes (tests that
    /// count records want that).
    pub publish_every: Option<Duration>,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            key: SAMPLE_KEY.to_owned(),
            latency: Duration::ZERO,
            comtrade: ComtradeRules::default(),
            publish_every: None,
        }
    }
}

/// Records the simulator publishes as it runs, on top of the generated
/// ones: one more of each kind every `every` since it started, up to what
/// was generated for publishing.
#[derive(Clone, Copy, Debug)]
struct Publishing {
    started: std::time::Instant,
    every: Option<Duration>,
}

impl Publishing {
    /// How many of `publishable` records are out by now.
    fn published(&self, publishable: usize) -> usize {
        let Some(every) = self.every.filter(|every| !every.is_zero()) else {
            return 0;
        };
        let intervals = self.started.elapsed().as_nanos() / every.as_nanos();
        usize::try_from(intervals).map_or(publishable, |n| n.min(publishable))
    }
}

/// State shared by the simulator's handlers.
#[derive(Clone)]
struct SimulatorState {
    key: Arc<str>,
    latency: Duration,
    faults: Faults,
    comtrade_rules: ComtradeRules,
    comtrade_usage: comtrade::SharedComtradeUsage,
    publishing: Publishing,
}

type TraceHeaders = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A running simulator. Dropping it stops it.
pub struct Simulator {
    addr: SocketAddr,
    faults: Faults,
    /// The `traceparent` of every request that carried one, by path.
    traceparents: TraceHeaders,
    stop: Option<oneshot::Sender<()>>,
}

impl Simulator {
    /// Binds `127.0.0.1:0` and serves the simulated APIs until dropped.
    pub async fn start(options: SimulatorOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Faults::default();
        let state = SimulatorState {
            key: options.key.into(),
            latency: options.latency,
            faults: faults.clone(),
            comtrade_rules: options.comtrade,
            comtrade_usage: Default::default(),
            publishing: Publishing {
                started: std::time::Instant::now(),
                every: options.publish_every,
            },
        };
        let traceparents = TraceHeaders::default();
        let seen = traceparents.clone();
        let app = Router::new()
            .merge(gta::routes())
            .merge(comtrade::routes())
            .merge(ita::routes())
            .merge(ita_current::routes())
            .with_state(state)
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    if let Some(value) = request
                        .headers()
                        .get("traceparent")
                        .and_then(|value| value.to_str().ok())
                    {
                        seen.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((request.uri().path().to_owned(), value.to_owned()));
                    }
                    next.run(request)
                },
            ));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "sample simulator stopped");
            }
        });
        Ok(Self {
            addr,
            faults,
            traceparents,
            stop: Some(stop),
        })
    }

    /// The `(path, traceparent)` of every request that carried a W3C trace
    /// context, in arrival order (the gateway passes its trace on).
    pub fn traceparents(&self) -> Vec<(String, String)> {
        self.traceparents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The base URL all simulated APIs are served under.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes every later request to `source` fail or slow down as `fault` says,
    /// until [`Simulator::clear_fault`].
    pub fn inject_fault(&self, source: Source, fault: Fault) {
        self.faults.set(source, Some(fault));
    }

    pub fn clear_fault(&self, source: Source) {
        self.faults.set(source, None);
    }

    /// Requests `source` has received so far (answered or refused).
    pub fn request_count(&self, source: Source) -> u64 {
        self.faults.count(source)
    }

    /// Every request `source` has received, oldest first.
    pub fn recorded_requests(&self, source: Source) -> Vec<RecordedRequest> {
        self.faults.recorded(source)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
