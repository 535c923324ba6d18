//! Comtrade batching: for query shapes from 1 to 200 jurisdictions and 1 to
//! 12 periods, the upstream requests the gateway makes (read from
//! `extensions.upstream.comtrade.requests`, end to end against the sample
//! simulator), the lower bound ceil(R/5) × ceil(P/5) × ceil(Q/5) of the
//! legacy API, and what a resolver without batching would make (each
//! jurisdiction its own requests: ceil(P/5) in legacy, 1 in v1).
//!
//! Run: `cargo bench --bench comtrade_batching`. Prints a Markdown table.

use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};
use trade_graph::config::Config;
use trade_graph::countries::{self, ComtradeDialect, ComtradeReporter};
use trade_graph::sample::{ComtradeRules, Simulator, SimulatorOptions, SAMPLE_KEY};
use trade_graph::sources::comtrade::planner::{lower_bound, Limits};

const JURISDICTIONS: [usize; 6] = [1, 5, 10, 40, 100, 200];
const PERIODS: [usize; 4] = [1, 5, 8, 12];

/// GTA ids of the first `count` jurisdictions with distinct reporter codes of
/// their own in `dialect`.
fn reporters(dialect: ComtradeDialect, count: usize) -> Vec<u16> {
    let mut codes = Vec::new();
    let mut ids = Vec::new();
    for country in countries::all() {
        if let ComtradeReporter::Own(code) = country.comtrade(dialect) {
            if !codes.contains(&code) {
                codes.push(code);
                ids.push(country.id.0);
            }
        }
    }
    assert!(ids.len() >= count, "only {} reporters", ids.len());
    ids.truncate(count);
    ids
}

async fn requests_made(
    url: &str,
    client: &reqwest::Client,
    ids: &[u16],
    periods: &[String],
) -> u64 {
    let query = "query($ids: [Int!], $periods: [String!]!) { jurisdictions(ids: $ids) { tradeFlows(periods: $periods) { value } } }";
    let response: Value = client
        .post(format!("{url}/graphql"))
        .header("content-type", "application/json")
        .body(
            json!({ "query": query, "variables": { "ids": ids, "periods": periods } }).to_string(),
        )
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");
    assert!(response.get("errors").is_none(), "{response}");
    response["extensions"]["upstream"]["comtrade"]["requests"]
        .as_u64()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    println!("| dialect | jurisdictions | periods | requests made | lower bound | without batching | made / bound |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (dialect, name, limits) in [
        (ComtradeDialect::Legacy, "legacy", Limits::LEGACY),
        (ComtradeDialect::V1, "v1", Limits::V1),
    ] {
        // No pacing and no budget: this measures planning, not waiting.
        let simulator = Simulator::start(SimulatorOptions {
            comtrade: ComtradeRules {
                interval: Duration::ZERO,
                guest_per_hour: u32::MAX,
                keyed_per_hour: u32::MAX,
                max_rows: None,
            },
            ..SimulatorOptions::default()
        })
        .await
        .unwrap();
        let base = simulator.base_url();
        let config = Config::parse_from([
            "trade-graph",
            "--comtrade-url",
            &base,
            "--comtrade-key",
            SAMPLE_KEY,
            "--comtrade-api",
            name,
            "--comtrade-interval",
            "0s",
            "--comtrade-budget",
            "1000000",
        ]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            trade_graph::server::run(listener, &config, std::future::pending()).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        for jurisdictions in JURISDICTIONS {
            let ids = reporters(dialect, jurisdictions);
            for periods in PERIODS {
                let years: Vec<String> = (0..periods).map(|i| (2023 - i).to_string()).collect();
                let made = requests_made(&url, &client, &ids, &years).await;
                let bound = lower_bound(jurisdictions, periods, 1, &limits);
                let unbatched = jurisdictions * periods.div_ceil(limits.periods);
                println!(
                    "| {name} | {jurisdictions} | {periods} | {made} | {bound} | {unbatched} | {:.2} |",
                    made as f64 / bound as f64
                );
            }
        }
    }
}
