//! When GTA fails, the gateway answers with a typed error that names the
//! source, nulls only GTA's fields, and never shows the API key: not in the
//! response, not in the logs.

mod common;

use std::time::Duration;

use common::{error_codes, logs, upstream_requests, TestGateway};
use serde_json::{json, Value};
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

const PROFILE: &str = r#"{
    jurisdiction(iso3: "BRA") { name iso3 interventionsAffecting(limit: 3) { items { id } } }
    jurisdictions(group: "G7") { iso3 }
}"#;

/// Checks a failed profile: the jurisdiction keeps its own fields, the GTA
/// field is null with one error of `code` naming the source and its path.
fn assert_only_gta_failed(response: &Value, code: &str) {
    assert_eq!(
        response["data"]["jurisdiction"]["name"], "Brazil",
        "{response}"
    );
    // Present and null, as the GraphQL spec asks, not left out.
    assert_eq!(
        response["data"]["jurisdiction"].get("interventionsAffecting"),
        Some(&Value::Null)
    );
    assert_eq!(
        response["data"]["jurisdictions"].as_array().map(Vec::len),
        Some(7)
    );
    assert_eq!(error_codes(response), [code], "{response}");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["source"], "gta");
    assert_eq!(
        error["path"],
        json!(["jurisdiction", "interventionsAffecting"])
    );
}

/// Server errors, refused credentials, malformed bodies and timeouts each get
/// their own code; other fields keep their data.
#[tokio::test]
async fn each_upstream_failure_has_its_code_and_costs_only_gta_fields() {
    logs();
    // One attempt each, and a breaker that stays closed: this is about
    // codes (tests/resilience.rs is about retries and the breaker).
    let gateway = TestGateway::start_with(&[
        "--gta-timeout",
        "300ms",
        "--retry-max-attempts",
        "1",
        "--breaker-failures",
        "100",
        "--breaker-failure-ratio",
        "0",
    ])
    .await;
    let cases = [
        (
            Fault::Status {
                status: 500,
                body: "{}".into(),
            },
            "UPSTREAM_UNAVAILABLE",
        ),
        (
            Fault::Status {
                status: 503,
                body: "down for maintenance".into(),
            },
            "UPSTREAM_UNAVAILABLE",
        ),
        (
            Fault::Status {
                status: 401,
                body: r#"{"detail": "no"}"#.into(),
            },
            "UPSTREAM_UNAUTHORIZED",
        ),
        (
            Fault::Status {
                status: 429,
                body: "{}".into(),
            },
            "UPSTREAM_RATE_LIMITED",
        ),
        (
            Fault::Status {
                status: 400,
                body: r#"{"detail": "Invalid filter"}"#.into(),
            },
            "UPSTREAM_REJECTED",
        ),
        (Fault::Malformed, "UPSTREAM_BAD_RESPONSE"),
        (Fault::Delay(Duration::from_secs(3)), "UPSTREAM_TIMEOUT"),
    ];
    for (fault, code) in cases {
        gateway.simulator.inject_fault(Source::Gta, fault.clone());
        let response = gateway.query(PROFILE).await;
        assert_only_gta_failed(&response, code);
        assert_eq!(upstream_requests(&response, "gta"), 1, "{fault:?}");
    }
    gateway.simulator.clear_fault(Source::Gta);
    let healthy = gateway.query(PROFILE).await;
    assert!(healthy.get("errors").is_none(), "{healthy}");
}

/// The upstream's own message is passed on for a rejected request.
#[tokio::test]
async fn rejected_requests_carry_the_upstreams_message() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 400,
            body: r#"{"detail": "Invalid filter"}"#.into(),
        },
    );
    let response = gateway.query("{ interventions { totalCount } }").await;
    assert_eq!(response["data"].get("interventions"), Some(&Value::Null));
    let error = &response["errors"][0];
    assert_eq!(
        error["message"],
        "gta rejected the request (HTTP 400): Invalid filter"
    );
    assert_eq!(error["extensions"]["status"], 400);
}

/// A wrong key is UPSTREAM_UNAUTHORIZED, and the key shows up nowhere: not in
/// errors (even when the upstream echoes it), not in logs.
#[tokio::test]
async fn api_keys_never_leak() {
    let logs = logs();
    const KEY: &str = "super-secret-gta-key-42";
    let gateway = TestGateway::start_keyed(KEY, &[]).await;
    let refused = gateway.query(PROFILE).await;
    assert_only_gta_failed(&refused, "UPSTREAM_UNAUTHORIZED");

    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 400,
            body: format!(r#"{{"detail": "bad request with key {KEY}"}}"#),
        },
    );
    let echoed = gateway.query(PROFILE).await;
    let message = echoed["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("***") && !message.contains(KEY),
        "{message}"
    );

    let health = gateway
        .http()
        .get(format!("{}/healthz", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [refused.to_string(), echoed.to_string(), health] {
        assert!(!text.contains(KEY), "key leaked: {text}");
    }
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("upstream request"),
        "requests are logged at debug level"
    );
    assert!(!logged.contains(KEY), "key leaked into the logs");
}
