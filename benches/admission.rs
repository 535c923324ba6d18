//! What shared admission (`--redis-url`) costs: the latency one admission
//! decision adds to an upstream request (budget reservation and pacing
//! slot, each one Lua script in Redis) against the in-process pacer, and
//! the Redis round trips one operation makes.
//!
//! Needs `redis-server` (Debian: `apt-get install redis-server`). Run:
//! `cargo bench --bench admission`. Prints Markdown for BENCHMARKS.md.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{free_port, Server};
use trade_graph::sources::admission::Admission;
use trade_graph::sources::http::Secret;
use trade_graph::sources::pacing::{Budget, ClientId, Pacer};
use trade_graph::sources::redis_link::RedisLink;
use trade_graph::sources::shared_admission::SharedAdmission;
use trade_graph::sources::Source;

/// Decisions timed per configuration.
const DECISIONS: usize = 5_000;

/// An interval that makes every request take a pacing slot without waiting
/// for it (Redis counts in milliseconds: 1 µs is a slot of 0 ms).
const TINY_INTERVAL: Duration = Duration::from_micros(1);

const BUDGET: Budget = Budget {
    limit: 1_000_000,
    window: Duration::from_secs(3600),
};

/// The flagship's Comtrade part: ten reporters, two requests of five codes.
const FLAGSHIP: &str = r#"{ jurisdictions(iso3: ["USA","CHN","DEU","JPN","GBR","FRA","IND","BRA","MEX","ZAF"]) {
  iso3 tradeFlows(periods: ["2022"]) { period flow value }
} }"#;

struct Redis(std::process::Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(port: u16) -> Redis {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs (apt-get install redis-server)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Redis(child)
}

/// Times `DECISIONS` admissions of one request each (reserve, take a turn,
/// commit), one after the other; returns each one's time.
async fn time_decisions(admission: &Admission) -> Vec<Duration> {
    let client = ClientId("bench".into());
    let mut times = Vec::with_capacity(DECISIONS);
    for _ in 0..DECISIONS {
        let started = Instant::now();
        let reservation = admission.reserve(&client).await.expect("within budget");
        admission.wait_turn(None).await.expect("no deadline");
        reservation.commit();
        times.push(started.elapsed());
    }
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(name: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "| {name} | {:.1} µs | {:.1} µs | {:.1} µs |",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    );
    percentile(&times, 0.5)
}

fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |value| value.parse().unwrap_or(0))
}

fn get(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::get(url)
            .await
            .expect("gateway answers")
            .text()
            .await
            .unwrap()
    })
}

fn post(url: &str, query: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/graphql"))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .expect("gateway answers")
            .json()
            .await
            .unwrap()
    })
}

/// Redis round trips of one flagship operation, cold then warm, through
/// the binary in sample mode.
fn round_trips(redis_url: &str) {
    let port = free_port();
    let mut command = Server::command(port);
    command
        .env("TRADE_GRAPH_REDIS_URL", redis_url)
        .env("TRADE_GRAPH_COMTRADE_INTERVAL", "1ms");
    let server = Server::start(command, port);
    println!();
    println!(
        "| flagship's Comtrade part (10 reporters) | Comtrade requests | Redis admission calls |"
    );
    println!("|---|---:|---:|");
    let mut before = (0, 0);
    for run in ["cold", "warm (cached)"] {
        let answer = post(&server.url, FLAGSHIP);
        assert!(answer.get("errors").is_none(), "{answer}");
        let metrics = get(&format!("{}/metrics", server.url));
        let requests = metric(
            &metrics,
            r#"trade_graph_upstream_requests_total{source="comtrade"}"#,
        );
        let calls = metric(
            &metrics,
            r#"trade_graph_upstream_admission_redis_calls_total{source="comtrade"}"#,
        );
        println!("| {run} | {} | {} |", requests - before.0, calls - before.1);
        before = (requests, calls);
    }
}

fn main() {
    let port = free_port();
    let _redis = start_redis(port);
    let redis_url = format!("redis://127.0.0.1:{port}/0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    println!("| admission of one upstream request ({DECISIONS} in a row) | p50 | p99 | mean |");
    println!("|---|---:|---:|---:|");
    let (local, shared, ping) = runtime.block_on(async {
        // The in-process pacer adds 20 ms of slack to any interval: without
        // one, its decision is the budget's alone, and no turn is waited for.
        let local = Admission::Local(Arc::new(Pacer::new(
            Source::Comtrade,
            Duration::ZERO,
            Some(BUDGET),
        )));
        let link = RedisLink::open(&Secret::new(redis_url.clone()))
            .await
            .expect("a Redis URL");
        // The floor: one round trip through the same link.
        let mut ping = Vec::with_capacity(DECISIONS);
        for _ in 0..DECISIONS {
            let started = Instant::now();
            link.call(|mut connection| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            })
            .await
            .expect("Redis answers");
            ping.push(started.elapsed());
        }
        let shared = Admission::Shared(SharedAdmission::new(
            Source::Comtrade,
            link,
            TINY_INTERVAL,
            Some(BUDGET),
            1.0,
            3,
            Pacer::new(Source::Comtrade, TINY_INTERVAL * 3, Some(BUDGET)),
            None,
        ));
        // Warm both (Redis loads its scripts on first use).
        let _ = time_decisions(&shared).await;
        let Admission::Shared(admission) = &shared else {
            unreachable!()
        };
        assert!(admission.is_shared(), "the decisions were taken in Redis");
        (
            time_decisions(&local).await,
            time_decisions(&shared).await,
            ping,
        )
    });
    row("one Redis PING through the same link (the floor)", ping);
    let local = row("in-process pacer (no `--redis-url`)", local);
    let shared = row("shared through Redis (budget script + slot script)", shared);
    println!(
        "\nadded per upstream request (p50): {:.0} µs, 2 Redis round trips",
        (shared.saturating_sub(local)).as_secs_f64() * 1e6
    );
    // Its own database: the decisions above filled this one's window.
    round_trips(&format!("redis://127.0.0.1:{port}/1"));
}
