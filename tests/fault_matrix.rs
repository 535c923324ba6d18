//! The fault matrix: every source × every way an upstream fails. Each cell
//! asserts a typed error naming the failing source on that source's field
//! only, the other sources' data intact, and nothing cached: once the fault
//! is gone, the same operation asks the source again and is answered.
//! Retries and the breaker are off here (`--retry-max-attempts 1`): they
//! have their own tests in `tests/resilience.rs`.

mod common;

use serde_json::Value;

use common::{error_codes, TestGateway};
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

/// One field per source; `case` varies the arguments, so every case asks
/// upstream requests no earlier case cached.
fn profile(case: usize) -> String {
    format!(
        r#"{{ jurisdiction(iso3: "BRA") {{ name
            interventionsAffecting(limit: {limit}) {{ items {{ id }} }}
            tradeFlows(periods: ["{year}"]) {{ value }}
            tradeLeads(query: "tender {case}") {{ title }} }} }}"#,
        limit = case + 1,
        year = 2000 + case
    )
}

fn field(source: Source) -> &'static str {
    match source {
        Source::Gta => "interventionsAffecting",
        Source::Comtrade => "tradeFlows",
        Source::Ita => "tradeLeads",
    }
}

fn status(status: u16, body: &str) -> Fault {
    Fault::Status {
        status,
        body: body.into(),
    }
}

/// Only `failed`'s field is null, with one error of `code` naming it.
fn assert_only_failed(response: &Value, failed: Source, code: &str, what: &str) {
    assert_eq!(error_codes(response), [code], "{failed} {what}: {response}");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["source"], failed.name(), "{what}");
    assert_eq!(error["path"][1], field(failed), "{what}");
    // Every failure a client may retry says when.
    if ["UPSTREAM_UNAVAILABLE", "UPSTREAM_RATE_LIMITED"].contains(&code) {
        assert!(
            error["extensions"]["retryAfterSeconds"].as_u64() >= Some(1),
            "{failed} {what}: {error}"
        );
    }
    let jurisdiction = &response["data"]["jurisdiction"];
    assert_eq!(jurisdiction["name"], "Brazil");
    for source in Source::ALL {
        let value = &jurisdiction[field(source)];
        assert_eq!(
            value.is_null(),
            source == failed,
            "{failed} {what}: {source} {value}"
        );
    }
}

#[tokio::test]
async fn every_source_and_fault_fails_alone_with_its_code_and_is_not_cached() {
    let gateway = TestGateway::start_with(&[
        "--retry-max-attempts",
        "1",
        "--breaker-failures",
        "1000",
        "--breaker-failure-ratio",
        "0",
        "--gta-timeout",
        "300ms",
        "--comtrade-timeout",
        "300ms",
        "--ita-timeout",
        "300ms",
    ])
    .await;
    let faults = |source: Source| {
        let mut faults = vec![
            ("500", status(500, "{}"), "UPSTREAM_UNAVAILABLE"),
            ("502", status(502, "bad gateway"), "UPSTREAM_UNAVAILABLE"),
            (
                "401",
                status(401, r#"{"detail": "no"}"#),
                "UPSTREAM_UNAUTHORIZED",
            ),
            (
                "400",
                status(400, r#"{"message": "bad"}"#),
                "UPSTREAM_REJECTED",
            ),
            ("truncated JSON", Fault::Malformed, "UPSTREAM_BAD_RESPONSE"),
            (
                "not JSON",
                status(200, "<html>maintenance</html>"),
                "UPSTREAM_BAD_RESPONSE",
            ),
            (
                "timeout",
                Fault::Delay(std::time::Duration::from_secs(5)),
                "UPSTREAM_TIMEOUT",
            ),
            (
                "slow body",
                Fault::SlowBody(std::time::Duration::from_secs(5)),
                "UPSTREAM_TIMEOUT",
            ),
            (
                "truncated body",
                Fault::TruncatedBody,
                "UPSTREAM_UNAVAILABLE",
            ),
        ];
        if source == Source::Comtrade {
            faults.push(("409", status(409, "{}"), "UPSTREAM_RATE_LIMITED"));
        }
        faults
    };
    let mut case = 0;
    for source in Source::ALL {
        for (what, fault, code) in faults(source) {
            case += 1;
            let query = profile(case);
            gateway.simulator.inject_fault(source, fault);
            let response = gateway.query(&query).await;
            assert_only_failed(&response, source, code, what);
            gateway.simulator.clear_fault(source);
            let before = gateway.simulator.request_count(source);
            let recovered = gateway.query(&query).await;
            assert!(
                recovered.get("errors").is_none(),
                "{source} after {what}: {recovered}"
            );
            assert!(
                gateway.simulator.request_count(source) > before,
                "{source} after {what}: the failure was cached"
            );
        }
    }
}

/// A 503 or 429 that says when to come back (`Retry-After`) fails its
/// source alone, and holds that source, and only it, for every later
/// operation: refused with the time left, nothing sent (issue 22).
#[tokio::test]
async fn retry_after_fails_its_source_alone_and_holds_it() {
    let mut cases = Vec::new();
    for source in Source::ALL {
        for (status, code) in [
            (503, "UPSTREAM_UNAVAILABLE"),
            (429, "UPSTREAM_RATE_LIMITED"),
        ] {
            let fault = Fault::RetryAfter {
                status,
                seconds: 120,
            };
            cases.push((source, format!("{status} with Retry-After"), fault, code));
        }
    }
    // Comtrade's quota refusal says when usage resumes in its message.
    cases.push((
        Source::Comtrade,
        "403 quota".to_owned(),
        status(
            403,
            r#"{"message": "Out of call volume quota. Quota will be replenished in 00:10:00."}"#,
        ),
        "UPSTREAM_RATE_LIMITED",
    ));
    for (source, what, fault, code) in cases {
        {
            let gateway = TestGateway::start_with(&["--retry-max-attempts", "1"]).await;
            gateway.simulator.inject_fault(source, fault);
            let response = gateway.query(&profile(1)).await;
            assert_only_failed(&response, source, code, &what);
            gateway.simulator.clear_fault(source);
            let before = gateway.simulator.request_count(source);
            let held = gateway.query(&profile(2)).await;
            assert_only_failed(&held, source, "UPSTREAM_RATE_LIMITED", &what);
            assert_eq!(
                gateway.simulator.request_count(source),
                before,
                "{source} after {what}: sent while held"
            );
            // /healthz names the held source, and only it.
            let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
            let held = health["heldSeconds"].as_object().unwrap();
            assert_eq!(
                held.keys().collect::<Vec<_>>(),
                [source.name()],
                "{source} after {what}: {health}"
            );
            assert!(held[source.name()].as_u64() >= Some(1), "{health}");
        }
    }
}

/// A source whose address refuses connections fails alone.
#[tokio::test]
async fn a_refused_connection_fails_only_its_source() {
    // A port nothing listens on: bound, then released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for source in Source::ALL {
        let flag = format!("--{}-url", source.name());
        let gateway = TestGateway::start_with(&[&flag, &closed, "--retry-max-attempts", "1"]).await;
        let response = gateway.query(&profile(0)).await;
        assert_only_failed(
            &response,
            source,
            "UPSTREAM_UNAVAILABLE",
            "connection refused",
        );
    }
}
