//! End to end over HTTP: Comtrade flows through the planner, against the
//! simulator, in both dialects; the wire is read back from the simulator.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sample::{ComtradeRules, Fault, RecordedRequest};
use trade_graph::sources::Source;

fn query_params(request: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect()
}

fn codes(value: &str) -> Vec<&str> {
    value.split(',').collect()
}

fn flows(response: &Value, path: &[&str]) -> Vec<Value> {
    let mut value = &response["data"];
    for step in path {
        value = &value[*step];
    }
    value
        .as_array()
        .unwrap_or_else(|| panic!("no flows at {path:?} in {response}"))
        .clone()
}

/// The codes on the wire are Comtrade's own, by dialect: USA 842, Norway
/// 579, Italy 381 (legacy) or 380 (v1); Monaco shares France's 251, asked once.
#[tokio::test]
async fn wire_codes_are_comtrades_own_in_each_dialect() {
    let query = r#"{ tradeFlows(reporters: ["USA", "NOR", "ITA", "FRA", "MCO"], periods: ["2020"]) { reporterCode reporter { iso3 } } }"#;
    for (dialect, italy) in [("legacy", "381"), ("v1", "380")] {
        let gateway = TestGateway::start_with(&["--comtrade-api", dialect]).await;
        let response = gateway.query(query).await;
        assert!(response.get("errors").is_none(), "{response}");
        let requests = gateway.simulator.recorded_requests(Source::Comtrade);
        assert_eq!(requests.len(), 1, "{dialect}");
        let params = query_params(&requests[0]);
        let reporters = params
            .get(if dialect == "legacy" {
                "r"
            } else {
                "reporterCode"
            })
            .unwrap();
        let mut sent = codes(reporters);
        sent.sort();
        let mut expected = vec!["842", "579", italy, "251"];
        expected.sort();
        assert_eq!(sent, expected, "{dialect}");
        let reporters: Vec<_> = flows(&response, &["tradeFlows"])
            .iter()
            .map(|f| f["reporterCode"].as_i64().unwrap())
            .collect();
        assert!(reporters.contains(&italy.parse().unwrap()), "{dialect}");
    }
}

/// A cross product of 12 jurisdictions × 7 years costs the lower bound on
/// the legacy API, ceil(12/5) × ceil(7/5) = 6 requests, none over the limits,
/// and every jurisdiction gets its own flows.
#[tokio::test]
async fn legacy_batches_meet_the_lower_bound() {
    let gateway = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    let response = gateway
        .query(
            r#"{ jurisdictions(iso3: ["USA","CHN","DEU","JPN","FRA","ITA","GBR","IND","BRA","CAN","MEX","KOR"]) {
                iso3 tradeFlows(periods: ["2015","2016","2017","2018","2019","2020","2021"], flow: EXPORT) { period value reporter { iso3 } flow }
            } }"#,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(upstream_requests(&response, "comtrade"), 6);
    assert_eq!(gateway.comtrade_requests(), 6);
    for request in gateway.simulator.recorded_requests(Source::Comtrade) {
        let params = query_params(&request);
        for name in ["r", "p", "ps"] {
            assert!(
                codes(&params[name]).len() <= 5,
                "{name} in {}",
                request.query
            );
        }
        assert_eq!(params["rg"], "2");
        assert_eq!(params["fmt"], "json");
    }
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        let own = jurisdiction["tradeFlows"].as_array().unwrap();
        assert_eq!(
            own.len(),
            7,
            "one export row a year for {}",
            jurisdiction["iso3"]
        );
        assert!(own
            .iter()
            .all(|f| f["reporter"]["iso3"] == jurisdiction["iso3"] && f["flow"] == "EXPORT"));
    }
}

/// A batched jurisdiction gets exactly the rows it gets when asked alone.
#[tokio::test]
async fn batched_rows_equal_rows_asked_alone() {
    let gateway = TestGateway::start().await;
    let batched = gateway
        .query(r#"{ jurisdictions(group: "G7") { iso3 tradeFlows(periods: ["2022"], partners: ["World", "CHN"]) { partnerCode flow value } } }"#)
        .await;
    assert_eq!(
        upstream_requests(&batched, "comtrade"),
        1,
        "v1 packs the G7 into one request"
    );
    for member in batched["data"]["jurisdictions"].as_array().unwrap() {
        let iso3 = member["iso3"].as_str().unwrap();
        let alone = gateway
            .query(&format!(r#"{{ tradeFlows(reporters: ["{iso3}"], periods: ["2022"], partners: ["World", "CHN"]) {{ partnerCode flow value }} }}"#))
            .await;
        assert_eq!(member["tradeFlows"], alone["data"]["tradeFlows"], "{iso3}");
        assert!(
            !member["tradeFlows"].as_array().unwrap().is_empty(),
            "{iso3}"
        );
    }
}

/// v1 asks for totals only, and rows come back as totals.
#[tokio::test]
async fn v1_asks_for_totals_over_customs_and_transport() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["CHN"], partners: ["ARG", "DEU"], periods: ["2010"], commodities: ["TOTAL", "27"]) { partnerCode commodityCode flow value netWeightKg } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let request = &gateway.simulator.recorded_requests(Source::Comtrade)[0];
    assert_eq!(request.path, "/data/v1/get/C/A/HS");
    let params = query_params(request);
    assert_eq!(
        (
            params["customsCode"].as_str(),
            params["motCode"].as_str(),
            params["partner2Code"].as_str()
        ),
        ("C00", "0", "0")
    );
    assert_eq!(params["cmdCode"], "27,TOTAL");
    // No flow named: the four flows both API generations publish, asked
    // for by name (v1 alone would answer all ten, DX and FM included).
    assert_eq!(params["flowCode"], "M,X,RM,RX");
    let rows = flows(&response, &["tradeFlows"]);
    // 2 partners × 2 commodities × 4 flows, one row each: no customs or
    // transport splits.
    assert_eq!(rows.len(), 16, "{rows:?}");
    let directions: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["flow"].as_str().unwrap()).collect();
    assert_eq!(
        directions.into_iter().collect::<Vec<_>>(),
        ["EXPORT", "IMPORT", "RE_EXPORT", "RE_IMPORT"]
    );
    assert!(rows
        .iter()
        .filter(|r| r["commodityCode"] == "TOTAL")
        .all(|r| r["netWeightKg"].is_null()));
}

/// A plan that does not fit the budget fails at once, naming the numbers,
/// before any request; GTA's fields in the same operation keep their data.
#[tokio::test]
async fn plans_over_budget_fail_before_any_request() {
    let gateway =
        TestGateway::start_with(&["--comtrade-api", "legacy", "--comtrade-budget", "3"]).await;
    let response = gateway
        .query(
            r#"{ jurisdiction(iso3: "BRA") { name interventionsAffecting(limit: 1) { items { id } } }
                 tradeFlows(reporters: ["USA","CHN","DEU","JPN","FRA","ITA"], periods: ["2015","2016","2017","2018","2019","2020"]) { value } }"#,
        )
        .await;
    assert_eq!(error_codes(&response), ["UPSTREAM_BUDGET_EXHAUSTED"]);
    let message = response["errors"][0]["message"].as_str().unwrap();
    // A client's share of a budget of 3 is one request (--client-share
    // 0.25): four never fit, however long it waits, and it is told so.
    assert!(
        message.contains("needs 4 requests but at most 1 per 1h are this client's to spend"),
        "{message}"
    );
    assert!(
        response["errors"][0]["extensions"]
            .get("retryAfterSeconds")
            .is_none(),
        "{response}"
    );
    assert_eq!(response["errors"][0]["extensions"]["source"], "comtrade");
    assert_eq!(gateway.comtrade_requests(), 0);
    assert_eq!(response["data"]["jurisdiction"]["name"], "Brazil");
    assert_eq!(
        response["data"]["jurisdiction"]["interventionsAffecting"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(response["data"]
        .get("tradeFlows")
        .is_some_and(Value::is_null));
}

/// Concurrent operations share one limiter: the simulator, enforcing one
/// request per 100 ms with 409, never refuses one.
#[tokio::test]
async fn pacing_holds_under_concurrent_operations() {
    let rules = ComtradeRules {
        interval: Duration::from_millis(100),
        ..ComtradeRules::default()
    };
    let gateway = TestGateway::start_full("sample-key", rules, &["--comtrade-api", "legacy"]).await;
    let started = Instant::now();
    let operations = (0..4).map(|i| {
        let gateway = &gateway;
        async move {
            gateway
                .query(&format!(r#"{{ tradeFlows(reporters: ["USA","CHN","DEU","JPN","FRA","ITA"], periods: ["{}"]) {{ value }} }}"#, 2010 + i))
                .await
        }
    });
    let responses = futures::future::join_all(operations).await;
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(upstream_requests(response, "comtrade"), 2);
    }
    assert_eq!(gateway.comtrade_requests(), 8);
    assert!(
        started.elapsed() >= Duration::from_millis(7 * 100),
        "8 requests took {:?}",
        started.elapsed()
    );
}

/// Truncated answers are split and fetched again; one that cannot be split
/// is a typed error.
#[tokio::test]
async fn truncated_answers_are_split_or_flagged() {
    let rules = ComtradeRules {
        max_rows: Some(150),
        interval: common::TEST_COMTRADE_INTERVAL,
        ..ComtradeRules::default()
    };
    let gateway = TestGateway::start_full("sample-key", rules, &["--comtrade-api", "legacy"]).await;
    let split = gateway
        .query(r#"{ tradeFlows(reporters: ["USA", "CHN"], periods: ["2020"], commodities: ["AG2"], flow: IMPORT) { reporterCode commodityCode } }"#)
        .await;
    // Issue 20: a split is sent only while the operation's estimate has
    // room; this one is estimated at one request, so the truncated answer
    // is the field's error, after that one request.
    assert_eq!(
        split["extensions"]["cost"]["upstreamEstimate"]["comtrade"],
        1
    );
    assert_eq!(
        upstream_requests(&split, "comtrade"),
        1,
        "no split past the estimate"
    );
    assert_eq!(
        error_codes(&split),
        ["UPSTREAM_RESULT_TRUNCATED"],
        "{split}"
    );
    assert!(split["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("estimate"));

    let unsplittable = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"], commodities: ["AG2"]) { value } }"#)
        .await;
    assert_eq!(
        error_codes(&unsplittable),
        ["UPSTREAM_RESULT_TRUNCATED"],
        "{unsplittable}"
    );
}

/// Comtrade's refusals become typed errors with its own message.
#[tokio::test]
async fn comtrade_refusals_are_typed() {
    let gateway = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    let refusal = r#"{"validation": {"status": {"name": "Invalid parameter", "value": 5004, "category": 0,
        "description": "the selected query does not accept the passed option.", "helpUrl": ""},
        "message": "Invalid classification for trade type."}}"#;
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 200,
            body: refusal.into(),
        },
    );
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"]) { value } }"#)
        .await;
    assert_eq!(error_codes(&response), ["UPSTREAM_INVALID_PARAMETER"]);
    assert!(response["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Invalid classification for trade type"));
    assert_eq!(response["errors"][0]["extensions"]["upstreamStatus"], 5004);

    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status { status: 409, body: "Usage limit: 100 requests per hour reached. You may resume requests in 1200 seconds.".into() },
    );
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2021"]) { value } }"#)
        .await;
    assert_eq!(error_codes(&response), ["UPSTREAM_RATE_LIMITED"]);
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("resume requests in 1200 seconds"),
        "{response}"
    );
}

/// Bad input is refused with a clear error and no request.
#[tokio::test]
async fn bad_flow_arguments_make_no_request() {
    let gateway = TestGateway::start().await;
    let cases = [
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: ["22"]) { value } }"#,
            "not a year",
        ),
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: []) { value } }"#,
            "periods is empty",
        ),
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: ["now"]) { value } }"#,
            "legacy",
        ),
        (
            r#"{ tradeFlows(reporters: ["Atlantis"], periods: ["2020"]) { value } }"#,
            "Atlantis",
        ),
        (
            r#"{ tradeFlows(reporters: ["XK"], periods: ["2020"]) { value } }"#,
            "no Comtrade reporter",
        ),
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"], classification: "XX") { value } }"#,
            "classification",
        ),
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"], commodities: ["27;1"]) { value } }"#,
            "commodity",
        ),
        (
            r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"], partners: ["Narnia"]) { value } }"#,
            "Narnia",
        ),
        (
            r#"{ jurisdiction(iso3: "USA") { tradeFlows(periods: ["202013"], frequency: MONTHLY) { value } } }"#,
            "month",
        ),
    ];
    common::assert_bad_input(&gateway, &cases).await;
    assert_eq!(gateway.comtrade_requests(), 0);
    // A jurisdiction without a Comtrade reporter simply has no flows.
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "XXK") { tradeFlows(periods: ["2020"]) { value } } }"#)
        .await;
    assert_eq!(
        response["data"]["jurisdiction"]["tradeFlows"],
        serde_json::json!([])
    );
    assert_eq!(gateway.comtrade_requests(), 0);
}

/// Data availability in both dialects.
#[tokio::test]
async fn data_availability_in_both_dialects() {
    for (dialect, path) in [
        ("legacy", "/api/refs/da/view"),
        ("v1", "/data/v1/getDa/C/A/HS"),
    ] {
        let gateway = TestGateway::start_with(&["--comtrade-api", dialect]).await;
        let response = gateway
            .query(r#"{ dataAvailability(reporters: ["BRA", "NOR"], periods: ["2020", "2021"]) { reporterCode period totalRecords reporter { iso3 } } }"#)
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let rows = flows(&response, &["dataAvailability"]);
        assert_eq!(rows.len(), 4, "{dialect}");
        assert!(rows
            .iter()
            .any(|r| r["reporterCode"] == 579 && r["reporter"]["iso3"] == "NOR"));
        assert_eq!(
            gateway.simulator.recorded_requests(Source::Comtrade)[0].path,
            path
        );
    }
}

/// Issue 22's third attack: an operation whose Comtrade plans need more
/// than one client may spend in a whole window (fields in shapes of their
/// own, annual and monthly, against a small share) reserved shape by
/// shape, spent the share on the first and answered none. Now one batch's plans are
/// reserved as one: its Comtrade fields are refused before anything is
/// sent, with no retryAfterSeconds (waiting would not help), and its
/// other sources' fields are answered; within the share, everything is.
#[tokio::test]
async fn an_operation_beyond_the_clients_share_is_refused_before_anything_is_sent() {
    // The simulator paces nothing, so that no refusal of its own (and no
    // retry, which takes budget) comes into it.
    let rules = ComtradeRules {
        interval: Duration::ZERO,
        ..ComtradeRules::default()
    };
    // A budget of 8 at the default share (0.25): two requests a client.
    let gateway = TestGateway::start_full(
        "sample-key",
        rules,
        &[
            "--comtrade-budget",
            "8",
            "--comtrade-budget-window",
            "60s",
            "--comtrade-interval",
            "0s",
            "--response-cache-max-mb",
            "0",
        ],
    )
    .await;
    let fields = |n: usize| {
        (0..n)
            .map(|index| {
                format!(
                    r#"f{index}: tradeFlows(reporters: ["USA"], periods: ["{}"], frequency: {}) {{ value }}"#,
                    2010 + index,
                    if index % 2 == 0 { "ANNUAL" } else { "MONTHLY" }
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let response = gateway
        .query(&format!(
            r#"{{ jurisdiction(iso3: "BRA") {{ name }} {} }}"#,
            fields(7)
        ))
        .await;
    assert_eq!(gateway.comtrade_requests(), 0, "nothing sent: {response}");
    assert_eq!(response["data"]["jurisdiction"]["name"], "Brazil");
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 7, "{response}");
    for error in errors {
        assert_eq!(
            error["extensions"]["code"], "UPSTREAM_BUDGET_EXHAUSTED",
            "{error}"
        );
        assert!(
            error["extensions"].get("retryAfterSeconds").is_none(),
            "{error}"
        );
    }
    // Within the share: answered whole.
    let response = gateway.query(&format!("{{ {} }}", fields(1))).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert!(gateway.comtrade_requests() >= 1);
}

const REPORTERS: &str =
    "{ comtradeReporters { code name iso3 isGroup lastYear jurisdiction { iso3 } } }";

/// Comtrade's reporter list in both dialects, in sample mode: one keyless
/// request to the dialect's file, every area but the legacy `all`
/// wildcard, codes linked to their jurisdictions (a group to none); asked
/// again, answered from the cache with nothing sent.
#[tokio::test]
async fn the_reporter_list_in_both_dialects() {
    for (dialect, path) in [
        ("legacy", "/Data/cache/reporterAreas.json"),
        ("v1", "/files/v1/app/reference/Reporters.json"),
    ] {
        let gateway = TestGateway::start_with(&["--comtrade-api", dialect]).await;
        let response = gateway.query(REPORTERS).await;
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(upstream_requests(&response, "comtrade"), 1, "{dialect}");
        let recorded = gateway.simulator.recorded_requests(Source::Comtrade);
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].path, path);
        assert_eq!(recorded[0].query, "", "a public file: no key, no query");
        let rows = flows(&response, &["comtradeReporters"]);
        assert!(rows.len() > 150, "{dialect}: {} areas", rows.len());
        assert!(rows.iter().all(|row| row["code"].as_i64().is_some()));
        let usa = rows.iter().find(|row| row["code"] == 842).expect("842");
        assert_eq!(usa["jurisdiction"]["iso3"], "USA");
        let eu = rows.iter().find(|row| row["code"] == 97).expect("the EU");
        assert_eq!(
            eu["jurisdiction"],
            Value::Null,
            "a group stands for no one jurisdiction"
        );
        match dialect {
            "legacy" => {
                assert!(rows
                    .iter()
                    .all(|row| row["iso3"].is_null() && row["isGroup"].is_null()));
            }
            _ => {
                assert_eq!(usa["iso3"], "USA");
                assert_eq!(eu["isGroup"], true);
                assert_eq!(usa["isGroup"], false);
            }
        }
        let again = gateway.query(REPORTERS).await;
        assert_eq!(upstream_requests(&again, "comtrade"), 0, "{again}");
        assert_eq!(again["data"], response["data"]);
    }
}

/// The recorded lists (legacy `reporterAreas.json` with its byte order
/// mark, v1 `Reporters.json`) through a stub that records what it is
/// sent: every area of the file, the key (configured) never sent to a
/// public file, and the estimate at least what is sent.
#[tokio::test]
async fn the_recorded_reporter_lists_answer_through_a_stub() {
    use std::sync::{Arc, Mutex};
    for (dialect, path, fixture, areas) in [
        (
            "legacy",
            "/Data/cache/reporterAreas.json",
            "comtrade/legacy_reporterAreas.json",
            256,
        ),
        (
            "v1",
            "/files/v1/app/reference/Reporters.json",
            "comtrade/ref_v1_Reporters.json",
            255,
        ),
    ] {
        let body = std::fs::read(common::fixtures().join(fixture)).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let stub = axum::Router::new().route(
            path,
            axum::routing::get({
                let seen = Arc::clone(&seen);
                move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                    let (body, seen) = (body.clone(), Arc::clone(&seen));
                    async move {
                        let mut wire = uri.to_string();
                        for (name, value) in &headers {
                            wire.push_str(&format!(" {name}: {}", value.to_str().unwrap_or("")));
                        }
                        seen.lock().unwrap().push(wire);
                        ([("content-type", "application/json")], body)
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
        let key = "reporter-list-k3y-0123456789";
        let gateway = TestGateway::start_with(&[
            "--comtrade-api",
            dialect,
            "--comtrade-url",
            &url,
            "--comtrade-key",
            key,
        ])
        .await;
        let response = gateway.query(REPORTERS).await;
        assert!(response.get("errors").is_none(), "{response}");
        let rows = flows(&response, &["comtradeReporters"]);
        assert_eq!(rows.len(), areas, "{dialect}: the file's areas but `all`");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            !seen[0].contains(key),
            "the key went to a public file: {seen:?}"
        );
        assert_eq!(upstream_requests(&response, "comtrade"), 1);
        assert!(
            response["extensions"]["cost"]["upstreamEstimate"]["comtrade"]
                .as_u64()
                .is_some_and(|estimate| estimate >= 1),
            "{}",
            response["extensions"]
        );
        let area = |code: i64| rows.iter().find(|row| row["code"] == code).unwrap();
        assert_eq!(area(842)["jurisdiction"]["iso3"], "USA");
        assert_eq!(area(699)["jurisdiction"]["iso3"], "IND");
        if dialect == "v1" {
            let mut groups: Vec<i64> = rows
                .iter()
                .filter(|row| row["isGroup"] == true)
                .map(|row| row["code"].as_i64().unwrap())
                .collect();
            groups.sort_unstable();
            assert_eq!(groups, [97, 490, 975]);
            assert_eq!(area(975)["iso3"], "R4", "trimmed as Comtrade pads it");
            assert_eq!(area(886)["lastYear"], 1990);
            assert!(groups
                .iter()
                .all(|code| area(*code)["jurisdiction"].is_null()));
        }
    }
}
