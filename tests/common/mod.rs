//! Starts the gateway for end-to-end tests: on `127.0.0.1:0`, with a sample
//! simulator the test can inject faults into and count requests on.
#![allow(dead_code)]

pub mod socket;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use trade_graph::config::Config;
use trade_graph::sample::{ComtradeRules, Simulator, SimulatorOptions, SAMPLE_KEY};
use trade_graph::sources::Source;

/// The Comtrade interval tests run at (the real one is a second).
pub const TEST_COMTRADE_INTERVAL: Duration = Duration::from_millis(10);

/// A running gateway and the simulator behind it. Dropping it stops both.
pub struct TestGateway {
    pub url: String,
    pub simulator: Simulator,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// The keys the gateway sends to each source.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    pub gta: &'a str,
    pub comtrade: &'a str,
    pub ita: &'a str,
}

impl Keys<'_> {
    /// The key the simulator expects, for every source.
    pub const SAMPLE: Keys<'static> = Keys {
        gta: SAMPLE_KEY,
        comtrade: SAMPLE_KEY,
        ita: SAMPLE_KEY,
    };
}

impl TestGateway {
    /// The gateway in front of a fresh simulator, GTA v2, sample key.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`TestGateway::start`], with extra command-line flags.
    pub async fn start_with(flags: &[&str]) -> Self {
        Self::start_keyed(SAMPLE_KEY, flags).await
    }

    /// The gateway sending `gateway_key` to GTA on a simulator that expects
    /// the sample key.
    pub async fn start_keyed(gateway_key: &str, flags: &[&str]) -> Self {
        let rules = ComtradeRules {
            interval: TEST_COMTRADE_INTERVAL,
            ..ComtradeRules::default()
        };
        Self::start_full(gateway_key, rules, flags).await
    }

    /// The gateway and a simulator enforcing `comtrade_rules`; the gateway
    /// paces Comtrade at the rules' interval.
    pub async fn start_full(gta_key: &str, comtrade_rules: ComtradeRules, flags: &[&str]) -> Self {
        Self::start_simulated(
            gta_key,
            SimulatorOptions {
                comtrade: comtrade_rules,
                ..SimulatorOptions::default()
            },
            flags,
        )
        .await
    }

    /// The gateway without a Comtrade key (v1's keyless preview), on a
    /// simulator enforcing `comtrade_rules`.
    #[allow(dead_code)]
    pub async fn start_keyless_comtrade(comtrade_rules: ComtradeRules) -> Self {
        let keys = Keys {
            comtrade: "",
            ..Keys::SAMPLE
        };
        let options = SimulatorOptions {
            comtrade: comtrade_rules,
            ..SimulatorOptions::default()
        };
        Self::start_with_keys(keys, options, &[]).await
    }

    /// The gateway in front of a simulator that publishes a new
    /// intervention and trade lead every `every`, its subscription feeds
    /// polling as often; `flags` on top.
    pub async fn start_publishing(every: Duration, flags: &[&str]) -> Self {
        let interval = humantime::format_duration(every).to_string();
        let mut all = vec!["--subscription-poll-interval", &interval];
        all.extend_from_slice(flags);
        let options = SimulatorOptions {
            publish_every: Some(every),
            ..SimulatorOptions::default()
        };
        Self::start_simulated(SAMPLE_KEY, options, &all).await
    }

    /// The gateway in front of a simulator started with `options`.
    pub async fn start_simulated(gta_key: &str, options: SimulatorOptions, flags: &[&str]) -> Self {
        let keys = Keys {
            gta: gta_key,
            ..Keys::SAMPLE
        };
        Self::start_with_keys(keys, options, flags).await
    }

    /// The gateway sending `keys` to a simulator started with `options`
    /// (which expects the sample key).
    pub async fn start_with_keys(
        keys: Keys<'_>,
        options: SimulatorOptions,
        flags: &[&str],
    ) -> Self {
        let comtrade_rules = options.comtrade;
        let simulator = Simulator::start(options).await.expect("simulator starts");
        let base_url = simulator.base_url();
        // The gateway spaces its sends by the interval, the simulator
        // measures arrivals: on a loaded machine (the suite's binaries run
        // side by side) an arrival can lag its send by a few milliseconds,
        // and two arrivals then come closer than the sends were. The gateway
        // paces with time to spare, as one would in front of the
        // real API, so that the simulator's 409 means a pacing bug, not a
        // busy scheduler. Half an interval (5 ms at the suite's 10 ms) was
        // not enough while other test binaries built beside it: the spare
        // is the interval plus 20 ms, so an arrival may lag by that much.
        let interval =
            humantime::format_duration(comtrade_rules.interval * 2 + Duration::from_millis(20))
                .to_string();
        let mut args = vec![
            "trade-graph",
            "--listen",
            "127.0.0.1:0",
            "--gta-url",
            &base_url,
            "--gta-key",
            keys.gta,
            "--comtrade-url",
            &base_url,
            "--comtrade-interval",
            &interval,
            "--ita-url",
            &base_url,
            "--ita-key",
            keys.ita,
            // The whole-response cache is off unless a test turns it on
            // (`--response-cache-max-mb 16` among `flags` overrides this):
            // these tests count what each operation asks of the upstreams.
            "--response-cache-max-mb",
            "0",
        ];
        // An empty Comtrade key: keyless (v1's preview, legacy's guest).
        if !keys.comtrade.is_empty() {
            args.extend_from_slice(&["--comtrade-key", keys.comtrade]);
        }
        args.extend_from_slice(flags);
        let config = Config::parse_from(args);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            trade_graph::server::run(listener, &config, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            url,
            simulator,
            server: Some(server),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            stop: Some(stop),
        }
    }

    /// POSTs a query (JSON in, JSON out) and returns the whole response body.
    pub async fn query(&self, query: &str) -> Value {
        self.query_with(query, json!({})).await
    }

    pub async fn query_with(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.url))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(
            response.status(),
            200,
            "GraphQL responses are 200 with application/json"
        );
        let response: Value = response.json().await.expect("a JSON body");
        registered_codes(&response);
        response
    }

    /// GETs a path of the gateway (e.g. `/healthz`) and returns the body text.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("gateway answers");
        response.text().await.expect("a text body")
    }

    /// A raw request builder for HTTP-level tests.
    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// GTA requests the simulator has received.
    pub fn gta_requests(&self) -> u64 {
        self.simulator.request_count(Source::Gta)
    }

    /// ITA requests the simulator has received.
    pub fn ita_requests(&self) -> u64 {
        self.simulator.request_count(Source::Ita)
    }

    /// Comtrade requests the simulator has received.
    pub fn comtrade_requests(&self) -> u64 {
        self.simulator.request_count(Source::Comtrade)
    }
}

impl TestGateway {
    /// Starts shutting the server down (as SIGTERM does) and returns the
    /// task that ends when the server has stopped.
    pub fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.take().expect("the server is running")
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `extensions.upstream.<source>.requests` of a response.
pub fn upstream_requests(response: &Value, source: &str) -> u64 {
    response["extensions"]["upstream"][source]["requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no extensions.upstream.{source}.requests in {response}"))
}

/// The error codes of a response, in order.
/// Every `extensions.code` in `response` is one of the registry's
/// (`trade_graph::error_codes`, which docs/clients.md lists): every
/// response a test reads through the helpers is held to it.
pub fn registered_codes(response: &Value) {
    for error in response["errors"].as_array().into_iter().flatten() {
        if let Some(code) = error["extensions"]["code"].as_str() {
            assert!(
                trade_graph::error_codes::find(code).is_some(),
                "extensions.code {code} is not in the registry (src/error_codes.rs): {error}"
            );
        }
    }
}

pub fn error_codes(response: &Value) -> Vec<String> {
    registered_codes(response);
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the recorded upstream payloads are: `TRADE_GRAPH_FIXTURES`, default
/// `../shared/fixtures` from the crate root.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("TRADE_GRAPH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    assert!(
        dir.is_dir(),
        "the recorded fixtures are missing at {} (set TRADE_GRAPH_FIXTURES)",
        dir.display()
    );
    dir
}

/// Asserts that each `(query, expected)` case is refused with
/// BAD_USER_INPUT and a message containing `expected`; returns the responses,
/// in order, for further checks.
pub async fn assert_bad_input(gateway: &TestGateway, cases: &[(&str, &str)]) -> Vec<Value> {
    let mut responses = Vec::with_capacity(cases.len());
    for (query, expected) in cases {
        let response = gateway.query(query).await;
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{query}: no error in {response}"));
        assert!(message.contains(expected), "{query}: {message}");
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{query}");
        responses.push(response);
    }
    responses
}

/// Every log line of this test binary, at every level.
pub fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("one subscriber per test binary");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A child process (a gateway, a Redis) killed when dropped.
pub struct ChildProcess(pub std::process::Child);

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the Redis at `url` holds a key matching `pattern` that
/// `wanted` accepts: what a replica stores in the background, waited for as
/// the event itself. The bound (a minute) only keeps a regression from
/// hanging the run.
pub async fn until_redis_holds(url: &str, pattern: &str, wanted: impl Fn(&str) -> bool) {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    for _ in 0..6_000 {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut connection)
            .await
            .unwrap();
        if keys.iter().any(|key| wanted(key)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("Redis never held a key {pattern}");
}

/// A `redis-server` on `port` (Debian's package; `.ci/run` installs it),
/// stopped when dropped.
pub struct Redis(#[allow(dead_code)] ChildProcess);

impl Redis {
    pub async fn start(port: u16) -> Self {
        Self::start_with(port, &[]).await
    }

    /// With more `redis-server` arguments (`--requirepass`, say).
    pub async fn start_with(port: u16, more: &[&str]) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(more)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        // Until it listens; a minute only keeps a regression from hanging.
        for _ in 0..1_200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self(ChildProcess(child))
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    #[allow(dead_code)]
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a frozen server (SIGCONT).
    #[allow(dead_code)]
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.0 .0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal}");
    }
}
