//! The HTTP server: `/graphql` (POST and GET, and WebSocket for
//! subscriptions), GraphiQL at `/`, `/healthz`, `/metrics`.
//!
//! [`run`] takes a bound listener and a shutdown future, so the binary and the
//! tests start the server the same way (tests bind `127.0.0.1:0`).

mod access_log;
mod client_id;
mod connections;
mod documents;
pub mod graphiql;
mod graphql_http;
mod http_caching;
pub mod persisted_queries;
mod pipeline;
mod request_head;
mod socket_ids;
mod websocket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;

use crate::config::{Config, GraphiqlAssets};
use crate::graph::{build_schema, operation_guard, Sources, TradeGraphSchema};
use crate::limits::OperationGuard;
use crate::metrics::Metrics;
use crate::sample::{ComtradeRules, Simulator, SimulatorOptions, SAMPLE_KEY};
use crate::source::Source;
use crate::sources::cache::{CacheTtls, ResponseCache};
use crate::sources::comtrade::ComtradeClient;
use crate::sources::definition::{define, SharedStages};
use crate::sources::gta::GtaClient;
use crate::sources::http::{HttpClient, Secret, Upstream};
use crate::sources::ita::ItaClient;
use crate::sources::redis_link::RedisLink;
use crate::sources::shared_cache::SharedCache;
use crate::subscriptions::{Feeds, SubscriptionSettings};

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

/// Shared state of the HTTP handlers: one `Arc`, so that the clone axum
/// makes for every request is one reference count, not one per field (a
/// profile of cached answers at 64 clients had 7% of the gateway's time in
/// cloning and dropping the fields' own `Arc`s and caches).
#[derive(Clone)]
pub(crate) struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What [`AppState`] holds.
pub(crate) struct AppStateInner {
    /// The schema, counting every result as it is built (the result cap).
    schema: TradeGraphSchema,
    /// The checks before execution.
    guard: OperationGuard,
    /// How clients are told apart, for their budget shares.
    clients: client_id::ClientIdentity,
    sources: Sources,
    graphiql_page: Arc<str>,
    statuses: Arc<Vec<SourceStatus>>,
    /// Each source's upstream, for its breaker's state in /healthz.
    upstreams: Arc<[Upstream; 3]>,
    metrics: Metrics,
    documents: documents::ParsedDocuments,
    /// One permit per operation running; none left: 503.
    operations: Arc<tokio::sync::Semaphore>,
    /// The replicas' Redis, for its state in /healthz.
    redis: Option<RedisLink>,
    /// Whether /readyz needs Redis (`--readiness-redis`).
    readiness_redis: crate::config::ReadinessRedis,
    /// Whole responses of repeated operations.
    responses: crate::operation::WholeResponseCache,
    /// Documents registered by their hash (automatic persisted queries).
    persisted_queries: persisted_queries::PersistedQueries,
    /// Most operations in one batch (a JSON array).
    max_batch_size: usize,
    /// Largest request body, and WebSocket message.
    max_body_bytes: usize,
    /// How long a client may take to send its headers, and a WebSocket
    /// its `connection_init`.
    header_read_timeout: Duration,
    /// How long a WebSocket may sit with no subscription and no message.
    idle_timeout: Duration,
    /// One permit per open subscription.
    subscriptions: Arc<tokio::sync::Semaphore>,
    /// One permit per open WebSocket connection.
    websockets: Arc<tokio::sync::Semaphore>,
    subscription_limits: SubscriptionSettings,
    /// The subscription feeds, for their state in /healthz.
    feeds: Feeds,
}

/// How one source is served, for the startup line and /healthz.
#[derive(Clone, Debug)]
pub(crate) struct SourceStatus {
    source: Source,
    mode: SourceMode,
    api: &'static str,
    timeout: Duration,
    /// Key and pacing, in words; never the key itself.
    detail: String,
}

/// A gateway ready to serve: its router, and the simulator behind its sample
/// sources (kept alive as long as the gateway).
pub struct Gateway {
    router: Router,
    statuses: Vec<SourceStatus>,
    _simulator: Option<Simulator>,
}

impl Gateway {
    /// Builds the sources from `config`, starting the simulator if any source
    /// is in sample mode.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        refuse_keys_without_urls(config)?;
        let clients = client_identity(config)?;
        let simulator = start_simulator(config).await?;
        // Every source's pipeline shares the HTTP client, the cache and the
        // metrics.
        let redis = match &config.redis_url {
            Some(url) => Some(RedisLink::open(url).await.map_err(StartError::Config)?),
            None => None,
        };
        let stages = shared_stages(config, redis.clone())?;
        let (upstreams, statuses) = upstreams(config, simulator.as_ref(), &stages).await;
        let [gta_upstream, comtrade_upstream, ita_upstream] = &upstreams;
        let gta = GtaClient::new(gta_upstream.clone(), config.gta.api);
        let comtrade = ComtradeClient::new(comtrade_upstream.clone(), config.comtrade.api.into());
        let ita = ItaClient::new(ita_upstream.clone(), config.ita.api);
        let metrics = stages.metrics.clone();
        if let Some(link) = &redis {
            metrics.watch_redis(link.availability());
        }

        let limits = config.operation_limits();
        let sources = Sources {
            gta,
            comtrade,
            ita,
            batching: config.batching,
            operation_timeout: config.limits.operation_timeout,
            demand: limits.demand,
        };
        let subscription_limits = config.subscriptions.settings();
        // Every source's API generation is in each key: another generation
        // answers other records.
        let api_generation = statuses
            .iter()
            .map(|status| format!("{}={}", status.source, status.api))
            .collect::<Vec<_>>()
            .join(" ");
        let responses = crate::operation::WholeResponseCache::new(
            config.response_cache_max_mb.saturating_mul(1024 * 1024),
            api_generation,
            [
                config.gta.cache_ttl,
                config.comtrade.cache_ttl,
                config.ita.cache_ttl,
            ],
            redis
                .clone()
                .map(crate::operation::shared_responses::SharedResponses::new),
        );
        let feeds = Feeds::new(
            sources.gta.clone(),
            sources.ita.clone(),
            subscription_limits,
            &metrics,
            {
                // News makes both caches' copies of the source out of date:
                // the whole responses, and the upstream answers a rerun
                // would otherwise be built from.
                let responses = responses.clone();
                let upstream_answers = stages.cache.clone();
                move |source| {
                    upstream_answers.invalidate_source(source);
                    responses.news(source);
                }
            },
        );
        let state = AppStateInner {
            schema: build_schema(
                sources.clone(),
                feeds.clone(),
                Some(limits.max_result_values),
            ),
            feeds,
            guard: operation_guard(&sources, limits),
            clients,
            operations: Arc::new(tokio::sync::Semaphore::new(
                config.limits.max_concurrent_operations,
            )),
            sources,
            graphiql_page: graphiql::page(&match &config.graphiql_assets {
                GraphiqlAssets::Url(url) => url.clone(),
                // Relative: the page is at the root, behind any path prefix.
                GraphiqlAssets::Directory(_) => graphiql::LOCAL_ASSETS_PATH
                    .trim_start_matches('/')
                    .to_owned(),
            })
            .into(),
            statuses: Arc::new(statuses.clone()),
            upstreams: Arc::new(upstreams),
            metrics,
            documents: documents::ParsedDocuments::new(),
            responses,
            redis,
            readiness_redis: config.readiness_redis,
            persisted_queries: persisted_queries::PersistedQueries::new(
                config.persisted_queries_max_mb.saturating_mul(1024 * 1024),
            ),
            max_batch_size: config.limits.max_batch_size,
            max_body_bytes: config.max_body_bytes,
            header_read_timeout: config.limits.header_read_timeout,
            idle_timeout: config.limits.idle_timeout,
            subscriptions: Arc::new(tokio::sync::Semaphore::new(
                subscription_limits.max_subscriptions,
            )),
            websockets: Arc::new(tokio::sync::Semaphore::new(
                subscription_limits.max_websockets,
            )),
            subscription_limits,
        };
        let router = router(AppState(Arc::new(state)), config)?;
        Ok(Self {
            router,
            statuses,
            _simulator: simulator,
        })
    }

    /// One line for the log: which source is live and which is sample, and
    /// the settings that shape behaviour. Keys appear only as "key set".
    pub fn describe(&self, config: &Config) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|status| {
                let mode = match &status.mode {
                    SourceMode::Live { base_url } => {
                        format!("live at {}", crate::sources::scrub::printable_url(base_url))
                    }
                    SourceMode::Sample => "sample (generated data)".to_owned(),
                };
                format!(
                    "{}={} {} ({}, timeout {})",
                    status.source,
                    status.api,
                    mode,
                    status.detail,
                    humantime::format_duration(status.timeout)
                )
            })
            .collect();
        let limits = config.operation_limits();
        format!(
            "sources: {}; limits: document {} bytes, depth {}, {} fields, cost {}, requests per operation gta {} comtrade {} ita {}, operation timeout {}, {} operations at once, body {} bytes; subscriptions: polled every {}, at most {} open ({} per connection, {} connections), {} sets of jurisdictions per feed; GraphiQL assets from {}",
            parts.join(", "),
            limits.document.max_bytes,
            limits.shape.max_depth,
            limits.shape.max_fields,
            limits.max_cost,
            limits.demand.gta,
            limits.demand.comtrade,
            limits.demand.ita,
            humantime::format_duration(config.limits.operation_timeout),
            config.limits.max_concurrent_operations,
            config.max_body_bytes,
            humantime::format_duration(config.subscriptions.subscription_poll_interval),
            config.subscriptions.max_subscriptions,
            config.subscriptions.max_subscriptions_per_connection,
            config.subscriptions.max_websockets,
            config.subscriptions.max_subscription_feeds,
            config.graphiql_assets,
        )
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }
}

/// Serves the gateway on `listener` until `shutdown` completes, then lets
/// the requests in flight finish, for at most `--shutdown-timeout`.
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
    let limits = connections::ConnectionLimits {
        header_read_timeout: config.limits.header_read_timeout,
        body_read_timeout: config.limits.body_read_timeout,
        response_write_timeout: config.limits.response_write_timeout,
        idle_timeout: config.limits.idle_timeout,
        max_connections: config
            .limits
            .max_connections
            .unwrap_or_else(connections::default_max_connections),
        shutdown_timeout: config.limits.shutdown_timeout,
    };
    connections::serve(listener, gateway.router(), limits, shutdown).await;
    Ok(())
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
    tracing::info!("shutting down: finishing requests in flight (see --shutdown-timeout)");
}

/// Prometheus metrics in the text exposition format.
async fn metrics_text(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let (format, text) = state.metrics.render_for(accept);
    (
        [(axum::http::header::CONTENT_TYPE, format.content_type())],
        text,
    )
}

/// Readiness, for a load balancer: 503 while every source's breaker is
/// open (every field would fail fast), or, with `--readiness-redis
/// required`, while its configured Redis is unreachable (it would spend
/// only its local share of every budget); by default a replica without
/// Redis stays ready and says it is degraded. While the gateway is still starting
/// nothing answers at all. `/healthz` stays liveness: a replica that is
/// not ready is still alive and must not be restarted for it.
async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut reasons = Vec::new();
    let mut degraded = Vec::new();
    if state.redis.as_ref().is_some_and(|redis| !redis.available()) {
        match state.readiness_redis {
            crate::config::ReadinessRedis::Required => {
                reasons.push("Redis (--redis-url) is unreachable".to_owned());
            }
            // Every replica loses the same Redis at once: out of rotation
            // they would all be, and the local shares keep the upstreams'
            // rules without it.
            crate::config::ReadinessRedis::Optional => degraded.push(
                "Redis (--redis-url) is unreachable: this replica keeps to its local share of every budget (--readiness-redis required takes it out of rotation instead)".to_owned(),
            ),
        }
    }
    let open: Vec<&str> = state
        .upstreams
        .iter()
        // An open breaker reads half-open once its wait is over, so a
        // replica taken out of rotation comes back to let the probe through.
        .filter(|upstream| {
            matches!(
                upstream.breaker_state(),
                crate::sources::breaker::BreakerState::Open
            )
        })
        .map(|upstream| upstream.source().name())
        .collect();
    if open.len() == state.upstreams.len() {
        reasons.push(format!(
            "every source's circuit breaker is open ({})",
            open.join(", ")
        ));
    }
    let status = if reasons.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = if reasons.is_empty() && degraded.is_empty() {
        serde_json::json!({ "status": "ready" })
    } else if reasons.is_empty() {
        serde_json::json!({ "status": "ready", "degraded": degraded })
    } else {
        serde_json::json!({ "status": "not ready", "reasons": reasons })
    };
    (status, Json(body)).into_response()
}

/// Liveness, the mode of each source and the state of its circuit breaker.
async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    let sources: serde_json::Map<String, serde_json::Value> = state
        .statuses
        .iter()
        .map(|status| {
            let mode = match status.mode {
                SourceMode::Live { .. } => "live",
                SourceMode::Sample => "sample",
            };
            (
                status.source.name().to_owned(),
                serde_json::Value::from(mode),
            )
        })
        .collect();
    let breakers: serde_json::Map<String, serde_json::Value> = state
        .upstreams
        .iter()
        .map(|upstream| {
            (
                upstream.source().name().to_owned(),
                serde_json::Value::from(upstream.breaker_state().name()),
            )
        })
        .collect();
    let mut health =
        serde_json::json!({ "status": "ok", "sources": sources, "breakers": breakers });
    let admission: serde_json::Map<String, serde_json::Value> = state
        .upstreams
        .iter()
        .filter_map(|upstream| {
            let mode = upstream.admission()?.mode();
            Some((
                upstream.source().name().to_owned(),
                serde_json::Value::from(mode.describe()),
            ))
        })
        .collect();
    health["admission"] = serde_json::Value::Object(admission);
    // Sources an upstream's Retry-After holds: nothing is sent to them
    // until then (seconds left; a source not held is not listed).
    let held: serde_json::Map<String, serde_json::Value> = state
        .upstreams
        .iter()
        .filter_map(|upstream| {
            let left = upstream.held_for();
            (!left.is_zero()).then(|| {
                (
                    upstream.source().name().to_owned(),
                    serde_json::Value::from(left.as_secs() + u64::from(left.subsec_nanos() > 0)),
                )
            })
        })
        .collect();
    health["heldSeconds"] = serde_json::Value::Object(held);
    // What subscriptions cost the upstreams: one poll per interval per key.
    health["subscriptions"] = serde_json::json!({
        "open": state.subscription_limits.max_subscriptions - state.subscriptions.available_permits(),
        "websockets": state.subscription_limits.max_websockets - state.websockets.available_permits(),
        "polledKeys": {
            "interventions": state.feeds.interventions.polled_keys(),
            "tradeLeads": state.feeds.trade_leads.polled_keys(),
        },
    });
    if let Some(redis) = &state.redis {
        // Redis down is not the gateway down: it answers alone meanwhile.
        health["redis"] = serde_json::Value::from(if redis.available() {
            "shared"
        } else {
            "unavailable: answering without the shared cache, on local shares of the budgets"
        });
    }
    Json(health)
}

/// The stages every source's pipeline shares: the HTTP client, the answer
/// caches (here and, with Redis, the replicas'), the metrics.
fn shared_stages(config: &Config, redis: Option<RedisLink>) -> Result<SharedStages, StartError> {
    let shared_cache = redis.as_ref().map(|link| {
        SharedCache::new(
            link.clone(),
            [
                config.gta.cache_ttl,
                config.comtrade.cache_ttl,
                config.ita.cache_ttl,
            ],
        )
    });
    Ok(SharedStages {
        shared_cache,
        redis,
        client: HttpClient::new(config.resilience.max_upstream_answer_bytes)
            .map_err(StartError::HttpClient)?,
        cache: ResponseCache::new(
            config.cache_max_mb.saturating_mul(1024 * 1024),
            CacheTtls {
                gta: config.gta.cache_ttl,
                comtrade: config.comtrade.cache_ttl,
                ita: config.ita.cache_ttl,
            },
            config.resilience.stale_grace,
        ),
        metrics: Metrics::default(),
        replicas: config.replicas,
    })
}

/// A key without a URL would silently go unused on sample data: refused.
fn refuse_keys_without_urls(config: &Config) -> Result<(), StartError> {
    for source in Source::ALL {
        let access = config.access(source);
        if access.url.is_none() && access.key.is_some() {
            // A key without a URL would silently go unused on sample data.
            let example = define(
                source,
                &config.upstream_settings(source, false),
                config.upstream_apis(),
                None,
            )
            .example_url;
            return Err(StartError::Config(format!(
                "a {source} key is set but its URL is not: set {} (e.g. {example}) to go live, or unset the key to serve sample data",
                access.url_env
            )));
        }
    }
    Ok(())
}

/// Who a request is for (`--client-id-header`, its known keys and trusted
/// proxies), warning when any client may mint identities.
fn client_identity(config: &Config) -> Result<client_id::ClientIdentity, StartError> {
    let known_keys = match &config.resilience.client_keys_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|error| error.to_string())
                .and_then(|text| client_id::read_known_keys(&text))
                .map_err(|error| {
                    StartError::Config(format!("--client-keys-file {}: {error}", path.display()))
                })?,
        ),
        None => None,
    };
    if config.resilience.client_id_header.is_some()
        && known_keys.is_none()
        && config.resilience.trusted_proxies.is_empty()
    {
        tracing::warn!(
            "--client-id-header is believed from any client: a client can send a new key per request and take a new budget share each time; list the keys (--client-keys-file) or the proxies that check them (--trusted-proxies)"
        );
    }
    Ok(client_id::ClientIdentity {
        header: config.resilience.client_id_header.clone(),
        trusted_proxies: config.resilience.trusted_proxies.clone(),
        known_keys,
    })
}

/// The simulator behind the sources without a URL, if any has none.
async fn start_simulator(config: &Config) -> Result<Option<Simulator>, StartError> {
    Ok(
        if Source::ALL
            .iter()
            .any(|source| config.access(*source).url.is_none())
        {
            let options = SimulatorOptions {
                latency: config.sample_latency,
                comtrade: ComtradeRules {
                    interval: config.comtrade.interval,
                    // The budgets the gateway keeps to, in their own
                    // windows (v1's keyed one is a day's).
                    guest: config.comtrade.budget(false),
                    keyed: config.comtrade.budget(true),
                    max_rows: None,
                },
                publish_every: (!config.sample_publish_interval.is_zero())
                    .then_some(config.sample_publish_interval),
                ..SimulatorOptions::default()
            };
            Some(
                Simulator::start(options)
                    .await
                    .map_err(StartError::Simulator)?,
            )
        } else {
            None
        },
    )
}

/// Each source's upstream pipeline, live or against the simulator, and
/// what the startup line says of it; every source's text is cleaned of
/// every configured key.
async fn upstreams(
    config: &Config,
    simulator: Option<&Simulator>,
    stages: &SharedStages,
) -> ([crate::sources::http::Upstream; 3], Vec<SourceStatus>) {
    let mut statuses = Vec::new();
    let mut keys = Vec::new();
    let upstreams = Source::ALL.map(|source| {
        let access = config.access(source);
        let (url, key, mode, keying) = match (access.url, simulator) {
            (Some(url), _) => (
                url.to_owned(),
                access.key.cloned(),
                SourceMode::Live {
                    base_url: url.to_owned(),
                },
                if access.key.is_some() { "key set" } else { "no key" },
            ),
            (None, Some(simulator)) => (
                simulator.base_url(),
                Some(Secret::new(SAMPLE_KEY)),
                SourceMode::Sample,
                "sample key",
            ),
            (None, None) => {
                unreachable!("the simulator is started whenever a source has no URL")
            }
        };
        keys.extend(key.clone());
        // A password in the URL's user part is a key too.
        keys.extend(crate::sources::scrub::credentials_in_url(&url));
        let settings = config.upstream_settings(source, key.is_some());
        let definition = define(source, &settings, config.upstream_apis(), key.clone());
        if key.is_none() && !definition.serves_keyless {
            tracing::warn!("{source} is live without --{source}-key: it will refuse every request unless a proxy adds the key");
        }
        let keying = match (key.is_none(), definition.serves_keyless) {
            (true, true) => "keyless",
            _ => keying,
        };
        let limits = definition.usage_limits();
        statuses.push(SourceStatus {
            source,
            mode,
            api: definition.api,
            timeout: definition.timeout,
            detail: if limits.is_empty() {
                keying.to_owned()
            } else {
                format!("{keying}, {limits}")
            },
        });
        definition.upstream(&url, &settings, stages)
    });
    // Every source's text is cleaned of every key, not only its own.
    let upstreams = upstreams.map(|upstream| upstream.scrubbing_keys(&keys));
    for upstream in &upstreams {
        if let Some(admission) = upstream.admission() {
            admission.prepare().await;
        }
    }
    (upstreams, statuses)
}

/// The routes, and the layers every request passes.
fn router(state: AppState, config: &Config) -> Result<Router, StartError> {
    let mut router = Router::new();
    if let GraphiqlAssets::Directory(directory) = &config.graphiql_assets {
        graphiql::check_directory(directory).map_err(StartError::Config)?;
        router = router.nest_service(
            graphiql::LOCAL_ASSETS_PATH,
            tower_http::services::ServeDir::new(directory),
        );
    }
    Ok(router
        .route("/", get(graphiql::serve))
        .route("/graphql", get(websocket::get).post(graphql_http::post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        // Every answer is JSON with a code, a wrong path or method too
        // (they were empty bodies).
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // A body that trickles in is cut off by the connection loop's
        // total deadline (connections.rs).
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CorsLayer::permissive().max_age(Duration::from_secs(3600)))
        .layer(axum::middleware::from_fn(request_head::bounded))
        .layer(axum::middleware::from_fn(access_log::log_access))
        .with_state(state))
}

/// A path the gateway does not serve: 404 with a JSON error.
async fn not_found() -> axum::response::Response {
    json_error(
        axum::http::StatusCode::NOT_FOUND,
        crate::error_codes::NOT_FOUND,
        "no such path: the gateway serves /graphql, / (GraphiQL), /healthz, /readyz and /metrics",
    )
}

/// A method the path does not take: 405 with a JSON error (axum adds
/// `Allow`).
async fn method_not_allowed() -> axum::response::Response {
    json_error(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        crate::error_codes::METHOD_NOT_ALLOWED,
        "this path does not take that method: see the Allow header",
    )
}

fn json_error(
    status: axum::http::StatusCode,
    code: &str,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
            .to_string(),
    )
        .into_response()
}
