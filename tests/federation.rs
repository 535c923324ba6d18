//! trade-graph as a federation subgraph, over HTTP: `_service { sdl }` is
//! the committed subgraph SDL, and `_entities` resolves every key through
//! the batched loaders (many interventions, one GTA request; jurisdictions
//! from the crosswalk, no request).

mod common;

use common::{upstream_requests, TestGateway};
use serde_json::json;

#[tokio::test]
async fn service_sdl_is_the_subgraph_sdl() {
    let gateway = TestGateway::start().await;
    let response = gateway.query("{ _service { sdl } }").await;
    assert!(response.get("errors").is_none(), "{response}");
    let served = response["data"]["_service"]["sdl"].as_str().unwrap();
    assert!(served == trade_graph::graph::subgraph_sdl(), "{served}");
}

#[tokio::test]
async fn entities_resolve_through_the_batched_loaders() {
    let gateway = TestGateway::start_with(&["--ita-api", "v2"]).await;
    // Three interventions the sample data has.
    let ids: Vec<i64> = gateway
        .query("{ interventions(limit: 3) { items { id } } }")
        .await["data"]["interventions"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect();
    let before = gateway.gta_requests();
    let mut representations = vec![
        json!({ "__typename": "Jurisdiction", "iso3": "BRA" }),
        json!({ "__typename": "Jurisdiction", "id": 276 }),
        json!({ "__typename": "EnvironmentalIssue", "id": 10 }),
        json!({ "__typename": "EnvironmentalIssue", "id": 11 }),
    ];
    representations.extend(
        ids.iter()
            .map(|id| json!({ "__typename": "Intervention", "id": id })),
    );
    let response = gateway
        .query_with(
            r#"query($r: [_Any!]!) { _entities(representations: $r) {
                ... on Jurisdiction { iso3 name }
                ... on Intervention { id title }
                ... on EnvironmentalIssue { id name }
            } }"#,
            json!({ "r": representations }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let entities = response["data"]["_entities"].as_array().unwrap();
    assert_eq!(entities[0]["iso3"], "BRA");
    assert_eq!(entities[1]["iso3"], "DEU");
    assert_eq!(entities[2]["id"], 10);
    assert_eq!(entities[3]["id"], 11);
    for (entity, id) in entities[4..].iter().zip(&ids) {
        assert_eq!(&entity["id"], id);
        assert!(entity["title"].is_string());
    }
    assert_eq!(
        upstream_requests(&response, "gta"),
        1,
        "one search for every intervention"
    );
    assert_eq!(
        upstream_requests(&response, "ita"),
        1,
        "one search for both issues"
    );
    assert_eq!(gateway.gta_requests() - before, 1);
}
