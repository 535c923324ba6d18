//! End to end over HTTP: ITA leads, offices and events against the
//! simulator, batched by country, in both API generations.

mod common;

use std::collections::{HashMap, HashSet};

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

const EIGHT: &str = r#"["MEX", "CAN", "GBR", "FRA", "JPN", "BRA", "IND", "ZAF"]"#;

fn params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Offices, leads and events of eight countries: one ITA request per
/// endpoint, and every record links back to the jurisdiction that asked.
#[tokio::test]
async fn eight_countries_cost_one_request_per_endpoint() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(&format!(
            r#"{{ jurisdictions(iso3: {EIGHT}) {{ iso3
                officeLocations {{ post country {{ iso3 }} }}
                tradeLeads(limit: 3) {{ title country {{ iso3 }} }}
                tradeEvents(limit: 2) {{ name venues {{ country {{ iso3 }} }} }}
            }} }}"#
        ))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(upstream_requests(&response, "ita"), 3);
    let requests = gateway.simulator.recorded_requests(Source::Ita);
    let mut paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/ita_office_locations/v1/search",
            "/trade_events/v1/search",
            "/trade_leads/v1/search"
        ]
    );
    for request in &requests {
        // data.trade.gov's names: leads and offices take `country_codes`,
        // events `countries`.
        let name = if request.path.starts_with("/trade_events") {
            "countries"
        } else {
            "country_codes"
        };
        let query = params(&request.query);
        assert!(!query.contains_key("countries") || name == "countries");
        let countries: HashSet<String> = query[name].split(',').map(str::to_owned).collect();
        assert_eq!(countries.len(), 8, "{}", request.query);
        assert!(countries.contains("GB") && countries.contains("ZA"));
    }
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        let iso3 = &jurisdiction["iso3"];
        let offices = jurisdiction["officeLocations"].as_array().unwrap();
        assert!(!offices.is_empty(), "{iso3} has a post");
        assert!(
            offices.iter().all(|o| &o["country"]["iso3"] == iso3),
            "{iso3}"
        );
        let leads = jurisdiction["tradeLeads"].as_array().unwrap();
        assert_eq!(leads.len(), 3, "{iso3}");
        assert!(
            leads.iter().all(|l| &l["country"]["iso3"] == iso3),
            "{iso3}"
        );
        let events = jurisdiction["tradeEvents"].as_array().unwrap();
        assert!(!events.is_empty() && events.len() <= 2, "{iso3}");
        for event in events {
            assert!(
                event["venues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| &v["country"]["iso3"] == iso3),
                "{iso3}: {event}"
            );
        }
    }
}

/// Limits past ITA's 100 per request are paged without gaps or repeats.
#[tokio::test]
async fn limits_past_100_are_paged() {
    let gateway = TestGateway::start().await;
    let response = gateway.query(r#"{ tradeLeads(limit: 250) { totalCount items { title country { iso2 } } sourcesUsed { source lastUpdated } } }"#).await;
    assert!(response.get("errors").is_none(), "{response}");
    let items = response["data"]["tradeLeads"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 250);
    let distinct: HashSet<String> = items
        .iter()
        .map(|i| format!("{}{}", i["title"], i["country"]["iso2"]))
        .collect();
    assert_eq!(distinct.len(), 250, "no repeats");
    assert!(
        response["data"]["tradeLeads"]["totalCount"]
            .as_i64()
            .unwrap()
            >= 250
    );
    // The current API's envelope has no sources_used.
    assert_eq!(
        response["data"]["tradeLeads"]["sourcesUsed"],
        serde_json::json!([])
    );
    let pages: Vec<(String, String)> = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .iter()
        .map(|r| {
            let p = params(&r.query);
            (p["size"].clone(), p["offset"].clone())
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("100".into(), "0".into()),
            ("100".into(), "100".into()),
            ("50".into(), "200".into())
        ]
    );
}

/// Filters reach the wire; the seeds' v2 API gets `api_key` and /v2 paths.
#[tokio::test]
async fn both_generations_and_every_filter() {
    let v2 = TestGateway::start_with(&["--ita-api", "v2"]).await;
    let response = v2
        .query(r#"{ officeLocations(city: "San Jose", countries: ["US", "Costa Rica"], query: "San Jose") { items { city country { iso3 } postType } }
                    tradeLeads(countries: ["CA"], industries: ["Energy"], query: "tender") { items { source industries itaIndustries } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let offices = response["data"]["officeLocations"]["items"]
        .as_array()
        .unwrap();
    let countries: HashSet<&str> = offices
        .iter()
        .map(|o| o["country"]["iso3"].as_str().unwrap())
        .collect();
    assert_eq!(countries, HashSet::from(["USA", "CRI"]));
    for lead in response["data"]["tradeLeads"]["items"].as_array().unwrap() {
        assert_eq!(lead["source"], "CANADA");
        assert!(lead["itaIndustries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "Energy"));
    }
    let requests = v2.simulator.recorded_requests(Source::Ita);
    assert!(requests.iter().all(|r| r.path.starts_with("/v2/")));
    let office_request = requests
        .iter()
        .find(|r| r.path == "/v2/ita_office_locations/search")
        .unwrap();
    let office_params = params(&office_request.query);
    assert_eq!(office_params["countries"], "US,CR");
    assert_eq!(office_params["city"], "San Jose");
    assert_eq!(
        office_params["api_key"], "sample-key",
        "v2 sends the key as api_key"
    );
}

/// When ITA fails, its fields are null with an error naming it; GTA and
/// Comtrade fields of the same jurisdiction keep their data.
#[tokio::test]
async fn ita_failure_costs_only_ita_fields() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Ita,
        Fault::Status {
            status: 503,
            body: String::new(),
        },
    );
    let response = gateway
        .query(r#"{ jurisdiction(iso3: "MEX") { name officeLocations { post } tradeLeads { title }
                    tradeFlows(periods: ["2022"]) { value } interventionsAffecting(limit: 1) { items { id } } } }"#)
        .await;
    let mexico = &response["data"]["jurisdiction"];
    assert_eq!(mexico["name"], "Mexico");
    assert_eq!(mexico.get("officeLocations"), Some(&Value::Null));
    assert_eq!(mexico.get("tradeLeads"), Some(&Value::Null));
    assert!(!mexico["tradeFlows"].as_array().unwrap().is_empty());
    assert_eq!(
        mexico["interventionsAffecting"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"]
    );
    assert!(response["errors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["extensions"]["source"] == "ita"));
}

/// Bad input: a clear error and no ITA request.
#[tokio::test]
async fn bad_ita_input_makes_no_request() {
    let gateway = TestGateway::start().await;
    let cases = [
        (r#"{ tradeLeads(limit: 5000) { totalCount } }"#, "limit"),
        (r#"{ tradeLeads(limit: -1) { totalCount } }"#, "limit"),
        (
            r#"{ officeLocations(offset: -10) { totalCount } }"#,
            "offset",
        ),
        (
            r#"{ tradeEvents(countries: ["Atlantis"]) { totalCount } }"#,
            "Atlantis",
        ),
        (r#"{ tradeLeads(countries: []) { totalCount } }"#, "empty"),
        (
            r#"{ officeLocations(state: "California") { totalCount } }"#,
            "postal",
        ),
        (
            r#"{ jurisdiction(iso3: "MEX") { tradeLeads(limit: 2000) { title } } }"#,
            "limit",
        ),
    ];
    common::assert_bad_input(&gateway, &cases).await;
    assert_eq!(gateway.ita_requests(), 0);
}

/// Leads of every country with a post: when the first page leaves countries
/// short, the next search asks only for those, from the start, and every
/// country ends with its three leads. The estimate is the worst case (one
/// country filling every page: each other one alone, 1 + 65), over the
/// default maximum of 50, so the maximum is raised; the sample's leads,
/// four a country, take three narrowing searches.
#[tokio::test]
async fn a_follow_up_search_lists_only_the_countries_still_short() {
    let gateway = TestGateway::start_with(&["--ita-max-requests", "100"]).await;
    let posts: Vec<&str> = trade_graph::sample::ita_post_countries()
        .iter()
        .filter_map(|iso2| trade_graph::countries::by_iso2(iso2).map(|c| c.iso3))
        .collect();
    let response = gateway
        .query_with(
            "query($iso3: [String!]) { jurisdictions(iso3: $iso3) { iso3 tradeLeads(limit: 3) { country { iso3 } } } }",
            serde_json::json!({ "iso3": posts }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        let leads = jurisdiction["tradeLeads"].as_array().unwrap();
        assert_eq!(leads.len(), 3, "{jurisdiction}");
        for lead in leads {
            assert_eq!(lead["country"]["iso3"], jurisdiction["iso3"]);
        }
    }
    let searches: Vec<(usize, String)> = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .iter()
        .map(|request| {
            let params = params(&request.query);
            (
                params["country_codes"].split(',').count(),
                params["offset"].clone(),
            )
        })
        .collect();
    assert!(searches.len() >= 2, "{searches:?}");
    assert_eq!(searches[0], (posts.len(), "0".to_owned()));
    for pair in searches.windows(2) {
        assert!(pair[1].0 < pair[0].0, "each search narrows: {searches:?}");
        assert_eq!(
            pair[1].1, "0",
            "a narrowed search starts over: {searches:?}"
        );
    }
    assert_eq!(upstream_requests(&response, "ita"), searches.len() as u64);
    assert_eq!(
        response["extensions"]["cost"]["upstreamEstimate"]["ita"],
        posts.len() as u64 + 1
    );
    assert!(searches.len() <= 3, "{searches:?}");
}
