//! Products, the second join (issue 20), end to end over HTTP: commodities
//! from Comtrade's reference list, the trade a measure hits and trade
//! profiles, in sample mode and against recording stubs.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{fixtures, upstream_requests, TestGateway};
use serde_json::{json, Value};
use trade_graph::sample::RecordedRequest;
use trade_graph::sources::Source;

fn query_params(request: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect()
}

fn no_errors(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
}

/// The reference list comes from the documented path, once: v1's
/// `files/v1/app/reference/HS.json`, the legacy site's
/// `Data/cache/classificationHS.json`; a second operation finds it in
/// memory. `commodities(search: "horses")` finds heading 0101.
#[tokio::test]
async fn the_reference_list_is_loaded_once_from_the_documented_path() {
    for (dialect, path) in [
        ("v1", "/files/v1/app/reference/HS.json"),
        ("legacy", "/Data/cache/classificationHS.json"),
    ] {
        let gateway = TestGateway::start_with(&["--comtrade-api", dialect]).await;
        let query = r#"{ commodities(search: "horses") { totalCount items { code level description parent { code } } } }"#;
        let response = gateway.query(query).await;
        no_errors(&response);
        let items = response["data"]["commodities"]["items"].as_array().unwrap();
        assert_eq!(items[0]["code"], "0101", "{dialect}: {response}");
        assert_eq!(items[0]["level"], 4);
        assert_eq!(items[0]["parent"]["code"], "01");
        // A subheading's text that repeats its heading only in part reads
        // on its own.
        let other = items.iter().find(|item| item["code"] == "010119").unwrap();
        assert_eq!(
            other["description"],
            "Horses, asses, mules and hinnies; live - Horses: Other"
        );
        let requests = gateway.simulator.recorded_requests(Source::Comtrade);
        assert_eq!(requests.len(), 1, "{dialect}");
        assert_eq!(requests[0].path, path);
        assert_eq!(upstream_requests(&response, "comtrade"), 1);
        let again = gateway
            .query(r#"{ commodity(code: "8704.31") { code description quantityUnit } }"#)
            .await;
        no_errors(&again);
        assert_eq!(again["data"]["commodity"]["code"], "870431");
        // v1's list has the quantity unit; the legacy lists have none.
        let unit = if dialect == "v1" {
            json!("u")
        } else {
            Value::Null
        };
        assert_eq!(again["data"]["commodity"]["quantityUnit"], unit);
        assert_eq!(
            upstream_requests(&again, "comtrade"),
            0,
            "{dialect}: kept for the day"
        );
        assert_eq!(gateway.comtrade_requests(), 1);
    }
}

/// Comtrade's full HS list (8,262 codes, as comtradr packages it) decodes
/// through a stub at the v1 path: every code, searches folding case.
#[tokio::test]
async fn the_full_hs_list_answers_through_a_stub() {
    let rows: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("comtrade/ref_v1_cmd_HS_comtradr_extdata.json")).unwrap(),
    )
    .unwrap();
    let body = json!({ "more": false, "minimumInputLength": 2, "classCode": "HS", "className": "Combined HS", "results": rows });
    let stub = axum::Router::new().route(
        "/files/v1/app/reference/HS.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    let gateway = TestGateway::start_with(&["--comtrade-url", &url]).await;
    let response = gateway
        .query(
            r#"{ all: commodities { totalCount }
                 headings: commodities(level: 4) { totalCount }
                 horses: commodities(search: "HORSES", level: 4) { items { code } }
                 vans: commodities(search: "8704") { totalCount }
                 chapter: commodity(code: "87") { children { code } }
                 other: commodity(code: "010119") { description comtradeText isLeaf } }"#,
        )
        .await;
    no_errors(&response);
    let data = &response["data"];
    assert_eq!(data["all"]["totalCount"], 8262);
    assert_eq!(data["headings"]["totalCount"], 1266);
    assert_eq!(data["horses"]["items"][0]["code"], "0101");
    assert_eq!(
        data["vans"]["totalCount"], 14,
        "8704 and its 13 subheadings"
    );
    assert!(data["chapter"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|child| child["code"] == "8704"));
    assert_eq!(data["other"]["comtradeText"], "Horses :-- Other");
    assert_eq!(data["other"]["isLeaf"], true);
}

/// Every new field answers something in sample mode (all in one
/// operation, which the default Comtrade maximum of 25 would refuse: the
/// affected trade alone may take 20).
#[tokio::test]
async fn every_new_field_answers_in_sample_mode() {
    let gateway = TestGateway::start_with(&["--comtrade-max-requests", "40"]).await;
    let response = gateway
        .query(
            r#"{
              commodity(code: "8704") { code description level quantityUnit
                parent { code description } children { code quantityUnit }
                tradeFlows(reporters: ["USA", "DEU"], periods: ["2022"], flow: IMPORT) { reporter { iso3 } commodityCode value commodityNode { code } }
                interventions(limit: 3) { totalCount items { id affectedProducts { hsCode commodity { code } } } }
              }
              commodities(search: "cattle live", limit: 5) { totalCount items { code description } }
              interventions(limit: 12, filter: { interventionTypes: [IMPORT_TARIFF] }) { items {
                id implementingJurisdictions { iso3 } affectedProducts { hsCode commodity { code } }
                affectedTrade { year yearNote flow flowDerivation value implementerTotal shareOfImplementerTrade complete incompleteReasons method reporterCodes
                  jurisdictions { jurisdiction { iso3 } value }
                  products { value commodity { description } } }
              } }
              jurisdiction(iso3: "BRA") { tradeProfile(year: 2022, limit: 5) { year flow total productLevel
                partners { jurisdiction { iso3 } partnerCode value share }
                products { code description value share commodity { level } } } }
            }"#,
        )
        .await;
    no_errors(&response);
    let data = &response["data"];
    assert_eq!(data["commodity"]["parent"]["code"], "87");
    assert!(!data["commodity"]["children"].as_array().unwrap().is_empty());
    assert!(!data["commodity"]["tradeFlows"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        data["commodity"]["tradeFlows"][0]["commodityNode"]["code"],
        "8704"
    );
    assert!(data["commodities"]["totalCount"].as_i64().unwrap() > 0);
    let items = data["interventions"]["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let mut summed = 0;
    for item in items {
        let trade = &item["affectedTrade"];
        assert!(trade["method"].as_str().unwrap().len() > 20, "{trade}");
        for product in item["affectedProducts"].as_array().unwrap() {
            assert!(product["commodity"]["code"].is_string(), "{product}");
        }
        if trade["value"].is_number() {
            summed += 1;
            assert_eq!(trade["flow"], "INWARD");
            assert!(trade["implementerTotal"].as_f64().unwrap() > 0.0);
        }
    }
    assert!(summed > 0, "{}", data["interventions"]);
    let profile = &data["jurisdiction"]["tradeProfile"];
    assert!(profile["total"].as_f64().unwrap() > 0.0, "{profile}");
    assert_eq!(profile["partners"].as_array().unwrap().len(), 5);
    assert_eq!(profile["products"].as_array().unwrap().len(), 5);
    assert_eq!(profile["products"][0]["commodity"]["level"], 2);
}

/// Sample flows add up along the HS list: a heading's value is the sum of
/// its subheadings', a chapter's of its headings', the total of the
/// chapters'.
#[tokio::test]
async fn sample_flows_add_up_from_subheadings_to_the_total() {
    let gateway = TestGateway::start().await;
    let list = gateway
        .query(r#"{ chapter: commodity(code: "87") { children { code children { code } } } }"#)
        .await;
    no_errors(&list);
    let headings = list["data"]["chapter"]["children"].as_array().unwrap();
    let mut codes: Vec<String> = vec!["TOTAL".into(), "AG2".into(), "87".into()];
    for heading in headings {
        codes.push(heading["code"].as_str().unwrap().to_owned());
        for sub in heading["children"].as_array().unwrap() {
            codes.push(sub["code"].as_str().unwrap().to_owned());
        }
    }
    let response = gateway
        .query_with(
            r#"query($codes: [String!]) { tradeFlows(reporters: ["JPN"], periods: ["2021"], flow: EXPORT, commodities: $codes) { commodityCode value } }"#,
            json!({ "codes": codes }),
        )
        .await;
    no_errors(&response);
    let value: HashMap<String, f64> = response["data"]["tradeFlows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| {
            (
                flow["commodityCode"].as_str().unwrap().to_owned(),
                flow["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let chapters: f64 = value
        .iter()
        .filter(|(code, _)| code.len() == 2)
        .map(|(_, v)| v)
        .sum();
    assert_eq!(chapters, value["TOTAL"]);
    let mut headings_sum = 0.0;
    for heading in headings {
        let code = heading["code"].as_str().unwrap();
        let subs: f64 = heading["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sub| {
                value
                    .get(sub["code"].as_str().unwrap())
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum();
        assert_eq!(subs, value.get(code).copied().unwrap_or(0.0), "{code}");
        headings_sum += subs;
    }
    assert_eq!(headings_sum, value["87"]);
}

// ---------------------------------------------------------------------
// Recording stubs: GTA interventions and a Comtrade that answers every
// cell it is asked for from a formula the test knows.
// ---------------------------------------------------------------------

/// The value the Comtrade stub answers for a cell, or none (some cells
/// have no trade, and nothing is reported after 2024).
fn cell(reporter: u16, partner: u16, year: u16, flow: &str, code: &str) -> Option<f64> {
    if year > 2024 {
        return None;
    }
    let mut hash: u64 = 1469598103934665603;
    for byte in format!("{reporter}/{partner}/{year}/{flow}/{code}").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(1099511628211);
    }
    if code != "TOTAL" && hash % 9 == 0 {
        return None;
    }
    Some((hash % 1_000_000) as f64 * if code == "TOTAL" { 1000.0 } else { 1.0 })
}

/// Partners the stub answers for "every partner" (World among them).
fn stub_partners() -> Vec<u16> {
    let mut partners: Vec<u16> = trade_graph::countries::all()
        .iter()
        .filter_map(|country| {
            match country.comtrade_partner(trade_graph::countries::ComtradeDialect::V1) {
                trade_graph::countries::ComtradePartner::Own(code) => Some(code.0),
                _ => None,
            }
        })
        .collect();
    partners.push(0);
    partners.sort();
    partners.dedup();
    partners
}

#[derive(Clone, Default)]
struct Recorded(std::sync::Arc<std::sync::Mutex<Vec<HashMap<String, String>>>>);

/// A v1 Comtrade stub: data (every cell of the cross product asked, from
/// [`cell`]) and data availability (2015-2024 for any reporter); records
/// every data request's parameters.
async fn comtrade_stub() -> (String, Recorded) {
    use axum::extract::RawQuery;
    let recorded = Recorded::default();
    let data = {
        let recorded = recorded.clone();
        move |RawQuery(raw): RawQuery| {
            let recorded = recorded.clone();
            async move {
                let params: HashMap<String, String> =
                    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                recorded.0.lock().unwrap().push(params.clone());
                let list = |name: &str| -> Vec<String> {
                    params
                        .get(name)
                        .map(|v| v.split(',').map(str::to_owned).collect())
                        .unwrap_or_default()
                };
                let partners: Vec<u16> = match params.get("partnerCode") {
                    Some(_) => list("partnerCode")
                        .iter()
                        .map(|p| p.parse().unwrap())
                        .collect(),
                    None => stub_partners(),
                };
                let mut rows = Vec::new();
                for reporter in list("reporterCode") {
                    let reporter: u16 = reporter.parse().unwrap();
                    for period in list("period") {
                        let year: u16 = period.parse().unwrap();
                        for flow in list("flowCode") {
                            for partner in &partners {
                                for code in list("cmdCode") {
                                    if let Some(value) =
                                        cell(reporter, *partner, year, &flow, &code)
                                    {
                                        rows.push(json!({
                                            "period": period, "reporterCode": reporter, "flowCode": flow,
                                            "partnerCode": partner, "cmdCode": code, "customsCode": "C00",
                                            "motCode": 0, "primaryValue": value, "aggrLevel": if code == "TOTAL" { 0 } else { code.len() },
                                        }));
                                    }
                                }
                            }
                        }
                    }
                }
                axum::Json(
                    json!({ "elapsedTime": "0.0 secs", "count": rows.len(), "data": rows, "error": "" }),
                )
            }
        }
    };
    let availability = |RawQuery(raw): RawQuery| async move {
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let mut rows = Vec::new();
        for reporter in params
            .get("reporterCode")
            .map(String::as_str)
            .unwrap_or_default()
            .split(',')
        {
            for year in 2015..=2024 {
                rows.push(json!({ "reporterCode": reporter.parse::<u16>().unwrap(), "period": year.to_string(), "classificationCode": "H6", "totalRecords": 1000 }));
            }
        }
        axum::Json(json!({ "count": rows.len(), "data": rows, "error": "" }))
    };
    let stub = axum::Router::new()
        .route("/data/v1/get/C/A/HS", axum::routing::get(data))
        .route("/data/v1/getDa/C/A/HS", axum::routing::get(availability));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    (url, recorded)
}

/// A GTA stub answering every data request with `interventions` (v2's
/// envelope); the list can be swapped between operations.
async fn gta_stub(
    interventions: Vec<Value>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(interventions));
    let answer = {
        let shared = shared.clone();
        move || {
            let shared = shared.clone();
            async move {
                let results = shared.lock().unwrap().clone();
                axum::Json(
                    json!({ "count": results.len(), "next": null, "previous": null, "results": results }),
                )
            }
        }
    };
    let stub = axum::Router::new().route("/api/v2/gta/data/", axum::routing::post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    (url, shared)
}

/// GTA's recorded interventions (the publisher's QA run of its v2 API),
/// each once.
fn recorded_interventions() -> Vec<Value> {
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("gta/v2_data_and_counts_sample_results_2026-02-12.json"))
            .unwrap(),
    )
    .unwrap();
    let mut seen = BTreeSet::new();
    let mut interventions = Vec::new();
    for prompt in recorded.as_array().unwrap() {
        for result in prompt["sample_results"].as_array().into_iter().flatten() {
            if let Some(id) = result["intervention_id"].as_u64() {
                if seen.insert(id) {
                    interventions.push(result.clone());
                }
            }
        }
    }
    interventions
}

/// The sum the test expects for one measure from the answer's reporters,
/// year and flow: its partners (GTA's affected jurisdictions under their v1
/// partner codes that year, the reporter itself left out) × its products,
/// from the stub's formula.
fn expected(intervention: &Value, trade: &Value) -> f64 {
    use trade_graph::countries::{self, AreaRole, ComtradeDialect, GtaId};
    let year = trade["year"].as_u64().unwrap() as u16;
    let flow = match trade["flow"].as_str().unwrap() {
        "OUTWARD" => "X",
        _ => "M",
    };
    let mut partners: Vec<u16> = Vec::new();
    for affected in intervention["affected_jurisdictions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = affected["id"].as_u64().unwrap() as u16;
        if let Some(country) = countries::by_gta_id(GtaId(id)) {
            if let Ok(codes) =
                country.comtrade_codes_in(ComtradeDialect::V1, AreaRole::Partner, year)
            {
                for code in codes {
                    if !partners.contains(&code.0) {
                        partners.push(code.0);
                    }
                }
            }
        }
    }
    let mut products: Vec<String> = intervention["affected_products"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|product| {
            let id = product
                .get("product_id")
                .and_then(Value::as_u64)
                .or_else(|| product.as_u64())
                .unwrap();
            format!("{id:06}")
        })
        .collect();
    products.sort();
    products.dedup();
    let mut sum = 0.0;
    for reporter in trade["reporterCodes"].as_array().unwrap() {
        let reporter = reporter.as_u64().unwrap() as u16;
        for partner in partners.iter().filter(|p| **p != reporter) {
            for product in &products {
                sum += cell(reporter, *partner, year, flow, product).unwrap_or(0.0);
            }
        }
    }
    sum
}

const TRADE_FIELDS: &str = "id affectedTrade { year yearNote flow value complete incompleteReasons method reporterCodes implementerTotal shareOfImplementerTrade jurisdictions { jurisdiction { id } value } products { value } }";

/// Against GTA's recorded interventions and a Comtrade stub: every inward
/// and outward measure's affected trade is the sum of exactly its own rows
/// (its reporters × partners × products in its year and flow, none of the
/// other cells the shared requests asked for), one plan for all of them.
#[tokio::test]
async fn recorded_measures_sum_exactly_their_own_rows() {
    let interventions = recorded_interventions();
    assert!(interventions.len() > 40, "{}", interventions.len());
    let (gta_url, _) = gta_stub(interventions.clone()).await;
    let (comtrade_url, recorded) = comtrade_stub().await;
    let gateway = TestGateway::start_with(&[
        "--gta-url",
        &gta_url,
        "--comtrade-url",
        &comtrade_url,
        "--comtrade-max-requests",
        "200",
    ])
    .await;
    let response = gateway
        .query(&format!(
            "{{ interventions(limit: 60) {{ items {{ {TRADE_FIELDS} }} }} }}"
        ))
        .await;
    no_errors(&response);
    let by_id: HashMap<u64, &Value> = interventions
        .iter()
        .map(|i| (i["intervention_id"].as_u64().unwrap(), i))
        .collect();
    let mut checked = 0;
    let mut groups = BTreeSet::new();
    for item in response["data"]["interventions"]["items"]
        .as_array()
        .unwrap()
    {
        let trade = &item["affectedTrade"];
        let intervention = by_id[&item["id"].as_u64().unwrap()];
        let flow = trade["flow"].as_str().unwrap();
        if flow == "OUTWARD_SUBSIDY" {
            assert!(trade["value"].is_null(), "{trade}");
            assert!(trade["method"].as_str().unwrap().contains("third markets"));
            continue;
        }
        let announced: u64 = intervention["date_announced"].as_str().unwrap()[..4]
            .parse()
            .unwrap();
        let year = trade["year"].as_u64().unwrap();
        if announced - 1 > 2024 {
            // Not published yet by the stub: the latest year it has.
            assert_eq!(year, 2024, "{trade}");
            assert!(trade["yearNote"].is_string(), "{trade}");
        } else {
            assert_eq!(year, announced - 1, "{trade}");
            assert!(trade["yearNote"].is_null(), "{trade}");
        }
        for reporter in trade["reporterCodes"].as_array().unwrap() {
            let reporter = reporter.as_u64().unwrap();
            groups.insert((reporter, year, flow.to_owned()));
            groups.insert((reporter, announced - 1, flow.to_owned()));
        }
        if trade["value"].is_null() {
            continue;
        }
        let value = trade["value"].as_f64().unwrap();
        assert_eq!(
            value,
            expected(intervention, trade),
            "{}: {trade}",
            item["id"]
        );
        let parts: f64 = trade["jurisdictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_f64().unwrap())
            .sum();
        assert_eq!(parts, value, "{}", item["id"]);
        let products: f64 = trade["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_f64().unwrap())
            .sum();
        assert_eq!(products, value, "{}", item["id"]);
        let total = trade["implementerTotal"].as_f64().unwrap();
        let share = trade["shareOfImplementerTrade"].as_f64().unwrap();
        assert!((share - value / total).abs() < 1e-12, "{trade}");
        checked += 1;
    }
    assert!(checked > 20, "{checked} measures checked");
    // One plan: a request per (reporter, year, flow) at most (the years
    // asked first and the ones fallen back to), and the one availability
    // look-up of the fallback.
    let sent = upstream_requests(&response, "comtrade") as usize;
    let data_requests = recorded.0.lock().unwrap().len();
    assert!(data_requests < sent, "the look-up is not a data request");
    assert!(
        sent <= groups.len() + 1,
        "sent {sent} for {} groups",
        groups.len()
    );
}
