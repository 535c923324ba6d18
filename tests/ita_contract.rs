//! Contract tests: every recorded ITA payload in `../shared/fixtures/ita`
//! decodes, with each source feed's own shape.

mod common;

use serde_json::{json, Value};
use trade_graph::sources::ita::model::{decode_search, plain_text, Identifiable, SearchResponse};
use trade_graph::sources::ita::{office_country, OfficeLocation, TradeEvent, TradeLead};

fn read(path: &str) -> Value {
    let bytes = std::fs::read(common::fixtures().join("ita").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// The recorded files hold `results` (or `aggregations`); wrap them in the
/// search envelope the API answers with.
fn envelope<T: serde::de::DeserializeOwned + Identifiable>(
    results: Value,
    aggregations: Value,
) -> SearchResponse<T> {
    let total = results.as_array().map_or(0, Vec::len);
    let body = json!({
        "total": total, "offset": 0,
        "sources_used": [{ "source": "SAMPLE", "source_last_updated": "2016-07-01T00:00:00Z", "last_imported": "2016-07-02T00:00:00Z" }],
        "results": results, "aggregations": aggregations,
    });
    decode_search(&serde_json::to_vec(&body).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

/// Every source's leads decode: Canada without ids and with industry lists,
/// the UK's contract values as text, State's project size as a number.
#[test]
fn trade_leads_of_every_source_decode() {
    for (file, count) in [
        ("australia", 3),
        ("canada", 5),
        ("fbopen", 3),
        ("mca", 3),
        ("state", 4),
        ("uk", 9),
        ("ustda", 2),
    ] {
        let raw = read(&format!("trade_leads_v2_results_{file}.json"));
        let leads = envelope::<TradeLead>(
            raw.clone(),
            read("trade_leads_v2_aggregations_all_sources.json"),
        )
        .results;
        assert_eq!(leads.len(), count, "{file}");
        for (lead, raw) in leads.iter().zip(raw.as_array().unwrap()) {
            assert_eq!(lead.title.as_deref(), raw["title"].as_str(), "{file}");
            assert_eq!(lead.country.as_deref(), raw["country"].as_str(), "{file}");
            assert_eq!(lead.id.as_deref(), raw["id"].as_str(), "{file}");
        }
    }
    let canada =
        envelope::<TradeLead>(read("trade_leads_v2_results_canada.json"), Value::Null).results;
    assert!(
        canada.iter().all(|lead| lead.id.is_none()),
        "Canada's leads have no id"
    );
    assert!(
        canada.iter().any(|lead| lead.industry.len() > 1),
        "industry as a list"
    );
    let australia =
        envelope::<TradeLead>(read("trade_leads_v2_results_australia.json"), Value::Null).results;
    assert_eq!(australia[0].industry.len(), 1, "industry as a string");
    assert!(australia[0].contract_value.is_some());
    let uk = envelope::<TradeLead>(read("trade_leads_v2_results_uk.json"), Value::Null).results;
    assert!(uk.iter().all(|lead| lead.min_contract_value.is_some()));
    let state =
        envelope::<TradeLead>(read("trade_leads_v2_results_state.json"), Value::Null).results;
    assert!(state.iter().all(|lead| lead
        .project_size
        .as_deref()
        .is_some_and(|s| s.parse::<u64>().is_ok())));
    let mca = envelope::<TradeLead>(read("trade_leads_v2_results_mca.json"), Value::Null).results;
    assert!(mca.iter().all(|lead| !lead.categories.is_empty()));
    let with_html = canada
        .iter()
        .chain(&uk)
        .find(|lead| lead.description.as_deref().is_some_and(|d| d.contains('<')));
    if let Some(lead) = with_html {
        assert!(!plain_text(lead.description.as_deref().unwrap()).contains('<'));
    }
}

/// Every source's events decode: cost as a number, text or null; venues and
/// contacts; USTDA's contact in top-level fields.
#[test]
fn trade_events_of_every_source_decode() {
    for (file, count) in [
        ("dl", 2),
        ("exim", 15),
        ("ita", 4),
        ("sba", 17),
        ("ustda", 6),
    ] {
        let raw = read(&format!("trade_events_v2_results_{file}.json"));
        let events = envelope::<TradeEvent>(
            raw.clone(),
            read("trade_events_v2_aggregations_all_sources.json"),
        )
        .results;
        assert_eq!(events.len(), count, "{file}");
        for (event, raw) in events.iter().zip(raw.as_array().unwrap()) {
            assert_eq!(
                event.event_name.as_deref(),
                raw["event_name"].as_str(),
                "{file}"
            );
            assert_eq!(
                event.venues.len(),
                raw["venues"].as_array().map_or(0, Vec::len),
                "{file}"
            );
        }
    }
    let ita = envelope::<TradeEvent>(read("trade_events_v2_results_ita.json"), Value::Null).results;
    assert_eq!(ita[0].cost.as_deref(), Some("0.0"), "a number");
    assert_eq!(ita[0].countries(), ["IL"]);
    assert_eq!(
        ita[0].all_contacts()[0].email.as_deref(),
        Some("Yael.Torres@trade.gov")
    );
    let sba = envelope::<TradeEvent>(read("trade_events_v2_results_sba.json"), Value::Null).results;
    assert!(
        sba.iter().any(|e| e.cost.is_none()) && sba.iter().any(|e| e.cost.is_some()),
        "text or null"
    );
    let ustda =
        envelope::<TradeEvent>(read("trade_events_v2_results_ustda.json"), Value::Null).results;
    assert!(ustda.iter().any(|e| e.venues.is_empty()));
}

/// Offices decode, domestic and international; a null country is resolved
/// from the office name when that names exactly one jurisdiction.
#[test]
fn office_locations_decode_and_resolve_missing_countries() {
    let domestic =
        envelope::<OfficeLocation>(read("office_locations_records_domestic.json"), Value::Null)
            .results;
    assert_eq!(domestic.len(), 116);
    assert!(domestic.iter().all(|o| o.country.as_deref() == Some("US")));
    let international = envelope::<OfficeLocation>(
        read("office_locations_records_international.json"),
        Value::Null,
    )
    .results;
    assert_eq!(international.len(), 113);
    let belgrade = international
        .iter()
        .find(|o| o.post.as_deref() == Some("Belgrade"))
        .unwrap();
    assert_eq!(belgrade.country, None);
    assert_eq!(
        office_country(belgrade).as_deref(),
        Some("RS"),
        "\"Belgrade, Serbia\" names Serbia"
    );
    let eu = international
        .iter()
        .find(|o| o.post.as_deref() == Some("European Union"))
        .unwrap();
    assert_eq!(
        office_country(eu),
        None,
        "the EU mission belongs to no jurisdiction"
    );
    let raw = read("office_locations_records_international.json");
    for (office, raw) in international.iter().zip(raw.as_array().unwrap()) {
        assert_eq!(
            office.address.len(),
            raw["address"].as_array().map_or(0, Vec::len),
            "address lines of {:?}",
            office.post
        );
    }
    let san_jose = envelope::<OfficeLocation>(
        read("office_locations_v2_results_q_san_jose.json"),
        Value::Null,
    )
    .results;
    assert_eq!(san_jose.len(), 2);
    let countries: Vec<_> = san_jose
        .iter()
        .filter_map(|o| o.country.as_deref())
        .collect();
    assert!(
        countries.contains(&"US") && countries.contains(&"CR"),
        "{countries:?}"
    );
}

/// The current API's envelope and records (CURRENT_API.md: no recorded
/// payload exists, so built from its field lists) decode: leads by
/// `country_code`, offices with the country's name beside its code, events
/// with `name`, `registration_url`, whole-name contacts and `{name,
/// street}` venues; facets as `{value, count}`.
#[test]
fn current_api_answers_decode() {
    let leads: SearchResponse<TradeLead> = decode_search(
        br#"{"total": 2, "count": 1, "offset": 0, "next_offset": 1,
            "results": [{"id": "L1", "url": "https://x", "country_code": "MX", "title": "Bridge",
                         "description": "<p>d</p>", "published_date": "2026-01-02",
                         "tender_start_date": "2026-02-01", "tender_end_date": "2026-03-01",
                         "contract_start_date": null, "contract_end_date": null}],
            "aggregations": {"country_codes": [{"value": "MX", "count": 2}]}}"#,
    )
    .unwrap();
    let lead = &leads.results[0];
    assert_eq!(lead.iso2().as_deref(), Some("MX"));
    assert_eq!(lead.publish_date.as_deref(), Some("2026-01-02"));
    assert_eq!(lead.tender_start_date.as_deref(), Some("2026-02-01"));
    assert_eq!(leads.next_offset, Some(1));
    assert_eq!(leads.aggregations[0].facet, "country_codes");
    assert_eq!(leads.aggregations[0].buckets[0].count, 2);

    let offices: SearchResponse<OfficeLocation> = decode_search(
        br#"{"total": 1, "results": [{"id": "O1", "post": "Mexico City", "office_name": "Mexico City",
            "country": "Mexico", "country_code": "MX", "address": ["Paseo 305"], "apo_address": [],
            "assigned_zip_codes": [], "website_url": "https://x"}]}"#,
    )
    .unwrap();
    assert_eq!(office_country(&offices.results[0]).as_deref(), Some("MX"));

    let events: SearchResponse<TradeEvent> = decode_search(
        br#"{"total": 1, "results": [{"id": "E1", "name": "Expo", "event_type": "Trade Show",
            "cost": 250.0, "registration_url": "https://r", "industries": ["Energy"],
            "contacts": [{"name": "Pat Officer", "email": "p@x"}],
            "venues": [{"name": "Hall", "street": "1 Main", "city": "Monterrey", "country": "Mexico"}]}]}"#,
    )
    .unwrap();
    let event = &events.results[0];
    assert_eq!(event.event_name.as_deref(), Some("Expo"));
    assert_eq!(event.registration_link.as_deref(), Some("https://r"));
    assert_eq!(event.contacts[0].name.as_deref(), Some("Pat Officer"));
    assert_eq!(event.venues[0].venue.as_deref(), Some("Hall"));
    assert_eq!(event.countries(), ["MX"]);
}
