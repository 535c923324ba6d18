//! Batching: for query shapes from 1 to 200 jurisdictions (and 1 to 12
//! periods for Comtrade), the upstream requests the gateway makes (read from
//! `extensions.upstream`, end to end against the sample simulator, cache
//! off), the lower bound, and the same query with batching off
//! (`--batching false`).
//!
//! - Comtrade: lower bound ceil(R/5) × ceil(P/5) × ceil(Q/5) in legacy (the
//!   planner's own chunk sizes in v1); also what a resolver without batching
//!   would make (each jurisdiction's field on its own: ceil(P/5) requests in
//!   legacy, 1 in v1), which the measured "batching off" column should match.
//! - GTA `interventionsAffecting(limit: 5)`: lower bound 1 (one shared
//!   request has room for every page).
//! - ITA `tradeLeads(limit: 3)`: lower bound ceil(3N / 100) (pages of 100).
//!
//! Run: `cargo bench --bench batching`. Prints Markdown tables.

use std::time::Duration;

use serde_json::{json, Value};
use trade_graph::countries::{self, ComtradeDialect, ComtradeReporter};
use trade_graph::sources::comtrade::planner::{lower_bound, Limits};

mod support;
use support::unpaced_gateway as start;

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

/// The `source` requests one operation made.
async fn requests_of(
    url: &str,
    client: &reqwest::Client,
    query: &str,
    variables: Value,
    source: &str,
) -> u64 {
    let response: Value = client
        .post(format!("{url}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");
    assert!(response.get("errors").is_none(), "{response}");
    response["extensions"]["upstream"][source]["requests"]
        .as_u64()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    println!("### Comtrade: `jurisdictions(ids) {{ tradeFlows(periods) }}`, partner World\n");
    println!("| dialect | jurisdictions | periods | requests made | lower bound | made / bound | resolver without batching | batching off |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let flows = "query($ids: [Int!], $periods: [String!]!) { jurisdictions(ids: $ids) { tradeFlows(periods: $periods) { value } } }";
    for (dialect, name, limits) in [
        (ComtradeDialect::Legacy, "legacy", Limits::LEGACY),
        (ComtradeDialect::V1, "v1", Limits::V1),
    ] {
        let on = start(name, true).await;
        let off = start(name, false).await;
        for jurisdictions in JURISDICTIONS {
            let ids = reporters(dialect, jurisdictions);
            for periods in PERIODS {
                let years: Vec<String> = (0..periods).map(|i| (2023 - i).to_string()).collect();
                let variables = json!({ "ids": ids, "periods": years });
                let made = requests_of(&on, &client, flows, variables.clone(), "comtrade").await;
                let without = requests_of(&off, &client, flows, variables, "comtrade").await;
                let bound = lower_bound(jurisdictions, periods, 1, &limits);
                let per_field = jurisdictions * periods.div_ceil(limits.periods);
                println!(
                    "| {name} | {jurisdictions} | {periods} | {made} | {bound} | {:.2} | {per_field} | {without} |",
                    made as f64 / bound as f64
                );
            }
        }
    }

    let on = start("v1", true).await;
    let off = start("v1", false).await;
    println!("\n### GTA: `jurisdictions(ids) {{ interventionsAffecting(limit: 5) }}`\n");
    println!("| jurisdictions | requests made | lower bound | made / bound | batching off |\n|---:|---:|---:|---:|---:|");
    let affecting = "query($ids: [Int!]) { jurisdictions(ids: $ids) { interventionsAffecting(limit: 5) { items { id } } } }";
    for jurisdictions in JURISDICTIONS {
        let ids: Vec<u16> = countries::all()
            .iter()
            .take(jurisdictions)
            .map(|c| c.id.0)
            .collect();
        let made = requests_of(&on, &client, affecting, json!({ "ids": ids }), "gta").await;
        let without = requests_of(&off, &client, affecting, json!({ "ids": ids }), "gta").await;
        println!(
            "| {jurisdictions} | {made} | 1 | {:.2} | {without} |",
            made as f64
        );
    }

    println!(
        "\n### ITA: `jurisdictions(iso3) {{ tradeLeads(limit: 3) }}` over countries with a post\n"
    );
    println!("| jurisdictions | requests made | lower bound | made / bound | batching off |\n|---:|---:|---:|---:|---:|");
    let leads =
        "query($iso3: [String!]) { jurisdictions(iso3: $iso3) { tradeLeads(limit: 3) { title } } }";
    let posts: Vec<&str> = trade_graph::sample::ita_post_countries()
        .iter()
        .filter_map(|iso2| countries::by_iso2(iso2).map(|c| c.iso3))
        .collect();
    for jurisdictions in [1, 5, 10, 40, posts.len()] {
        let iso3 = &posts[..jurisdictions];
        let made = requests_of(&on, &client, leads, json!({ "iso3": iso3 }), "ita").await;
        let without = requests_of(&off, &client, leads, json!({ "iso3": iso3 }), "ita").await;
        let bound = (3 * jurisdictions).div_ceil(100);
        println!(
            "| {jurisdictions} | {made} | {bound} | {:.2} | {without} |",
            made as f64 / bound as f64
        );
    }
}
