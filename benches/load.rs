//! Load benchmark of the running binary on sample data with injected
//! upstream latency: cold latency of the flagship query against its critical
//! path, warm (cached) throughput and latency of the flagship and of a small
//! query at 1, 16 and 64 concurrent clients with the whole-response cache
//! off and on, and the server's peak RSS at 256 clients.
//!
//! The gateway runs in live mode against the sample simulator served from
//! this benchmark's own process, so that its CPU and memory are its own, as
//! in production; a last run measures the peak RSS of sample mode, where the
//! simulator and its data share the gateway's process.
//!
//! Side by side in the same run (issue 24 asks for it, since figures on a
//! busy machine compare only within one run): Hive Gateway with its response
//! cache on, serving the supergraph whose only subgraph is a trade-graph
//! live against the same simulator, on the same queries, clients and wrk
//! settings, checked to answer the same data; and its peak RSS. Skipped,
//! with a note, where Node or `.ci/federation`'s packages are missing
//! (`npm ci` there).
//!
//! Needs `wrk` (Debian: `apt-get install wrk`). Run:
//! `cargo bench --bench load`. Prints Markdown for BENCHMARKS.md.

mod support;
use support::FLAGSHIP;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{free_port, hive_gateway_version, peak_rss_mib, start_hive_gateway, Server};
use trade_graph::sample::{ComtradeRules, Simulator, SimulatorOptions};

/// Upstream latency the simulator adds to every answer.
const UPSTREAM_LATENCY_MS: u64 = 50;

/// A small query: one country's name and its 2022 flows.
const SMALL: &str =
    r#"{ jurisdiction(iso3: "BRA") { name tradeFlows(periods: ["2022"]) { value } } }"#;

/// The queries of the warm runs, by the name the tables give them.
const WARM_QUERIES: [(&str, &str); 2] = [("flagship", FLAGSHIP), ("small", SMALL)];

/// The client counts of the warm runs.
const WARM_CLIENTS: [u32; 3] = [1, 16, 64];

/// Run before the flagship on every fresh server: a different query, so the
/// flagship itself is not cached.
const WARM_UP: &str = r#"{ jurisdiction(iso3: "NOR") { tradeFlows(periods: ["2020"]) { value }
    officeLocations { post } tradeLeads { title } interventionsAffecting { items { id } } } }"#;

/// Fresh gateways the cold flagship is measured on.
const COLD_RUNS: usize = 5;

/// The simulated upstreams, served from this (the benchmark's) process, so
/// that the gateway's own memory and CPU are measured apart from theirs.
struct Upstreams {
    simulator: Simulator,
    // Owns the threads the simulator runs on; dropped after it.
    _runtime: tokio::runtime::Runtime,
}

fn start_upstreams() -> Upstreams {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let simulator = runtime
        .block_on(Simulator::start(SimulatorOptions {
            latency: Duration::from_millis(UPSTREAM_LATENCY_MS),
            comtrade: ComtradeRules {
                interval: Duration::ZERO,
                ..ComtradeRules::default()
            },
            ..SimulatorOptions::default()
        }))
        .expect("the simulator starts");
    Upstreams {
        simulator,
        _runtime: runtime,
    }
}

/// The gateway in live mode against `upstreams` (`None`: in sample mode,
/// with the simulator inside its own process, as `cargo run` starts it).
fn start_server(upstreams: Option<&Upstreams>) -> Server {
    start_server_with(upstreams, None)
}

/// Like [`start_server`], with the whole-response cache at `response_cache_mb`
/// (`None`: the default).
fn start_server_with(upstreams: Option<&Upstreams>, response_cache_mb: Option<u32>) -> Server {
    let port = free_port();
    let mut command = Server::command(port);
    if let Some(mb) = response_cache_mb {
        command.env("TRADE_GRAPH_RESPONSE_CACHE_MAX_MB", mb.to_string());
    }
    command
        .env(
            "TRADE_GRAPH_SAMPLE_LATENCY",
            format!("{UPSTREAM_LATENCY_MS}ms"),
        )
        // Pacing would put Comtrade's one-second interval on the critical
        // path; this measures the gateway, not Comtrade's rate limit.
        .env("TRADE_GRAPH_COMTRADE_INTERVAL", "0s");
    if let Some(upstreams) = upstreams {
        Server::live_against(&mut command, &upstreams.simulator.base_url());
    }
    Server::start(command, port)
}

/// One POST of the flagship; returns the response JSON and the time it took.
fn post(url: &str) -> (serde_json::Value, Duration) {
    let answer = post_query(url, FLAGSHIP);
    (answer.json, answer.time)
}

/// A GraphQL answer: its JSON, the size of its body (which the servers
/// compared must be close in) and the time it took.
struct Answer {
    json: serde_json::Value,
    bytes: usize,
    time: Duration,
}

fn post_query(url: &str, query: &str) -> Answer {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let response = client
            .post(format!("{url}/graphql"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "query": query }).to_string())
            .send()
            .await
            .unwrap();
        let body = response.bytes().await.unwrap();
        Answer {
            json: serde_json::from_slice(&body).unwrap(),
            bytes: body.len(),
            time: started.elapsed(),
        }
    })
}

/// The gateway's /metrics text.
fn metrics(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::get(format!("{url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}

/// Operations the gateway has answered, of every outcome: what shows that
/// a server in front of it answered from its own cache.
fn operations_answered(url: &str) -> f64 {
    metrics(url)
        .lines()
        .filter(|line| line.starts_with("trade_graph_operations_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Per source, the sum and count of upstream request durations, from /metrics.
fn upstream_seconds(url: &str) -> std::collections::HashMap<String, (f64, f64)> {
    let text = metrics(url);
    let mut seconds = std::collections::HashMap::new();
    for line in text.lines() {
        for (suffix, is_sum) in [("_sum{source=\"", true), ("_count{source=\"", false)] {
            let prefix = format!("trade_graph_upstream_request_duration_seconds{suffix}");
            if let Some(rest) = line.strip_prefix(&prefix) {
                let (source, value) = rest.split_once("\"} ").unwrap_or_default();
                let value: f64 = value.trim().parse().unwrap_or(0.0);
                let entry = seconds.entry(source.to_owned()).or_insert((0.0, 0.0));
                if is_sum {
                    entry.0 = value;
                } else {
                    entry.1 = value;
                }
            }
        }
    }
    seconds
}

struct WrkResult {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn wrk_duration(text: &str) -> f64 {
    let text = text.trim();
    let (number, factor) = if let Some(us) = text.strip_suffix("us") {
        (us, 0.001)
    } else if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1.0)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}

fn wrk(url: &str, connections: u32, seconds: u32, query: &str) -> WrkResult {
    let script = std::env::temp_dir().join(format!("trade-graph-load-{}.lua", std::process::id()));
    let mut file = std::fs::File::create(&script).unwrap();
    writeln!(file, "wrk.method = \"POST\"").unwrap();
    writeln!(file, "wrk.headers[\"Content-Type\"] = \"application/json\"").unwrap();
    let body = serde_json::json!({ "query": query }).to_string();
    writeln!(file, "wrk.body = {body:?}").unwrap();
    let threads = connections.clamp(1, 2).to_string();
    let output = Command::new("wrk")
        .args([
            "-t",
            &threads,
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("{url}/graphql"))
        .output()
        .expect("wrk runs (Debian: apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(prefix))
            .and_then(|line| line.split_whitespace().nth(1))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    WrkResult {
        requests_per_second: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50_ms: wrk_duration(&field("50%")),
        p99_ms: wrk_duration(&field("99%")),
    }
}

/// The servers of the warm table.
#[derive(Clone, Copy, PartialEq)]
enum Contender {
    TradeGraphCacheOff,
    TradeGraphCacheOn,
    HiveGatewayCacheOn,
}

/// One row of the warm table.
struct WarmRow {
    contender: Contender,
    query: &'static str,
    clients: u32,
    result: WrkResult,
}

/// One row of the peak RSS table: a server after its runs and 10 s at 256
/// clients of the flagship.
struct Peak {
    server: String,
    result: WrkResult,
    mib: f64,
}

/// wrk on `query` at each of [`WARM_CLIENTS`], 10 s each; every row is
/// printed as it is measured, so that a long run shows its progress.
fn warm_rows(
    url: &str,
    contender: Contender,
    server: &str,
    query_name: &'static str,
    query: &str,
) -> Vec<WarmRow> {
    WARM_CLIENTS
        .iter()
        .map(|&clients| {
            let result = wrk(url, clients, 10, query);
            println!(
                "| {server} | {query_name} | {clients} | {:.0} | {:.2} ms | {:.2} ms |",
                result.requests_per_second, result.p50_ms, result.p99_ms
            );
            WarmRow {
                contender,
                query: query_name,
                clients,
                result,
            }
        })
        .collect()
}

/// Hive Gateway (`version`) with its response cache, warm, on the warm
/// queries; then its peak RSS after 256 clients. Returns its rows, its peak
/// and a line on the answers' sizes.
///
/// Its only subgraph is a trade-graph of its own with default settings,
/// live against the same simulator: Hive answers every warm request from
/// its cache (checked: the subgraph answers no operation meanwhile), so
/// that process idles and only the Node process is measured. Each answer
/// is checked to carry the same `data` as trade-graph's own: Hive's is the
/// same answer without trade-graph's `extensions`.
fn hive_gateway_runs(upstreams: &Upstreams, version: &str) -> (Vec<WarmRow>, Peak, String) {
    let subgraph = start_server(Some(upstreams));
    let gateway = start_hive_gateway(&format!("{}/graphql", subgraph.url));
    let server = format!("Hive Gateway {version}, response cache on");
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    for (query_name, query) in WARM_QUERIES {
        let direct = post_query(&subgraph.url, query);
        assert!(direct.json.get("errors").is_none(), "{}", direct.json);
        // Fills Hive's cache (and, on the first query, loads its supergraph).
        post_query(&gateway.url, query);
        let before = operations_answered(&subgraph.url);
        let warm = post_query(&gateway.url, query);
        assert!(warm.json.get("errors").is_none(), "{}", warm.json);
        assert!(
            same_values(&warm.json["data"], &direct.json["data"]),
            "Hive Gateway answers the {query_name} with trade-graph's data: {} against {}",
            warm.json["data"],
            direct.json["data"]
        );
        rows.extend(warm_rows(
            &gateway.url,
            Contender::HiveGatewayCacheOn,
            &server,
            query_name,
            query,
        ));
        assert_eq!(
            operations_answered(&subgraph.url),
            before,
            "Hive Gateway answered every warm {query_name} from its response cache"
        );
        sizes.push(format!(
            "{query_name} {} bytes from trade-graph, {} from Hive Gateway",
            direct.bytes, warm.bytes
        ));
    }
    let result = wrk(&gateway.url, 256, 10, FLAGSHIP);
    let peak = Peak {
        server: format!("Hive Gateway {version} (one Node process; its trade-graph subgraph not counted), response cache on, after its runs above"),
        result,
        mib: peak_rss_mib(gateway.child.id()),
    };
    let sizes = format!(
        "Answer sizes (the same `data`; trade-graph's carries `extensions.upstream` too): {}.",
        sizes.join("; ")
    );
    (rows, peak, sizes)
}

/// Whether two answers hold the same values, numbers compared as numbers:
/// JavaScript writes a whole Float without its `.0` (Hive Gateway's
/// `763168613041` is trade-graph's `763168613041.0`), and field order is
/// not compared.
fn same_values(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_values(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| same_values(a, b)))
        }
        _ => a == b,
    }
}

/// Warm throughput at 16 clients (the issue's target: at least 10 times
/// Hive Gateway's), trade-graph's over Hive Gateway's, per query; nothing
/// where Hive Gateway did not run.
fn print_ratios(rows: &[WarmRow]) {
    let at_16 = |contender: Contender, query: &str| {
        rows.iter()
            .find(|row| row.contender == contender && row.query == query && row.clients == 16)
            .map(|row| row.result.requests_per_second)
    };
    println!("\n## trade-graph over Hive Gateway, warm, 16 clients, requests/s\n");
    println!("| query | trade-graph, cache on | trade-graph, cache off | Hive Gateway, cache on | cache on ÷ Hive | cache off ÷ Hive |\n|---|---:|---:|---:|---:|---:|");
    for (query, _) in WARM_QUERIES {
        let (Some(on), Some(off), Some(hive)) = (
            at_16(Contender::TradeGraphCacheOn, query),
            at_16(Contender::TradeGraphCacheOff, query),
            at_16(Contender::HiveGatewayCacheOn, query),
        ) else {
            continue;
        };
        println!(
            "| {query} | {on:.0} | {off:.0} | {hive:.0} | {:.1}× | {:.1}× |",
            on / hive,
            off / hive
        );
    }
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: apt-get install wrk");
        std::process::exit(1);
    }
    let upstreams = start_upstreams();
    // Cold runs: each on a fresh gateway process (an empty cache); the
    // simulator keeps its data between them. The figure is the median.
    let mut colds = Vec::new();
    let mut requests = String::new();
    let mut rounds = 1;
    for _ in 0..COLD_RUNS {
        let server = start_server(Some(&upstreams));
        // A different query first: it builds the simulator's sample data on
        // the first run and opens the gateway's upstream connections, as a
        // running gateway has them.
        post_query(&server.url, WARM_UP);
        let before = upstream_seconds(&server.url);
        let (cold, cold_time) = post(&server.url);
        assert!(cold.get("errors").is_none(), "{cold}");
        let after = upstream_seconds(&server.url);
        // The observed critical path: the slowest source's mean request time
        // in the cold run (its requests run in parallel), including the
        // simulator's own work behind the injected latency.
        let observed_critical_ms = ["gta", "comtrade", "ita"]
            .iter()
            .filter_map(|source| {
                let (sum_after, count_after) = after.get(*source).copied()?;
                let (sum_before, count_before) = before.get(*source).copied().unwrap_or((0.0, 0.0));
                let count = count_after - count_before;
                (count > 0.0).then(|| (sum_after - sum_before) / count * 1000.0)
            })
            .fold(0.0, f64::max);
        let upstream = &cold["extensions"]["upstream"];
        requests = ["gta", "comtrade", "ita"]
            .iter()
            .map(|source| format!("{source} {}", upstream[source]["requests"]))
            .collect::<Vec<_>>()
            .join(", ");
        // Every source's requests of the flagship go out in one round, in
        // parallel; GTA needs a second round only for follow-ups.
        if upstream["gta"]["requests"].as_u64().unwrap_or(0) > 1 {
            rounds = 2;
        }
        colds.push((cold_time.as_secs_f64() * 1000.0, observed_critical_ms));
    }
    colds.sort_by(|a, b| (a.0 - a.1).total_cmp(&(b.0 - b.1)));
    let (cold_ms, observed_critical_ms) = colds[colds.len() / 2];
    let overheads: Vec<String> = colds
        .iter()
        .map(|(cold, observed)| format!("{:.1}", cold - observed))
        .collect();
    let critical = UPSTREAM_LATENCY_MS * rounds;
    println!("## Flagship cold latency (10 countries: flows, offices, leads, interventions)\n");
    println!(
        "Median of {COLD_RUNS} runs, each on a fresh gateway; overheads of all runs, in ms: {}.\n",
        overheads.join(", ")
    );
    println!("| cold latency | critical path, nominal | critical path, observed | gateway overhead | upstream requests |\n|---:|---:|---:|---:|---|");
    println!(
        "| {cold_ms:.1} ms | {critical} ms ({rounds} round(s) × {UPSTREAM_LATENCY_MS} ms) | {observed_critical_ms:.1} ms | {:.1} ms | {requests} |\n",
        cold_ms - observed_critical_ms,
    );

    // Warm runs: one gateway per setting of the whole-response cache, its
    // caches filled by a first run of each query; then 10 s at 256 clients
    // for its peak RSS (with the cache on: every query kept).
    println!("## Warm (cached), wrk 10 s per row: trade-graph with its whole-response cache off and on, Hive Gateway with its response cache\n");
    println!(
        "| server | query | clients | requests/s | p50 | p99 |\n|---|---|---:|---:|---:|---:|"
    );
    let mut rows = Vec::new();
    let mut peaks = Vec::new();
    for (contender, setting, mb) in [
        (Contender::TradeGraphCacheOff, "off", 0),
        (Contender::TradeGraphCacheOn, "on (16 MiB)", 16),
    ] {
        let server = start_server_with(Some(&upstreams), Some(mb));
        let name = format!("trade-graph, response cache {setting}");
        post_query(&server.url, WARM_UP);
        for (query_name, query) in WARM_QUERIES {
            post_query(&server.url, query);
            let warm = post_query(&server.url, query).json;
            assert!(warm.get("errors").is_none(), "{warm}");
            for source in ["gta", "comtrade", "ita"] {
                assert_eq!(
                    warm["extensions"]["upstream"][source]["requests"], 0,
                    "warm runs from cache"
                );
            }
            rows.extend(warm_rows(&server.url, contender, &name, query_name, query));
        }
        let result = wrk(&server.url, 256, 10, FLAGSHIP);
        peaks.push(Peak {
            server: format!("gateway alone (live mode against the simulator in the benchmark's process), response cache {setting}, after its runs above"),
            result,
            mib: peak_rss_mib(server.child.id()),
        });
    }
    match hive_gateway_version() {
        Ok(version) => {
            let (hive_rows, peak, sizes) = hive_gateway_runs(&upstreams, &version);
            rows.extend(hive_rows);
            peaks.push(peak);
            println!("\n{sizes}");
            print_ratios(&rows);
        }
        Err(why) => println!("\nHive Gateway not run ({why}): no side-by-side rows."),
    }

    // The same server in sample mode, as `cargo run --release` starts it: the
    // simulator and its generated data live in the gateway's process.
    let sample = start_server(None);
    post_query(&sample.url, WARM_UP);
    let (flagship, _) = post(&sample.url);
    assert!(flagship.get("errors").is_none(), "{flagship}");
    let sample_result = wrk(&sample.url, 256, 10, FLAGSHIP);
    println!("\n## Peak RSS (VmHWM), after 10 s at 256 clients\n");
    println!("| server | 256 clients: requests/s | p99 | peak RSS |\n|---|---:|---:|---:|");
    for peak in peaks {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.1} MiB |",
            peak.server, peak.result.requests_per_second, peak.result.p99_ms, peak.mib
        );
    }
    println!(
        "| sample mode (`cargo run --release`: simulator and sample data in the same process), fresh | {:.0} | {:.2} ms | {:.1} MiB |",
        sample_result.requests_per_second,
        sample_result.p99_ms,
        peak_rss_mib(sample.child.id())
    );
}
