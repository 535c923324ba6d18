//! Subscription benchmark of the running binary: what 1,000 open
//! subscriptions cost the gateway (memory per subscription, CPU per event)
//! and the upstream (polls per interval), on one key and on 50, and how long
//! one event takes to reach every subscriber of its key.
//!
//! The gateway runs in live mode against the sample simulator served from
//! this benchmark's process, which publishes a new intervention every
//! 200 ms; the gateway polls every 200 ms. Run:
//! `cargo bench --bench subscriptions`. Prints Markdown for BENCHMARKS.md.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{cpu_seconds, free_port, rss_mib, Server};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use trade_graph::sample::{Simulator, SimulatorOptions};

/// How often the simulator publishes and the gateway polls.
const INTERVAL_MS: u64 = 200;
/// Subscriptions per WebSocket connection, and connections.
const PER_CONNECTION: usize = 20;
const CONNECTIONS: usize = 50;
/// How long each scenario runs once every subscription is open.
const MEASURED: Duration = Duration::from_secs(10);

/// When each subscription received each intervention id.
type Receipts = Arc<Mutex<HashMap<u64, Vec<Instant>>>>;

fn start_server(simulator: &Simulator) -> Server {
    let port = free_port();
    let mut command = Server::command(port);
    command
        .env(
            "TRADE_GRAPH_SUBSCRIPTION_POLL_INTERVAL",
            format!("{INTERVAL_MS}ms"),
        )
        .env(
            "TRADE_GRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION",
            PER_CONNECTION.to_string(),
        );
    Server::live_against(&mut command, &simulator.base_url());
    Server::start(command, port)
}

/// A counter or gauge of /metrics (0 when absent).
async fn metric(url: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Opens one connection with `PER_CONNECTION` subscriptions, the `n`th to
/// `key(n)`, recording each event's arrival; returns once all are open.
async fn connect(url: &str, first: usize, key: fn(usize) -> String, receipts: Receipts) {
    let ws = format!("{}/graphql", url.replacen("http", "ws", 1));
    let mut request = ws.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
    for n in first..first + PER_CONNECTION {
        let query = format!(
            "subscription {{ newInterventions{} {{ id title }} }}",
            key(n)
        );
        let message =
            json!({ "id": n.to_string(), "type": "subscribe", "payload": { "query": query } });
        socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).unwrap();
            if let Some(id) = message["payload"]["data"]["newInterventions"]["id"].as_u64() {
                let at = Instant::now();
                receipts.lock().unwrap().entry(id).or_default().push(at);
            } else if message["type"] == "next" {
                panic!("an event with errors: {message}");
            }
        }
    });
}

/// One scenario's figures.
struct Figures {
    keys: usize,
    rss_per_subscription_kib: f64,
    polls_per_interval: f64,
    gta_requests_per_interval: f64,
    cpu_ms_per_event: f64,
    delivered: usize,
    spread_p50_ms: f64,
    spread_max_ms: f64,
}

async fn scenario(simulator: &Simulator, keys: usize, key: fn(usize) -> String) -> Figures {
    let server = start_server(simulator);
    let pid = server.child.id();
    let url = server.url.clone();
    // A first request, so that the baseline counts a warm process.
    reqwest::get(format!("{url}/healthz")).await.unwrap();
    let rss_before = rss_mib(pid);
    let receipts: Receipts = Arc::default();
    for connection in 0..CONNECTIONS {
        connect(&url, connection * PER_CONNECTION, key, receipts.clone()).await;
    }
    let subscriptions = CONNECTIONS * PER_CONNECTION;
    // Every subscription open, and past the first events.
    while metric(&url, "trade_graph_subscriptions_open").await < subscriptions as f64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(4 * INTERVAL_MS)).await;
    let rss_open = rss_mib(pid);
    let polls_before = metric(
        &url,
        "trade_graph_subscription_polls_total{feed=\"interventions\"}",
    )
    .await;
    let gta_before = metric(&url, "trade_graph_upstream_requests_total{source=\"gta\"}").await;
    let cpu_before = cpu_seconds(pid);
    let delivered_before: usize = receipts.lock().unwrap().values().map(Vec::len).sum();
    tokio::time::sleep(MEASURED).await;
    let intervals = MEASURED.as_millis() as f64 / INTERVAL_MS as f64;
    let polls = metric(
        &url,
        "trade_graph_subscription_polls_total{feed=\"interventions\"}",
    )
    .await
        - polls_before;
    let gta =
        metric(&url, "trade_graph_upstream_requests_total{source=\"gta\"}").await - gta_before;
    let cpu = cpu_seconds(pid) - cpu_before;
    let receipts = receipts.lock().unwrap();
    let delivered: usize = receipts.values().map(Vec::len).sum::<usize>() - delivered_before;
    // Spread: first to last arrival of one event at the subscribers of its
    // key, over the events every subscriber of the key received.
    let per_event = subscriptions / keys;
    let mut spreads: Vec<f64> = receipts
        .values()
        .filter(|arrivals| arrivals.len() == per_event)
        .map(|arrivals| {
            let first = arrivals.iter().min().unwrap();
            let last = arrivals.iter().max().unwrap();
            last.duration_since(*first).as_secs_f64() * 1000.0
        })
        .collect();
    spreads.sort_by(f64::total_cmp);
    Figures {
        keys,
        rss_per_subscription_kib: (rss_open - rss_before) * 1024.0 / subscriptions as f64,
        polls_per_interval: polls / intervals,
        gta_requests_per_interval: gta / intervals,
        cpu_ms_per_event: cpu * 1000.0 / delivered.max(1) as f64,
        delivered,
        spread_p50_ms: spreads.get(spreads.len() / 2).copied().unwrap_or(f64::NAN),
        spread_max_ms: spreads.last().copied().unwrap_or(f64::NAN),
    }
}

/// The 50 implementers of the many-keys scenario: the ten the simulator
/// publishes for first, then others (which see no news: their polls still
/// cost).
const IMPLEMENTERS: [&str; 50] = [
    "USA", "CHN", "IND", "BRA", "DEU", "JPN", "GBR", "FRA", "CAN", "MEX", "ARG", "AUS", "AUT",
    "BEL", "CHL", "COL", "CZE", "DNK", "EGY", "FIN", "GRC", "HUN", "IDN", "IRL", "ISR", "ITA",
    "KEN", "KOR", "MAR", "MYS", "NGA", "NLD", "NOR", "NZL", "PAK", "PER", "PHL", "POL", "PRT",
    "ROU", "SAU", "SGP", "ESP", "SWE", "CHE", "THA", "TUR", "UKR", "VNM", "ZAF",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let simulator = runtime
        .block_on(Simulator::start(SimulatorOptions {
            publish_every: Some(Duration::from_millis(INTERVAL_MS)),
            ..SimulatorOptions::default()
        }))
        .expect("the simulator starts");
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let one_key = clients.block_on(scenario(&simulator, 1, |_| String::new()));
    let many_keys = clients.block_on(scenario(&simulator, IMPLEMENTERS.len(), |n| {
        format!(
            "(implementers: [\"{}\"])",
            IMPLEMENTERS[n % IMPLEMENTERS.len()]
        )
    }));
    println!(
        "## {} subscriptions on {CONNECTIONS} connections, news and polls every {INTERVAL_MS} ms, {} s measured\n",
        CONNECTIONS * PER_CONNECTION,
        MEASURED.as_secs()
    );
    println!("| keys | RSS per subscription | polls per interval | GTA requests per interval | events delivered | gateway CPU per event delivered | spread p50 | spread max |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for figures in [one_key, many_keys] {
        println!(
            "| {} | {:.1} KiB | {:.2} | {:.2} | {} | {:.3} ms | {:.1} ms | {:.1} ms |",
            figures.keys,
            figures.rss_per_subscription_kib,
            figures.polls_per_interval,
            figures.gta_requests_per_interval,
            figures.delivered,
            figures.cpu_ms_per_event,
            figures.spread_p50_ms,
            figures.spread_max_ms,
        );
    }
}
