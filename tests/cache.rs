//! The shared response cache and coalescing: a repeated query makes no
//! upstream request, identical concurrent operations cost what one costs,
//! and /metrics tells the same story.

mod common;

use std::time::Duration;

use common::{upstream_requests, TestGateway, TEST_COMTRADE_INTERVAL};
use serde_json::Value;
use trade_graph::sample::{ComtradeRules, SimulatorOptions};
use trade_graph::sources::Source;

const PROFILE: &str = r#"{ jurisdiction(iso3: "BRA") { name
    tradeFlows(periods: ["2021", "2022"]) { value }
    officeLocations { post } tradeLeads(limit: 3) { title } tradeEvents(limit: 2) { name }
    interventionsAffecting(limit: 5) { items { id } } interventionsImplemented(limit: 5) { items { id } } } }"#;

fn cache_hits(response: &Value, source: &str) -> u64 {
    response["extensions"]["upstream"][source]["cacheHits"]
        .as_u64()
        .unwrap()
}

fn simulator_total(gateway: &TestGateway) -> u64 {
    [Source::Gta, Source::Comtrade, Source::Ita]
        .into_iter()
        .map(|source| gateway.simulator.request_count(source))
        .sum()
}

/// The second run of a query makes no upstream request: every answer comes
/// from the cache, and says so.
#[tokio::test]
async fn the_second_run_makes_no_upstream_request() {
    let gateway = TestGateway::start().await;
    let first = gateway.query(PROFILE).await;
    assert!(first.get("errors").is_none(), "{first}");
    let sent = simulator_total(&gateway);
    assert_eq!(sent, 6, "2 GTA, 1 Comtrade, 3 ITA");
    let second = gateway.query(PROFILE).await;
    assert_eq!(first["data"], second["data"]);
    for source in ["gta", "comtrade", "ita"] {
        assert_eq!(upstream_requests(&second, source), 0, "{source}");
        assert_eq!(
            cache_hits(&second, source),
            upstream_requests(&first, source),
            "{source}"
        );
    }
    assert_eq!(simulator_total(&gateway), sent);
}

/// Eight identical cold operations at once cost what one costs: the sum of
/// their `requests` is what went over the wire, the rest are cache hits.
#[tokio::test]
async fn eight_concurrent_identical_operations_cost_one() {
    let options = SimulatorOptions {
        latency: Duration::from_millis(150),
        comtrade: ComtradeRules {
            interval: TEST_COMTRADE_INTERVAL,
            ..ComtradeRules::default()
        },
        ..SimulatorOptions::default()
    };
    let gateway = TestGateway::start_simulated("sample-key", options, &[]).await;
    let responses = futures::future::join_all((0..8).map(|_| gateway.query(PROFILE))).await;
    let mut requests = 0;
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"], responses[0]["data"]);
        for source in ["gta", "comtrade", "ita"] {
            requests += upstream_requests(response, source);
        }
    }
    assert_eq!(simulator_total(&gateway), 6, "what one operation costs");
    assert_eq!(
        requests, 6,
        "requests summed over operations equal the wire"
    );
    let metrics = gateway.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"trade_graph_upstream_coalesced_waits_total{source="gta"}"#),
        "{metrics}"
    );
}

/// A zero time to live stores nothing: the same query asks again.
#[tokio::test]
async fn a_zero_ttl_turns_caching_off_for_its_source() {
    let gateway = TestGateway::start_with(&["--gta-cache-ttl", "0s"]).await;
    let query = r#"{ jurisdiction(iso3: "BRA") { interventionsAffecting { items { id } } officeLocations { post } } }"#;
    gateway.query(query).await;
    let second = gateway.query(query).await;
    assert_eq!(upstream_requests(&second, "gta"), 1);
    assert_eq!(upstream_requests(&second, "ita"), 0);
}

/// /metrics counts requests, hits, coalesced waits, latency and errors by
/// source, and shows no key.
#[tokio::test]
async fn metrics_count_by_source() {
    let gateway = TestGateway::start().await;
    gateway.query(PROFILE).await;
    gateway.query(PROFILE).await;
    gateway
        .query(r#"{ tradeLeads(countries: ["MX"]) { totalCount } }"#)
        .await;
    let text = gateway.get_text("/metrics").await;
    assert!(
        text.contains(r#"trade_graph_upstream_requests_total{source="gta"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"trade_graph_upstream_cache_hits_total{source="ita"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"trade_graph_upstream_request_duration_seconds_count{source="comtrade"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains("sample-key"));
    gateway.simulator.inject_fault(
        Source::Gta,
        trade_graph::sample::Fault::Status {
            status: 500,
            body: String::new(),
        },
    );
    gateway
        .query(r#"{ interventions(limit: 3) { totalCount } }"#)
        .await;
    let text = gateway.get_text("/metrics").await;
    assert!(
        text.contains(
            r#"trade_graph_upstream_errors_total{source="gta",code="UPSTREAM_UNAVAILABLE"} 1"#
        ),
        "{text}"
    );
    // An answer that does not decode counts as an error of its own, and a
    // sent request.
    gateway
        .simulator
        .inject_fault(Source::Ita, trade_graph::sample::Fault::Malformed);
    gateway
        .query(r#"{ tradeEvents(countries: ["JP"]) { totalCount } }"#)
        .await;
    let text = gateway.get_text("/metrics").await;
    assert!(
        text.contains(
            r#"trade_graph_upstream_errors_total{source="ita",code="UPSTREAM_BAD_RESPONSE"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"trade_graph_upstream_requests_total{source="ita"} 5"#),
        "{text}"
    );
}
