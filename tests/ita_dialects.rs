//! ITA in both generations, at the wire: each GraphQL argument leaves under
//! the name the configured API takes (data.trade.gov's `country_codes`,
//! `tender_start_date_range[from]`...; the v2 API's `countries`,
//! `publish_date=A TO B`...), a filter the API lacks is refused naming the
//! one that has it, with no request, and the facets come back as
//! `aggregations`. The simulator answers like each API: the current one
//! ignores names it does not know (so a wrong name shows as a filter that
//! did nothing), the v2 one refuses them.

mod common;

use std::collections::HashMap;

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sources::Source;

fn last_query(gateway: &TestGateway) -> HashMap<String, String> {
    let request = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .pop()
        .expect("a request");
    url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect()
}

fn ok(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
}

/// Every seed-era filter reaches the v2 wire under its own name.
#[tokio::test]
async fn seed_era_filters_reach_the_v2_wire() {
    let gateway = TestGateway::start_with(&["--ita-api", "v2"]).await;
    let leads = gateway
        .query(r#"{ tradeLeads(countries: ["France"], industries: ["Energy"], sources: ["STATE"], publishDate: { from: "2026-01-01" }, endDate: { to: "2027-12-31" }, publishDateAmended: { from: "2026-02-01", to: "2026-03-01" }, tradeRegions: ["European Union"], worldRegions: ["Europe"]) { totalCount } }"#)
        .await;
    ok(&leads);
    let query = last_query(&gateway);
    for (name, value) in [
        ("countries", "FR"),
        ("industries", "Energy"),
        ("sources", "STATE"),
        ("publish_date", "2026-01-01 TO 2099-12-31"),
        ("end_date", "1900-01-01 TO 2027-12-31"),
        ("publish_date_amended", "2026-02-01 TO 2026-03-01"),
        ("trade_regions", "European Union"),
        ("world_regions", "Europe"),
    ] {
        assert_eq!(
            query.get(name).map(String::as_str),
            Some(value),
            "{name}: {query:?}"
        );
    }
    let events = gateway
        .query(r#"{ tradeEvents(industries: ["Energy"], sources: ["ITA"], startDate: { from: "2027-01-01" }, endDate: { to: "2027-12-31" }, tradeRegions: ["USMCA"], worldRegions: ["North America"]) { totalCount items { name } } }"#)
        .await;
    ok(&events);
    let query = last_query(&gateway);
    for name in [
        "industries",
        "sources",
        "start_date",
        "end_date",
        "trade_regions",
        "world_regions",
    ] {
        assert!(query.contains_key(name), "{name}: {query:?}");
    }
    let offices = gateway
        .query(r#"{ officeLocations(city: "San Jose", states: ["CA"]) { items { post state } } }"#)
        .await;
    ok(&offices);
    let query = last_query(&gateway);
    assert_eq!(
        (query["city"].as_str(), query["state"].as_str()),
        ("San Jose", "CA")
    );
    let items = offices["data"]["officeLocations"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 1, "{offices}");
    assert_eq!(items[0]["state"], "CA");
}

/// The current API's names: `country_codes` for leads and offices, date
/// ranges as `name_range[from]`/`[to]`, `states`, `assigned_zip_codes`,
/// `event_types`; the filters take effect (the simulator would ignore a
/// wrong name, like data.trade.gov).
#[tokio::test]
async fn current_filters_leave_under_data_trade_gov_names() {
    let gateway = TestGateway::start().await;
    let leads = gateway
        .query(r#"{ tradeLeads(countries: ["Mexico"], tenderStartDate: { from: "2026-03-01" }, contractStartDate: { to: "2030-01-01" }) { totalCount items { countryCode tenderStartDate country { iso3 } } } }"#)
        .await;
    ok(&leads);
    let query = last_query(&gateway);
    assert_eq!(query["country_codes"], "MX");
    assert_eq!(query["tender_start_date_range[from]"], "2026-03-01");
    assert_eq!(query["contract_start_date_range[to]"], "2030-01-01");
    assert!(!query.contains_key("countries"));
    for item in leads["data"]["tradeLeads"]["items"].as_array().unwrap() {
        assert_eq!(item["countryCode"], "MX");
        assert_eq!(item["country"]["iso3"], "MEX");
        assert!(item["tenderStartDate"].as_str().unwrap() >= "2026-03-01");
    }

    let offices = gateway
        .query(r#"{ officeLocations(states: ["CA", "TX"]) { totalCount items { state countryName countryCode assignedZipCodes } } }"#)
        .await;
    ok(&offices);
    let query = last_query(&gateway);
    assert_eq!(query["states"], "CA,TX");
    let items = offices["data"]["officeLocations"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 4, "two centers each in CA and TX: {offices}");
    assert!(items.iter().all(|item| item["countryCode"] == "US"
        && item["countryName"] == "United States of America"
        && !item["assignedZipCodes"].as_array().unwrap().is_empty()));
    let zip = items[0]["assignedZipCodes"][0].as_str().unwrap().to_owned();
    let by_zip = gateway
        .query(&format!(
            r#"{{ officeLocations(zipCodes: ["{zip}"]) {{ totalCount }} }}"#
        ))
        .await;
    ok(&by_zip);
    assert_eq!(last_query(&gateway)["assigned_zip_codes"], zip);
    assert_eq!(by_zip["data"]["officeLocations"]["totalCount"], 1);

    let events = gateway
        .query(r#"{ tradeEvents(eventTypes: ["Trade Show"], startDate: { from: "2027-06-01" }) { items { eventType startDate name registrationLink contacts { name } } } }"#)
        .await;
    ok(&events);
    let query = last_query(&gateway);
    assert_eq!(query["event_types"], "Trade Show");
    assert_eq!(query["start_date_range[from]"], "2027-06-01");
    let items = events["data"]["tradeEvents"]["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(item["eventType"], "Trade Show");
        assert!(item["startDate"].as_str().unwrap() >= "2027-06-01");
        assert!(item["name"].is_string() && item["registrationLink"].is_string());
        assert!(item["contacts"][0]["name"].is_string());
    }
}

/// A filter the configured API lacks is refused before any request, saying
/// which generation has it.
#[tokio::test]
async fn filters_the_api_lacks_are_refused_naming_the_other() {
    let current = TestGateway::start().await;
    let cases = [
        (
            r#"{ tradeLeads(industries: ["Energy"]) { totalCount } }"#,
            "only in the v2 ITA API",
        ),
        (
            r#"{ tradeLeads(publishDate: { from: "2026-01-01" }) { totalCount } }"#,
            "only in the v2 ITA API",
        ),
        (
            r#"{ officeLocations(city: "Paris") { totalCount } }"#,
            "only in the v2 ITA API",
        ),
        (
            r#"{ jurisdiction(iso3: "MEX") { tradeLeads(industries: ["Energy"]) { title } } }"#,
            "only in the v2 ITA API",
        ),
        (
            r#"{ tradeEvents(startDate: { from: "2027-13-01" }) { totalCount } }"#,
            "not a date",
        ),
    ];
    for (query, expected) in cases {
        let response = current.query(query).await;
        assert_eq!(
            error_codes(&response),
            ["BAD_USER_INPUT"],
            "{query}: {response}"
        );
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
        assert_eq!(upstream_requests(&response, "ita"), 0);
    }
    let v2 = TestGateway::start_with(&["--ita-api", "v2"]).await;
    for query in [
        r#"{ tradeLeads(tenderStartDate: { from: "2026-01-01" }) { totalCount } }"#,
        r#"{ officeLocations(zipCodes: ["95113"]) { totalCount } }"#,
        r#"{ tradeEvents(eventTypes: ["Trade Show"]) { totalCount } }"#,
    ] {
        let response = v2.query(query).await;
        assert_eq!(
            error_codes(&response),
            ["BAD_USER_INPUT"],
            "{query}: {response}"
        );
        assert!(response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only in the current ITA API"));
    }
    assert_eq!(current.ita_requests() + v2.ita_requests(), 0);
}

/// Facets come back as `aggregations`, in either generation's shape.
#[tokio::test]
async fn aggregations_are_exposed_on_pages() {
    for (api, facet) in [("v2", "sources"), ("current", "sources")] {
        let gateway = TestGateway::start_with(&["--ita-api", api]).await;
        let response = gateway
            .query(r#"{ tradeEvents(limit: 1) { totalCount aggregations { facet buckets { value count } } } }"#)
            .await;
        ok(&response);
        let page = &response["data"]["tradeEvents"];
        let total = page["totalCount"].as_i64().unwrap();
        let sources = page["aggregations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["facet"] == facet)
            .unwrap_or_else(|| panic!("{api}: {page}"));
        let counted: i64 = sources["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, total, "{api}: every event has one source");
    }
}
