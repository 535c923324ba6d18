//! Retries and the circuit breaker, end to end against the simulator's
//! fault injection: a flapping upstream is answered through a retry, a
//! Retry-After too long to wait for is passed on, a hung upstream costs one
//! timeout and then fails fast, and the breaker's state shows in /healthz
//! and /metrics. The waits involved are the configured ones, a few
//! milliseconds; the stages' own timing is tested with paused time in
//! `sources::retry` and `sources::breaker`.

mod common;

use std::time::Duration;

use serde_json::Value;

use common::{error_codes, upstream_requests, TestGateway};
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

const PROFILE: &str =
    r#"{ jurisdiction(iso3: "BRA") { name interventionsAffecting(limit: 2) { items { id } } } }"#;

/// Every 5xx a retry can change, then an answer: the operation is complete,
/// and `extensions.upstream` counts both attempts and the retry.
#[tokio::test]
async fn a_flapping_upstream_is_answered_through_a_retry() {
    let gateway = TestGateway::start_with(&["--retry-base-delay", "1ms"]).await;
    for status in [502, 503, 504] {
        gateway.simulator.inject_fault(
            Source::Gta,
            Fault::FirstRequests {
                times: 1,
                fault: Box::new(Fault::Status {
                    status,
                    body: "{}".into(),
                }),
            },
        );
        let query = PROFILE.replace("limit: 2", &format!("limit: {}", status - 500));
        let response = gateway.query(&query).await;
        assert!(response.get("errors").is_none(), "{status}: {response}");
        let gta = &response["extensions"]["upstream"]["gta"];
        assert_eq!(gta["requests"], 2, "{status}: {response}");
        assert_eq!(gta["retries"], 1, "{status}: {response}");
    }
}

/// Refusals another attempt cannot change are not retried.
#[tokio::test]
async fn refusals_are_not_retried() {
    let gateway = TestGateway::start_with(&["--retry-base-delay", "1ms"]).await;
    for (status, code) in [
        (500, "UPSTREAM_UNAVAILABLE"),
        (400, "UPSTREAM_REJECTED"),
        (401, "UPSTREAM_UNAUTHORIZED"),
        (429, "UPSTREAM_RATE_LIMITED"),
    ] {
        gateway.simulator.inject_fault(
            Source::Gta,
            Fault::Status {
                status,
                body: "{}".into(),
            },
        );
        let before = gateway.gta_requests();
        let response = gateway.query(PROFILE).await;
        assert_eq!(error_codes(&response), [code], "{status}: {response}");
        assert_eq!(gateway.gta_requests() - before, 1, "{status}");
        assert_eq!(response["extensions"]["upstream"]["gta"]["retries"], 0);
    }
}

/// A Retry-After longer than the gateway waits is not waited for: the error
/// carries it, for 429 and for 503 alike (each on its own gateway: the
/// first would hold GTA for the second).
#[tokio::test]
async fn a_long_retry_after_is_passed_on() {
    for (status, code) in [
        (429, "UPSTREAM_RATE_LIMITED"),
        (503, "UPSTREAM_UNAVAILABLE"),
    ] {
        let gateway = TestGateway::start().await;
        gateway.simulator.inject_fault(
            Source::Gta,
            Fault::RetryAfter {
                status,
                seconds: 120,
            },
        );
        let before = gateway.gta_requests();
        let response = gateway.query(PROFILE).await;
        assert_eq!(error_codes(&response), [code], "{response}");
        assert_eq!(
            response["errors"][0]["extensions"]["retryAfterSeconds"], 120,
            "{response}"
        );
        assert_eq!(gateway.gta_requests() - before, 1);
    }
}

/// A short Retry-After is waited for and the retry answers.
#[tokio::test]
async fn a_short_retry_after_is_honoured() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::FirstRequests {
            times: 1,
            fault: Box::new(Fault::RetryAfter {
                status: 429,
                seconds: 0,
            }),
        },
    );
    let response = gateway.query(PROFILE).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(upstream_requests(&response, "gta"), 2);
}

/// A hung upstream costs one timeout, then the breaker fails its requests
/// fast (no request sent) with when to retry; the other sources answer.
/// /healthz and /metrics show the breaker open.
#[tokio::test]
async fn a_hung_upstream_costs_one_timeout_then_fails_fast() {
    let gateway = TestGateway::start_with(&[
        "--gta-timeout",
        "200ms",
        "--retry-max-attempts",
        "1",
        "--breaker-failures",
        "1",
        "--breaker-open-for",
        "60s",
    ])
    .await;
    gateway
        .simulator
        .inject_fault(Source::Gta, Fault::Delay(Duration::from_secs(3600)));
    let response = gateway.query(PROFILE).await;
    assert_eq!(error_codes(&response), ["UPSTREAM_TIMEOUT"], "{response}");
    assert_eq!(gateway.gta_requests(), 1);

    let response = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { name interventionsImplemented(limit: 1) { items { id } } } }"#)
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_UNAVAILABLE"],
        "{response}"
    );
    let error = &response["errors"][0]["extensions"];
    assert_eq!(error["source"], "gta");
    let wait = error["retryAfterSeconds"].as_u64().unwrap();
    assert!((1..=60).contains(&wait), "{error}");
    assert_eq!(gateway.gta_requests(), 1, "failed fast, nothing sent");
    assert_eq!(response["data"]["jurisdiction"]["name"], "Brazil");

    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(health["breakers"]["gta"], "open", "{health}");
    assert_eq!(health["breakers"]["ita"], "closed", "{health}");
    let metrics = gateway.get_text("/metrics").await;
    assert!(
        metrics.contains("trade_graph_upstream_circuit_breaker_state{source=\"gta\"} 2"),
        "{metrics}"
    );
}

/// A 2xx answer whose envelope or rows changed is UPSTREAM_BAD_RESPONSE at
/// the JSON path, never an empty list, and never cached: the next operation
/// asks again.
#[tokio::test]
async fn drifted_answers_are_errors_and_are_not_cached() {
    let gateway = TestGateway::start_with(&["--retry-max-attempts", "1"]).await;
    let cases = [
        (
            Source::Comtrade,
            r#"{"elapsedTime": "0.1 secs", "count": 1, "rows": [{"period": "2022"}]}"#,
            r#"{ jurisdiction(iso3: "BRA") { tradeFlows(periods: ["2022"]) { value } } }"#,
            "data",
        ),
        (
            Source::Ita,
            r#"{"total": 1, "offset": 0, "results": [{"headline": "Port works", "nation": "MX"}]}"#,
            r#"{ tradeLeads(countries: ["MX"]) { items { title } } }"#,
            "results[0]",
        ),
    ];
    for (source, body, query, path) in cases {
        gateway.simulator.inject_fault(
            source,
            Fault::Status {
                status: 200,
                body: body.into(),
            },
        );
        for _ in 0..2 {
            let before = gateway.simulator.request_count(source);
            let response = gateway.query(query).await;
            assert_eq!(
                error_codes(&response),
                ["UPSTREAM_BAD_RESPONSE"],
                "{response}"
            );
            assert_eq!(
                response["errors"][0]["extensions"]["path"], path,
                "{response}"
            );
            assert_eq!(
                gateway.simulator.request_count(source) - before,
                1,
                "asked again: the failure was not cached"
            );
        }
        gateway.simulator.clear_fault(source);
    }
}

/// Comtrade's quota refusal (HTTP 403 from its API management layer) is a
/// rate limit with the wait it names, not "check the key".
#[tokio::test]
async fn a_comtrade_quota_refusal_is_a_rate_limit() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 403,
            body: r#"{"statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 01:00:05."}"#.into(),
        },
    );
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { tradeFlows(periods: ["2022"]) { value } } }"#)
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_RATE_LIMITED"],
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["extensions"]["retryAfterSeconds"],
        3605
    );
    assert_eq!(upstream_requests(&response, "comtrade"), 1, "not retried");
}

/// Stale-if-error: with the answer expired (a GTA time to live of zero) and
/// GTA down, the operation is answered from the kept copy and says so; with
/// no grace period, it fails.
#[tokio::test]
async fn a_stale_answer_is_served_and_flagged_when_the_upstream_is_down() {
    let down = Fault::Status {
        status: 503,
        body: "{}".into(),
    };
    let gateway =
        TestGateway::start_with(&["--gta-cache-ttl", "0s", "--retry-max-attempts", "1"]).await;
    let fresh = gateway.query(PROFILE).await;
    assert!(fresh.get("errors").is_none(), "{fresh}");
    assert!(fresh["extensions"]["upstream"]["gta"]
        .get("stale")
        .is_none());
    gateway.simulator.inject_fault(Source::Gta, down.clone());
    let stale = gateway.query(PROFILE).await;
    assert!(stale.get("errors").is_none(), "{stale}");
    assert_eq!(stale["data"], fresh["data"]);
    let flag = &stale["extensions"]["upstream"]["gta"]["stale"];
    assert_eq!(flag["answers"], 1, "{stale}");
    assert!(flag["oldestAgeSeconds"].as_u64().is_some(), "{stale}");
    assert_eq!(
        upstream_requests(&stale, "gta"),
        1,
        "the upstream was asked first"
    );
    let metrics = gateway.get_text("/metrics").await;
    assert!(
        metrics.contains("trade_graph_upstream_stale_answers_total{source=\"gta\"} 1"),
        "{metrics}"
    );

    let gateway = TestGateway::start_with(&[
        "--gta-cache-ttl",
        "0s",
        "--retry-max-attempts",
        "1",
        "--stale-grace",
        "0s",
    ])
    .await;
    assert!(gateway.query(PROFILE).await.get("errors").is_none());
    gateway.simulator.inject_fault(Source::Gta, down);
    let response = gateway.query(PROFILE).await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_UNAVAILABLE"],
        "{response}"
    );
}

/// One client's burst spends its share of Comtrade's budget and no more:
/// another client (told apart by its own API key header) is still served.
#[tokio::test]
async fn one_clients_burst_leaves_the_others_their_share() {
    let gateway = TestGateway::start_with(&[
        "--comtrade-budget",
        "8",
        "--comtrade-client-share",
        "0.25",
        "--client-id-header",
        "x-api-key",
    ])
    .await;
    let flows = |client: &'static str, year: u32| {
        let body = serde_json::json!({
            "query": format!(r#"{{ jurisdiction(iso3: "BRA") {{ tradeFlows(periods: ["{year}"]) {{ value }} }} }}"#)
        })
        .to_string();
        let request = gateway
            .http()
            .post(format!("{}/graphql", gateway.url))
            .header("content-type", "application/json")
            .header("x-api-key", client)
            .body(body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // A's share is 2 of the 8: its third request (a new year, so not
    // cached) is refused before anything is sent.
    for year in [2015, 2016] {
        let response = flows("client-a", year).await;
        assert!(response.get("errors").is_none(), "{response}");
    }
    let before = gateway.comtrade_requests();
    let refused = flows("client-a", 2017).await;
    assert_eq!(
        error_codes(&refused),
        ["UPSTREAM_BUDGET_EXHAUSTED"],
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("of 2 per"),
        "{refused}"
    );
    assert_eq!(gateway.comtrade_requests(), before, "nothing sent");
    // B still has its own share.
    for year in [2018, 2019] {
        let response = flows("client-b", year).await;
        assert!(response.get("errors").is_none(), "{response}");
    }
}

/// Two operations that each need 3 of the 5 requests left: the plan's
/// requests are reserved in one step, so one operation gets all three and
/// the other is refused whole, with nothing sent for it (a check that
/// took nothing let both start and the second fail half-way).
#[tokio::test]
async fn two_plans_cannot_both_be_promised_the_last_requests() {
    let gateway = TestGateway::start_with(&[
        "--comtrade-api",
        "legacy",
        "--comtrade-budget",
        "5",
        "--comtrade-client-share",
        "1",
    ])
    .await;
    // 15 reporters: three legacy requests of five, for one year each.
    let reporters = r#"["BRA", "IND", "CHN", "USA", "DEU", "FRA", "JPN", "GBR", "ITA", "CAN", "MEX", "ARG", "ZAF", "AUS", "KOR"]"#;
    let gateway = &gateway;
    let flows = |year: u32| {
        let query =
            format!(r#"{{ tradeFlows(reporters: {reporters}, periods: ["{year}"]) {{ value }} }}"#);
        async move { gateway.query(&query).await }
    };
    let (first, second) = tokio::join!(flows(2016), flows(2017));
    let mut answered = 0;
    for response in [&first, &second] {
        match error_codes(response).as_slice() {
            [] => {
                answered += 1;
                assert_eq!(upstream_requests(response, "comtrade"), 3, "{response}");
            }
            [code] if code == "UPSTREAM_BUDGET_EXHAUSTED" => {
                assert_eq!(upstream_requests(response, "comtrade"), 0, "{response}");
                let message = response["errors"][0]["message"].as_str().unwrap();
                assert!(
                    message.contains("needs 3 requests but only 2 of 5"),
                    "{message}"
                );
            }
            codes => panic!("unexpected errors {codes:?}: {response}"),
        }
    }
    assert_eq!(answered, 1, "{first}\n{second}");
    assert_eq!(
        gateway.comtrade_requests(),
        3,
        "only the answered plan was sent"
    );
}

/// An operator's budget for GTA (its key's quota) is kept like Comtrade's:
/// past it, GTA's fields fail with a typed error naming GTA and nothing is
/// sent, while the other sources answer.
#[tokio::test]
async fn an_operator_budget_holds_for_gta_too() {
    let gateway =
        TestGateway::start_with(&["--gta-budget", "1", "--gta-budget-window", "1h"]).await;
    let profile = |iso3: &str| {
        format!(
            r#"{{ jurisdiction(iso3: "{iso3}") {{ name interventionsAffecting(limit: 2) {{ items {{ id }} }} tradeLeads(limit: 1) {{ title }} }} }}"#
        )
    };
    let first = gateway.query(&profile("BRA")).await;
    assert!(first.get("errors").is_none(), "{first}");
    let sent = gateway.gta_requests();
    let second = gateway.query(&profile("IND")).await;
    assert_eq!(
        error_codes(&second),
        ["UPSTREAM_BUDGET_EXHAUSTED"],
        "{second}"
    );
    assert_eq!(
        second["errors"][0]["extensions"]["source"], "gta",
        "{second}"
    );
    assert!(second["data"]["jurisdiction"]["interventionsAffecting"].is_null());
    assert!(
        second["data"]["jurisdiction"]["tradeLeads"].is_array(),
        "{second}"
    );
    assert_eq!(gateway.gta_requests(), sent, "nothing sent past the budget");
}

/// `/readyz` takes a replica out of rotation while every source's breaker
/// is open, and only then: one source down is a partial answer, not an
/// unready replica. `/healthz` stays ok throughout (alive is not ready).
#[tokio::test]
async fn readiness_follows_the_breakers_of_every_source() {
    let gateway = TestGateway::start_with(&[
        "--retry-max-attempts",
        "1",
        "--breaker-failures",
        "1",
        "--breaker-open-for",
        "1h",
    ])
    .await;
    let ready = |gateway: &TestGateway| {
        let request = gateway.http().get(format!("{}/readyz", gateway.url));
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    assert_eq!(
        ready(&gateway).await,
        (200, serde_json::json!({ "status": "ready" }))
    );
    // A new country each round: nothing answered from the cache.
    let every_source = |iso3: &str| {
        format!(
            r#"{{ jurisdiction(iso3: "{iso3}") {{
                interventionsAffecting(limit: 1) {{ totalCount }}
                tradeFlows(periods: ["2022"], flow: EXPORT) {{ value }}
                officeLocations {{ city }} }} }}"#
        )
    };
    let mut failing = Vec::new();
    for (source, iso3) in [
        (Source::Gta, "BRA"),
        (Source::Comtrade, "IND"),
        (Source::Ita, "CHN"),
    ] {
        gateway.simulator.inject_fault(
            source,
            Fault::Status {
                status: 503,
                body: "{}".into(),
            },
        );
        failing.push(source);
        let answer = gateway.query(&every_source(iso3)).await;
        assert!(!error_codes(&answer).is_empty(), "{answer}");
        let (status, body) = ready(&gateway).await;
        if failing.len() < 3 {
            assert_eq!(status, 200, "{failing:?} open: {body}");
        } else {
            assert_eq!(status, 503, "{body}");
            assert_eq!(
                body["reasons"][0],
                "every source's circuit breaker is open (gta, comtrade, ita)"
            );
        }
    }
    let health = gateway.get_text("/healthz").await;
    assert!(health.contains(r#""status":"ok""#), "{health}");
}
