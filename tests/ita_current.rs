//! data.trade.gov's screening list, de minimis thresholds and business
//! service providers, at the wire and in the graph, in both API
//! generations: every argument leaves under the parameter name the API
//! takes and takes effect; the screening list pages within `size` <= 50
//! and `offset` <= 1000 and says when matches lie beyond; jurisdictions'
//! de minimis and screening entries batch into one request; a bulk
//! screening stays within the upstream budget its estimate announced; the
//! seed-era API refuses what it never had, naming the API that has it.

mod common;

use std::collections::HashMap;

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sources::Source;

fn queries(gateway: &TestGateway) -> Vec<(String, HashMap<String, String>)> {
    gateway
        .simulator
        .recorded_requests(Source::Ita)
        .into_iter()
        .map(|request| {
            let query = url::form_urlencoded::parse(request.query.as_bytes())
                .into_owned()
                .collect();
            (request.path, query)
        })
        .collect()
}

fn last_query(gateway: &TestGateway) -> (String, HashMap<String, String>) {
    queries(gateway).pop().expect("a request")
}

fn ok(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
}

/// Thirty post countries.
const THIRTY: [&str; 30] = [
    "MX", "CA", "GB", "FR", "DE", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "DK", "NO", "FI", "PL",
    "CZ", "HU", "RO", "GR", "TR", "IL", "SA", "AE", "EG", "ZA", "NG", "KE", "MA", "IN",
];

fn iso3_list(iso2: &[&str]) -> String {
    iso2.iter()
        .map(|code| {
            format!(
                "\"{}\"",
                trade_graph::countries::by_iso2(code).unwrap().iso3
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn de_minimis_for_thirty_jurisdictions_is_one_request() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(&format!(
            "{{ jurisdictions(iso3: [{}]) {{ iso2 deMinimis {{ id countryCode countryName country {{ iso2 }} deMinimisValue deMinimisCurrency vatAmount vatCurrency comment }} }} }}",
            iso3_list(&THIRTY)
        ))
        .await;
    ok(&response);
    assert_eq!(upstream_requests(&response, "ita"), 1, "{response}");
    assert_eq!(gateway.ita_requests(), 1);
    let (path, query) = last_query(&gateway);
    assert_eq!(path, "/de_minimis/v1/search");
    let mut sent: Vec<&str> = query["country_codes"].split(',').collect();
    sent.sort_unstable();
    let mut wanted = THIRTY.to_vec();
    wanted.sort_unstable();
    assert_eq!(sent, wanted);
    let jurisdictions = response["data"]["jurisdictions"].as_array().unwrap();
    assert_eq!(jurisdictions.len(), 30);
    for jurisdiction in jurisdictions {
        let threshold = &jurisdiction["deMinimis"];
        assert_eq!(
            threshold["countryCode"], jurisdiction["iso2"],
            "{threshold}"
        );
        assert_eq!(threshold["country"]["iso2"], jurisdiction["iso2"]);
        assert!(threshold["deMinimisValue"].is_number(), "{threshold}");
        assert!(threshold["vatAmount"].is_number(), "{threshold}");
        assert_eq!(threshold["deMinimisCurrency"].as_str().unwrap().len(), 3);
        assert!(threshold["comment"].is_string() && threshold["countryName"].is_string());
    }
    let france = jurisdictions.iter().find(|j| j["iso2"] == "FR").unwrap();
    assert_eq!(france["deMinimis"]["deMinimisCurrency"], "EUR");
}

#[tokio::test]
async fn de_minimis_list_pages_and_the_v2_api_refuses_it_naming_the_current_one() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query("{ deMinimisThresholds(limit: 30, offset: 10) { totalCount items { countryCode deMinimisValue } } }")
        .await;
    ok(&response);
    let (path, query) = last_query(&gateway);
    assert_eq!(path, "/de_minimis/v1/list");
    assert_eq!(
        (query["size"].as_str(), query["offset"].as_str()),
        ("30", "10")
    );
    let items = response["data"]["deMinimisThresholds"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 30);
    let total = response["data"]["deMinimisThresholds"]["totalCount"]
        .as_u64()
        .unwrap();
    let all = gateway
        .query("{ deMinimisThresholds(limit: 1000) { items { countryCode } } }")
        .await;
    ok(&all);
    let every = all["data"]["deMinimisThresholds"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(every.len() as u64, total);
    assert_eq!(
        &every[10..40],
        &items
            .iter()
            .map(|i| serde_json::json!({ "countryCode": i["countryCode"] }))
            .collect::<Vec<_>>()[..]
    );

    let v2 = TestGateway::start_with(&["--ita-api", "v2"]).await;
    for query in [
        "{ deMinimisThresholds { totalCount } }",
        r#"{ jurisdiction(iso3: "MEX") { deMinimis { deMinimisValue } } }"#,
        "{ screeningListSources { code } }",
    ] {
        let response = v2.query(query).await;
        assert_eq!(
            error_codes(&response),
            ["UPSTREAM_API_LACKS_ENDPOINT"],
            "{query}: {response}"
        );
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("--ita-api current"), "{message}");
    }
    assert_eq!(v2.ita_requests(), 0, "refused before anything is sent");
}

/// Every screening list argument reaches data.trade.gov's wire under its
/// name, and each takes effect (the simulator, like the API, would ignore
/// a wrong name).
#[tokio::test]
async fn every_screening_parameter_reaches_the_current_wire() {
    let gateway = TestGateway::start().await;
    // An entity with a hub address abroad, to filter on.
    let listed = gateway
        .query(r#"{ screeningList(types: [ENTITY], countries: ["AE"], limit: 1) { totalCount items { name sourceCode addresses { address city postalCode countryCode } } } }"#)
        .await;
    ok(&listed);
    let (_, query) = last_query(&gateway);
    assert_eq!(query["types"], "Entity");
    assert_eq!(query["countries"], "AE");
    let entry = &listed["data"]["screeningList"]["items"][0];
    let home = &entry["addresses"][0];
    let name = entry["name"].as_str().unwrap();
    let source = entry["sourceCode"].as_str().unwrap();
    let misspelt = name.replacen('a', "e", 1);
    let response = gateway
        .query(&format!(
            r#"{{ screeningList(name: "{misspelt}", fuzzyName: true, sources: ["{source}"], types: [ENTITY, INDIVIDUAL], countries: ["{}"], address: "{}", city: "{}", state: "Nowhere", postalCode: "{}", fullAddress: "{}", limit: 5, offset: 0) {{ totalCount items {{ name score }} }} }}"#,
            home["countryCode"].as_str().unwrap(),
            home["address"].as_str().unwrap(),
            home["city"].as_str().unwrap(),
            home["postalCode"].as_str().unwrap(),
            home["city"].as_str().unwrap(),
        ))
        .await;
    ok(&response);
    let (path, query) = last_query(&gateway);
    assert_eq!(path, "/consolidated_screening_list/v1/search");
    for name in [
        "name",
        "fuzzy_name",
        "sources",
        "types",
        "countries",
        "address",
        "city",
        "state",
        "postal_code",
        "full_address",
        "size",
        "offset",
    ] {
        assert!(query.contains_key(name), "{name}: {query:?}");
    }
    assert_eq!(query["fuzzy_name"], "true");
    assert_eq!(query["types"], "Entity,Individual");
    assert_eq!(query["size"], "5");
    // No entry has that state: the filter took effect.
    assert_eq!(response["data"]["screeningList"]["totalCount"], 0);
    let by_state = gateway
        .query(r#"{ screeningList(state: "Guangdong", limit: 50) { totalCount items { addresses { state } } } }"#)
        .await;
    ok(&by_state);
    assert_eq!(last_query(&gateway).1["state"], "Guangdong");
    let items = by_state["data"]["screeningList"]["items"]
        .as_array()
        .unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|item| item["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|address| address["state"] == "Guangdong")));

    let without_state = gateway
        .query(&format!(
            r#"{{ screeningList(name: "{misspelt}", fuzzyName: true, sources: ["{source}"], city: "{}", postalCode: "{}", limit: 5) {{ totalCount items {{ name altNames score }} }} }}"#,
            home["city"].as_str().unwrap(),
            home["postalCode"].as_str().unwrap(),
        ))
        .await;
    ok(&without_state);
    let items = without_state["data"]["screeningList"]["items"]
        .as_array()
        .unwrap();
    let found = items
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("{name} found fuzzily as {misspelt}: {without_state}"));
    let score = found["score"].as_f64().unwrap();
    assert!((75.0..100.0).contains(&score), "one edit apart: {score}");
    // Best first.
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Not fuzzy: no score, and the exact words only.
    let exact = gateway
        .query(&format!(
            r#"{{ screeningList(name: "{name}", limit: 3) {{ items {{ name score }} }} }}"#
        ))
        .await;
    ok(&exact);
    assert!(!last_query(&gateway).1.contains_key("fuzzy_name"));
    let items = exact["data"]["screeningList"]["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|item| item["score"].is_null()));
}

/// The seed-era API's screening list: `name`, `fuzzy_name`, `sources`, one
/// `type`, `countries`, `address` (the v2 simulator refuses any other
/// name); the current API's address parts are refused before sending.
#[tokio::test]
async fn screening_on_the_v2_wire_and_what_it_lacks() {
    let gateway = TestGateway::start_with(&["--ita-api", "v2"]).await;
    let response = gateway
        .query(r#"{ screeningList(name: "Trading", fuzzyName: true, sources: ["SDN", "EL"], types: [ENTITY], countries: ["Iran"], address: "Street", limit: 120) { totalCount items { name type sourceCode score } } }"#)
        .await;
    ok(&response);
    let sent = queries(&gateway);
    let (path, query) = &sent[0];
    assert_eq!(path, "/v2/consolidated_screening_list/search");
    for (name, value) in [
        ("name", "Trading"),
        ("fuzzy_name", "true"),
        ("sources", "SDN,EL"),
        ("type", "Entity"),
        ("countries", "IR"),
        ("address", "Street"),
        ("size", "100"),
        ("offset", "0"),
    ] {
        assert_eq!(
            query.get(name).map(String::as_str),
            Some(value),
            "{name}: {query:?}"
        );
    }
    for item in response["data"]["screeningList"]["items"]
        .as_array()
        .unwrap()
    {
        assert_eq!(item["type"], "Entity");
        assert!(["SDN", "EL"].contains(&item["sourceCode"].as_str().unwrap()));
        assert!(item["score"].is_number());
    }
    let before = gateway.ita_requests();
    for (query, expected) in [
        (
            r#"{ screeningList(city: "Tehran") { totalCount } }"#,
            "only in the current ITA API",
        ),
        (
            r#"{ screeningList(fullAddress: "Tehran") { totalCount } }"#,
            "only in the current ITA API",
        ),
        (
            r#"{ screeningList(types: [ENTITY, VESSEL]) { totalCount } }"#,
            "takes one type",
        ),
        (
            r#"{ screeningList(fuzzyName: true) { totalCount } }"#,
            "give a name",
        ),
    ] {
        let response = gateway.query(query).await;
        assert_eq!(
            error_codes(&response),
            ["BAD_USER_INPUT"],
            "{query}: {response}"
        );
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
    }
    assert_eq!(gateway.ita_requests(), before, "nothing sent");
}

/// data.trade.gov's caps: 50 a request, offsets up to 1,000. A page is
/// planned within them; the last reachable records are asked from offset
/// 1,000; a page beyond is refused before sending; an unfiltered search
/// says its matches lie beyond reach.
#[tokio::test]
async fn screening_pages_within_the_caps_and_says_what_is_beyond() {
    let gateway = TestGateway::start_with(&["--cache-max-mb", "0"]).await;
    let page = gateway
        .query("{ screeningList(limit: 120, offset: 7) { totalCount reachableCount beyondReach items { id } } }")
        .await;
    ok(&page);
    let sent: Vec<(String, String)> = queries(&gateway)
        .into_iter()
        .map(|(_, q)| (q["offset"].clone(), q["size"].clone()))
        .collect();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(sent, pairs(&[("7", "50"), ("57", "50"), ("107", "20")]));
    assert_eq!(upstream_requests(&page, "ita"), 3);
    let data = &page["data"]["screeningList"];
    assert_eq!(data["items"].as_array().unwrap().len(), 120);
    assert!(data["totalCount"].as_u64().unwrap() > 1050);
    assert_eq!(data["reachableCount"], 1050);
    assert_eq!(data["beyondReach"], true);

    // The last reachable records: asked from the cap, the overlap dropped.
    let tail = gateway
        .query("{ screeningList(limit: 30, offset: 1020) { items { id } } }")
        .await;
    ok(&tail);
    let (_, query) = last_query(&gateway);
    assert_eq!(
        (query["offset"].as_str(), query["size"].as_str()),
        ("1000", "50")
    );
    let from_cap = gateway
        .query("{ screeningList(limit: 50, offset: 1000) { items { id } } }")
        .await;
    let tail_ids = &tail["data"]["screeningList"]["items"];
    assert_eq!(tail_ids.as_array().unwrap().len(), 30);
    assert_eq!(
        tail_ids.as_array().unwrap()[..],
        from_cap["data"]["screeningList"]["items"]
            .as_array()
            .unwrap()[20..]
    );

    let before = gateway.ita_requests();
    let beyond = gateway
        .query("{ screeningList(limit: 20, offset: 1040) { totalCount } }")
        .await;
    assert_eq!(
        error_codes(&beyond),
        ["UPSTREAM_WINDOW_EXCEEDED"],
        "{beyond}"
    );
    assert_eq!(beyond["errors"][0]["extensions"]["reach"], 1050);
    assert_eq!(gateway.ita_requests(), before, "refused before sending");

    // A narrowed search within reach says so.
    let narrow = gateway
        .query(r#"{ screeningList(sources: ["DPL"], types: [VESSEL]) { totalCount reachableCount beyondReach } }"#)
        .await;
    ok(&narrow);
    let data = &narrow["data"]["screeningList"];
    assert_eq!(data["beyondReach"], false);
    assert_eq!(data["reachableCount"], data["totalCount"]);
}

/// Jurisdictions' screening entries: one search for all of them
/// (`countries=IR,KP,RU`), each jurisdiction given the entries with an
/// address or id there.
#[tokio::test]
async fn screening_entries_by_jurisdiction_are_batched() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ jurisdictions(iso3: ["IRN", "PRK", "RUS"]) { iso2 screeningListEntries(sources: ["SDN"], types: [ENTITY], limit: 3) { name type sourceCode jurisdictions { iso2 } } } }"#)
        .await;
    ok(&response);
    assert_eq!(upstream_requests(&response, "ita"), 1, "{response}");
    let (path, query) = last_query(&gateway);
    assert_eq!(path, "/consolidated_screening_list/v1/search");
    assert_eq!(query["countries"], "IR,KP,RU");
    assert_eq!(query["sources"], "SDN");
    assert_eq!(query["types"], "Entity");
    let size: u64 = query["size"].parse().unwrap();
    assert!(size <= 50, "{size}");
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        let entries = jurisdiction["screeningListEntries"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "{jurisdiction}");
        for entry in entries {
            assert_eq!(entry["type"], "Entity");
            assert_eq!(entry["sourceCode"], "SDN");
            assert!(entry["jurisdictions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["iso2"] == jurisdiction["iso2"]));
        }
    }
}

fn bulk_screening(names: usize, limit: u32) -> String {
    let fields: Vec<String> = (0..names)
        .map(|n| {
            format!(
                r#"s{n}: screeningList(name: "Trading Company {n}", fuzzyName: true, limit: {limit}) {{ totalCount items {{ name score sourceListUrl }} }}"#
            )
        })
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

/// Fifty names screened at once: the estimate (one request a name) is
/// said before anything is sent, within the per-operation maximum of 50,
/// and what is sent stays within it; one name more, or pages of two
/// requests, are refused with nothing sent.
#[tokio::test]
async fn a_screening_of_fifty_names_stays_within_its_estimate() {
    let gateway = TestGateway::start_with(&["--cache-max-mb", "0"]).await;
    let response = gateway.query(&bulk_screening(50, 5)).await;
    ok(&response);
    let estimate = response["extensions"]["cost"]["upstreamEstimate"]["ita"]
        .as_u64()
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(estimate, 50);
    let sent = upstream_requests(&response, "ita");
    assert_eq!(sent, 50);
    assert_eq!(gateway.ita_requests(), 50);
    assert_eq!(response["data"].as_object().unwrap().len(), 50);

    for query in [bulk_screening(51, 5), bulk_screening(30, 60)] {
        let refused = gateway.query(&query).await;
        assert_eq!(
            error_codes(&refused),
            ["UPSTREAM_DEMAND_TOO_HIGH"],
            "{refused}"
        );
        assert!(refused["data"].is_null());
    }
    assert_eq!(gateway.ita_requests(), 50, "the refusals sent nothing");

    // Under a budget the fifty do not fit in, they are refused whole.
    let budgeted = TestGateway::start_with(&["--ita-budget", "20"]).await;
    let refused = budgeted.query(&bulk_screening(50, 5)).await;
    assert!(refused["errors"].is_array(), "{refused}");
    assert!(
        error_codes(&refused)
            .iter()
            .all(|code| code == "UPSTREAM_BUDGET_EXHAUSTED"),
        "{refused}"
    );
    assert_eq!(budgeted.ita_requests(), 0, "nothing sent beyond the budget");
}

/// Providers: `q`, `categories`, `ita_offices` on both wires; each links to
/// its ITA office (one office search for all their countries) and the
/// jurisdiction it serves.
#[tokio::test]
async fn business_service_providers_on_both_wires_and_linked_to_their_office() {
    for (api, path) in [
        ("current", "/business_service_providers/v1/search"),
        ("v2", "/v2/business_service_providers/search"),
    ] {
        let gateway = TestGateway::start_with(&["--ita-api", api]).await;
        let response = gateway
            .query(r#"{ businessServiceProviders(query: "exporters", categories: ["Legal Services", "Accounting and Tax"], itaOffices: ["Mexico City", "Tokyo"], limit: 4, offset: 0) { totalCount items { companyName category itaOfficeName jurisdiction { iso2 } itaOffice { officeName post country { iso2 } } } } }"#)
            .await;
        ok(&response);
        let sent = queries(&gateway);
        let (first_path, query) = &sent[0];
        assert_eq!(first_path, path, "{api}");
        assert_eq!(query["q"], "exporters");
        assert_eq!(query["categories"], "Legal Services,Accounting and Tax");
        assert_eq!(query["ita_offices"], "Mexico City,Tokyo");
        assert_eq!(
            (query["size"].as_str(), query["offset"].as_str()),
            ("4", "0")
        );
        let items = response["data"]["businessServiceProviders"]["items"]
            .as_array()
            .unwrap();
        assert!(!items.is_empty(), "{api}: {response}");
        for item in items {
            assert!(["Legal Services", "Accounting and Tax"]
                .contains(&item["category"].as_str().unwrap()));
            assert_eq!(item["itaOffice"]["post"], item["itaOfficeName"], "{item}");
            assert_eq!(
                item["itaOffice"]["country"]["iso2"],
                item["jurisdiction"]["iso2"]
            );
            assert!(["MX", "JP"].contains(&item["jurisdiction"]["iso2"].as_str().unwrap()));
        }
        // The search, then one office search for every provider's country.
        assert_eq!(upstream_requests(&response, "ita"), 2, "{api}: {response}");
    }
}

/// No records wanted and no filter: the current API's `/count` answers
/// the total and facets in one request.
#[tokio::test]
async fn counts_come_from_the_count_endpoints() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query("{ tradeLeads(limit: 0) { totalCount aggregations { facet buckets { value count } } } officeLocations(limit: 0) { totalCount } }")
        .await;
    ok(&response);
    let paths: Vec<String> = queries(&gateway).into_iter().map(|(p, _)| p).collect();
    assert!(
        paths.contains(&"/trade_leads/v1/count".to_owned()),
        "{paths:?}"
    );
    assert!(paths.contains(&"/ita_office_locations/v1/count".to_owned()));
    let leads = &response["data"]["tradeLeads"];
    let total = leads["totalCount"].as_u64().unwrap();
    let searched = gateway
        .query("{ tradeLeads(limit: 1) { totalCount } }")
        .await;
    assert_eq!(
        searched["data"]["tradeLeads"]["totalCount"].as_u64(),
        Some(total)
    );
    let by_country: u64 = leads["aggregations"][0]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_country, total);
}

/// Every new field answers in sample mode.
#[tokio::test]
async fn every_new_field_answers_in_sample_mode() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{
          screeningListSources { code name lastUpdated }
          screeningList(name: "Huaxin Electronics", fuzzyName: true, limit: 3) {
            totalCount reachableCount beyondReach sourcesUsed { source lastUpdated lastImported }
            items { id name altNames type source sourceCode programs remarks entityNumber
                    sourceInformationUrl sourceListUrl score country { iso3 } jurisdictions { iso3 }
                    addresses { address city state postalCode countryCode country { iso3 } }
                    ids { type number countryCode country { iso3 } issueDate expirationDate } }
          }
          deMinimisThresholds(limit: 2) { totalCount items { id countryCode countryName country { iso3 } deMinimisValue deMinimisCurrency vatAmount vatCurrency comment } }
          businessServiceProviders(limit: 2) { totalCount items { id category itaOfficeName itaContactEmail companyName companyAddress companyDescription companyEmail companyPhone companyWebsite contactName contactTitle jurisdiction { iso3 } itaOffice { officeName } } }
          jurisdiction(iso3: "CHN") { deMinimis { deMinimisValue } screeningListEntries(limit: 2) { name } }
        }"#)
        .await;
    ok(&response);
    let data = &response["data"];
    let sources = data["screeningListSources"].as_array().unwrap();
    assert!(sources
        .iter()
        .any(|s| s["code"] == "SDN" && s["name"].is_string()));
    let entry = &data["screeningList"]["items"][0];
    for field in [
        "id",
        "name",
        "type",
        "source",
        "sourceCode",
        "remarks",
        "entityNumber",
        "sourceInformationUrl",
        "sourceListUrl",
        "score",
        "country",
    ] {
        assert!(!entry[field].is_null(), "{field}: {entry}");
    }
    assert!(
        entry["altNames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("Hua Xin")),
        "{entry}"
    );
    assert!(!entry["addresses"][0]["country"].is_null());
    assert!(!entry["ids"][0]["number"].is_null());
    assert!(!data["screeningList"]["sourcesUsed"]
        .as_array()
        .unwrap()
        .is_empty());
    for item in data["deMinimisThresholds"]["items"].as_array().unwrap() {
        for (field, value) in item.as_object().unwrap() {
            assert!(!value.is_null(), "{field}: {item}");
        }
    }
    for item in data["businessServiceProviders"]["items"]
        .as_array()
        .unwrap()
    {
        for (field, value) in item.as_object().unwrap() {
            assert!(!value.is_null(), "{field}: {item}");
        }
    }
    assert!(data["jurisdiction"]["deMinimis"]["deMinimisValue"].is_number());
    assert_eq!(
        data["jurisdiction"]["screeningListEntries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// The paging rule end to end, for generated windows: every request the
/// simulator records stays within `size` <= 50 and `offset` <= 1000, and
/// the items are exactly the window asked for (the unfiltered list in its
/// order: entry n is `sample-<list>-n`); or, exactly when the window ends
/// past the 1,050th match, `UPSTREAM_WINDOW_EXCEEDED` with nothing sent
/// (a window of no records, `limit: 0`, is the total, at any offset).
#[tokio::test]
async fn any_window_is_paged_within_the_caps_or_refused() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let gateway =
        TestGateway::start_with(&["--cache-max-mb", "0", "--ita-max-requests", "100"]).await;
    let mut runner = TestRunner::deterministic();
    let window = (0u32..=1000, prop_oneof![900u32..1100, 0u32..1100]);
    let mut cases: Vec<(u32, u32)> = (0..40)
        .map(|_| window.new_tree(&mut runner).unwrap().current())
        .collect();
    cases.extend([
        (1, 1049),
        (1, 1050),
        (50, 1000),
        (51, 1000),
        (1000, 50),
        (0, 1051),
    ]);
    for (limit, offset) in cases {
        let before = gateway.simulator.recorded_requests(Source::Ita).len();
        let response = gateway
            .query(&format!(
                "{{ screeningList(limit: {limit}, offset: {offset}) {{ totalCount items {{ id }} }} }}"
            ))
            .await;
        let sent: Vec<(u64, u64)> = queries(&gateway)[before..]
            .iter()
            .map(|(_, q)| (q["offset"].parse().unwrap(), q["size"].parse().unwrap()))
            .collect();
        for (request_offset, size) in &sent {
            assert!(*size >= 1 && *size <= 50, "{limit}@{offset}: size {size}");
            assert!(
                *request_offset <= 1000,
                "{limit}@{offset}: offset {request_offset}"
            );
        }
        if limit == 0 {
            // No record is wanted, so none is out of reach: the total alone,
            // from one request of one record.
            ok(&response);
            assert!(response["data"]["screeningList"]["totalCount"].is_u64());
            assert_eq!(sent, [(0, 1)], "{limit}@{offset}");
            continue;
        }
        if offset + limit > 1050 {
            assert_eq!(
                error_codes(&response),
                ["UPSTREAM_WINDOW_EXCEEDED"],
                "{limit}@{offset}"
            );
            assert!(sent.is_empty(), "{limit}@{offset}: {sent:?}");
            continue;
        }
        ok(&response);
        let positions: Vec<u64> = response["data"]["screeningList"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                item["id"]
                    .as_str()
                    .unwrap()
                    .rsplit('-')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let total = response["data"]["screeningList"]["totalCount"]
            .as_u64()
            .unwrap();
        let end = (u64::from(offset) + u64::from(limit)).min(total);
        assert_eq!(
            positions,
            (u64::from(offset)..end).collect::<Vec<_>>(),
            "{limit}@{offset}: {sent:?}"
        );
        assert!(sent.len() as u64 <= u64::from(limit).div_ceil(50) + 1);
    }
}

/// De minimis batching for generated sets of jurisdictions (any of the
/// crosswalk's, up to all of them): one request, whatever the set, and
/// each jurisdiction gets its own country's row or, where ITA lists none,
/// null.
#[tokio::test]
async fn de_minimis_for_any_set_of_jurisdictions_is_one_request() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let all: Vec<&'static str> = trade_graph::countries::all()
        .iter()
        .map(|country| country.iso3)
        .collect();
    let gateway = TestGateway::start_with(&["--cache-max-mb", "0"]).await;
    let mut runner = TestRunner::deterministic();
    let sets = proptest::sample::subsequence(all.clone(), 1..all.len());
    let mut cases: Vec<Vec<&str>> = (0..8)
        .map(|_| sets.new_tree(&mut runner).unwrap().current())
        .collect();
    cases.push(all);
    for set in cases {
        let codes: Vec<String> = set.iter().map(|code| format!("\"{code}\"")).collect();
        let response = gateway
            .query(&format!(
                "{{ jurisdictions(iso3: [{}]) {{ iso2 deMinimis {{ countryCode deMinimisValue }} }} }}",
                codes.join(", ")
            ))
            .await;
        ok(&response);
        assert_eq!(
            upstream_requests(&response, "ita"),
            1,
            "{} jurisdictions",
            set.len()
        );
        for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
            let threshold = &jurisdiction["deMinimis"];
            if !threshold.is_null() {
                assert_eq!(threshold["countryCode"], jurisdiction["iso2"]);
                assert!(threshold["deMinimisValue"].is_number());
            }
        }
        let estimate = response["extensions"]["cost"]["upstreamEstimate"]["ita"]
            .as_u64()
            .unwrap();
        assert!(estimate >= 1, "{estimate}");
    }
}

/// A stub ignoring `size` and `offset`: every search answers all 300
/// records from the first.
async fn unpaged_stub() -> String {
    use axum::routing::get;
    use axum::{Json, Router};
    let all = || async {
        let results: Vec<Value> = (0..300)
            .map(|n| serde_json::json!({ "id": format!("r{n}"), "name": format!("Entity {n}") }))
            .collect();
        Json(serde_json::json!({ "total": 300, "results": results }))
    };
    let stub = Router::new()
        .route("/consolidated_screening_list/v1/search", get(all))
        .route("/de_minimis/v1/list", get(all))
        .route("/business_service_providers/v1/search", get(all));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    url
}

/// The gateway holds the upstream to the window asked: 60 items from the
/// 11th, whatever the upstream answers, for each of the three lists.
#[tokio::test]
async fn lists_take_exactly_the_window_asked_whatever_the_upstream_sends() {
    let url = unpaged_stub().await;
    let gateway = TestGateway::start_with(&["--ita-url", &url, "--cache-max-mb", "0"]).await;
    for field in [
        "screeningList",
        "deMinimisThresholds",
        "businessServiceProviders",
    ] {
        let response = gateway
            .query(&format!(
                "{{ {field}(limit: 60, offset: 10) {{ items {{ id }} }} }}"
            ))
            .await;
        ok(&response);
        let ids: Vec<&str> = response["data"][field]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (10..70).map(|n| format!("r{n}")).collect();
        assert_eq!(ids, expected, "{field}: {response}");
    }
}

/// A category or office with a comma would go out as two filters: both are
/// refused, with nothing sent, and the message says why.
#[tokio::test]
async fn a_comma_inside_a_category_or_office_is_refused() {
    let gateway = TestGateway::start().await;
    for arguments in [
        r#"categories: ["Legal, Tax"]"#,
        r#"itaOffices: ["Mexico City, Mexico"]"#,
    ] {
        let response = gateway
            .query(&format!(
                "{{ businessServiceProviders({arguments}) {{ items {{ companyName }} }} }}"
            ))
            .await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("comma"), "{message}");
    }
    assert_eq!(gateway.ita_requests(), 0);
}

/// List arguments go out without repeats (compared ignoring case), and
/// more than 50 distinct values are refused with nothing sent.
#[tokio::test]
async fn list_arguments_are_deduplicated_and_bounded() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ screeningList(sources: ["SDN", "sdn", "EL", "Sdn"], types: [ENTITY, VESSEL, ENTITY], limit: 1) { totalCount } }"#)
        .await;
    ok(&response);
    let (_, query) = last_query(&gateway);
    assert_eq!(query["sources"], "SDN,EL");
    assert_eq!(query["types"], "Entity,Vessel");
    let response = gateway
        .query(r#"{ businessServiceProviders(categories: ["Legal Services", "legal services"], limit: 1) { totalCount } }"#)
        .await;
    ok(&response);
    let (_, query) = last_query(&gateway);
    assert_eq!(query["categories"], "Legal Services");

    let sent = gateway.ita_requests();
    let many = |prefix: &str| {
        (0..51)
            .map(|n| format!("\"{prefix}{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for query in [
        format!(
            "{{ screeningList(sources: [{}]) {{ totalCount }} }}",
            many("L")
        ),
        format!(
            "{{ businessServiceProviders(categories: [{}]) {{ totalCount }} }}",
            many("Category ")
        ),
    ] {
        let refused = gateway.query(&query).await;
        assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("50"), "{message}");
    }
    assert_eq!(gateway.ita_requests(), sent, "the refusals sent nothing");
}

/// `limit: 0` asks for the total alone: every ITA page answers the same
/// `totalCount` a page with items gives, in one request (within the
/// estimate), and no items; with or without filters.
#[tokio::test]
async fn a_page_of_no_items_still_counts_the_matches() {
    let gateway = TestGateway::start_with(&["--cache-max-mb", "0"]).await;
    for (field, arguments) in [
        ("screeningList", ""),
        ("screeningList", "sources: [\"SDN\"], "),
        ("screeningList", "offset: 5000, "),
        ("businessServiceProviders", ""),
        ("deMinimisThresholds", ""),
        ("tradeLeads", "query: \"a\", "),
        ("officeLocations", ""),
    ] {
        let offset_free = arguments.replace("offset: 5000, ", "");
        let full = gateway
            .query(&format!(
                "{{ {field}({offset_free}limit: 5) {{ totalCount items {{ __typename }} }} }}"
            ))
            .await;
        ok(&full);
        let empty = gateway
            .query(&format!(
                "{{ {field}({arguments}limit: 0) {{ totalCount items {{ __typename }} }} }}"
            ))
            .await;
        ok(&empty);
        let total = &full["data"][field]["totalCount"];
        assert!(total.as_u64().is_some_and(|t| t > 0), "{full}");
        assert_eq!(
            &empty["data"][field]["totalCount"], total,
            "{field}({arguments}): {empty}"
        );
        assert_eq!(empty["data"][field]["items"], serde_json::json!([]));
        let sent = upstream_requests(&empty, "ita");
        assert_eq!(sent, 1, "{field}({arguments}): {empty}");
        assert!(
            sent <= empty["extensions"]["cost"]["upstreamEstimate"]["ita"]
                .as_u64()
                .unwrap(),
            "{empty}"
        );
    }
}
