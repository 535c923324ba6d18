//! The per-country ITA fields (`Jurisdiction.screeningListEntries`,
//! `Jurisdiction.tradeLeads`) against a stub answering like data.trade.gov
//! from data the property generates: sets of jurisdictions, per-country
//! match counts (none, exactly a page, exactly the limit, one country with
//! hundreds listed first so that it fills every combined page), entries
//! listed under two countries, limits from 0 past a page. For every case:
//! the requests the stub answered never exceed the estimate the operation
//! announced before sending anything, and each jurisdiction gets exactly its
//! first `limit` matches in the upstream's order (none missing, none
//! repeated, none of another country). A nested variant asks the same field
//! again under the entries' jurisdictions, which the gateway loads in a
//! second batch.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use common::{upstream_requests, TestGateway};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

/// Post countries the cases choose from.
const POOL: [&str; 12] = [
    "MX", "CA", "GB", "FR", "DE", "IT", "ES", "NL", "IR", "CN", "RU", "IN",
];

/// One upstream record: its id and the countries it is listed under (the
/// first its own, the others an address's).
#[derive(Clone, Debug)]
struct Entry {
    id: String,
    countries: Vec<String>,
}

#[derive(Clone, Default)]
struct Stub {
    entries: Arc<Mutex<Vec<Entry>>>,
    sent: Arc<AtomicUsize>,
}

/// A search: the entries listed under any of the countries asked, in the
/// data's order, `size` of them from `offset`, with the total.
fn answer(stub: &Stub, query: &HashMap<String, String>, filter: &str, leads: bool) -> Value {
    stub.sent.fetch_add(1, Ordering::SeqCst);
    let asked: Vec<String> = query
        .get(filter)
        .map(|list| list.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let size: usize = query.get("size").and_then(|s| s.parse().ok()).unwrap_or(10);
    let offset: usize = query
        .get("offset")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let entries = stub.entries.lock().unwrap();
    let matched: Vec<&Entry> = entries
        .iter()
        .filter(|entry| asked.is_empty() || entry.countries.iter().any(|c| asked.contains(c)))
        .collect();
    let results: Vec<Value> = matched
        .iter()
        .skip(offset)
        .take(size)
        .map(|entry| {
            if leads {
                json!({ "id": entry.id, "title": entry.id, "country_code": entry.countries[0] })
            } else {
                let addresses: Vec<Value> = entry.countries[1..]
                    .iter()
                    .map(|code| json!({ "address": "1 Main St", "country": code }))
                    .collect();
                json!({
                    "id": entry.id, "name": entry.id, "type": "Entity",
                    "source": "Specially Designated Nationals (SDN) - Treasury Department",
                    "country": entry.countries[0], "addresses": addresses,
                })
            }
        })
        .collect();
    json!({ "total": matched.len(), "count": results.len(), "offset": offset, "results": results })
}

async fn start_stub() -> (String, Stub) {
    let stub = Stub::default();
    let router = Router::new()
        .route(
            "/consolidated_screening_list/v1/search",
            get(
                |State(stub): State<Stub>, Query(query): Query<HashMap<String, String>>| async move {
                    Json(answer(&stub, &query, "countries", false))
                },
            ),
        )
        .route(
            "/trade_leads/v1/search",
            get(
                |State(stub): State<Stub>, Query(query): Query<HashMap<String, String>>| async move {
                    Json(answer(&stub, &query, "country_codes", true))
                },
            ),
        )
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, stub)
}

/// One generated situation.
#[derive(Clone, Debug)]
struct Case {
    /// Trade leads (one country a record, pages of 100) or screening
    /// entries (pages of 50, some listed under two countries).
    leads: bool,
    countries: Vec<&'static str>,
    /// Matches per country, in `countries`' order.
    counts: Vec<usize>,
    /// The country whose 300 matches come first, filling combined pages.
    dominant: Option<usize>,
    limit: u32,
    /// Order of the other records, and which are listed under two countries.
    seed: u64,
    /// Ask the same field again under each entry's jurisdictions.
    nested: bool,
}

fn cases() -> impl Strategy<Value = Case> {
    let count = prop_oneof![
        Just(0usize),
        Just(1),
        Just(20),
        Just(50),
        Just(100),
        Just(101),
        0usize..160,
    ];
    (
        any::<bool>(),
        proptest::sample::subsequence(POOL.to_vec(), 1..=8).prop_shuffle(),
        proptest::collection::vec(count, 8),
        proptest::option::of(0usize..8),
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(5),
            Just(20),
            Just(50),
            Just(51),
            Just(100),
            Just(101),
            1u32..160,
        ],
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(leads, countries, mut counts, dominant, limit, seed, nested)| {
                counts.truncate(countries.len());
                let dominant = dominant.filter(|i| *i < countries.len());
                Case {
                    leads,
                    nested: nested && !leads && limit <= 20,
                    countries,
                    counts,
                    dominant,
                    limit,
                    seed,
                }
            },
        )
}

/// A small deterministic generator (xorshift) for the data's order.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn data(case: &Case) -> Vec<Entry> {
    let mut rng = Rng(case.seed | 1);
    let mut first = Vec::new();
    let mut rest = Vec::new();
    for (i, code) in case.countries.iter().enumerate() {
        let count = if case.dominant == Some(i) {
            300
        } else {
            case.counts[i]
        };
        for n in 0..count {
            let mut countries = vec![(*code).to_owned()];
            // A quarter of the screening entries are listed under a second
            // country of the set too.
            if !case.leads && case.countries.len() > 1 && rng.next() % 4 == 0 {
                let other = case.countries[(rng.next() as usize) % case.countries.len()];
                if other != *code {
                    countries.push(other.to_owned());
                }
            }
            let entry = Entry {
                id: format!("{code}-{n}"),
                countries,
            };
            if case.dominant == Some(i) {
                first.push(entry);
            } else {
                rest.push(entry);
            }
        }
    }
    // Fisher-Yates over the others.
    for i in (1..rest.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        rest.swap(i, j);
    }
    first.extend(rest);
    first
}

/// Each country's first `limit` matches, in the data's order.
fn expected(entries: &[Entry], code: &str, limit: u32) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| entry.countries.iter().any(|c| c == code))
        .take(limit as usize)
        .map(|entry| entry.id.clone())
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn check(gateway: &TestGateway, stub: &Stub, case: &Case) {
    let entries = data(case);
    *stub.entries.lock().unwrap() = entries.clone();
    let iso3: Vec<String> = case
        .countries
        .iter()
        .map(|code| {
            format!(
                "\"{}\"",
                trade_graph::countries::by_iso2(code).unwrap().iso3
            )
        })
        .collect();
    let field = if case.leads {
        "tradeLeads"
    } else {
        "screeningListEntries"
    };
    let inner = if case.nested {
        format!(
            " jurisdictions {{ iso2 {field}(limit: {}) {{ id }} }}",
            case.limit
        )
    } else {
        String::new()
    };
    let query = format!(
        "{{ jurisdictions(iso3: [{}]) {{ iso2 {field}(limit: {}) {{ id{inner} }} }} }}",
        iso3.join(", "),
        case.limit
    );
    let before = stub.sent.load(Ordering::SeqCst) as u64;
    let response = gateway.query(&query).await;
    let sent = stub.sent.load(Ordering::SeqCst) as u64 - before;
    assert!(response.get("errors").is_none(), "{case:?}\n{response}");
    let estimate = response["extensions"]["cost"]["upstreamEstimate"]["ita"]
        .as_u64()
        .unwrap_or_else(|| panic!("{response}"));
    assert!(
        sent <= estimate,
        "sent {sent}, estimated {estimate}: {case:?}"
    );
    assert_eq!(upstream_requests(&response, "ita"), sent, "{case:?}");
    if case.limit == 0 {
        assert_eq!(sent, 0, "nothing is wanted, nothing is sent: {case:?}");
    }
    for jurisdiction in response["data"]["jurisdictions"].as_array().unwrap() {
        let code = jurisdiction["iso2"].as_str().unwrap();
        let got = ids(&jurisdiction[field]);
        assert_eq!(
            got,
            expected(&entries, code, case.limit),
            "{code}, sent {sent}: {case:?}"
        );
        if case.nested {
            for entry in jurisdiction[field].as_array().unwrap() {
                for again in entry["jurisdictions"].as_array().unwrap() {
                    let code = again["iso2"].as_str().unwrap();
                    assert_eq!(
                        ids(&again[field]),
                        expected(&entries, code, case.limit),
                        "{code} again: {case:?}"
                    );
                }
            }
        }
    }
}

/// One country filling every combined page of eight (the worst case), and
/// the first generated case the loader before this test failed (it
/// narrowed its search once per round of short countries: 14 requests sent
/// against an estimate of 9), kept as regression cases.
fn regressions() -> Vec<Case> {
    vec![
        Case {
            leads: false,
            countries: vec!["IR", "MX", "CA", "GB", "FR", "DE", "IT", "ES"],
            counts: vec![0, 30, 30, 30, 30, 30, 30, 30],
            dominant: Some(0),
            limit: 20,
            seed: 7,
            nested: false,
        },
        Case {
            leads: false,
            countries: vec!["FR", "IR", "NL", "RU", "CA", "MX", "IT", "ES"],
            counts: vec![50, 101, 121, 1, 101, 1, 100, 118],
            dominant: None,
            limit: 50,
            seed: 13959078730376561266,
            nested: false,
        },
    ]
}

#[tokio::test]
async fn per_country_fields_send_at_most_their_estimate_and_the_right_records() {
    let (url, stub) = start_stub().await;
    let gateway = TestGateway::start_with(&[
        "--ita-url",
        &url,
        "--cache-max-mb",
        "0",
        "--ita-max-requests",
        "100000",
        "--max-cost",
        "100000000",
    ])
    .await;
    // Seeded: the same cases every run (a failure names its case).
    let mut runner = TestRunner::deterministic();
    let strategy = cases();
    let mut all = regressions();
    all.extend((0..60).map(|_| strategy.new_tree(&mut runner).unwrap().current()));
    for case in &all {
        check(&gateway, &stub, case).await;
    }
}

/// The worst case is (nearly) reached: with one country filling the
/// combined page, every other one needs a request, and the estimate says so
/// first.
#[tokio::test]
async fn a_dominating_country_costs_exactly_the_estimate() {
    let (url, stub) = start_stub().await;
    let gateway = TestGateway::start_with(&["--ita-url", &url, "--cache-max-mb", "0"]).await;
    let case = regressions().remove(0);
    check(&gateway, &stub, &case).await;
    let response = gateway
        .query(
            r#"{ jurisdictions(iso3: ["IRN", "MEX", "CAN", "GBR", "FRA", "DEU", "ITA", "ESP"]) { screeningListEntries(limit: 20) { id } } }"#,
        )
        .await;
    // One combined page (Iran fills it and is served), then the seven
    // others: a narrowed combined page when serving Iran paid for one, and
    // each that page leaves short alone. Nothing can take fewer than eight
    // here (each page serves at most one country when one dominates it),
    // and the estimate, one more, is announced before anything is sent.
    assert_eq!(response["extensions"]["cost"]["upstreamEstimate"]["ita"], 9);
    let sent = upstream_requests(&response, "ita");
    assert!((8..=9).contains(&sent), "{sent}: {response}");
}
