//! End to end over HTTP: the gateway in front of the sample simulator,
//! answering jurisdiction and intervention queries, with upstream request
//! counts read from `extensions.upstream` and from the simulator itself.

mod common;

use common::{upstream_requests, TestGateway};
use serde_json::{json, Value};
use trade_graph::sources::Source;

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// A country profile: one jurisdiction, its interventions both ways, linked
/// back to jurisdiction nodes; two GTA requests, counted the same by the
/// gateway and the simulator.
#[tokio::test]
async fn country_profile_links_interventions_to_jurisdictions() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ jurisdiction(iso3: "BRA") {
                id name iso2 iso3 comtradeReporterCode
                interventionsAffecting(limit: 5) { totalCount items { id affectedJurisdictions { iso3 } implementingJurisdictions { iso3 } } }
                interventionsImplemented(limit: 5) { totalCount items { id implementingJurisdictions { iso3 id } } }
            } }"#,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let brazil = &response["data"]["jurisdiction"];
    assert_eq!(brazil["id"], 76);
    assert_eq!(brazil["iso2"], "BR");
    let affecting = brazil["interventionsAffecting"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(affecting.len(), 5);
    for item in affecting {
        assert!(
            item["affectedJurisdictions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["iso3"] == "BRA"),
            "{item}"
        );
    }
    for item in brazil["interventionsImplemented"]["items"]
        .as_array()
        .unwrap()
    {
        assert!(
            item["implementingJurisdictions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["id"] == 76),
            "{item}"
        );
    }
    assert!(
        brazil["interventionsAffecting"]["totalCount"]
            .as_i64()
            .unwrap()
            > 5
    );
    assert_eq!(upstream_requests(&response, "gta"), 2);
    assert_eq!(upstream_requests(&response, "comtrade"), 0);
    assert_eq!(gateway.gta_requests(), 2);
}

/// Twenty jurisdictions asking for the same page share GTA requests: one
/// shared request, plus a follow-up only for those it could not fill, and each
/// jurisdiction's page is exactly what it gets when asked alone.
#[tokio::test]
async fn jurisdictions_in_one_operation_share_gta_requests() {
    let gateway = TestGateway::start().await;
    let batched = gateway
        .query(r#"{ jurisdictions(group: "G20") { iso3 interventionsImplemented(limit: 3) { items { id } } } }"#)
        .await;
    assert!(batched.get("errors").is_none(), "{batched}");
    let members = batched["data"]["jurisdictions"].as_array().unwrap();
    assert_eq!(members.len(), 19);
    let batched_requests = upstream_requests(&batched, "gta");
    assert!(
        batched_requests < 19,
        "batching must beat one request per jurisdiction, made {batched_requests}"
    );
    let first = &gateway.simulator.recorded_requests(Source::Gta)[0];
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(
        body["request_data"]["implementer"]
            .as_array()
            .unwrap()
            .len(),
        19,
        "{body}"
    );

    for member in members {
        let iso3 = member["iso3"].as_str().unwrap();
        let alone = gateway
            .query(&format!(
                r#"{{ jurisdiction(iso3: "{iso3}") {{ interventionsImplemented(limit: 3) {{ items {{ id }} }} }} }}"#
            ))
            .await;
        assert_eq!(
            ids(&member["interventionsImplemented"]),
            ids(&alone["data"]["jurisdiction"]["interventionsImplemented"]),
            "{iso3}: batched and alone differ"
        );
    }
    assert_eq!(gateway.gta_requests(), batched_requests + 19);
}

/// The same page twice in one operation (aliases) is one request.
#[tokio::test]
async fn identical_keys_in_one_operation_are_one_request() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ a: jurisdiction(iso2: "DE") { interventionsAffecting { items { id } } }
                    b: jurisdiction(iso3: "DEU") { interventionsAffecting { items { id } } } }"#,
        )
        .await;
    assert_eq!(
        ids(&response["data"]["a"]["interventionsAffecting"]),
        ids(&response["data"]["b"]["interventionsAffecting"])
    );
    assert_eq!(upstream_requests(&response, "gta"), 1);
}

/// A limit above GTA's 1000 per request is paged transparently, without gaps
/// or repeats, in GTA's order.
#[tokio::test]
async fn large_limits_are_paged_in_requests_of_1000() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ interventions(limit: 2500, sort: ["intervention_id"]) { totalCount items { id } } }"#)
        .await;
    let ids = ids(&response["data"]["interventions"]);
    assert_eq!(ids.len(), 2500);
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ascending ids, no repeats"
    );
    assert_eq!(upstream_requests(&response, "gta"), 3);
    let limits: Vec<(i64, i64)> = gateway
        .simulator
        .recorded_requests(Source::Gta)
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_str(&request.body).unwrap();
            (
                body["limit"].as_i64().unwrap(),
                body["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(limits, [(1000, 0), (1000, 1000), (500, 2000)]);
}

/// Filters reach the wire as GTA's ids: countries through the crosswalk,
/// enums through GTA's value mappings, dates as given; and the answer honours
/// them.
#[tokio::test]
async fn filters_reach_the_wire_as_gta_ids() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ interventions(limit: 50, filter: {
                implementer: ["US", "France", "699"], gtaEvaluation: [RED],
                interventionTypes: [IMPORT_TARIFF, ANTI_DUMPING],
                announcementPeriod: { from: "2015-01-01" }, keepImplementationNa: false
            }) { items { evaluation interventionType dateAnnounced dateImplemented implementingJurisdictions { id } } } }"#,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let body: Value =
        serde_json::from_str(&gateway.simulator.recorded_requests(Source::Gta)[0].body).unwrap();
    assert_eq!(
        body["request_data"],
        json!({
            "gta_evaluation": [1], "implementer": [840, 251, 699], "intervention_types": [47, 51],
            "announcement_period": ["2015-01-01", "2099-12-31"], "keep_implementation_na": false
        })
    );
    // Full product and sector names, as GTA's own client asks.
    assert_eq!(body["show_full_names"], true);
    let items = response["data"]["interventions"]["items"]
        .as_array()
        .unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(item["evaluation"], "Red");
        assert!(
            ["Import tariff", "Anti-dumping"].contains(&item["interventionType"].as_str().unwrap())
        );
        assert!(item["dateAnnounced"].as_str().unwrap() >= "2015-01-01");
        assert!(item["dateImplemented"].is_string());
    }
}

/// Bad input gets a clear BAD_USER_INPUT error and no upstream request.
#[tokio::test]
async fn bad_input_is_refused_before_any_upstream_request() {
    let gateway = TestGateway::start().await;
    let cases = [
        (
            r#"{ jurisdiction(iso2: "US", iso3: "USA") { name } }"#,
            "exactly one",
        ),
        (r#"{ jurisdiction { name } }"#, "exactly one"),
        (r#"{ interventions(limit: -1) { totalCount } }"#, "limit"),
        (r#"{ interventions(offset: -5) { totalCount } }"#, "offset"),
        (
            r#"{ interventions(limit: 100000) { totalCount } }"#,
            "limit",
        ),
        (
            r#"{ interventions(filter: { affected: ["Atlantis"] }) { totalCount } }"#,
            "Atlantis",
        ),
        (
            r#"{ interventions(filter: { implementer: [] }) { totalCount } }"#,
            "empty",
        ),
        (
            r#"{ interventions(filter: { keepAffected: false }) { totalCount } }"#,
            "keepAffected",
        ),
        (
            r#"{ interventions(filter: { inForceOnDate: "2024-02-30" }) { totalCount } }"#,
            "YYYY-MM-DD",
        ),
        (
            r#"{ interventions(filter: { announcementPeriod: { from: "2024-01-01", to: "2023-01-01" } }) { totalCount } }"#,
            "after",
        ),
        (
            r#"{ interventions(sort: ["-popularity"]) { totalCount } }"#,
            "unknown sort key",
        ),
        (
            r#"{ jurisdictions(group: "G99") { name } }"#,
            "unknown group",
        ),
        (r#"{ jurisdictions(iso3: ["ZZZ"]) { name } }"#, "ZZZ"),
        (
            r#"{ jurisdiction(iso3: "USA") { interventionsImplemented(filter: { implementer: ["FR"] }) { totalCount } } }"#,
            "set by the jurisdiction",
        ),
        (
            r#"{ jurisdiction(iso3: "USA") { interventionsAffecting(limit: 5000) { totalCount } } }"#,
            "limit",
        ),
    ];
    let responses = common::assert_bad_input(&gateway, &cases).await;
    for ((query, _), response) in cases.iter().zip(&responses) {
        assert_eq!(upstream_requests(response, "gta"), 0, "{query}");
    }
    // A failed nullable field is null, and its siblings keep their data.
    let response = gateway
        .query(r#"{ bad: jurisdiction(iso2: "US", iso3: "USA") { name } good: jurisdiction(iso2: "US") { name } }"#)
        .await;
    assert_eq!(
        response["data"],
        json!({ "bad": null, "good": { "name": "United States of America" } })
    );
    // An unknown enum value is a validation error, also before any request.
    let response = gateway
        .query(r#"{ interventions(filter: { gtaEvaluation: [PURPLE] }) { totalCount } }"#)
        .await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PURPLE"),
        "{response}"
    );
    assert_eq!(gateway.gta_requests(), 0);
}

/// A lookup that matches nothing is null, not an error.
#[tokio::test]
async fn lookups_that_match_nothing_are_null() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ a: jurisdiction(iso3: "ZZZ") { name } b: jurisdiction(id: 250) { name } c: jurisdiction(name: "united states") { id } d: jurisdiction(id: -3) { id } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        response["data"],
        json!({ "a": null, "b": null, "c": { "id": 840 }, "d": null })
    );
}

/// v2-only filters are refused on v1 with a message naming the switch; on v2
/// they reach the wire.
#[tokio::test]
async fn v2_only_filters_follow_the_configured_api() {
    let v1 = TestGateway::start_with(&["--gta-api", "v1"]).await;
    let response = v1
        .query(r#"{ interventions(filter: { query: "steel" }) { totalCount } }"#)
        .await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("--gta-api v2"),
        "{response}"
    );
    assert_eq!(v1.gta_requests(), 0);
    let ok = v1.query(r#"{ interventions(limit: 3) { totalCount items { id descriptionEntries { modified } } } }"#).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    assert_eq!(
        v1.simulator.recorded_requests(Source::Gta)[0].path,
        "/api/v1/data/"
    );
    assert_eq!(
        ok["data"]["interventions"]["items"][0]["descriptionEntries"][0]["modified"],
        Value::Null
    );

    let v2 = TestGateway::start_with(&["--gta-api", "v2"]).await;
    let response = v2.query(r#"{ interventions(limit: 5, filter: { query: "steel" }) { totalCount items { title } } }"#).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        v2.simulator.recorded_requests(Source::Gta)[0].path,
        "/api/v2/gta/data/"
    );
    for item in response["data"]["interventions"]["items"]
        .as_array()
        .unwrap()
    {
        assert!(item["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("steel"));
    }
}

/// The crosswalk in the graph: Comtrade reporter codes by dialect, folded
/// reporters, groups.
#[tokio::test]
async fn jurisdictions_carry_their_codes_in_every_upstream() {
    let gateway = TestGateway::start().await;
    let query = r#"{ jurisdictions(iso3: ["USA", "ITA", "MCO", "TWN", "XXK"]) { iso3 iso2 comtradeReporterCode comtradeReporting } }"#;
    let current = gateway.query(query).await;
    assert_eq!(
        current["data"]["jurisdictions"],
        json!([
            { "iso3": "USA", "iso2": "US", "comtradeReporterCode": 842, "comtradeReporting": "OWN" },
            { "iso3": "ITA", "iso2": "IT", "comtradeReporterCode": 380, "comtradeReporting": "OWN" },
            { "iso3": "MCO", "iso2": "MC", "comtradeReporterCode": 251, "comtradeReporting": "FOLDED" },
            { "iso3": "TWN", "iso2": "TW", "comtradeReporterCode": 490, "comtradeReporting": "FOLDED" },
            { "iso3": "XXK", "iso2": "XK", "comtradeReporterCode": null, "comtradeReporting": "ABSENT" },
        ])
    );
    let legacy = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    let response = legacy
        .query(r#"{ jurisdiction(iso3: "ITA") { comtradeReporterCode } }"#)
        .await;
    assert_eq!(
        response["data"]["jurisdiction"]["comtradeReporterCode"],
        381
    );
    let all = gateway.query("{ jurisdictions { id } }").await;
    assert_eq!(all["data"]["jurisdictions"].as_array().unwrap().len(), 234);
}
