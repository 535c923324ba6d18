//! What GraphQL clients send beyond one plain operation: automatic
//! persisted queries (Apollo's hash-only requests, over POST and GET) and
//! operation batching (a JSON array of operations).

mod common;

use serde_json::{json, Value};
use trade_graph::server::persisted_queries::sha256_hex;

use common::{error_codes, upstream_requests, TestGateway};

const PROFILE: &str = r#"query Profile { jurisdiction(iso3: "BRA") { name tradeFlows(periods: ["2021"]) { value } } }"#;

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `body` as JSON; returns the status and the JSON answer.
async fn post(gateway: &TestGateway, body: Value) -> (u16, Value) {
    let response = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// GETs /graphql with `params`; returns the status and the JSON answer.
async fn get(gateway: &TestGateway, params: &[(&str, &str)]) -> (u16, Value) {
    let url = url::Url::parse_with_params(&format!("{}/graphql", gateway.url), params).unwrap();
    let response = gateway
        .http()
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn persisted_queries_register_once_then_run_by_hash_over_post_and_get() {
    let gateway = TestGateway::start().await;
    let hash = sha256_hex(PROFILE);

    // Hash only, unknown: Apollo's link then sends the document.
    let (status, unknown) = post(&gateway, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(error_codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(gateway.comtrade_requests(), 0);

    // The document with its hash: runs, and is registered.
    let (status, registered) = post(
        &gateway,
        json!({ "query": PROFILE, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(registered.get("errors").is_none(), "{registered}");
    assert_eq!(registered["data"]["jurisdiction"]["name"], "Brazil");
    assert_eq!(upstream_requests(&registered, "comtrade"), 1);

    // Hash only, over POST and over GET (a short URL a CDN can cache).
    let (_, by_post) = post(&gateway, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_post["data"], registered["data"]);
    let (status, by_get) = get(
        &gateway,
        &[
            ("operationName", "Profile"),
            ("extensions", &persisted(&hash).to_string()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(by_get["data"], registered["data"]);
    assert_eq!(upstream_requests(&by_get, "comtrade"), 0, "from the cache");
    assert_eq!(gateway.comtrade_requests(), 1);
}

#[tokio::test]
async fn a_document_under_a_wrong_hash_is_refused_and_not_registered() {
    let gateway = TestGateway::start().await;
    let other = sha256_hex("{ __typename }");
    let (status, mismatch) = post(
        &gateway,
        json!({ "query": PROFILE, "extensions": persisted(&other) }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&mismatch), ["PERSISTED_QUERY_HASH_MISMATCH"]);
    assert_eq!(gateway.comtrade_requests(), 0);
    let (_, still_unknown) = post(&gateway, json!({ "extensions": persisted(&other) })).await;
    assert_eq!(error_codes(&still_unknown), ["PERSISTED_QUERY_NOT_FOUND"]);

    // A document that does not validate is not kept under its hash.
    let invalid = "{ jurisdiction(iso3: \"BRA\") { noSuchField } }";
    let hash = sha256_hex(invalid);
    let (_, refused) = post(
        &gateway,
        json!({ "query": invalid, "extensions": persisted(&hash) }),
    )
    .await;
    assert!(refused.get("errors").is_some(), "{refused}");
    let (_, not_kept) = post(&gateway, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(error_codes(&not_kept), ["PERSISTED_QUERY_NOT_FOUND"]);
}

#[tokio::test]
async fn persisted_queries_can_be_turned_off() {
    let gateway = TestGateway::start_with(&["--persisted-queries-max-mb", "0"]).await;
    let (status, off) = post(
        &gateway,
        json!({ "extensions": persisted(&sha256_hex(PROFILE)) }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&off), ["PERSISTED_QUERY_NOT_SUPPORTED"]);
    assert!(off["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("PersistedQueryNotSupported"));
}

#[tokio::test]
async fn a_batch_is_answered_in_order_with_each_operations_own_errors() {
    let gateway = TestGateway::start().await;
    let (status, answers) = post(
        &gateway,
        json!([
            { "query": r#"{ jurisdiction(iso3: "BRA") { name } }"# },
            { "query": "{ jurisdiction(iso3: \"DEU\") { noSuchField } }" },
            "not an operation",
            { "query": r#"{ jurisdiction(iso3: "IND") { name tradeFlows(periods: ["2021"]) { value } } }"# },
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let answers = answers.as_array().expect("an array of answers");
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0]["data"]["jurisdiction"]["name"], "Brazil");
    assert_eq!(error_codes(&answers[1]), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(error_codes(&answers[2]), ["BAD_REQUEST"]);
    assert_eq!(answers[3]["data"]["jurisdiction"]["name"], "India");
    assert_eq!(upstream_requests(&answers[3], "comtrade"), 1);
    assert_eq!(gateway.comtrade_requests(), 1);
}

#[tokio::test]
async fn a_batch_is_held_to_its_size_and_to_one_operations_limits() {
    let gateway = TestGateway::start_with(&["--max-batch-size", "3", "--max-cost", "25"]).await;
    let one = json!({ "query": r#"{ jurisdiction(iso3: "BRA") { name } }"# });
    let (status, too_many) = post(&gateway, json!([one, one, one, one])).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&too_many), ["BATCH_TOO_LARGE"]);
    let (status, empty) = post(&gateway, json!([])).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&empty), ["BAD_REQUEST"]);

    // Each of these is within the cost limit alone, not together.
    let flows = json!({ "query": r#"{ jurisdiction(iso3: "BRA") { tradeFlows(periods: ["2021"]) { value period } } }"# });
    let (_, alone) = post(&gateway, flows.clone()).await;
    assert!(alone.get("errors").is_none(), "{alone}");
    let cost = alone["extensions"]["cost"]["cost"].as_u64().unwrap();
    assert!(
        cost <= 25 && cost * 3 > 25,
        "the test needs a costlier operation: {cost}"
    );
    let requests_before = gateway.comtrade_requests();
    let (status, together) = post(&gateway, json!([flows, flows, flows])).await;
    assert_eq!(status, 200);
    for answer in together.as_array().unwrap() {
        assert_eq!(error_codes(answer), ["OPERATION_TOO_COSTLY"], "{answer}");
    }
    assert_eq!(gateway.comtrade_requests(), requests_before);

    // Operators see every refusal in the operation metrics: the batch too
    // large and the empty one once each, the costly batch once per
    // operation in it.
    let metrics = gateway.get_text("/metrics").await;
    for (line, count) in [
        (
            r#"trade_graph_operation_errors_total{code="BATCH_TOO_LARGE"}"#,
            1,
        ),
        (
            r#"trade_graph_operation_errors_total{code="BAD_REQUEST"}"#,
            1,
        ),
        (
            r#"trade_graph_operation_errors_total{code="OPERATION_TOO_COSTLY"}"#,
            3,
        ),
        (
            r#"trade_graph_operations_total{outcome="refused",cache="none"}"#,
            5,
        ),
    ] {
        assert!(
            metrics.contains(&format!("{line} {count}\n")),
            "{line} {count} in:\n{metrics}"
        );
    }
}
