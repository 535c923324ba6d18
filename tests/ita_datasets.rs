//! Seed 000's four other ITA data sets: every recorded payload decodes; in
//! sample mode (seed-era API) each answers, with its filters at the wire
//! and its links batched; against a stub replaying the recorded payloads
//! each answers through the graph; on the current API each fails with
//! `UPSTREAM_DATASET_RETIRED`, saying since when, and nothing is sent.

mod common;

use std::collections::HashMap;

use axum::routing::get;
use axum::{Json, Router};
use common::{error_codes, upstream_requests, TestGateway};
use serde_json::{json, Value};
use trade_graph::sources::ita::datasets::{
    EnvirotechRecord, ExportProgram, MarketResearch, TradeArticle,
};
use trade_graph::sources::ita::model::decode_search;
use trade_graph::sources::Source;

fn read(path: &str) -> Value {
    let bytes = std::fs::read(common::fixtures().join("ita").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// The recorded results (or a recorded envelope) as a search answer.
fn envelope(recorded: Value) -> Value {
    if recorded.get("results").is_some() {
        return recorded;
    }
    let total = recorded.as_array().map_or(0, Vec::len);
    json!({ "total": total, "offset": 0, "sources_used": [], "results": recorded })
}

fn decode<T: serde::de::DeserializeOwned + trade_graph::sources::ita::model::Identifiable>(
    file: &str,
) -> Vec<T> {
    decode_search::<T>(&serde_json::to_vec(&envelope(read(file))).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .results
}

/// Every recorded payload of the four data sets decodes, in each of its
/// historical shapes.
#[test]
fn every_recorded_payload_decodes() {
    let programs: Vec<ExportProgram> = decode("ita_programs_records_2013.json");
    assert_eq!(programs.len(), 22);
    assert_eq!(
        programs[0].program_title.as_deref(),
        Some("Commercial News USA")
    );
    assert_eq!(programs[0].export_phase, ["Learn", "Ready", "Exporting"]);

    for file in [
        "market_research_library_v2_results_all.json",
        "market_research_library_v1_results_all.json",
    ] {
        let reports: Vec<MarketResearch> = decode(file);
        assert_eq!(reports.len(), 6, "{file}");
        assert!(reports[0].iso2_codes().contains(&"CN".to_owned()), "{file}");
    }
    let live: Vec<MarketResearch> =
        decode("market_research_library_v2_live_sample_2015-08-23.json");
    assert_eq!(live[0].iso2_codes(), ["MA"]);
    assert!(
        !live[0].source_industries().is_empty(),
        "{{original, mapped}} industries"
    );
    let static_2013: Vec<MarketResearch> =
        decode("market_research_library_2013_static_metadata_first200.json");
    assert_eq!(static_2013.len(), 200);
    assert_eq!(
        static_2013[0].iso2_codes(),
        ["SI"],
        "country names resolved"
    );
    assert!(static_2013[0].url.is_some());

    for (file, count) in [
        ("trade_articles_v1_results_q_multilateral.json", 1),
        ("trade_articles_v1_records_importer.json", 3),
        ("trade_articles_v2_results_all.json", 4),
    ] {
        let articles: Vec<TradeArticle> = decode(file);
        assert_eq!(articles.len(), count, "{file}");
    }
    let v2: Vec<TradeArticle> = decode("trade_articles_v2_results_all.json");
    assert_eq!(v2[0].evergreen, Some(false));
    assert!(v2[0].iso2_codes().contains(&"AF".to_owned()));
    let v1: Vec<TradeArticle> = decode("trade_articles_v1_records_importer.json");
    assert_eq!(v1[0].release_date.as_deref(), Some("2013-05-14"));
    assert_eq!(v1[0].content_type, ["Webinar"]);

    for kind in [
        "issues",
        "solutions",
        "regulations",
        "providers",
        "analysis_links",
        "background_links",
        "provider_solutions",
    ] {
        for suffix in ["results_all", "records"] {
            let records: Vec<EnvirotechRecord> =
                decode(&format!("envirotech_{kind}_{suffix}.json"));
            assert!(!records.is_empty(), "{kind} {suffix}");
        }
    }
    let links: Vec<EnvirotechRecord> = decode("envirotech_analysis_links_results_all.json");
    assert_eq!(links[0].issue_ids, [19], "a single integer on links");
}

/// In sample mode on the seed-era API, each data set answers, its filters
/// reach the wire under their names, and jurisdictions share one search.
#[tokio::test]
async fn every_data_set_answers_in_sample_mode() {
    let gateway = TestGateway::start_with(&["--ita-api", "v2"]).await;
    let programs = gateway
        .query(r#"{ exportPrograms(exportPhases: [EXPAND], limit: 50) { totalCount items { title exportPhases } } }"#)
        .await;
    assert!(programs.get("errors").is_none(), "{programs}");
    let request = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .pop()
        .unwrap();
    assert_eq!(request.path, "/ita_programs/search.json");
    assert!(
        request.query.contains("export_phase=expand"),
        "{}",
        request.query
    );
    let items = programs["data"]["exportPrograms"]["items"]
        .as_array()
        .unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|item| item["exportPhases"]
        .as_array()
        .unwrap()
        .contains(&json!("Expand"))));

    let research = gateway
        .query(r#"{ marketResearch(industries: ["Construction, Building & Heavy Equipment"], expirationDate: { from: "2016-01-01" }) { items { title industries expirationDate countries { iso3 } } } }"#)
        .await;
    assert!(research.get("errors").is_none(), "{research}");
    let request = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .pop()
        .unwrap();
    let query: HashMap<String, String> = url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        query["industries"],
        r"Construction\, Building & Heavy Equipment"
    );
    assert_eq!(query["expiration_date"], "2016-01-01 TO 2099-12-31");
    let items = research["data"]["marketResearch"]["items"]
        .as_array()
        .unwrap();
    assert!(!items.is_empty(), "the escaped comma matched: {research}");
    for item in items {
        assert_eq!(
            item["industries"][0],
            "Construction, Building & Heavy Equipment"
        );
        assert!(item["expirationDate"].as_str().unwrap() >= "2016-01-01");
    }

    let before = gateway.ita_requests();
    let profile = gateway
        .query(r#"{ jurisdictions(iso3: ["MEX", "CAN", "GBR", "FRA"]) { iso3 marketResearch(limit: 2) { title countries { iso3 } } tradeArticles(limit: 1) { title countryCodes } } }"#)
        .await;
    assert!(profile.get("errors").is_none(), "{profile}");
    assert_eq!(
        upstream_requests(&profile, "ita"),
        2,
        "one search per data set"
    );
    assert_eq!(gateway.ita_requests() - before, 2);
    for jurisdiction in profile["data"]["jurisdictions"].as_array().unwrap() {
        let iso3 = &jurisdiction["iso3"];
        let reports = jurisdiction["marketResearch"].as_array().unwrap();
        assert!(!reports.is_empty(), "{iso3}");
        for report in reports {
            assert!(report["countries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| &c["iso3"] == iso3));
        }
        assert_eq!(
            jurisdiction["tradeArticles"].as_array().unwrap().len(),
            1,
            "{iso3}"
        );
    }

    let articles = gateway
        .query(r#"{ tradeArticles(topics: ["Market Entry"], exportPhases: ["Learn"], releaseDate: { from: "2015-01-01" }) { items { title topics exportPhases evergreen } } }"#)
        .await;
    assert!(articles.get("errors").is_none(), "{articles}");
    let request = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .pop()
        .unwrap();
    assert!(request.path.ends_with("/v2/trade_articles/search"));
    for item in articles["data"]["tradeArticles"]["items"]
        .as_array()
        .unwrap()
    {
        assert_eq!(item["topics"][0], "Market Entry");
        assert_eq!(item["exportPhases"][0], "Learn");
    }
}

/// The toolkit's records link by id, one batched search per kind: three
/// issues' solutions are one request, and their providers two more.
#[tokio::test]
async fn toolkit_links_are_batched_per_kind() {
    let gateway = TestGateway::start_with(&["--ita-api", "v2"]).await;
    let response = gateway
        .query(r#"{ environmentalIssues(ids: [10, 11, 12]) { items { id name names { french } regulations { id url } solutions { id name providers { url provider { id name } } } analysisLinks { url issues { id } } } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    // Issues; then regulations, solutions, analysis links (one each); then
    // provider links and providers; then the links' issues.
    assert_eq!(
        upstream_requests(&response, "ita"),
        7,
        "{}",
        response["extensions"]
    );
    let issues = response["data"]["environmentalIssues"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(issues.len(), 3);
    for issue in issues {
        let id = issue["id"].as_i64().unwrap();
        assert_eq!(issue["solutions"].as_array().unwrap().len(), 2, "{issue}");
        assert_eq!(issue["regulations"][0]["id"], id + 10);
        assert_eq!(issue["analysisLinks"][0]["issues"][0]["id"], id);
        let providers = issue["solutions"][0]["providers"].as_array().unwrap();
        assert!(!providers.is_empty(), "{issue}");
        assert!(providers[0]["provider"]["name"].is_string());
    }
    let paths: Vec<String> = gateway
        .simulator
        .recorded_requests(Source::Ita)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(paths.contains(&"/v2/envirotech/provider_solutions/search".to_owned()));
}

/// On the current API (data.trade.gov serves none of them), each data set
/// fails with a typed error saying it is retired and since when; nothing is
/// sent, and the rest of the operation answers.
#[tokio::test]
async fn retired_data_sets_fail_typed_on_the_current_api() {
    let gateway = TestGateway::start().await;
    for (query, since) in [
        (r#"{ exportPrograms { totalCount } }"#, "2015"),
        (r#"{ marketResearch { totalCount } }"#, "2018-10-01"),
        (r#"{ tradeArticles { totalCount } }"#, "2016-12-08"),
        (r#"{ environmentalIssues { totalCount } }"#, "2017-01-12"),
        (
            r#"{ jurisdiction(iso3: "MEX") { name marketResearch { title } } }"#,
            "2018-10-01",
        ),
    ] {
        let response = gateway.query(query).await;
        assert_eq!(
            error_codes(&response),
            ["UPSTREAM_DATASET_RETIRED"],
            "{response}"
        );
        let error = &response["errors"][0];
        assert_eq!(error["extensions"]["source"], "ita");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(since) && message.contains("--ita-api v2"),
            "{message}"
        );
    }
    let partial = gateway
        .query(r#"{ jurisdiction(iso3: "MEX") { name marketResearch { title } } }"#)
        .await;
    assert_eq!(partial["data"]["jurisdiction"]["name"], "Mexico");
    assert_eq!(gateway.ita_requests(), 0);
}

/// Against a stub that replays the recorded payloads at the seed-era paths,
/// all seven data sets of seed 000 answer through the graph.
#[tokio::test]
async fn recorded_payloads_answer_through_the_graph() {
    let answer = |file: &'static str| {
        let body = envelope(read(file));
        get(move || {
            let body = body.clone();
            async move { Json(body) }
        })
    };
    let stub = Router::new()
        .route(
            "/ita_programs/search.json",
            answer("ita_programs_records_2013.json"),
        )
        .route(
            "/v2/market_research_library/search",
            answer("market_research_library_v2_live_sample_2015-08-23.json"),
        )
        .route(
            "/v2/trade_articles/search",
            answer("trade_articles_v2_results_all.json"),
        )
        .route(
            "/v2/envirotech/issues/search",
            answer("envirotech_issues_records.json"),
        )
        .route(
            "/v2/envirotech/regulations/search",
            answer("envirotech_regulations_records.json"),
        )
        .route(
            "/v2/trade_leads/search",
            answer("trade_leads_v2_results_uk.json"),
        )
        .route(
            "/v2/trade_events/search",
            answer("trade_events_v2_results_ita.json"),
        )
        .route(
            "/v2/ita_office_locations/search",
            answer("office_locations_v2_results_q_san_jose.json"),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    let gateway = TestGateway::start_with(&["--ita-api", "v2", "--ita-url", &url]).await;
    let response = gateway
        .query(r#"{ exportPrograms(limit: 30) { items { title email } } marketResearch { totalCount items { title countries { iso3 } industries } } tradeArticles { items { title countries { iso3 } } } environmentalIssues(limit: 20) { items { name regulations { name } } }
                   tradeLeads { items { title country { iso3 } } } tradeEvents { items { name } } officeLocations(query: "San Jose") { items { post country { iso3 } } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let data = &response["data"];
    assert_eq!(
        data["exportPrograms"]["items"].as_array().unwrap().len(),
        22
    );
    assert_eq!(data["marketResearch"]["totalCount"], 2174);
    assert_eq!(
        data["marketResearch"]["items"][0]["countries"][0]["iso3"],
        "MAR"
    );
    assert_eq!(data["tradeArticles"]["items"].as_array().unwrap().len(), 4);
    let issues = data["environmentalIssues"]["items"].as_array().unwrap();
    assert_eq!(issues.len(), 12);
    assert!(issues
        .iter()
        .any(|issue| !issue["regulations"].as_array().unwrap().is_empty()));
    // The three data sets both generations serve, from their recordings.
    let leads = data["tradeLeads"]["items"].as_array().unwrap();
    assert_eq!(leads.len(), 9);
    assert!(leads.iter().all(|lead| lead["country"]["iso3"].is_string()));
    assert!(!data["tradeEvents"]["items"].as_array().unwrap().is_empty());
    assert!(!data["officeLocations"]["items"]
        .as_array()
        .unwrap()
        .is_empty());
}
