//! What the benchmarks share: the gateway binary as a child process,
//! Hive Gateway in front of it, and reading their memory from /proc.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use trade_graph::config::Config;
use trade_graph::sample::{ComtradeRules, Simulator, SimulatorOptions, SAMPLE_KEY};

/// The flagship query of the load benches: ten countries' flows, offices,
/// leads and interventions.
pub const FLAGSHIP: &str = r#"{ jurisdictions(iso3: ["USA","CHN","DEU","JPN","GBR","FRA","IND","BRA","MEX","ZAF"]) {
  iso3 name
  tradeFlows(periods: ["2022"]) { period flow value }
  officeLocations { post city }
  tradeLeads(limit: 3) { title source }
  interventionsAffecting(limit: 5) { items { id title } }
} }"#;

/// A running gateway process; killed and reaped when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// The gateway binary's command, listening on `port`, logging warnings
    /// only, its output discarded; the caller adds its settings.
    pub fn command(port: u16) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trade-graph"));
        command
            .env("TRADE_GRAPH_LISTEN", format!("127.0.0.1:{port}"))
            .env("TRADE_GRAPH_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Points every source of `command` at the simulator at `base_url`
    /// (live mode, with the simulator's key).
    pub fn live_against(command: &mut Command, base_url: &str) {
        for source in ["GTA", "COMTRADE", "ITA"] {
            command
                .env(format!("TRADE_GRAPH_{source}_URL"), base_url)
                .env(format!("TRADE_GRAPH_{source}_KEY"), SAMPLE_KEY);
        }
    }

    /// Starts `command` (from [`Server::command`] with the same `port`) and
    /// returns once it accepts connections (panics after 10 s).
    pub fn start(mut command: Command, port: u16) -> Self {
        let child = command.spawn().expect("the trade-graph binary starts");
        // Owned by `Server` at once, so that it is killed and reaped on any exit.
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        assert!(
            listening_within(port, Duration::from_secs(10)),
            "server did not start"
        );
        server
    }
}

/// Whether something accepts connections on `port` within `timeout`.
fn listening_within(port: u16, timeout: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `.ci/federation`, where `npm ci` installs what the federation test runs:
/// Hive Gateway and Apollo's composition.
fn federation_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/federation")
}

/// Hive Gateway's command line, as the federation test runs it.
fn hive_gateway_bin() -> PathBuf {
    federation_dir().join("node_modules/.bin/hive-gateway")
}

/// Hive Gateway's version as installed in `.ci/federation`, or why it
/// cannot run here (no Node, or no `npm ci` there), for the benchmark to
/// print instead of its rows.
pub fn hive_gateway_version() -> Result<String, String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Err("Node is not installed".into());
    }
    let not_installed = || "not installed: run `npm ci` in .ci/federation".to_owned();
    if !hive_gateway_bin().exists() {
        return Err(not_installed());
    }
    let package = federation_dir().join("node_modules/@graphql-hive/gateway/package.json");
    let text = std::fs::read_to_string(&package).map_err(|_| not_installed())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(json["version"].as_str().unwrap_or("unknown").to_owned())
}

/// Hive Gateway's configuration for [`start_hive_gateway`]: its response
/// cache on, in its default in-memory store, one entry per operation and
/// variables for every client (`session: () => null`: trade-graph's
/// answers do not depend on who asks, and its own cache shares them the
/// same way), entries kept as long as the default (no TTL), which outlives
/// any run of a benchmark, as trade-graph's entries do.
const HIVE_GATEWAY_CONFIG: &str = "export const gatewayConfig = {
  responseCaching: { session: () => null },
};
";

/// Hive Gateway with its response cache on (see [`HIVE_GATEWAY_CONFIG`]),
/// serving the supergraph composed by Apollo's composition (as the
/// federation test composes it) from trade-graph's subgraph SDL alone,
/// with `subgraph_url` (a trade-graph's `/graphql`) as its only subgraph.
/// One Node process (Hive's default `--fork 1`), so that its peak RSS is
/// one process's; its output goes to a `hive-gateway.log` in a temporary
/// directory, named if it does not start. Call [`hive_gateway_version`]
/// first: this panics where that is an error.
pub fn start_hive_gateway(subgraph_url: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("trade-graph-hive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let services = serde_json::json!([
        { "name": "trade-graph", "url": subgraph_url, "sdl": trade_graph::graph::subgraph_sdl() },
    ]);
    let services_path = dir.join("services.json");
    std::fs::write(&services_path, services.to_string()).unwrap();
    let supergraph = dir.join("supergraph.graphql");
    let status = Command::new("node")
        .arg(federation_dir().join("compose.mjs"))
        .arg(&supergraph)
        .arg(&services_path)
        .current_dir(federation_dir())
        .stdout(Stdio::null())
        .status()
        .expect("node runs");
    assert!(status.success(), "composition failed: see the errors above");
    let config = dir.join("gateway.config.mjs");
    std::fs::write(&config, HIVE_GATEWAY_CONFIG).unwrap();
    let log_path = dir.join("hive-gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let child = Command::new(hive_gateway_bin())
        .arg("supergraph")
        .arg(&supergraph)
        .arg("--config-path")
        .arg(&config)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .current_dir(federation_dir())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("hive-gateway starts");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Node loads the gateway's modules first: slower than trade-graph on a
    // busy machine.
    assert!(
        listening_within(port, Duration::from_secs(120)),
        "Hive Gateway did not start: see {}",
        log_path.display()
    );
    server
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A line of `/proc/<pid>/status` (e.g. `VmHWM`), in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Peak resident set size of `pid`, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

/// Resident set size of `pid` now, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// CPU time `pid` has used (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) end with ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// A gateway in this process on its own simulator, with no pacing, budget,
/// cache or per-operation maximum (planning is measured past them), and
/// batching on or off; `dialect` is Comtrade's. The servers live as long
/// as the process.
pub async fn unpaced_gateway(dialect: &str, batching: bool) -> String {
    let simulator = Simulator::start(SimulatorOptions {
        comtrade: ComtradeRules {
            interval: Duration::ZERO,
            guest: trade_graph::sources::pacing::Budget {
                limit: u32::MAX,
                window: std::time::Duration::from_secs(3600),
            },
            keyed: trade_graph::sources::pacing::Budget {
                limit: u32::MAX,
                window: std::time::Duration::from_secs(3600),
            },
            max_rows: None,
        },
        ..SimulatorOptions::default()
    })
    .await
    .unwrap();
    let base = simulator.base_url();
    std::mem::forget(simulator);
    let batching = batching.to_string();
    let config = Config::parse_from([
        "trade-graph",
        "--gta-url",
        &base,
        "--gta-key",
        SAMPLE_KEY,
        "--ita-url",
        &base,
        "--ita-key",
        SAMPLE_KEY,
        "--comtrade-url",
        &base,
        "--comtrade-key",
        SAMPLE_KEY,
        "--comtrade-api",
        dialect,
        "--comtrade-interval",
        "0s",
        "--comtrade-budget",
        "1000000",
        "--batching",
        &batching,
        "--cache-max-mb",
        "0",
        "--gta-cache-ttl",
        "0s",
        "--comtrade-cache-ttl",
        "0s",
        "--ita-cache-ttl",
        "0s",
        "--gta-max-requests",
        "100000",
        "--comtrade-max-requests",
        "100000",
        "--ita-max-requests",
        "100000",
        "--max-cost",
        "100000000",
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        trade_graph::server::run(listener, &config, std::future::pending()).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    url
}
