//! The HTTP server: `/graphql` (POST and GET), GraphiQL at `/`, `/healthz`.
//!
//! [`run`] takes a bound listener and a shutdown future, so the binary and the
//! tests start the server the same way (tests bind `127.0.0.1:0`).

mod graphiql;
mod graphql_http;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::countries::ComtradeDialect;
use crate::graph::{build_schema, Sources, TradeGraphSchema, MAX_COMPLEXITY, MAX_DEPTH};
use crate::sample::{Simulator, SimulatorOptions, SAMPLE_KEY};
use crate::sources::gta::GtaClient;
use crate::sources::http::{Credential, HttpClient, Secret, Upstream};
use crate::sources::Source;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the sample simulator: {0}")]
    Simulator(std::io::Error),
    #[error("{0}")]
    HttpClient(String),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// Whether a source is served by a real upstream or by the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceMode {
    Live { base_url: String },
    Sample,
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    schema: TradeGraphSchema,
    sources: Sources,
    graphiql_page: Arc<str>,
    modes: Arc<Vec<(Source, SourceMode)>>,
}

/// A gateway ready to serve: its router, and the simulator behind its sample
/// sources (kept alive as long as the gateway).
pub struct Gateway {
    router: Router,
    modes: Vec<(Source, SourceMode)>,
    _simulator: Option<Simulator>,
}

impl Gateway {
    /// Builds the sources from `config`, starting the simulator if any source
    /// is in sample mode.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        if config.gta.url.is_none() && config.gta.key.is_some() {
            // A key without a URL would silently go unused on sample data.
            return Err(StartError::Config(
                "--gta-key (TRADE_GRAPH_GTA_KEY) is set but --gta-url is not: set TRADE_GRAPH_GTA_URL=https://api.globaltradealert.org to go live, or unset the key to serve sample data".into(),
            ));
        }
        let client = HttpClient::new().map_err(StartError::HttpClient)?;
        let simulator = if config.gta.url.is_none() {
            let options = SimulatorOptions {
                latency: config.sample_latency,
                ..SimulatorOptions::default()
            };
            Some(
                Simulator::start(options)
                    .await
                    .map_err(StartError::Simulator)?,
            )
        } else {
            None
        };

        let (gta_url, gta_key, gta_mode) = match (&config.gta.url, &simulator) {
            (Some(url), _) => (
                url.clone(),
                config.gta.key.clone(),
                SourceMode::Live {
                    base_url: url.clone(),
                },
            ),
            (None, Some(simulator)) => (
                simulator.base_url(),
                Some(Secret::new(SAMPLE_KEY)),
                SourceMode::Sample,
            ),
            (None, None) => unreachable!("the simulator is started whenever a source has no URL"),
        };
        if matches!(gta_mode, SourceMode::Live { .. }) && gta_key.is_none() {
            tracing::warn!("gta is live without --gta-key: GTA will refuse every request unless a proxy adds the key");
        }
        let gta_credential = gta_key.map_or(Credential::None, |key| Credential::Header {
            name: "Authorization",
            prefix: "APIKey ",
            key,
        });
        let gta = GtaClient::new(
            Upstream::new(
                Source::Gta,
                client.clone(),
                &gta_url,
                gta_credential,
                config.gta.timeout,
            ),
            config.gta.api,
        );
        let sources = Sources {
            gta,
            comtrade_dialect: config.comtrade.api.into(),
        };
        let modes = vec![(Source::Gta, gta_mode)];
        let state = AppState {
            schema: build_schema(sources.clone()),
            sources,
            graphiql_page: graphiql::page(&config.graphiql_assets).into(),
            modes: Arc::new(modes.clone()),
        };
        let router = Router::new()
            .route("/", get(graphiql::serve))
            .route("/graphql", get(graphql_http::get).post(graphql_http::post))
            .route("/healthz", get(healthz))
            .layer(DefaultBodyLimit::max(config.max_body_bytes))
            .layer(CorsLayer::permissive().max_age(Duration::from_secs(3600)))
            .layer(TraceLayer::new_for_http())
            .with_state(state);
        Ok(Self {
            router,
            modes,
            _simulator: simulator,
        })
    }

    /// One line for the log: which source is live and which is sample, and
    /// the settings that shape behaviour. Keys appear only as "key set".
    pub fn describe(&self, config: &Config) -> String {
        let mut parts: Vec<String> = self
            .modes
            .iter()
            .map(|(source, mode)| match mode {
                SourceMode::Live { base_url } => format!(
                    "{source}=live {} at {base_url} ({}, timeout {})",
                    config.gta.api.name(),
                    if config.gta.key.is_some() {
                        "key set"
                    } else {
                        "no key"
                    },
                    humantime::format_duration(config.gta.timeout),
                ),
                SourceMode::Sample => format!(
                    "{source}=sample {} (generated data, timeout {})",
                    config.gta.api.name(),
                    humantime::format_duration(config.gta.timeout),
                ),
            })
            .collect();
        parts.push("comtrade=not yet served".into());
        parts.push("ita=not yet served".into());
        format!(
            "sources: {}; comtrade reporter codes: {:?}; limits: depth {}, complexity {}, body {} bytes; GraphiQL assets from {}",
            parts.join(", "),
            ComtradeDialect::from(config.comtrade.api),
            MAX_DEPTH,
            MAX_COMPLEXITY,
            config.max_body_bytes,
            config.graphiql_assets,
        )
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }
}

/// Serves the gateway on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn run(
    listener: TcpListener,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let gateway = Gateway::start(config).await?;
    let address = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(
        "trade-graph listening on http://{address} (GraphiQL at /, GraphQL at /graphql); {}",
        gateway.describe(config),
    );
    axum::serve(listener, gateway.router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve)
}

/// Completes on Ctrl-C or SIGTERM (what a load balancer's orchestrator sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Liveness and the mode of each source.
async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    let sources: serde_json::Map<String, serde_json::Value> = state
        .modes
        .iter()
        .map(|(source, mode)| {
            let mode = match mode {
                SourceMode::Live { .. } => "live",
                SourceMode::Sample => "sample",
            };
            (source.name().to_owned(), serde_json::Value::from(mode))
        })
        .collect();
    Json(serde_json::json!({ "status": "ok", "sources": sources }))
}
