//! Configuration: every option is a flag with the same name in the environment
//! (`--gta-url` / `TRADE_GRAPH_GTA_URL`). Each source is live (a URL is set) or
//! sample (served by the in-process simulator) on its own.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, ValueEnum};

pub mod checks;

use crate::countries::ComtradeDialect;
use crate::limits::{DemandLimits, DocumentLimits, OperationLimits, ShapeLimits};
use crate::sources::breaker::BreakerPolicy;
use crate::sources::gta::GtaApi;
use crate::sources::http::Secret;
use crate::sources::ita::ItaApi;
use crate::sources::pacing::Budget;
use crate::sources::retry::RetryPolicy;

/// trade-graph: one GraphQL graph over Global Trade Alert, UN Comtrade and the
/// US International Trade Administration. Without upstream URLs it serves
/// generated sample data.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "trade-graph",
    version,
    about,
    long_about = None,
    args_override_self = true,
    // "-5s" reaches the duration parser, which says it is negative (clap
    // would otherwise call it an unexpected argument "-5").
    allow_hyphen_values = true
)]
pub struct Config {
    /// Address to serve on: `host:port`, the host an IP address or a name
    /// ("localhost:8080", "0.0.0.0:8080", "[::]:8080").
    #[arg(long, env = "TRADE_GRAPH_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub listen: String,

    /// What to log: a tracing filter ("info", "warn", "trade_graph=debug").
    #[arg(long, env = "TRADE_GRAPH_LOG", default_value = "info,tower_http=warn")]
    pub log: String,

    /// How to log: "text" (coloured only on a terminal) or "json" (one
    /// object per line, for log collectors).
    #[arg(
        long,
        env = "TRADE_GRAPH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Where GraphiQL's scripts and styles come from: a base URL laid out
    /// like unpkg (`<base>/<package>@<version>/<file>`), or a directory laid
    /// out the same way, which the gateway then serves itself (for use
    /// without internet; `scripts/graphiql-assets.sh DIR` fills it from npm).
    #[arg(
        long,
        env = "TRADE_GRAPH_GRAPHIQL_ASSETS",
        default_value = "https://unpkg.com",
        value_parser = GraphiqlAssetsParser
    )]
    pub graphiql_assets: GraphiqlAssets,

    /// Largest request body accepted on /graphql, in bytes.
    #[arg(long, env = "TRADE_GRAPH_MAX_BODY_BYTES", default_value_t = 256 * 1024, value_parser = parse_at_least_one::<usize>)]
    pub max_body_bytes: usize,

    /// Latency the sample simulator adds to every upstream answer (e.g. "50ms"),
    /// to see batching and timeouts at work without a real upstream.
    #[arg(long, env = "TRADE_GRAPH_SAMPLE_LATENCY", value_parser = parse_duration, default_value = "0s")]
    pub sample_latency: Duration,

    /// How often the sample simulator publishes a new intervention and a
    /// new trade lead (made up, like the rest of its data), so that
    /// subscriptions have news in sample mode; "0s" publishes nothing.
    #[arg(long, env = "TRADE_GRAPH_SAMPLE_PUBLISH_INTERVAL", value_parser = parse_duration, default_value = "10s")]
    pub sample_publish_interval: Duration,

    /// Size of the shared upstream response cache in MiB. "0" stores
    /// nothing; identical requests in flight are still sent once.
    #[arg(long, env = "TRADE_GRAPH_CACHE_MAX_MB", default_value_t = 64)]
    pub cache_max_mb: u64,

    /// Size of the whole-response cache in MiB: a repeated operation (same
    /// document or persisted-query hash, operation name and variables) is
    /// answered from its first answer's bytes, for the shortest time to
    /// live of the upstream answers it was built from, and dropped early
    /// when a subscription poll sees news of a source it used. Responses
    /// with errors are never kept. Least recently used first out; "0"
    /// turns it off (GET answers still carry Cache-Control and an ETag, so
    /// browsers and CDNs keep caching them).
    #[arg(long, env = "TRADE_GRAPH_RESPONSE_CACHE_MAX_MB", default_value_t = 16)]
    pub response_cache_max_mb: u64,

    /// Redis shared by the replicas behind a load balancer (e.g.
    /// "redis://redis:6379/0"): one admission decision for all replicas
    /// (budgets and pacing), and a second level of the response cache, so
    /// that each answer is fetched once for all replicas. Unset: each
    /// process paces, budgets and caches alone. Never printed (it may hold
    /// a password).
    #[arg(long, env = "TRADE_GRAPH_REDIS_URL", hide_env_values = true, value_parser = RedisUrlParser)]
    pub redis_url: Option<Secret>,

    /// Size of the store of automatic persisted queries (documents clients
    /// registered by their SHA-256 hash) in MiB; least recently used
    /// first out. "0" turns persisted queries off
    /// (PERSISTED_QUERY_NOT_SUPPORTED).
    #[arg(
        long,
        env = "TRADE_GRAPH_PERSISTED_QUERIES_MAX_MB",
        default_value_t = 16
    )]
    pub persisted_queries_max_mb: u64,

    /// How many replicas share --redis-url. While Redis is unreachable each
    /// replica keeps to 1/N of every budget and paces at N times the
    /// interval, so that together they still keep the upstream's rules.
    #[arg(long, env = "TRADE_GRAPH_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub replicas: u32,

    /// Whether /readyz needs --redis-url reachable. "optional" (the
    /// default): a replica without Redis stays ready on its local share of
    /// every budget (its /readyz body says so), because losing Redis would
    /// otherwise take every replica out of rotation at once. "required":
    /// not ready while Redis is unreachable, so that a load balancer sends
    /// traffic to replicas that still share the budgets (when only some
    /// lose it).
    #[arg(long, env = "TRADE_GRAPH_READINESS_REDIS", value_enum, default_value_t = ReadinessRedis::Optional)]
    pub readiness_redis: ReadinessRedis,

    /// Batch upstream requests across the fields of an operation. "false"
    /// asks for every field on its own: a baseline for benchmarks, never
    /// what production wants.
    #[arg(long, env = "TRADE_GRAPH_BATCHING", default_value_t = true, action = clap::ArgAction::Set)]
    pub batching: bool,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub resilience: ResilienceConfig,

    #[command(flatten)]
    pub subscriptions: SubscriptionConfig,

    #[command(flatten)]
    pub gta: GtaConfig,

    #[command(flatten)]
    pub comtrade: ComtradeConfig,

    #[command(flatten)]
    pub ita: ItaConfig,
}

/// What one operation and one connection may cost. Every limit is checked
/// before any upstream is asked, except the result size, the deadline and
/// the per-source request maximum, which also hold while it runs.
#[derive(Args, Clone, Debug)]
pub struct LimitsConfig {
    /// Largest GraphQL document (query text), in bytes.
    #[arg(long, env = "TRADE_GRAPH_MAX_DOCUMENT_BYTES", default_value_t = DocumentLimits::default().max_bytes, value_parser = parse_at_least_one::<usize>)]
    pub max_document_bytes: usize,

    /// Deepest nesting of `{`, `[` and `(` in a document, counted together
    /// (the parser recurses once per level).
    #[arg(long, env = "TRADE_GRAPH_MAX_DOCUMENT_NESTING", default_value_t = DocumentLimits::default().max_nesting, value_parser = clap::value_parser!(u64).range(1..=128).map(|v| v as usize))]
    pub max_document_nesting: usize,

    /// Most lexical tokens in a document.
    #[arg(long, env = "TRADE_GRAPH_MAX_DOCUMENT_TOKENS", default_value_t = DocumentLimits::default().max_tokens, value_parser = parse_at_least_one::<usize>)]
    pub max_document_tokens: usize,

    /// Most fields in an operation after fragment expansion.
    #[arg(long, env = "TRADE_GRAPH_MAX_FIELDS", default_value_t = ShapeLimits::default().max_fields, value_parser = parse_at_least_one::<u64>)]
    pub max_fields: u64,

    /// Most aliased fields in an operation after fragment expansion.
    #[arg(long, env = "TRADE_GRAPH_MAX_ALIASES", default_value_t = ShapeLimits::default().max_aliases)]
    pub max_aliases: u64,

    /// Deepest nesting of fields (GraphiQL's introspection needs 13).
    #[arg(long, env = "TRADE_GRAPH_MAX_DEPTH", default_value_t = ShapeLimits::default().max_depth, value_parser = parse_at_least_one::<u64>)]
    pub max_depth: u64,

    /// Most directives on one field, spread or inline fragment.
    #[arg(long, env = "TRADE_GRAPH_MAX_DIRECTIVES", default_value_t = ShapeLimits::default().max_directives)]
    pub max_directives: usize,

    /// Highest operation cost: the most values its answer could hold (every
    /// list multiplies its children by the most items it can return).
    #[arg(long, env = "TRADE_GRAPH_MAX_COST", default_value_t = crate::limits::DEFAULT_MAX_COST, value_parser = parse_at_least_one::<u64>)]
    pub max_cost: u64,

    /// Most values a result may hold while it is built; past it the
    /// operation is stopped with RESULT_TOO_LARGE.
    #[arg(long, env = "TRADE_GRAPH_MAX_RESULT_VALUES", default_value_t = crate::limits::DEFAULT_MAX_RESULT_VALUES, value_parser = parse_at_least_one::<u64>)]
    pub max_result_values: u64,

    /// How long one operation may run; fields still waiting on an upstream
    /// then fail with UPSTREAM_TIMEOUT and the rest of the answer is sent.
    #[arg(long, env = "TRADE_GRAPH_OPERATION_TIMEOUT", value_parser = parse_positive_duration, default_value = "30s")]
    pub operation_timeout: Duration,

    /// Most operations in one batch (a POST body that is a JSON array).
    /// A batch's operations together are held to one operation's cost and
    /// upstream demand. "1" allows batches of one only.
    #[arg(long, env = "TRADE_GRAPH_MAX_BATCH_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000).map(|v| v as usize))]
    pub max_batch_size: usize,

    /// Most operations running at once; beyond it /graphql answers 503 with
    /// Retry-After.
    #[arg(long, env = "TRADE_GRAPH_MAX_CONCURRENT_OPERATIONS", default_value_t = 256, value_parser = parse_at_least_one::<usize>)]
    pub max_concurrent_operations: usize,

    /// How long a client may take to send a request's headers.
    #[arg(long, env = "TRADE_GRAPH_HEADER_READ_TIMEOUT", value_parser = parse_positive_duration, default_value = "10s")]
    pub header_read_timeout: Duration,

    /// Longest string argument (or string in a variable), in bytes; a
    /// longer one refuses the operation (ARGUMENT_TOO_LONG) before anything
    /// is sent upstream.
    #[arg(long, env = "TRADE_GRAPH_MAX_ARGUMENT_BYTES", default_value_t = crate::limits::arguments::DEFAULT_MAX_ARGUMENT_BYTES, value_parser = parse_at_least_one::<usize>)]
    pub max_argument_bytes: usize,

    /// How long a connection may stay open with no request in flight and
    /// nothing sent or received (idle keep-alive and HTTP/2 connections).
    #[arg(long, env = "TRADE_GRAPH_IDLE_TIMEOUT", value_parser = parse_positive_duration, default_value = "60s")]
    pub idle_timeout: Duration,

    /// Connections open at once; past it new clients wait in the listen
    /// backlog. Unset: three quarters of the process's descriptor limit
    /// (ulimit -n), the rest kept for upstreams.
    #[arg(long, env = "TRADE_GRAPH_MAX_CONNECTIONS", value_parser = parse_at_least_one::<usize>)]
    pub max_connections: Option<usize>,

    /// How long a client may take to send a request's whole body (however
    /// it trickles in).
    #[arg(long, env = "TRADE_GRAPH_BODY_READ_TIMEOUT", value_parser = parse_positive_duration, default_value = "10s")]
    pub body_read_timeout: Duration,

    /// How long a response may take to reach the client, from its headers to
    /// its last byte: a client that stops reading (a zero TCP or HTTP/2
    /// window) would otherwise hold its connection for ever.
    #[arg(long, env = "TRADE_GRAPH_RESPONSE_WRITE_TIMEOUT", value_parser = parse_positive_duration, default_value = "60s")]
    pub response_write_timeout: Duration,

    /// After SIGTERM, how long requests in flight may finish before they are
    /// abandoned and the process exits.
    #[arg(long, env = "TRADE_GRAPH_SHUTDOWN_TIMEOUT", value_parser = parse_positive_duration, default_value = "10s")]
    pub shutdown_timeout: Duration,
}

impl Config {
    /// The per-operation limits in force.
    pub fn operation_limits(&self) -> OperationLimits {
        let limits = &self.limits;
        OperationLimits {
            document: DocumentLimits {
                max_bytes: limits.max_document_bytes,
                max_nesting: limits.max_document_nesting,
                max_tokens: limits.max_document_tokens,
            },
            shape: ShapeLimits {
                max_fields: limits.max_fields,
                max_aliases: limits.max_aliases,
                max_depth: limits.max_depth,
                max_directives: limits.max_directives,
            },
            max_cost: limits.max_cost,
            max_result_values: limits.max_result_values,
            demand: DemandLimits {
                gta: self.gta.max_requests,
                comtrade: self.comtrade.max_requests,
                ita: self.ita.max_requests,
            },
            max_argument_bytes: limits.max_argument_bytes,
        }
    }
}

/// A share of a budget: more than 0, at most 1.
fn parse_share(value: &str) -> Result<f64, String> {
    let share: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("expected a number between 0 and 1, e.g. 0.25; got {value:?}"))?;
    if !(share > 0.0 && share <= 1.0) {
        return Err(format!("expected more than 0 and at most 1, got {share}"));
    }
    Ok(share)
}

/// A ratio from 0 to 1 (0 turns the ratio off).
fn parse_ratio(value: &str) -> Result<f64, String> {
    let ratio: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, e.g. 0.5; got {value:?}"))?;
    if !(0.0..=1.0).contains(&ratio) {
        return Err(format!("expected a number from 0 to 1, got {ratio}"));
    }
    Ok(ratio)
}

fn parse_header_name(value: &str) -> Result<axum::http::HeaderName, String> {
    axum::http::HeaderName::from_bytes(value.trim().as_bytes())
        .map_err(|_| format!("not an HTTP header name: {value:?}"))
}

/// A trusted proxy: an address (one host) or a CIDR range.
fn parse_proxy(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    if let Ok(address) = value.parse::<std::net::IpAddr>() {
        return Ok(address.into());
    }
    value.parse::<ipnet::IpNet>().map_err(|_| {
        format!("{value:?} is neither an IP address nor a CIDR range: expected such as \"10.0.0.0/8\", \"192.0.2.7\" or \"fd00::/8\"")
    })
}

/// A duration: a number and a unit.
fn parse_duration(value: &str) -> Result<Duration, String> {
    if value.trim().starts_with('-') {
        return Err(format!(
            "{value:?} is negative: expected a number and a unit, such as \"500ms\", \"10s\", \"2m\" or \"1h\""
        ));
    }
    humantime::parse_duration(value.trim()).map_err(|_| {
        format!("{value:?} is not a duration: expected a number and a unit, such as \"500ms\", \"10s\", \"2m\" or \"1h\"")
    })
}

/// A duration that is not zero (a zero timeout fails everything).
fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let duration = parse_duration(value)?;
    if duration.is_zero() {
        return Err(format!(
            "{value:?} is zero, which would fail everything it limits: expected more than zero, such as \"500ms\" or \"10s\""
        ));
    }
    Ok(duration)
}

/// A count or size of at least one: zero would refuse or stop everything
/// it limits. (clap's own range check says "0 is not in
/// 1..18446744073709551615".)
fn parse_at_least_one<T>(value: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialEq + From<u8>,
{
    let expected = "expected a whole number of at least 1, such as \"10\"";
    let parsed: T = value
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number in range: {expected}"))?;
    if parsed == T::from(0) {
        return Err(format!(
            "0 would refuse or stop everything it limits: {expected}"
        ));
    }
    Ok(parsed)
}

/// `host:port`, the host an IP address or a name resolved when binding.
fn parse_listen(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.parse::<SocketAddr>().is_ok() {
        return Ok(value.to_owned());
    }
    let expected = "expected host:port, such as \"127.0.0.1:8080\", \"localhost:8080\", \"0.0.0.0:8080\" or \"[::]:8080\"";
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(format!("{value:?} has no port: {expected}"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("{port:?} is not a port (0-65535): {expected}"));
    }
    let is_name = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !is_name {
        return Err(format!(
            "{host:?} is neither an IP address nor a host name: {expected}"
        ));
    }
    Ok(value.to_owned())
}

/// Where GraphiQL's assets come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphiqlAssets {
    /// A base URL laid out like unpkg, without a trailing slash.
    Url(String),
    /// A local directory laid out like unpkg, served by the gateway.
    Directory(std::path::PathBuf),
}

impl std::fmt::Display for GraphiqlAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(url) => f.write_str(url),
            Self::Directory(directory) => write!(f, "{} (served locally)", directory.display()),
        }
    }
}

/// An http(s) base URL, or a directory that exists.
fn parse_graphiql_assets(value: &str) -> Result<GraphiqlAssets, String> {
    let value = value.trim();
    if let Ok(url) = url::Url::parse(value) {
        if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
            // The base goes into a page every visitor reads, and browsers
            // refuse subresources with credentials anyway.
            if !url.username().is_empty() || url.password().is_some() {
                return Err("the URL holds credentials, which would be published in the GraphiQL page to every visitor (and browsers refuse such script URLs): give a mirror that needs none, or a local directory".into());
            }
            return Ok(GraphiqlAssets::Url(value.trim_end_matches('/').to_owned()));
        }
    }
    let path = std::path::Path::new(value);
    if path.is_dir() {
        return Ok(GraphiqlAssets::Directory(path.to_path_buf()));
    }
    // A URL that did not parse may still hold credentials: repeated only
    // when it has no user part, query or fragment.
    let given = if value.contains(['@', '?', '#']) {
        "the value (not repeated: it may hold credentials)".to_owned()
    } else {
        format!("{value:?}")
    };
    Err(format!(
        "{given} is neither an http(s) URL nor a directory: expected the base URL of an unpkg-like mirror (\"https://unpkg.com\", \"http://mirror.internal/npm\") or a directory filled by `scripts/graphiql-assets.sh DIR`"
    ))
}

/// Whether readiness needs Redis (`--readiness-redis`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReadinessRedis {
    /// Ready without Redis, on the local share of every budget.
    Optional,
    /// Not ready while the configured Redis is unreachable.
    Required,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; coloured only when written to a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subscriptions (WebSocket, `graphql-transport-ws` on /graphql): how
/// often their feeds poll the upstreams and how many may be open.
#[derive(Args, Clone, Debug)]
pub struct SubscriptionConfig {
    /// How often each feed polls its upstream for news, once per set of
    /// jurisdictions subscribed to, however many subscribers share it.
    #[arg(long, env = "TRADE_GRAPH_SUBSCRIPTION_POLL_INTERVAL", value_parser = parse_positive_duration, default_value = "30s")]
    pub subscription_poll_interval: Duration,

    /// Most sets of jurisdictions each feed (new interventions, new trade
    /// leads) polls at once: each costs an upstream request per interval.
    /// A subscription to another set is refused past it
    /// (TOO_MANY_SUBSCRIPTION_FEEDS).
    #[arg(long, env = "TRADE_GRAPH_MAX_SUBSCRIPTION_FEEDS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000).map(|v| v as usize))]
    pub max_subscription_feeds: usize,

    /// Most subscriptions open at once in the process (TOO_MANY_SUBSCRIPTIONS
    /// past it).
    #[arg(long, env = "TRADE_GRAPH_MAX_SUBSCRIPTIONS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub max_subscriptions: usize,

    /// Most subscriptions open at once on one WebSocket connection.
    #[arg(long, env = "TRADE_GRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000).map(|v| v as usize))]
    pub max_subscriptions_per_connection: usize,

    /// Most WebSocket connections open at once. A socket outlives the
    /// header timeout that ends idle HTTP connections, so without a bound
    /// a client could hold descriptors until the process has none left for
    /// HTTP. An upgrade past it is refused with 503 (TOO_MANY_WEBSOCKETS).
    #[arg(long, env = "TRADE_GRAPH_MAX_WEBSOCKETS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub max_websockets: usize,
}

impl SubscriptionConfig {
    pub fn settings(&self) -> crate::subscriptions::SubscriptionSettings {
        crate::subscriptions::SubscriptionSettings {
            poll_interval: self.subscription_poll_interval,
            max_feeds: self.max_subscription_feeds,
            max_subscriptions: self.max_subscriptions,
            max_per_connection: self.max_subscriptions_per_connection,
            max_websockets: self.max_websockets,
        }
    }
}

/// How sources retry and when their circuit breakers open: the setting for
/// all sources here, a source's own override in its section
/// (`--comtrade-retry-max-attempts`...).
#[derive(Args, Clone, Debug)]
pub struct ResilienceConfig {
    /// Attempts per upstream request, the first included ("1": no retries).
    /// Retried: timeouts, connection failures, 502/503/504, and 429 (and
    /// Comtrade's 409, its pace refusal) with a Retry-After.
    #[arg(long, env = "TRADE_GRAPH_RETRY_MAX_ATTEMPTS", default_value_t = RetryPolicy::default().max_attempts, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub retry_max_attempts: u32,

    /// The first retry's wait, doubled for each one after (with full jitter).
    #[arg(long, env = "TRADE_GRAPH_RETRY_BASE_DELAY", value_parser = parse_duration, default_value = "100ms")]
    pub retry_base_delay: Duration,

    /// The longest wait between two attempts, before jitter.
    #[arg(long, env = "TRADE_GRAPH_RETRY_MAX_DELAY", value_parser = parse_duration, default_value = "2s")]
    pub retry_max_delay: Duration,

    /// The longest Retry-After waited for; a longer one fails at once and is
    /// passed to the client as retryAfterSeconds.
    #[arg(long, env = "TRADE_GRAPH_RETRY_MAX_RETRY_AFTER", value_parser = parse_duration, default_value = "5s")]
    pub retry_max_retry_after: Duration,

    /// Retries allowed per request over time, per source (0.2: one retry per
    /// five requests, after a burst of ten).
    #[arg(long, env = "TRADE_GRAPH_RETRY_BUDGET_RATIO", default_value_t = RetryPolicy::default().budget_ratio)]
    pub retry_budget_ratio: f64,

    /// Failed attempts in a row (timeouts, connection failures, 5xx) that open
    /// a source's circuit breaker.
    #[arg(long, env = "TRADE_GRAPH_BREAKER_FAILURES", default_value_t = BreakerPolicy::default().failure_threshold, value_parser = parse_at_least_one::<u32>)]
    pub breaker_failures: u32,

    /// How long answers are kept past their time to live to answer with
    /// when the upstream fails (flagged in extensions.upstream.<source>.stale).
    /// "0s" turns stale answers off.
    #[arg(long, env = "TRADE_GRAPH_STALE_GRACE", value_parser = parse_duration, default_value = "6h")]
    pub stale_grace: Duration,

    /// The share of a source's budget window one client may spend (0.25: a
    /// quarter), so that one client's burst leaves the others theirs.
    /// Applies to every budgeted source; `--<source>-client-share` overrides.
    #[arg(long, env = "TRADE_GRAPH_CLIENT_SHARE", default_value_t = 0.25, value_parser = parse_share)]
    pub client_share: f64,

    /// The request header that carries your clients' own API keys, if they
    /// send one (e.g. "x-api-key"): budgets give each key its share. Unset:
    /// clients are told apart by address. The gateway does not check these
    /// keys: without --client-keys-file or --trusted-proxies any client can
    /// write a new value per request and take a new share each time. With
    /// --client-keys-file only listed keys are believed; else with
    /// --trusted-proxies only keys forwarded by those proxies.
    #[arg(long, env = "TRADE_GRAPH_CLIENT_ID_HEADER", value_parser = parse_header_name)]
    pub client_id_header: Option<axum::http::HeaderName>,

    /// A file of the client keys --client-id-header may carry, one a line:
    /// the key, or "sha256:" and its SHA-256 in hex (a line starting with "#"
    /// is a comment; a key may hold "#").
    /// A key not listed is not believed: its client is told apart by
    /// address. Read at startup.
    #[arg(
        long,
        env = "TRADE_GRAPH_CLIENT_KEYS_FILE",
        requires = "client_id_header"
    )]
    pub client_keys_file: Option<std::path::PathBuf>,

    /// Proxies whose X-Forwarded-For names the client, e.g. your load
    /// balancer's: addresses or CIDR ranges, comma-separated
    /// ("10.0.0.0/8,192.0.2.7").
    #[arg(long, env = "TRADE_GRAPH_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// The largest answer read from an upstream; a longer one is refused as
    /// it streams in (UPSTREAM_BAD_RESPONSE), before it can take the
    /// process's memory.
    #[arg(long, env = "TRADE_GRAPH_MAX_UPSTREAM_ANSWER_BYTES", default_value_t = crate::sources::http::DEFAULT_MAX_ANSWER_BYTES, value_parser = parse_at_least_one::<usize>)]
    pub max_upstream_answer_bytes: usize,

    /// How long an open breaker fails requests fast before letting one probe
    /// through.
    #[arg(long, env = "TRADE_GRAPH_BREAKER_OPEN_FOR", value_parser = parse_positive_duration, default_value = "30s")]
    pub breaker_open_for: Duration,

    /// The share of failed attempts among a source's last 20 that opens its
    /// breaker (a flapping upstream); "0" counts only failures in a row.
    #[arg(long, env = "TRADE_GRAPH_BREAKER_FAILURE_RATIO", default_value_t = BreakerPolicy::default().failure_ratio, value_parser = parse_ratio)]
    pub breaker_failure_ratio: f64,
}

/// A source's own overrides of the resilience settings (`None`: the
/// setting for all sources).
#[derive(Clone, Copy, Debug, Default)]
struct ResilienceOverrides {
    retry_max_attempts: Option<u32>,
    breaker_failures: Option<u32>,
    breaker_open_for: Option<Duration>,
    client_share: Option<f64>,
}

impl Config {
    /// The settings `source`'s section sets.
    pub fn source_flags(&self, source: crate::source::Source) -> SourceFlags<'_> {
        use crate::source::Source;
        match source {
            Source::Gta => self.gta.flags(),
            Source::Comtrade => self.comtrade.flags(),
            Source::Ita => self.ita.flags(),
        }
    }

    /// `source`'s overrides of the resilience settings.
    fn resilience_overrides(&self, source: crate::source::Source) -> ResilienceOverrides {
        let flags = self.source_flags(source);
        ResilienceOverrides {
            retry_max_attempts: flags.retry_max_attempts,
            breaker_failures: flags.breaker_failures,
            breaker_open_for: flags.breaker_open_for,
            client_share: flags.client_share,
        }
    }

    /// `source`'s settings: the setting for all sources with its own
    /// overrides, and its budget (the operator's, else for Comtrade the
    /// one documented for its dialect and whether a key is sent).
    pub fn upstream_settings(
        &self,
        source: crate::source::Source,
        keyed: bool,
    ) -> crate::sources::settings::UpstreamSettings {
        use crate::source::Source;
        let overrides = self.resilience_overrides(source);
        let flags = self.source_flags(source);
        let (interval, budget) = match source {
            Source::Comtrade => (self.comtrade.interval, Some(self.comtrade.budget(keyed))),
            Source::Gta | Source::Ita => (
                Duration::ZERO,
                crate::sources::definition::configured_budget(flags.budget, flags.budget_window),
            ),
        };
        let timeout = flags.timeout;
        crate::sources::settings::UpstreamSettings {
            timeout,
            interval,
            budget,
            client_share: overrides
                .client_share
                .unwrap_or(self.resilience.client_share),
            retry: self.resilience.retry_policy(overrides),
            breaker: self.resilience.breaker_policy(overrides),
        }
    }

    /// The API generation each source speaks.
    pub fn upstream_apis(&self) -> crate::sources::definition::UpstreamApis {
        crate::sources::definition::UpstreamApis {
            gta: self.gta.api,
            comtrade: self.comtrade.api.into(),
            ita: self.ita.api,
        }
    }
}

/// Where a source is reached and with which key, as its section sets them.
#[derive(Clone, Copy, Debug)]
pub struct SourceAccess<'a> {
    /// The live base URL; `None`: sample data.
    pub url: Option<&'a str>,
    pub key: Option<&'a Secret>,
    /// The flag that sets the URL, for messages.
    pub url_env: &'static str,
}

impl Config {
    /// Where `source` is reached, and with which key.
    pub fn access(&self, source: crate::source::Source) -> SourceAccess<'_> {
        let flags = self.source_flags(source);
        SourceAccess {
            url: flags.url,
            key: flags.key,
            url_env: flags.url_env,
        }
    }
}

impl ResilienceConfig {
    /// The retry policy for a source with `overrides`.
    fn retry_policy(&self, overrides: ResilienceOverrides) -> RetryPolicy {
        RetryPolicy {
            max_attempts: overrides
                .retry_max_attempts
                .unwrap_or(self.retry_max_attempts),
            base_delay: self.retry_base_delay,
            max_delay: self.retry_max_delay,
            max_retry_after: self.retry_max_retry_after,
            budget_ratio: self.retry_budget_ratio.max(0.0),
        }
    }

    /// The breaker policy for a source with `overrides`.
    fn breaker_policy(&self, overrides: ResilienceOverrides) -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: overrides.breaker_failures.unwrap_or(self.breaker_failures),
            open_for: overrides.breaker_open_for.unwrap_or(self.breaker_open_for),
            failure_ratio: self.breaker_failure_ratio,
        }
    }
}

/// Defines one source's section of flags: the settings every upstream has,
/// written once here, each named `--<source>-<setting>` and
/// `TRADE_GRAPH_<SOURCE>_<SETTING>`, with what differs between sources
/// (its URL's and key's words, its API generations, its defaults) given by
/// the caller, and any setting only that source has after them. Every
/// section can say its settings the same way ([`SourceFlags`]), so that the
/// rest of the configuration reads them without a match per source.
macro_rules! source_section {
    (
        $(#[$section_doc:meta])*
        pub struct $name:ident: $label:literal, $flag:literal, $env:literal {
            url: $url_doc:literal,
            key: $key_doc:literal,
            api: $api:ty = $api_default:literal, $api_doc:literal,
            timeout: $timeout:literal,
            cache_ttl: $ttl:literal, $ttl_why:literal,
            max_requests: $max_requests:expr,
            budget: $budget_doc:literal,
            budget_window: $window_doc:literal,
            $(
                $(#[$extra_doc:meta])*
                pub $extra:ident: $extra_ty:ty,
            )*
        }
    ) => {
        $(#[$section_doc])*
        #[derive(Args, Clone, Debug)]
        pub struct $name {
            #[doc = $url_doc]
            #[arg(id = concat!($flag, "_url"), long = concat!($flag, "-url"), env = concat!("TRADE_GRAPH_", $env, "_URL"), hide_env_values = true, value_parser = BaseUrlParser)]
            pub url: Option<String>,

            #[doc = $key_doc]
            #[arg(id = concat!($flag, "_key"), long = concat!($flag, "-key"), env = concat!("TRADE_GRAPH_", $env, "_KEY"), hide_env_values = true, value_parser = SecretParser)]
            pub key: Option<Secret>,

            #[doc = $api_doc]
            #[arg(id = concat!($flag, "_api"), long = concat!($flag, "-api"), env = concat!("TRADE_GRAPH_", $env, "_API"), value_enum, default_value = $api_default)]
            pub api: $api,

            #[arg(help = concat!("How long one ", $label, " request may take (e.g. \"15s\", \"500ms\")"), id = concat!($flag, "_timeout"), long = concat!($flag, "-timeout"), env = concat!("TRADE_GRAPH_", $env, "_TIMEOUT"), value_parser = parse_positive_duration, default_value = $timeout)]
            pub timeout: Duration,

            #[arg(help = concat!("How long ", $label, " answers are reused (", $ttl_why, "). \"0s\" turns caching off for ", $label, ""), id = concat!($flag, "_cache_ttl"), long = concat!($flag, "-cache-ttl"), env = concat!("TRADE_GRAPH_", $env, "_CACHE_TTL"), value_parser = parse_duration, default_value = $ttl)]
            pub cache_ttl: Duration,

            #[arg(help = concat!("Most ", $label, " requests one operation may make (estimated before it runs, enforced while it runs)"), id = concat!($flag, "_max_requests"), long = concat!($flag, "-max-requests"), env = concat!("TRADE_GRAPH_", $env, "_MAX_REQUESTS"), default_value_t = $max_requests, value_parser = parse_at_least_one::<u64>)]
            pub max_requests: u64,

            #[doc = $budget_doc]
            #[arg(id = concat!($flag, "_budget"), long = concat!($flag, "-budget"), env = concat!("TRADE_GRAPH_", $env, "_BUDGET"), value_parser = parse_at_least_one::<u32>)]
            pub budget: Option<u32>,

            #[doc = $window_doc]
            #[arg(id = concat!($flag, "_budget_window"), long = concat!($flag, "-budget-window"), env = concat!("TRADE_GRAPH_", $env, "_BUDGET_WINDOW"), value_parser = parse_positive_duration)]
            pub budget_window: Option<Duration>,

            #[arg(help = concat!("The share of ", $label, "'s budget window one client may spend; unset: `--client-share`"), id = concat!($flag, "_client_share"), long = concat!($flag, "-client-share"), env = concat!("TRADE_GRAPH_", $env, "_CLIENT_SHARE"), value_parser = parse_share)]
            pub client_share: Option<f64>,

            #[arg(help = concat!("Attempts per ", $label, " request; unset: `--retry-max-attempts`"), id = concat!($flag, "_retry_max_attempts"), long = concat!($flag, "-retry-max-attempts"), env = concat!("TRADE_GRAPH_", $env, "_RETRY_MAX_ATTEMPTS"), value_parser = clap::value_parser!(u32).range(1..=10))]
            pub retry_max_attempts: Option<u32>,

            #[arg(help = concat!("Failed attempts in a row that open ", $label, "'s breaker; unset: `--breaker-failures`"), id = concat!($flag, "_breaker_failures"), long = concat!($flag, "-breaker-failures"), env = concat!("TRADE_GRAPH_", $env, "_BREAKER_FAILURES"), value_parser = parse_at_least_one::<u32>)]
            pub breaker_failures: Option<u32>,

            #[arg(help = concat!("How long ", $label, "'s open breaker fails fast; unset: `--breaker-open-for`"), id = concat!($flag, "_breaker_open_for"), long = concat!($flag, "-breaker-open-for"), env = concat!("TRADE_GRAPH_", $env, "_BREAKER_OPEN_FOR"), value_parser = parse_positive_duration)]
            pub breaker_open_for: Option<Duration>,

            $(
                $(#[$extra_doc])*
                pub $extra: $extra_ty,
            )*
        }

        impl $name {
            /// The settings every source's section has.
            pub fn flags(&self) -> SourceFlags<'_> {
                SourceFlags {
                    url: self.url.as_deref(),
                    key: self.key.as_ref(),
                    url_env: concat!("TRADE_GRAPH_", $env, "_URL"),
                    timeout: self.timeout,
                    cache_ttl: self.cache_ttl,
                    max_requests: self.max_requests,
                    budget: self.budget,
                    budget_window: self.budget_window,
                    client_share: self.client_share,
                    retry_max_attempts: self.retry_max_attempts,
                    breaker_failures: self.breaker_failures,
                    breaker_open_for: self.breaker_open_for,
                }
            }
        }
    };
}

/// The settings every source's section has, as one source's flags set them
/// (`None`: unset, the setting for all sources or the source's documented
/// one applies).
#[derive(Clone, Copy, Debug)]
pub struct SourceFlags<'a> {
    /// The live base URL; `None`: sample data.
    pub url: Option<&'a str>,
    pub key: Option<&'a Secret>,
    /// The variable that sets the URL, for messages.
    pub url_env: &'static str,
    pub timeout: Duration,
    pub cache_ttl: Duration,
    pub max_requests: u64,
    pub budget: Option<u32>,
    pub budget_window: Option<Duration>,
    pub client_share: Option<f64>,
    pub retry_max_attempts: Option<u32>,
    pub breaker_failures: Option<u32>,
    pub breaker_open_for: Option<Duration>,
}

source_section! {
    /// The US International Trade Administration.
    pub struct ItaConfig: "ITA", "ita", "ITA" {
        url: " ITA base URL: https://api.trade.gov (v2) or https://data.trade.gov (current); unset: sample data.",
        key: " ITA key: the `api_key` query parameter (v2) or the `subscription-key` header (current).",
        api: ItaApi = "current", " ITA API generation: v2 (seeds, api.trade.gov/v2/...) or current (data.trade.gov/.../v1/search).",
        timeout: "15s",
        cache_ttl: "6h", "ITA refreshes its data daily",
        max_requests: DemandLimits::default().ita,
        budget: " Requests to ITA allowed per budget window, shared by every user of the gateway (e.g. your key's quota); unset: no budget.",
        budget_window: " ITA's budget window (with `--ita-budget`); unset: 1h.",
    }
}

source_section! {
    /// Global Trade Alert.
    pub struct GtaConfig: "GTA", "gta", "GTA" {
        url: " GTA base URL, e.g. https://api.globaltradealert.org; unset: sample data.",
        key: " GTA API key, sent as `Authorization: APIKey <key>`.",
        api: GtaApi = "v2", " GTA API generation: v1 (seed, /api/v1/data/) or v2 (current, /api/v2/gta/data/).",
        timeout: "15s",
        cache_ttl: "1h", "GTA publishes new interventions daily",
        max_requests: DemandLimits::default().gta,
        budget: " Requests to GTA allowed per budget window, shared by every user of the gateway (e.g. your key's quota); unset: no budget.",
        budget_window: " GTA's budget window (with `--gta-budget`); unset: 1h.",
    }
}

source_section! {
    /// UN Comtrade.
    pub struct ComtradeConfig: "Comtrade", "comtrade", "COMTRADE" {
        url: " Comtrade base URL: https://comtrade.un.org (legacy) or https://comtradeapi.un.org (v1); unset: sample data.",
        key: " Legacy: the `token` (authorization code); v1: the subscription key (`Ocp-Apim-Subscription-Key`). Without it, legacy runs as guest and v1 uses the keyless preview (500 rows per request).",
        api: ComtradeApi = "v1", " Comtrade API generation: legacy (seed, /api/get) or v1 (current).",
        timeout: "30s",
        cache_ttl: "24h", "a closed period changes rarely; the budget is scarce",
        max_requests: DemandLimits::default().comtrade,
        budget: " Requests allowed per budget window. Default: legacy 100 as guest and 10,000 with a token (seed 004); v1 500 with a key (the free subscription's daily calls) and 100 keyless.",
        budget_window: " The budget window. Default: 1h, except v1 with a key: 24h.",
        /// Least time between two Comtrade requests, across all operations
        /// (seed 004: one request per second). "0s" turns pacing off.
        #[arg(id = "comtrade_interval", long = "comtrade-interval", env = "TRADE_GRAPH_COMTRADE_INTERVAL", value_parser = parse_duration, default_value = "1s")]
        pub interval: Duration,
    }
}

impl ComtradeConfig {
    /// The request budget in force: configured, or Comtrade's documented one
    /// for the dialect and whether a key is used.
    pub fn budget(&self, keyed: bool) -> Budget {
        let documented = crate::sources::comtrade::documented_budget(self.api.into(), keyed);
        Budget {
            limit: self.budget.unwrap_or(documented.limit),
            window: self.budget_window.unwrap_or(documented.window),
        }
    }
}

/// The Comtrade API generation, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ComtradeApi {
    Legacy,
    V1,
}

impl From<ComtradeApi> for ComtradeDialect {
    fn from(api: ComtradeApi) -> Self {
        match api {
            ComtradeApi::Legacy => ComtradeDialect::Legacy,
            ComtradeApi::V1 => ComtradeDialect::V1,
        }
    }
}

impl Config {
    /// The configuration from the command line and environment, checked as
    /// a whole ([`checks`]): exits with clap's message and status 2 on a
    /// refusal; returns the warnings to log once logging is set up.
    pub fn load() -> (Self, Vec<String>) {
        use clap::CommandFactory;
        let config = Self::parse();
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        let findings = checks::check(&config, names.iter().map(String::as_str));
        if !findings.refusals.is_empty() {
            Self::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    findings.refusals.join("\n       "),
                )
                .exit();
        }
        (config, findings.warnings)
    }

    /// The configuration with every default and no upstream: all sample.
    pub fn sample() -> Self {
        Self::parse_from(["trade-graph"])
    }
}

/// An API key from a flag or the environment: surrounding whitespace is
/// trimmed (a secret file's trailing newline), and a key that is empty or
/// holds a control character (a line break, a tab, an escape) is refused
/// at start-up: it cannot be what the upstream issued, and sent as a header
/// it would split the request. A parser of its own because clap's message
/// for a refused value repeats the value, and this one is a key.
#[derive(Clone, Copy, Debug)]
struct SecretParser;

impl TypedValueParser for SecretParser {
    type Value = Secret;

    fn parse_ref(
        &self,
        command: &clap::Command,
        argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Secret, clap::Error> {
        let name = argument.map_or_else(
            || "the key".to_owned(),
            |argument| match (argument.get_long(), argument.get_env()) {
                (Some(long), Some(env)) => format!("--{long} ({})", env.to_string_lossy()),
                (Some(long), None) => format!("--{long}"),
                _ => argument.get_id().to_string(),
            },
        );
        let refuse = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name} (not repeated: it is a key): {why}\n"),
            )
            .with_cmd(command)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("the key is not UTF-8"))?;
        secret_problem(value).map_or_else(|| Ok(Secret::new(value.trim())), |why| Err(refuse(&why)))
    }
}

/// What is wrong with `value` as an API key, in words that do not repeat
/// it; `None` when it will do.
fn secret_problem(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return Some("the key is empty".into());
    }
    // Upstream keys are ASCII, and an HTTP header carries nothing else
    // reliably: a key outside it would also be echoed back in spellings
    // (upper case, other normal forms) the scrubber cannot know (issue 23's
    // attack: `keyé123` came back to clients raw and as `KEYÉ123`).
    if let Some((position, other)) = value
        .chars()
        .enumerate()
        .find(|(_, character)| !character.is_ascii())
    {
        return Some(format!(
            "the key holds a character outside ASCII (U+{:04X}) at character {}; upstream API keys are ASCII: check how the variable or the file it comes from was written",
            u32::from(other),
            position + 1
        ));
    }
    let (position, control) = value
        .chars()
        .enumerate()
        .find(|(_, character)| character.is_control())?;
    let what = match control {
        '\n' | '\r' => "a line break",
        '\t' => "a tab",
        _ => "a control character",
    };
    Some(format!(
        "the key holds {what} (U+{:04X}) at character {}; an API key is one line of printable characters: check how the variable or the file it comes from was written",
        u32::from(control),
        position + 1
    ))
}

/// A Redis URL, checked for its scheme when the flags are read so that a
/// wrong one is named at start (the client would say
/// "InvalidClientConfig"). A parser of its own because clap's message for
/// a refused value repeats the value, and this one may hold a password.
#[derive(Clone, Copy, Debug)]
struct RedisUrlParser;

impl TypedValueParser for RedisUrlParser {
    type Value = Secret;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Secret, clap::Error> {
        let expected = "expected redis://[user:password@]host[:port][/db] or unix:///path/to/redis.sock (TLS, rediss://, is not built in: reach a TLS Redis through a local tunnel)";
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--redis-url (not repeated: it may hold a password): {why}: {expected}\n"),
            )
            .with_cmd(command)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("not UTF-8".into()))?
            .trim();
        let url = url::Url::parse(value).map_err(|_| refuse("not a URL".into()))?;
        match url.scheme() {
            "redis" if url.host().is_some() => Ok(Secret::new(value)),
            "redis" => Err(refuse("the URL has no host".into())),
            "unix" | "redis+unix" => Ok(Secret::new(value)),
            scheme => Err(refuse(format!("scheme {scheme:?} is not Redis"))),
        }
    }
}

/// An upstream's base URL (`--gta-url`, `--comtrade-url`, `--ita-url`).
/// A parser of its own for the reason `RedisUrlParser` is: clap's message
/// for a value a plain function refuses repeats the value, and a base URL
/// may hold a password (`http://user:password@host/`) or, by mistake, a key
/// in its path or query; the refusal says what is wrong and prints only the
/// value's scheme, host and port (`masked_base`), or nothing of it when it
/// does not parse.
#[derive(Clone, Copy, Debug)]
struct BaseUrlParser;

impl TypedValueParser for BaseUrlParser {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let option = argument
            .and_then(|argument| argument.get_long())
            .map_or_else(|| "the URL".to_owned(), |long| format!("--{long}"));
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{option}: {why}\n"),
            )
            .with_cmd(command)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("the value is not UTF-8".into()))?;
        parse_base_url(value).map_err(|why| match url::Url::parse(value) {
            Ok(_) => refuse(format!(
                "{why} (given {}, credentials and path not repeated)",
                masked_base(value)
            )),
            Err(_) => refuse(format!("{why} (not repeated: it may hold credentials)")),
        })
    }
}

/// `--graphiql-assets`, refused without clap repeating the value (it may
/// be a URL with credentials: `parse_graphiql_assets` repeats it only when
/// it cannot hold any).
#[derive(Clone, Copy, Debug)]
struct GraphiqlAssetsParser;

impl TypedValueParser for GraphiqlAssetsParser {
    type Value = GraphiqlAssets;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<GraphiqlAssets, clap::Error> {
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--graphiql-assets: {why}\n"),
            )
            .with_cmd(command)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("the value is not UTF-8".into()))?;
        parse_graphiql_assets(value).map_err(refuse)
    }
}

/// What a refusal may print of `value`: its scheme, host and port, with
/// `***@` for credentials and `…` for the rest (a path, query or fragment
/// can hold a key as well as the user part).
fn masked_base(value: &str) -> String {
    let Ok(url) = url::Url::parse(value) else {
        return String::new();
    };
    let credentials = if url.username().is_empty() && url.password().is_none() {
        ""
    } else {
        "***@"
    };
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let rest = if url.path().trim_matches('/').is_empty()
        && url.query().is_none()
        && url.fragment().is_none()
    {
        ""
    } else {
        "/…"
    };
    format!(
        "{}://{credentials}{}{port}{rest}",
        url.scheme(),
        url.host_str().unwrap_or("")
    )
}

/// Accepts http(s) URLs without query or fragment (they would be lost when
/// paths are appended). The error never holds the value.
fn parse_base_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|error| format!("not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "expected an http or https URL, got scheme {:?}",
            url.scheme()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL must not have a query or fragment".into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusal of `args`, as clap prints it.
    fn refusal(args: &[&str]) -> String {
        let mut all = vec!["trade-graph"];
        all.extend_from_slice(args);
        Config::try_parse_from(all)
            .err()
            .unwrap_or_else(|| panic!("{args:?} should be refused"))
            .to_string()
    }

    /// Issue 22: a refused URL option said `invalid value 'http://us3r:pa55w0rd@…'`.
    /// Every URL option, refused for each reason a URL can be, names itself
    /// and what is wrong, and repeats neither password nor key.
    #[test]
    fn refused_urls_never_repeat_their_credentials() {
        let key = "0f3a9c1e-5b7d-4e2a-9c8b-7d6e5f4a3b2c";
        let refused = [
            "http://us3r:pa55w0rd@127.0.0.1:99999/".to_owned(),
            format!("http://us3r:pa55w0rd@127.0.0.1:8080/?key={key}"),
            format!("http://us3r:pa55w0rd@127.0.0.1:8080/#{key}"),
            format!("https://gta.example/api?key={key}"),
            format!("ftp://us3r:pa55w0rd@gta.example/{key}"),
            "us3r:pa55w0rd@gta.example".to_owned(),
        ];
        for option in [
            "--gta-url",
            "--comtrade-url",
            "--ita-url",
            "--redis-url",
            "--graphiql-assets",
        ] {
            for value in &refused {
                // A mirror's URL may have a query: GraphiQL takes it.
                if option == "--graphiql-assets" && value.starts_with("https://gta.example") {
                    continue;
                }
                let message = refusal(&[option, value]);
                assert!(message.contains(option), "{option} {value}: {message}");
                assert!(!message.contains("pa55w0rd"), "{option}: {message}");
                assert!(!message.contains(key), "{option}: {message}");
            }
        }
        let port = refusal(&["--gta-url", "http://us3r:pa55w0rd@127.0.0.1:99999/"]);
        assert!(port.contains("invalid port number"), "{port}");
        let query = refusal(&["--ita-url", &refused[1]]);
        assert!(query.contains("must not have a query"), "{query}");
    }

    #[test]
    fn settings_that_cannot_work_are_refused_saying_what_is_accepted() {
        let zero_timeout = refusal(&["--gta-timeout", "0s"]);
        assert!(zero_timeout.contains("--gta-timeout"), "{zero_timeout}");
        assert!(
            zero_timeout.contains("expected more than zero"),
            "{zero_timeout}"
        );
        let banana = refusal(&["--gta-timeout", "banana"]);
        assert!(banana.contains(r#""banana" is not a duration"#), "{banana}");
        assert!(banana.contains(r#""500ms""#), "{banana}");
        assert!(!banana.contains("expected number at 0"), "{banana}");
        let body = refusal(&["--max-body-bytes", "0"]);
        assert!(body.contains("--max-body-bytes"), "{body}");
        assert!(
            body.contains("expected a whole number of at least 1"),
            "{body}"
        );
        let budget = refusal(&["--comtrade-budget", "0"]);
        assert!(budget.contains("--comtrade-budget"), "{budget}");
        assert!(budget.contains("0 would refuse"), "{budget}");
        let negative = refusal(&["--max-cost=-5"]);
        assert!(negative.contains("not a whole number"), "{negative}");
        let too_large = refusal(&["--gta-budget", "99999999999"]);
        assert!(
            too_large.contains("not a whole number in range"),
            "{too_large}"
        );
        let spelled = Config::try_parse_from(["trade-graph", "--max-cost", "2_000_000"])
            .expect("underscores group digits");
        assert_eq!(spelled.limits.max_cost, 2_000_000);
        let assets = refusal(&["--graphiql-assets", "not a url"]);
        assert!(
            assets.contains("is neither an http(s) URL nor a directory"),
            "{assets}"
        );
        let no_port = refusal(&["--listen", "localhost"]);
        assert!(no_port.contains("has no port"), "{no_port}");
        let bad_host = refusal(&["--listen", "not a host:80"]);
        assert!(
            bad_host.contains("neither an IP address nor a host name"),
            "{bad_host}"
        );
        let format = refusal(&["--log-format", "xml"]);
        assert!(format.contains("[possible values: text, json]"), "{format}");
    }

    #[test]
    fn listen_takes_host_names_as_well_as_addresses() {
        for listen in [
            "localhost:8080",
            "0.0.0.0:8080",
            "[::1]:8080",
            "gateway.internal:80",
        ] {
            let config = Config::parse_from(["trade-graph", "--listen", listen]);
            assert_eq!(config.listen, listen);
        }
    }

    #[test]
    fn defaults_are_all_sample_and_keys_never_print() {
        let config = Config::sample();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.gta.url.is_none());
        let config = Config::parse_from([
            "trade-graph",
            "--gta-url",
            "https://gta.example/",
            "--gta-key",
            "k3y-value",
        ]);
        assert_eq!(config.gta.url.as_deref(), Some("https://gta.example"));
        assert!(!format!("{config:?}").contains("k3y-value"));
        assert!(Config::try_parse_from(["trade-graph", "--gta-url", "ftp://x"]).is_err());
    }

    #[test]
    fn resilience_settings_have_an_all_default_and_per_source_overrides() {
        use crate::source::Source;
        let config = Config::parse_from([
            "trade-graph",
            "--retry-max-attempts",
            "4",
            "--comtrade-retry-max-attempts",
            "1",
            "--ita-breaker-open-for",
            "5s",
        ]);
        let policy = |source| {
            let overrides = config.resilience_overrides(source);
            (
                config.resilience.retry_policy(overrides).max_attempts,
                config.resilience.breaker_policy(overrides).open_for,
            )
        };
        assert_eq!(policy(Source::Gta), (4, Duration::from_secs(30)));
        assert_eq!(policy(Source::Comtrade), (1, Duration::from_secs(30)));
        assert_eq!(policy(Source::Ita), (4, Duration::from_secs(5)));
    }

    proptest::proptest! {
        /// Any key holding a control character, or any character outside
        /// ASCII, anywhere, by any of the three flags, is refused at
        /// start-up naming the flag, and the refusal holds no piece of the
        /// key.
        #[test]
        fn a_key_with_a_control_character_is_refused_without_echoing_it(
            before in "[A-Za-z0-9+/=_-]{6,24}",
            control in proptest::prop_oneof![
                proptest::char::range('\u{0}', '\u{1f}'),
                proptest::strategy::Just('\u{7f}'),
                proptest::char::range('\u{80}', '\u{9f}'),
                proptest::char::range('\u{a0}', '\u{10ffff}'),
            ],
            after in "[A-Za-z0-9+/=_-]{6,24}",
            flag in proptest::sample::select(vec!["--gta-key", "--comtrade-key", "--ita-key"]),
        ) {
            let key = format!("{before}{control}{after}");
            let refused = refusal(&[flag, &key]);
            proptest::prop_assert!(refused.contains(flag), "{}", refused);
            proptest::prop_assert!(refused.contains("not repeated"), "{}", refused);
            proptest::prop_assert!(!refused.contains(&before), "{}", refused);
            proptest::prop_assert!(!refused.contains(&after), "{}", refused);
        }

        /// Keys of printable characters are taken as given, less the
        /// whitespace around them (a secret file's final newline).
        #[test]
        fn a_printable_key_is_taken_trimmed(key in "[!-~]{1,64}", end in "[ \t\r\n]{0,3}") {
            let config = Config::try_parse_from([
                "trade-graph",
                "--gta-url",
                "https://gta.example",
                "--gta-key",
                &format!("{key}{end}"),
            ]);
            let config = config.map_err(|error| error.to_string());
            proptest::prop_assert!(config.is_ok(), "{:?}", config.err());
            let config = config.unwrap();
            proptest::prop_assert!(config.gta.key.as_ref().is_some_and(|taken| taken.is(&key)));
        }
    }
}
