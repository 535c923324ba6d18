//! Hostile input: each attack that once crashed, stalled or exhausted the
//! gateway, or spent upstream quota out of proportion, is refused or bounded
//! with a clear error; refused operations reach no upstream; the server
//! answers `/healthz` afterwards; canary keys appear in no response, log
//! line or metric.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{error_codes, logs, upstream_requests, Keys, TestGateway};
use trade_graph::sample::{Fault, SimulatorOptions};
use trade_graph::sources::Source;

async fn start(flags: &[&str]) -> TestGateway {
    logs();
    TestGateway::start_with(flags).await
}

/// The gateway still serves after an attack.
async fn assert_healthy(gateway: &TestGateway) {
    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(health["status"], "ok");
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { name } }"#)
        .await;
    assert_eq!(response["data"]["jurisdiction"]["name"], "Brazil");
}

fn no_upstream_request(gateway: &TestGateway, response: &Value) {
    for source in ["gta", "comtrade", "ita"] {
        assert_eq!(
            upstream_requests(response, source),
            0,
            "{source}: {response}"
        );
    }
    assert_eq!(gateway.gta_requests(), 0);
    assert_eq!(gateway.comtrade_requests(), 0);
    assert_eq!(gateway.ita_requests(), 0);
}

/// Finding 1: 1,600 nested list literals in a directive argument overflowed
/// the parser's stack and aborted the process; now a clear error, over POST
/// and GET, and for nested objects and selection sets too.
#[tokio::test]
async fn deeply_nested_documents_are_refused_before_parsing() {
    let gateway = start(&[]).await;
    let lists = format!(
        "{{ __typename @include(if: {}true{}) }}",
        "[".repeat(1600),
        "]".repeat(1600)
    );
    let objects = format!(
        r#"{{ jurisdiction(iso3: {}"x"{}) {{ name }} }}"#,
        "{a: ".repeat(1600),
        "}".repeat(1600)
    );
    let selections = format!("{}__typename{}", "{ a ".repeat(3000), " }".repeat(3000));
    for document in [&lists, &objects, &selections] {
        let response = gateway.query(document).await;
        assert_eq!(error_codes(&response), ["DOCUMENT_TOO_DEEP"], "{response}");
        assert!(
            response.get("data").is_none(),
            "a request error has no data"
        );
        no_upstream_request(&gateway, &response);

        let mut url = url::Url::parse(&format!("{}/graphql", gateway.url)).unwrap();
        url.query_pairs_mut().append_pair("query", document);
        let response = gateway.http().get(url).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_codes(&body), ["DOCUMENT_TOO_DEEP"], "{body}");
    }
    assert_healthy(&gateway).await;
}

/// A document of 200 KB (under the body limit) is refused on its size.
#[tokio::test]
async fn large_documents_and_token_floods_are_refused() {
    let gateway = start(&[]).await;
    let padded = format!("{{ __typename }}{}", " ".repeat(200 * 1024));
    let response = gateway.query(&padded).await;
    assert_eq!(error_codes(&response), ["DOCUMENT_TOO_LARGE"], "{response}");
    // The finding's 3,999 aliases, each another page of interventions.
    let aliases: String = (1..4000)
        .map(|offset| format!("a{offset}: interventions(offset: {offset}) {{ totalCount }} "))
        .collect();
    let response = gateway.query(&format!("{{ {aliases} }}")).await;
    assert_eq!(error_codes(&response), ["DOCUMENT_TOO_LARGE"], "{response}");
    no_upstream_request(&gateway, &response);
    // Small enough, but 9,000 tokens.
    let flood: String = (1..3000).map(|i| format!("a{i}:__typename ")).collect();
    assert!(flood.len() < 64 * 1024);
    let response = gateway.query(&format!("{{ {flood} }}")).await;
    assert_eq!(
        error_codes(&response),
        ["DOCUMENT_TOO_MANY_TOKENS"],
        "{response}"
    );
    assert_healthy(&gateway).await;
}

/// Finding 2: 283 bytes of nested pages and jurisdictions grew to 3.8 GB;
/// the cost model counts every list's longest length and refuses it.
#[tokio::test]
async fn nested_pages_are_refused_on_their_cost() {
    let gateway = start(&[]).await;
    let level = |inner: &str| {
        format!("implementingJurisdictions {{ interventionsImplemented(limit: 20) {{ {inner} }} }}")
    };
    let three = level(&format!(
        "items {{ {} }}",
        level(&format!("items {{ {} }}", level("totalCount")))
    ));
    let query = format!("{{ interventions(limit: 20) {{ items {{ {three} }} }} }}");
    assert_eq!(query.len(), 283, "the query of the finding");
    let response = gateway.query(&query).await;
    assert_eq!(
        error_codes(&response),
        ["OPERATION_TOO_COSTLY"],
        "{response}"
    );
    let error = &response["errors"][0]["extensions"];
    assert!(
        error["estimate"].as_u64().unwrap() > 10_000_000_000,
        "{error}"
    );
    assert_eq!(error["limit"], 1_000_000);
    no_upstream_request(&gateway, &response);
    assert_healthy(&gateway).await;
}

/// `levels` fragments, each spreading the next twice: 2^levels fields.
fn fragment_bomb(levels: usize) -> String {
    let mut bomb = String::from("query Bomb { ...F0 }\n");
    for level in 0..levels {
        bomb.push_str(&format!(
            "fragment F{level} on Query {{ ...F{next} ...F{next} }}\n",
            next = level + 1
        ));
    }
    bomb.push_str(&format!(
        "fragment F{levels} on Query {{ jurisdictions {{ interventionsImplemented {{ totalCount }} }} }}\n"
    ));
    bomb
}

/// Finding 3: thirty fragments each spreading the next twice (2^30 fields)
/// pinned the CPU; the expansion is counted once per fragment, before any
/// check that expands it.
#[tokio::test]
async fn the_fragment_bomb_is_refused() {
    let gateway = start(&[]).await;
    for levels in [20, 30, 60] {
        let response = gateway.query(&fragment_bomb(levels)).await;
        assert_eq!(
            error_codes(&response),
            ["OPERATION_TOO_LARGE"],
            "{response}"
        );
        no_upstream_request(&gateway, &response);
    }
    assert_healthy(&gateway).await;
}

/// Finding 4: 61 bytes made 235 GTA requests; distinct offsets in aliases
/// made one request each. Both are refused before any request, naming the
/// source, the estimate and the limit.
#[tokio::test]
async fn upstream_amplification_is_refused_before_any_request() {
    let gateway = start(&[]).await;
    let response = gateway
        .query("{ jurisdictions { interventionsAffecting(limit: 50) { totalCount } } }")
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_DEMAND_TOO_HIGH"],
        "{response}"
    );
    let extensions = &response["errors"][0]["extensions"];
    assert_eq!(extensions["source"], "gta");
    assert_eq!(extensions["estimate"], 235);
    assert_eq!(extensions["limit"], 50);
    no_upstream_request(&gateway, &response);

    for (source, field) in [
        ("gta", "interventions"),
        ("ita", "tradeLeads"),
        ("ita", "officeLocations"),
    ] {
        let aliases: String = (0..60)
            .map(|offset| format!("a{offset}: {field}(offset: {offset}) {{ totalCount }} "))
            .collect();
        let response = gateway.query(&format!("{{ {aliases} }}")).await;
        assert_eq!(
            error_codes(&response),
            ["UPSTREAM_DEMAND_TOO_HIGH"],
            "{response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["source"], source);
        assert_eq!(response["errors"][0]["extensions"]["estimate"], 60);
        no_upstream_request(&gateway, &response);
    }

    // The same field with the same arguments under many parents batches:
    // the G7's offices are one search.
    let response = gateway
        .query(r#"{ jurisdictions(group: "G7") { officeLocations { post } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["extensions"]["cost"]["upstreamEstimate"]["ita"], 8);
    assert!(upstream_requests(&response, "ita") <= 8);
}

/// Finding 4, at run time: an ITA upstream that ignores `countries` and
/// reports a huge total made one field page without end (until the
/// per-operation maximum stopped it); a country's own search now pages no
/// further than its limit, which is what the estimate counts.
#[tokio::test]
async fn an_upstream_that_ignores_filters_costs_what_was_estimated() {
    let gateway = start(&["--ita-max-requests", "12"]).await;
    // A real page of 100 offices from every country, claiming a million.
    let page: Value = gateway
        .http()
        .get(format!(
            "{}/ita_office_locations/v1/search?size=100&offset=0",
            gateway.simulator.base_url()
        ))
        .header("subscription-key", trade_graph::sample::SAMPLE_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Full pages (100 records, repeating), claiming a million.
    let offices = page["results"].as_array().unwrap();
    let mut endless = page.clone();
    endless["results"] = json!(offices.iter().cycle().take(100).collect::<Vec<_>>());
    endless["total"] = json!(1_000_000);
    gateway.simulator.inject_fault(
        Source::Ita,
        Fault::Status {
            status: 200,
            body: endless.to_string(),
        },
    );
    let before = gateway.ita_requests();
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { name officeLocations { post } } }"#)
        .await;
    assert_eq!(response["data"]["jurisdiction"]["name"], "Brazil");
    // The loader asks one country's offices up to the 100 the estimate
    // counts, in one page, whatever total the upstream claims: the endless
    // answer costs the one request estimated (the per-operation maximum
    // stays the backstop for what no estimate sees).
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["extensions"]["cost"]["upstreamEstimate"]["ita"], 1);
    assert_eq!(upstream_requests(&response, "ita"), 1);
    assert_eq!(gateway.ita_requests() - before, 1);
}

/// Finding 5: a request whose headers never finish is closed after the
/// header read timeout instead of holding its connection forever.
#[tokio::test]
async fn unfinished_headers_are_cut_off() {
    let gateway = start(&["--header-read-timeout", "200ms"]).await;
    let address = gateway.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The server closes the connection (possibly after a 408): read to EOF.
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed by the server");
    assert!(read.is_ok() || !answer.is_empty());
    assert_healthy(&gateway).await;
}

/// Waits (polling the simulator's count) until `source` has received a
/// request: the operation is then in flight.
async fn until_requested(gateway: &TestGateway, source: Source) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while gateway.simulator.request_count(source) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the upstream was asked");
}

/// Starts an operation that waits on a hung GTA (the test injects the
/// delay) and returns once GTA has been asked.
async fn hung_gta_operation(
    gateway: &TestGateway,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let url = format!("{}/graphql", gateway.url);
    let client = gateway.http().clone();
    let hung = tokio::spawn(async move {
        client
            .post(url)
            .header("content-type", "application/json")
            .body(json!({"query": "{ interventions { totalCount } }"}).to_string())
            .send()
            .await
    });
    until_requested(gateway, Source::Gta).await;
    hung
}

/// Finding 5: shutdown waited for the slowest upstream; now requests in
/// flight are abandoned at the shutdown deadline.
#[tokio::test]
async fn shutdown_abandons_requests_in_flight_at_its_deadline() {
    let mut gateway = start(&["--shutdown-timeout", "100ms"]).await;
    gateway
        .simulator
        .inject_fault(Source::Gta, Fault::Delay(Duration::from_secs(3600)));
    let hung = hung_gta_operation(&gateway).await;
    let server = gateway.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops at its shutdown deadline")
        .unwrap();
    hung.abort();
}

/// At the operation deadline, fields waiting on a hung upstream fail naming
/// it; the other sources' data is answered.
#[tokio::test]
async fn the_operation_deadline_keeps_the_data_that_is_ready() {
    let gateway = start(&["--operation-timeout", "300ms"]).await;
    gateway
        .simulator
        .inject_fault(Source::Comtrade, Fault::Delay(Duration::from_secs(3600)));
    let response = gateway
        .query(
            r#"{ jurisdiction(iso3: "BRA") { name
                 tradeFlows(periods: ["2022"]) { value }
                 interventionsAffecting(limit: 2) { items { id } } } }"#,
        )
        .await;
    assert_eq!(error_codes(&response), ["UPSTREAM_TIMEOUT"], "{response}");
    assert_eq!(response["errors"][0]["extensions"]["source"], "comtrade");
    assert_eq!(
        response["errors"][0]["path"],
        json!(["jurisdiction", "tradeFlows"])
    );
    let jurisdiction = &response["data"]["jurisdiction"];
    assert_eq!(jurisdiction["name"], "Brazil");
    assert!(jurisdiction["tradeFlows"].is_null());
    assert_eq!(
        jurisdiction["interventionsAffecting"]["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Beyond the configured operations at once, /graphql answers 503 with
/// Retry-After; /healthz still answers.
#[tokio::test]
async fn operations_beyond_the_cap_get_503_with_retry_after() {
    let gateway = start(&["--max-concurrent-operations", "1"]).await;
    gateway
        .simulator
        .inject_fault(Source::Gta, Fault::Delay(Duration::from_secs(3600)));
    let hung = hung_gta_operation(&gateway).await;
    let response = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .body(json!({"query": "{ __typename }"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["SERVER_OVERLOADED"]);
    let health = gateway.get_text("/healthz").await;
    assert!(health.contains("\"ok\""), "{health}");
    hung.abort();
}

const GTA_CANARY: &str = "gta-c4n4ry+K3y/pad==";
const COMTRADE_CANARY: &str = "ct-c4n4ry+K3y/pad==";
const ITA_CANARY: &str = "ita-c4n4ry+K3y/pad==";

/// A gateway sending canary keys to a simulator that answers with stubs.
async fn canary_gateway(flags: &[&str]) -> TestGateway {
    logs();
    let keys = Keys {
        gta: GTA_CANARY,
        comtrade: COMTRADE_CANARY,
        ita: ITA_CANARY,
    };
    TestGateway::start_with_keys(keys, SimulatorOptions::default(), flags).await
}

fn assert_no_canary(text: &str, what: &str) {
    assert!(!text.contains("c4n4ry"), "{what} leaks a key: {text}");
    assert!(!text.contains("c4n4ry%2B"), "{what} leaks an encoded key");
}

/// Finding 6: a key echoed into a field of the wrong type, into Comtrade's
/// refusal text, percent-encoded into an error body, or straddling the cut
/// of a long message reaches no response, log line or metric.
#[tokio::test]
async fn canary_keys_leak_nowhere() {
    // (a) A value of the wrong type holding the key: serde quotes it.
    let gateway = canary_gateway(&[]).await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 200,
            body: json!([{ "intervention_id": GTA_CANARY }]).to_string(),
        },
    );
    let response = gateway
        .query("{ interventions(limit: 1) { items { id } } }")
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_BAD_RESPONSE"],
        "{response}"
    );
    assert_no_canary(&response.to_string(), "a decoding error");

    // (d) The key straddling the 300-character cut of a long message.
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 400,
            body: json!({ "detail": format!("{}{GTA_CANARY}", "x".repeat(296)) }).to_string(),
        },
    );
    let response = gateway
        .query("{ interventions(limit: 2) { items { id } } }")
        .await;
    assert_eq!(error_codes(&response), ["UPSTREAM_REJECTED"], "{response}");
    assert!(!response.to_string().contains("gta-c"), "{response}");

    // (b) Comtrade v1's `error` naming the key.
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 200,
            body: json!({ "error": format!("subscription key {COMTRADE_CANARY} is not valid"), "data": [] })
                .to_string(),
        },
    );
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { tradeFlows(periods: ["2022"]) { value } } }"#)
        .await;
    assert!(!error_codes(&response).is_empty(), "{response}");
    assert_no_canary(&response.to_string(), "Comtrade's v1 refusal");
    let metrics = gateway.get_text("/metrics").await;
    assert_no_canary(&metrics, "/metrics");
    drop(gateway);

    // (b) The legacy API's validation message naming the token, and (c) an
    // ITA v2 error body echoing the URL, where the key is percent-encoded.
    let gateway = canary_gateway(&["--comtrade-api", "legacy", "--ita-api", "v2"]).await;
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 200,
            body: json!({
                "validation": {
                    "status": { "name": "Invalid parameter", "value": 5004, "description": "" },
                    "message": format!("Invalid token {COMTRADE_CANARY}"),
                    "count": null
                },
                "dataset": []
            })
            .to_string(),
        },
    );
    let encoded: String = url::form_urlencoded::byte_serialize(ITA_CANARY.as_bytes()).collect();
    gateway.simulator.inject_fault(
        Source::Ita,
        Fault::Status {
            status: 400,
            body: json!({ "message": format!("bad request /v2/trade_leads/search?api_key={encoded}&size=100") })
                .to_string(),
        },
    );
    let response = gateway
        .query(
            r#"{ jurisdiction(iso3: "BRA") { tradeFlows(periods: ["2022"]) { value } }
                 tradeLeads(countries: ["MX"]) { items { title } } }"#,
        )
        .await;
    let codes = error_codes(&response);
    assert!(
        codes.contains(&"UPSTREAM_INVALID_PARAMETER".to_owned()),
        "{response}"
    );
    assert!(
        codes.contains(&"UPSTREAM_REJECTED".to_owned()),
        "{response}"
    );
    assert_no_canary(&response.to_string(), "legacy refusal or ITA error body");
    assert_no_canary(&gateway.get_text("/metrics").await, "/metrics");

    let logs = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("upstream"), "the logs were captured");
    assert_no_canary(&logs, "the logs");
}

/// An upstream echoing another source's key (an ITA error naming the GTA
/// key, GTA record text holding the Comtrade key, percent-encoded) is
/// cleaned all the same: every source's text is scrubbed of every key.
/// Found by the attack on issue 22 (each source scrubbed only its own).
#[tokio::test]
async fn no_source_leaks_another_sources_key() {
    let gateway = canary_gateway(&[]).await;
    let encoded: String = url::form_urlencoded::byte_serialize(GTA_CANARY.as_bytes()).collect();
    gateway.simulator.inject_fault(
        Source::Ita,
        Fault::Status {
            status: 400,
            body: json!({ "message": format!("not yours: {GTA_CANARY} / {encoded}") }).to_string(),
        },
    );
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 200,
            body: json!([{ "intervention_id": 1, "state_act_title": format!("about {COMTRADE_CANARY}") }])
                .to_string(),
        },
    );
    let response = gateway
        .query(
            r#"{ tradeLeads(countries: ["MX"]) { items { title } }
                 interventions(limit: 1) { items { id title } } }"#,
        )
        .await;
    assert!(
        error_codes(&response).contains(&"UPSTREAM_REJECTED".to_owned()),
        "{response}"
    );
    assert_eq!(
        response["data"]["interventions"]["items"][0]["id"], 1,
        "{response}"
    );
    assert_no_canary(&response.to_string(), "another source's key");
}

/// Variables nested past serde_json's recursion limit are a 400, not a crash.
#[tokio::test]
async fn deeply_nested_variables_are_a_bad_request() {
    let gateway = start(&[]).await;
    let variables = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let body = format!(
        r#"{{"query": "query($v: [String!]) {{ jurisdictions(iso3: $v) {{ name }} }}", "variables": {{"v": {variables}}}}}"#
    );
    let response = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_healthy(&gateway).await;
}

/// The result cap holds while the result is built: an operation past it is
/// stopped with RESULT_TOO_LARGE and no partial data, and nested
/// introspection (costed once per list) is bounded the same way.
#[tokio::test]
async fn results_past_the_cap_are_stopped_while_built() {
    let gateway = start(&["--max-result-values", "500"]).await;
    let response = gateway
        .query("{ jurisdictions { name iso2 iso3 groups comtradeReporterCode } }")
        .await;
    assert_eq!(error_codes(&response), ["RESULT_TOO_LARGE"], "{response}");
    assert!(response.get("data").is_none(), "{response}");
    let introspection = "{ __schema { types { name fields { name type { name } } } } }";
    let response = gateway.query(introspection).await;
    assert_eq!(error_codes(&response), ["RESULT_TOO_LARGE"], "{response}");
    // Under the cap, the same gateway answers.
    let response = gateway
        .query(r#"{ jurisdictions(group: "G7") { name } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_healthy(&gateway).await;
}

/// Issue 22's third attack: an alias is written once in every object its
/// field is in, and may be as long as the document allows; a 60 KB alias
/// under every introspected field built 637 MB (1.4 GB of memory) while
/// the values counted stayed within the cap. The alias counts a value per
/// 64 bytes wherever it is written: under every jurisdiction, a short one
/// is answered and a long one stopped at --max-result-values.
#[tokio::test]
async fn long_aliases_count_against_the_result_cap() {
    let gateway = TestGateway::start_with(&["--max-result-values", "10000"]).await;
    let count = gateway.query("{ jurisdictions { iso3 } }").await["data"]["jurisdictions"]
        .as_array()
        .unwrap()
        .len();
    assert!(count > 100, "{count} jurisdictions");
    for length in [1usize, 64, 4_000, 20_000] {
        let alias = "a".repeat(length);
        let response = gateway
            .query(&format!("{{ jurisdictions {{ {alias}: iso3 }} }}"))
            .await;
        // Each jurisdiction: its object, its value, and its key.
        let weight = count as u64 * (2 + length as u64 / 64);
        if weight <= 10_000 {
            assert!(response.get("errors").is_none(), "{length}: {response}");
        } else {
            assert_eq!(
                response["errors"][0]["extensions"]["code"], "RESULT_TOO_LARGE",
                "alias of {length} bytes"
            );
        }
    }
}

/// Issue 22's third attack: a batch is held to one operation's cost and
/// demand, but each of its operations had a result cap of its own (ten
/// operations each under the cap answered ten times it). A batch's
/// operations count into one cap: two that fit together are answered, a
/// third past it is stopped.
#[tokio::test]
async fn a_batch_shares_one_result_cap() {
    let gateway = TestGateway::start_with(&[
        "--max-result-values",
        "10000",
        "--response-cache-max-mb",
        "0",
    ])
    .await;
    let count = gateway.query("{ jurisdictions { iso3 } }").await["data"]["jurisdictions"]
        .as_array()
        .unwrap()
        .len() as u64;
    // Each operation: every jurisdiction's object, value and 1,000-byte key.
    let per_operation = count * (2 + 1_000 / 64);
    assert!(
        2 * per_operation <= 10_000 && 3 * per_operation > 10_000,
        "{count}"
    );
    let operation = |index: usize| json!({ "query": format!("{{ jurisdictions {{ {}{index}: iso3 }} }}", "a".repeat(999)) });
    let batch = |n: usize| -> Value { Value::Array((0..n).map(operation).collect()) };
    let post = |body: Value| {
        let client = gateway.http().clone();
        let url = format!("{}/graphql", gateway.url);
        async move {
            client
                .post(url)
                .header("accept", "application/json")
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let two = post(batch(2)).await;
    for answer in two.as_array().unwrap() {
        assert!(
            answer.get("errors").is_none(),
            "{}",
            &answer.to_string()[..200]
        );
    }
    let three = post(batch(3)).await;
    let stopped = three
        .as_array()
        .unwrap()
        .iter()
        .filter(|answer| answer["errors"][0]["extensions"]["code"] == "RESULT_TOO_LARGE")
        .count();
    assert!(stopped >= 1, "{}", &three.to_string()[..300]);
}

/// The rule behind issue 22's fourth attack (ten operations each under the
/// cap, cached first and then batched, answered ten times it): whatever
/// operations a batch holds, answered from the whole-response cache or
/// executed, in any order, what the batch answers stays within one cap,
/// and a batch that fits is answered whole. Generated batches of
/// jurisdiction lists under aliases of drawn lengths, some asked alone
/// first (so that the batch finds them cached).
#[test]
fn a_batch_answers_within_one_result_cap_from_the_cache_or_not() {
    use proptest::prelude::*;
    const CAP: u64 = 10_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let gateway = runtime.block_on(TestGateway::start_with(&[
        "--max-result-values",
        &CAP.to_string(),
        "--response-cache-max-mb",
        "16",
    ]));
    let count = runtime.block_on(gateway.query("{ jurisdictions { iso3 } }"))["data"]
        ["jurisdictions"]
        .as_array()
        .unwrap()
        .len() as u64;
    // What an operation's answer holds: every jurisdiction's object, its
    // value and its key; give or take the list and its parents.
    let weight = |alias: usize| count * (2 + alias as u64 / 64);
    let slack = count + 8;
    let config = ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let cases = std::sync::atomic::AtomicU64::new(0);
    proptest!(config, |(
        operations in proptest::collection::vec((0usize..1_600, any::<bool>()), 1..6),
    )| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let queries: Vec<(String, u64)> = operations
            .iter()
            .enumerate()
            .map(|(index, (alias, _))| {
                // Unique per case and place: a cache hit only where warmed.
                let name = format!("{}c{case}i{index}", "a".repeat(*alias));
                (format!("{{ jurisdictions {{ {name}: iso3 }} }}"), weight(name.len()))
            })
            .collect();
        for ((query, own), (_, cached)) in queries.iter().zip(&operations) {
            if *cached && *own <= CAP {
                let alone = runtime.block_on(gateway.query(query));
                prop_assert!(alone.get("errors").is_none(), "{}", &alone.to_string()[..200]);
            }
        }
        let body = Value::Array(queries.iter().map(|(query, _)| json!({ "query": query })).collect());
        let answers: Value = runtime.block_on(async {
            gateway
                .http()
                .post(format!("{}/graphql", gateway.url))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let answers = answers.as_array().unwrap();
        prop_assert_eq!(answers.len(), queries.len());
        // The warmed ones were answered from the cache (or refused).
        for ((answer, (_, own)), (_, cached)) in answers.iter().zip(&queries).zip(&operations) {
            if *cached && *own <= CAP && answer.get("errors").is_none() {
                prop_assert_eq!(&answer["extensions"]["upstream"]["responseCache"]["hit"], true);
            }
        }
        let mut answered = 0;
        for (answer, (_, own)) in answers.iter().zip(&queries) {
            match answer.get("errors") {
                None => answered += own,
                Some(_) => prop_assert_eq!(
                    &answer["errors"][0]["extensions"]["code"], "RESULT_TOO_LARGE",
                    "{}", &answer.to_string()[..300.min(answer.to_string().len())]
                ),
            }
        }
        prop_assert!(answered <= CAP + slack, "answered {answered} values of {CAP}: {operations:?}");
        let total: u64 = queries.iter().map(|(_, own)| own).sum();
        if total + slack * queries.len() as u64 <= CAP {
            prop_assert_eq!(answered, total, "a batch that fits was cut: {:?}", operations);
        }
    });
}
