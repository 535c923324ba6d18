//! Rules that must hold on every path between the gateway and an upstream
//! (issue 22): keys never reach clients in any upstream value or encoding,
//! an upstream's answer is bounded, `Retry-After` holds a source for every
//! operation, and a hung upstream is detected within the operation's
//! deadline. Each test drives the simulator's faults and checks the wire
//! (what was sent) and the graph (what came back).

mod common;

use std::time::Duration;

use base64::Engine;
use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

const GTA_KEY: &str = "5f0c2a9e-31d4-4b8e-9a57-c0ffee15dead";
/// A key-shaped value of someone else's, as GTA's records carry them.
const RECORD_KEY: &str = "0b7e3c51-9f0a-4a26-8d1e-feedfacecafe";

const SEARCH: &str = r#"{ interventions(limit: 50) { items { id url stateActUrl } } }"#;

/// GTA's recorded data answers (every data prompt of the publisher's QA
/// run, as one answer), with
/// the redacted `key=` of its URLs put back as a key would be: the
/// operator's own in half of them, someone else's in the rest.
fn recorded_answer_with_keys() -> String {
    let recorded: Vec<Value> = serde_json::from_slice(
        &std::fs::read(
            common::fixtures()
                .join("gta")
                .join("v2_data_and_counts_sample_results_2026-02-12.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut seen = std::collections::HashSet::new();
    let records: Vec<&Value> = recorded
        .iter()
        .filter(|prompt| prompt["endpoint"] == "data")
        .filter_map(|prompt| prompt["sample_results"].as_array())
        .flatten()
        .filter(|record| seen.insert(record["intervention_id"].as_u64()))
        .take(50)
        .collect();
    let answer = serde_json::to_string(&records).unwrap();
    assert!(answer.matches("key=REDACTED").count() > 10, "{answer}");
    let mut out = String::new();
    for (index, part) in answer.split("key=REDACTED").enumerate() {
        if index > 0 {
            out.push_str("key=");
            out.push_str(if index % 2 == 0 { GTA_KEY } else { RECORD_KEY });
        }
        out.push_str(part);
    }
    out
}

/// Key-shaped parameters in the URLs of GTA's records reach no client:
/// neither the operator's key nor anyone else's; the URLs keep their shape.
#[tokio::test]
async fn key_shaped_url_parameters_never_reach_clients() {
    let gateway = TestGateway::start_keyed(GTA_KEY, &[]).await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Answer {
            body: recorded_answer_with_keys(),
        },
    );
    let response = gateway.query(SEARCH).await;
    let items = response["data"]["interventions"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"));
    assert!(items.len() >= 10, "{response}");
    let text = response.to_string();
    assert!(!text.contains(GTA_KEY), "the operator's key leaked: {text}");
    assert!(!text.contains(RECORD_KEY), "a record's key leaked: {text}");
    let url = items[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://globaltradealert.org/intervention/") && url.ends_with("?key=***"),
        "{url}"
    );
}

/// The key echoed in an error body in base64 (standard, URL-safe,
/// unpadded, inside a longer encoded text at any alignment) is scrubbed.
#[tokio::test]
async fn base64_forms_of_the_key_are_scrubbed_from_errors() {
    let gateway = TestGateway::start_keyed(GTA_KEY, &["--retry-max-attempts", "1"]).await;
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for engine in engines {
        for prefix in ["", "u", "us", "user:"] {
            let encoded = engine.encode(format!("{prefix}{GTA_KEY}"));
            gateway.simulator.inject_fault(
                Source::Gta,
                Fault::Status {
                    status: 400,
                    body: format!(r#"{{"detail": "bad Authorization: Basic {encoded}"}}"#),
                },
            );
            let response = gateway.query(SEARCH).await;
            assert_eq!(error_codes(&response), ["UPSTREAM_REJECTED"], "{response}");
            let message = response["errors"][0]["message"].as_str().unwrap();
            let key_core = &engine.encode(GTA_KEY)[..20];
            assert!(
                !message.contains(&encoded) && !message.contains(key_core),
                "{prefix:?}: {message}"
            );
        }
    }
}

/// An answer past `--max-upstream-answer-bytes` is refused as it streams
/// in, as UPSTREAM_BAD_RESPONSE naming the limit; the other sources answer
/// and the gateway goes on serving.
#[tokio::test]
async fn giant_answers_are_refused_as_they_stream_in() {
    let gateway = TestGateway::start_with(&[
        "--max-upstream-answer-bytes",
        "1000000",
        "--retry-max-attempts",
        "1",
    ])
    .await;
    gateway
        .simulator
        .inject_fault(Source::Ita, Fault::Huge { bytes: 40_000_000 });
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "MEX") { name officeLocations { post } } }"#)
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_BAD_RESPONSE"],
        "{response}"
    );
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1000000 bytes"), "{message}");
    assert_eq!(response["data"]["jurisdiction"]["name"], "Mexico");
    gateway.simulator.clear_fault(Source::Ita);
    let healthy = gateway
        .query(r#"{ jurisdiction(iso3: "MEX") { officeLocations { post } } }"#)
        .await;
    assert!(healthy.get("errors").is_none(), "{healthy}");
}

fn retry_after(response: &Value) -> u64 {
    response["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("{response}"))
}

/// A 429's `Retry-After` holds GTA for every operation until it passes:
/// the next operations are refused with the time left and send nothing.
#[tokio::test]
async fn retry_after_holds_the_source_for_every_operation() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::RetryAfter {
            status: 429,
            seconds: 30,
        },
    );
    let first = gateway.query(SEARCH).await;
    assert_eq!(error_codes(&first), ["UPSTREAM_RATE_LIMITED"], "{first}");
    assert_eq!(retry_after(&first), 30);
    let sent = gateway.gta_requests();
    assert_eq!(
        sent, 1,
        "a wait past --retry-max-retry-after is not retried"
    );
    gateway.simulator.clear_fault(Source::Gta);
    for iso3 in ["BRA", "IND", "ZAF"] {
        let response = gateway
            .query(&format!(
                r#"{{ jurisdiction(iso3: "{iso3}") {{ name interventionsAffecting(limit: 2) {{ totalCount }} }} }}"#
            ))
            .await;
        assert_eq!(
            error_codes(&response),
            ["UPSTREAM_RATE_LIMITED"],
            "{response}"
        );
        assert!((1..=30).contains(&retry_after(&response)), "{response}");
        assert_eq!(upstream_requests(&response, "gta"), 0, "{response}");
    }
    assert_eq!(gateway.gta_requests(), sent, "nothing sent while held");
    let metrics = gateway.get_text("/metrics").await;
    let held_until = metrics
        .lines()
        .find(|line| {
            line.starts_with("trade_graph_upstream_held_until_timestamp_seconds{source=\"gta\"}")
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        held_until > now && held_until <= now + 31,
        "{held_until} {now}"
    );
}

/// A `Retry-After` also holds the requests already waiting for their
/// pacing turn: with Comtrade paced at one a second, three operations at
/// once send one request; its 429 holds the other two, which were queued
/// behind it, and they are refused without being sent.
#[tokio::test]
async fn retry_after_holds_requests_already_waiting_their_turn() {
    let gateway = TestGateway::start_with(&["--comtrade-interval", "1s"]).await;
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::RetryAfter {
            status: 429,
            seconds: 30,
        },
    );
    let query = |reporter: &str| {
        format!(
            r#"{{ tradeFlows(reporters: ["{reporter}"], periods: ["2021"], flow: EXPORT) {{ value }} }}"#
        )
    };
    let (bra, ind, zaf) = (query("BRA"), query("IND"), query("ZAF"));
    let (a, b, c) = tokio::join!(
        gateway.query(&bra),
        gateway.query(&ind),
        gateway.query(&zaf),
    );
    for response in [&a, &b, &c] {
        assert_eq!(
            error_codes(response),
            ["UPSTREAM_RATE_LIMITED"],
            "{response}"
        );
    }
    assert_eq!(
        gateway.comtrade_requests(),
        1,
        "the two queued behind the 429 were held, not sent: {a} {b} {c}"
    );
}

/// `Retry-After` as an HTTP date is read too, and passed on as seconds.
#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let gateway = TestGateway::start().await;
    let at = std::time::SystemTime::now() + Duration::from_secs(120);
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::RetryAfterHeader {
            status: 503,
            value: httpdate::fmt_http_date(at),
        },
    );
    let first = gateway.query(SEARCH).await;
    assert_eq!(error_codes(&first), ["UPSTREAM_UNAVAILABLE"], "{first}");
    assert!((100..=121).contains(&retry_after(&first)), "{first}");
    let sent = gateway.gta_requests();
    gateway.simulator.clear_fault(Source::Gta);
    let held = gateway.query(SEARCH).await;
    assert_eq!(error_codes(&held), ["UPSTREAM_RATE_LIMITED"], "{held}");
    assert_eq!(gateway.gta_requests(), sent);
}

/// An upstream that hangs longer than the operation's deadline (its own
/// timeout is longer still) is detected: each attempt ends at the
/// deadline as a timeout the breaker counts, so the breaker opens and later
/// operations fail fast without sending anything.
#[tokio::test]
async fn a_hang_past_the_operation_deadline_opens_the_breaker() {
    let gateway = TestGateway::start_with(&[
        "--gta-timeout",
        "60s",
        "--operation-timeout",
        "1s",
        "--breaker-failures",
        "2",
        "--breaker-open-for",
        "60s",
    ])
    .await;
    gateway
        .simulator
        .inject_fault(Source::Gta, Fault::Delay(Duration::from_secs(3600)));
    for iso3 in ["BRA", "IND"] {
        let response = gateway
            .query(&format!(
                r#"{{ jurisdiction(iso3: "{iso3}") {{ name interventionsAffecting(limit: 2) {{ totalCount }} }} }}"#
            ))
            .await;
        let codes = error_codes(&response);
        assert!(
            codes == ["UPSTREAM_TIMEOUT"] || codes == ["DEADLINE_EXCEEDED"],
            "{response}"
        );
        // Retries are on (the default), but none could start before the
        // deadline: found by an attack, where two retries past the deadline
        // turned the timeout into a queueing refusal and their unsent
        // attempts counted as answers between the failures.
        assert_eq!(
            response["extensions"]["upstream"]["gta"]["retries"], 0,
            "{response}"
        );
    }
    assert_eq!(gateway.gta_requests(), 2);
    // The attempts end at the deadline in tasks of their own, which record
    // the timeouts as the answers go out: the breaker opens then, not
    // necessarily before the second answer arrives (a busy CI machine saw
    // "closed" here). Wait for the event; the bound (a minute) only keeps
    // a regression from hanging the run, far past any machine's delay.
    let mut health = Value::Null;
    for _ in 0..3_000 {
        health = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
        if health["breakers"]["gta"] == "open" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(health["breakers"]["gta"], "open", "{health}");
    let response = gateway.query(SEARCH).await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_UNAVAILABLE"],
        "{response}"
    );
    assert_eq!(gateway.gta_requests(), 2, "failed fast, nothing sent");
}

/// A huge string argument is refused before anything is sent, so one client
/// cannot make an upstream drop connections and open its breaker for all.
#[tokio::test]
async fn huge_string_arguments_are_refused_before_anything_is_sent() {
    let gateway = TestGateway::start().await;
    let huge = "tariff ".repeat(30_000);
    for _ in 0..3 {
        let response = gateway
            .query_with(
                "query Q($q: String) { tradeLeads(query: $q, limit: 1) { title } }",
                serde_json::json!({ "q": huge }),
            )
            .await;
        assert_eq!(error_codes(&response), ["ARGUMENT_TOO_LONG"], "{response}");
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("$q") && message.contains("1024"),
            "{message}"
        );
    }
    let literal = gateway
        .query(&format!(
            r#"{{ jurisdiction(iso3: "BRA") {{ tradeLeads(query: "{}") {{ title }} }} }}"#,
            "x".repeat(2000)
        ))
        .await;
    assert_eq!(error_codes(&literal), ["ARGUMENT_TOO_LONG"], "{literal}");
    assert_eq!(gateway.ita_requests(), 0, "nothing was sent upstream");
    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(health["breakers"]["ita"], "closed", "{health}");
}

/// A GET whose URL query is too long is a GraphQL request error with a
/// code (URI_TOO_LONG), whatever makes it long; one just within the bound
/// is executed.
#[tokio::test]
async fn an_overlong_get_is_refused_with_a_code() {
    let gateway = TestGateway::start().await;
    let bound = 32 * 1024;
    for (padding, refused) in [(bound - 200, false), (bound + 1, true), (60_000, true)] {
        let query = format!("{{ __typename }}#{}", "x".repeat(padding));
        let url = reqwest::Url::parse_with_params(
            &format!("{}/graphql", gateway.url),
            &[("query", query.as_str())],
        )
        .unwrap();
        let response = gateway
            .http()
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if refused {
            assert_eq!(status, 414, "{body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "URI_TOO_LONG",
                "{body}"
            );
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("POST"),
                "{body}"
            );
        } else {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["__typename"], "Query", "{body}");
        }
    }
}

/// A body past --max-body-bytes is a GraphQL request error with a code,
/// not axum's plain text.
#[tokio::test]
async fn an_oversized_body_is_refused_with_a_code() {
    let gateway = TestGateway::start_with(&["--max-body-bytes", "1000"]).await;
    let response = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": "{ __typename }", "x": "y".repeat(5000) }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BODY_TOO_LARGE",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1000 bytes"),
        "{body}"
    );
}

/// An upstream that ignores `limit` and answers more records than asked:
/// the page holds at most the limit, in one request (found by an attack:
/// ten items for `limit: 3`, the count of what was left wrapping around).
#[tokio::test]
async fn a_page_never_holds_more_than_its_limit() {
    let gateway = TestGateway::start_keyed(GTA_KEY, &[]).await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Answer {
            body: recorded_answer_with_keys(),
        },
    );
    let response = gateway
        .query("{ interventions(limit: 3) { items { id } } }")
        .await;
    let items = response["data"]["interventions"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(items.len(), 3, "{response}");
    assert_eq!(upstream_requests(&response, "gta"), 1, "{response}");
}
