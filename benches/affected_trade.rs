//! Affected trade (issue 20): for searches of 1 to 100 interventions, the
//! Comtrade requests one operation's `affectedTrade` fields make, against
//! the guarantee (one request per (implementer, year, flow) group), a lower
//! bound, and the same operation with batching off (every measure its own
//! plan). End to end against the sample simulator, pacing, budget and cache
//! off.
//!
//! The lower bound, per flow: a request is a cross product within the
//! dialect's limits, so the flow's distinct reporters need ceil(R / r)
//! requests, its distinct years ceil(Y / y), and each reporter's products in
//! a year (with the total) ceil(C / c); the bound is the largest of these,
//! summed over the flows.
//!
//! Run: `cargo bench --bench affected_trade`. Prints a Markdown table.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};
use trade_graph::sources::comtrade::planner::Limits;

mod support;
use support::unpaced_gateway as start;

const INTERVENTIONS: [usize; 6] = [1, 5, 10, 25, 50, 100];

/// Measures announced 2015-2021: the years before them are all published in
/// the sample (2000-2023), so no question falls back and every operation
/// asks one round.
const QUERY: &str = r#"query($limit: Int) { interventions(limit: $limit, filter: {
    interventionTypes: [IMPORT_TARIFF, ANTI_DUMPING, SAFEGUARD, EXPORT_BAN, EXPORT_TAX, IMPORT_QUOTA]
    announcementPeriod: { from: "2015-01-01", to: "2021-12-31" } }) {
  items { affectedProducts { hsCode } affectedTrade { year flow value reporterCodes } } } }"#;

async fn run(url: &str, client: &reqwest::Client, limit: usize) -> Value {
    let response: Value = client
        .post(format!("{url}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": QUERY, "variables": { "limit": limit } }).to_string())
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");
    assert!(response.get("errors").is_none(), "{response}");
    response
}

fn comtrade_requests(response: &Value) -> u64 {
    response["extensions"]["upstream"]["comtrade"]["requests"]
        .as_u64()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    println!(
        "### Comtrade: `interventions(limit: N) {{ items {{ affectedTrade {{ value }} }} }}`\n"
    );
    println!("| dialect | interventions | measures summed | (implementer, year, flow) groups | requests made | lower bound | made / groups | batching off |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (dialect, limits) in [("legacy", Limits::LEGACY), ("v1", Limits::V1)] {
        let on = start(dialect, true).await;
        let off = start(dialect, false).await;
        for limit in INTERVENTIONS {
            let response = run(&on, &client, limit).await;
            let made = comtrade_requests(&response);
            let without = comtrade_requests(&run(&off, &client, limit).await);
            // Groups, and per flow the reporters, years and each (reporter,
            // year)'s products, from the answers.
            let mut groups = BTreeSet::new();
            let mut summed = 0;
            type PerFlow = (
                BTreeSet<u64>,
                BTreeSet<u64>,
                BTreeMap<(u64, u64), BTreeSet<String>>,
            );
            let mut flows: BTreeMap<String, PerFlow> = BTreeMap::new();
            for item in response["data"]["interventions"]["items"]
                .as_array()
                .unwrap()
            {
                let trade = &item["affectedTrade"];
                if trade["value"].is_null() {
                    continue;
                }
                summed += 1;
                let year = trade["year"].as_u64().unwrap();
                let flow = trade["flow"].as_str().unwrap().to_owned();
                let (reporters, years, products) = flows.entry(flow.clone()).or_default();
                years.insert(year);
                for reporter in trade["reporterCodes"].as_array().unwrap() {
                    let reporter = reporter.as_u64().unwrap();
                    groups.insert((reporter, year, flow.clone()));
                    reporters.insert(reporter);
                    let codes = products.entry((reporter, year)).or_default();
                    codes.insert("TOTAL".to_owned());
                    for product in item["affectedProducts"].as_array().unwrap() {
                        codes.insert(product["hsCode"].as_str().unwrap().to_owned());
                    }
                }
            }
            let bound: usize = flows
                .values()
                .map(|(reporters, years, products)| {
                    let most_codes = products.values().map(BTreeSet::len).max().unwrap_or(1);
                    reporters
                        .len()
                        .div_ceil(limits.reporters)
                        .max(years.len().div_ceil(limits.periods))
                        .max(most_codes.div_ceil(limits.commodities))
                })
                .sum();
            println!(
                "| {dialect} | {limit} | {summed} | {} | {made} | {bound} | {:.2} | {without} |",
                groups.len(),
                made as f64 / groups.len().max(1) as f64
            );
        }
    }
}
