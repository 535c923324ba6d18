//! Issue 11's GTA findings and the EU, at the wire: every GTA request asks
//! for full names and carries an announcement period (as the publisher's own
//! client does; the simulator cuts names to 20 characters otherwise and
//! refuses a request without the period), v1 takes what GTA's OpenAPI
//! document gives it, and the EU can be named as GTA's 1049 and Comtrade's
//! reporter 97.

mod common;

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sources::Source;

fn bodies(gateway: &TestGateway) -> Vec<Value> {
    gateway
        .simulator
        .recorded_requests(Source::Gta)
        .iter()
        .map(|request| serde_json::from_str(&request.body).unwrap())
        .collect()
}

/// Findings 9 and 10: the batched jurisdiction request asks for full names
/// and an announcement period (GTA's own client's defaults), and sector and
/// product names arrive whole.
#[tokio::test]
async fn every_request_asks_for_full_names_and_an_announcement_period() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ jurisdictions(iso3: ["USA", "CHN", "DEU"]) { interventionsAffecting(limit: 3) { items { affectedSectors { name } affectedProducts { name } } } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(upstream_requests(&response, "gta"), 1);
    let body = &bodies(&gateway)[0];
    assert_eq!(body["show_full_names"], true);
    assert_eq!(
        body["request_data"]["announcement_period"],
        serde_json::json!(["1900-01-01", "2099-12-31"])
    );
    let mut names = Vec::new();
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        for item in jurisdiction["interventionsAffecting"]["items"]
            .as_array()
            .unwrap()
        {
            for list in ["affectedSectors", "affectedProducts"] {
                for entry in item[list].as_array().unwrap() {
                    names.push(entry["name"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert!(!names.is_empty());
    // Sample product names are real HS texts, some shorter than GTA's cut
    // ("Cerium compounds"): none is cut, and the long ones are whole.
    assert!(names.iter().all(|name| !name.ends_with("...")), "{names:?}");
    assert!(names.iter().any(|name| name.len() > 20), "{names:?}");
}

/// Finding 12: GTA's OpenAPI document has `update_period` and sorting by
/// `last_updated` in the v1 request schema too: they reach the v1 wire;
/// `query` is in the v2 schema only and stays refused on v1.
#[tokio::test]
async fn v1_takes_what_the_openapi_document_gives_it() {
    let gateway = TestGateway::start_with(&["--gta-api", "v1"]).await;
    let response = gateway
        .query(r#"{ interventions(limit: 5, sort: ["-last_updated"], filter: { updatePeriod: { from: "2020-01-01" } }) { items { id } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let request = &gateway.simulator.recorded_requests(Source::Gta)[0];
    assert_eq!(request.path, "/api/v1/data/");
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["sorting"], "-last_updated,-intervention_id");
    assert_eq!(
        body["request_data"]["update_period"],
        serde_json::json!(["2020-01-01", null])
    );
    let refused = gateway
        .query(r#"{ interventions(filter: { query: "steel" }) { totalCount } }"#)
        .await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    assert_eq!(gateway.gta_requests(), 1);
}

/// Finding 11: the EU can be named ("EU", "EUN", "European Union", 1049) as
/// GTA's implementer or affected jurisdiction; its measures come back.
#[tokio::test]
async fn the_eu_can_be_named_to_gta() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ interventions(limit: 5, filter: { implementer: ["EU"] }) { items { implementationLevel implementingGroups } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        bodies(&gateway)[0]["request_data"]["implementer"],
        serde_json::json!([1049])
    );
    let items = response["data"]["interventions"]["items"]
        .as_array()
        .unwrap();
    assert!(!items.is_empty(), "{response}");
    for item in items {
        assert_eq!(item["implementingGroups"][0], "European Union");
    }
    for spelling in ["EUN", "European Union", "1049"] {
        let response = gateway
            .query(&format!(
                r#"{{ interventions(limit: 1, filter: {{ affected: ["{spelling}"] }}) {{ totalCount }} }}"#
            ))
            .await;
        assert!(response.get("errors").is_none(), "{spelling}: {response}");
    }
}

/// Finding 13's EU: the EU's own trade is Comtrade reporter 97, linked to
/// GTA's EU; as a partner it is refused (no partner list has it), unsent.
#[tokio::test]
async fn the_eu_is_a_comtrade_reporter_not_a_partner() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["European Union"], periods: ["2021"], flow: EXPORT) { reporterCode reporter { id name } value } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let request = &gateway.simulator.recorded_requests(Source::Comtrade)[0];
    assert!(
        request.query.contains("reporterCode=97"),
        "{}",
        request.query
    );
    let rows = response["data"]["tradeFlows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(rows[0]["reporter"]["id"], 1049);
    assert_eq!(rows[0]["reporter"]["name"], "European Union");

    let refused = gateway
        .query(
            r#"{ tradeFlows(reporters: ["USA"], partners: ["EU"], periods: ["2021"]) { value } }"#,
        )
        .await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("EU-27"));
    assert_eq!(gateway.comtrade_requests(), 1);
}
