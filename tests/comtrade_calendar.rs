//! Issue 21's Comtrade findings, at the wire: codes follow the calendar of
//! Comtrade's lists (a code outside its years answers nothing, in the
//! simulator as upstream), a row one code reports for several
//! jurisdictions is one row, v1 requests carry at most twelve periods,
//! AG2 is the same chapters in both dialects, and `now` and `recent`
//! asked together are routed apart.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use common::{error_codes, fixtures, upstream_requests, TestGateway};
use serde_json::Value;
use trade_graph::sample::RecordedRequest;
use trade_graph::sources::Source;

fn query_params(request: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect()
}

fn sent(gateway: &TestGateway) -> Vec<HashMap<String, String>> {
    gateway
        .simulator
        .recorded_requests(Source::Comtrade)
        .iter()
        .map(query_params)
        .collect()
}

fn rows<'a>(response: &'a Value, field: &str) -> &'a Vec<Value> {
    response["data"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {response}"))
}

fn iso3s(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|j| j["iso3"].as_str().unwrap())
        .collect()
}

/// The reporter parameter of a request in either dialect.
fn reporters_sent(params: &HashMap<String, String>) -> &str {
    params
        .get("r")
        .or_else(|| params.get("reporterCode"))
        .map(String::as_str)
        .unwrap_or_default()
}

const FLOW_FIELDS: &str = "reporterCode partnerCode period flow commodityCode value reporter { iso3 } reporterJurisdictions { iso3 } partnerJurisdictions { iso3 }";

/// Finding 1: Belgium and Luxembourg in 1995 are one reporter, 58; its row
/// comes back once, saying it covers both, in both dialects; Switzerland
/// and Liechtenstein (757) likewise.
#[tokio::test]
async fn one_belgium_luxembourg_row_is_one_row() {
    for flags in [&[][..], &["--comtrade-api", "legacy"][..]] {
        let gateway = TestGateway::start_with(flags).await;
        let response = gateway
            .query(&format!(
                r#"{{ tradeFlows(reporters: ["BEL", "LUX"], periods: ["1995"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
            ))
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let sent = sent(&gateway);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(reporters_sent(&sent[0]), "58");
        let flows = rows(&response, "tradeFlows");
        assert_eq!(flows.len(), 1, "{response}");
        assert_eq!(flows[0]["reporterCode"], 58);
        assert_eq!(iso3s(&flows[0]["reporterJurisdictions"]), ["BEL", "LUX"]);

        let swiss = gateway
            .query(&format!(
                r#"{{ tradeFlows(reporters: ["CHE", "LIE"], periods: ["1995"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
            ))
            .await;
        let flows = rows(&swiss, "tradeFlows");
        assert_eq!(flows.len(), 1, "{swiss}");
        assert_eq!(flows[0]["reporterCode"], 757);
    }
}

/// Finding 1, the total: a year spanning the change (1998, 1999) gives
/// 58's row once and then Belgium's and Luxembourg's own rows.
#[tokio::test]
async fn totals_across_the_change_of_code_count_each_row_once() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(&format!(
            r#"{{ tradeFlows(reporters: ["BEL", "LUX"], periods: ["1998", "1999"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
        ))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let mut seen: Vec<(i64, String)> = rows(&response, "tradeFlows")
        .iter()
        .map(|row| {
            (
                row["reporterCode"].as_i64().unwrap(),
                row["period"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (56, "1999".to_owned()),
            (58, "1998".to_owned()),
            (442, "1999".to_owned())
        ]
    );
}

/// Finding 2: Serbia and Montenegro in 2000 go out as 891 (their code
/// 1992-2006), South Sudan 2005 as Sudan's former 736, each said in the
/// answer; the simulator, like Comtrade, answers nothing for 688 in 2000.
#[tokio::test]
async fn codes_are_sent_only_for_their_years() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(&format!(
            r#"{{ tradeFlows(reporters: ["SRB", "MNE", "SSD"], periods: ["2000", "2005"], flow: EXPORT) {{ {FLOW_FIELDS} }} }}"#
        ))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let requests = sent(&gateway);
    let codes: BTreeSet<&str> = requests
        .iter()
        .flat_map(|params| reporters_sent(params).split(','))
        .map(|code| match code {
            "891" | "736" => code,
            other => panic!("{other} sent for 2000/2005"),
        })
        .collect();
    assert_eq!(codes.into_iter().collect::<Vec<_>>(), ["736", "891"]);
    let flows = rows(&response, "tradeFlows");
    assert_eq!(flows.len(), 4, "891 and 736 in two years, once each");
    for flow in flows {
        let covered = iso3s(&flow["reporterJurisdictions"]);
        match flow["reporterCode"].as_i64().unwrap() {
            891 => assert_eq!(covered, ["SRB", "MNE"]),
            736 => assert_eq!(covered, ["SDN", "SSD"]),
            other => panic!("{other}"),
        }
    }

    // The simulator keeps the rule: 688 in 2000 answers nothing.
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/data/v1/get/C/A/HS?reporterCode=688&period=2000&cmdCode=TOTAL&flowCode=X&partnerCode=0&customsCode=C00&motCode=0",
            gateway.simulator.base_url()
        ))
        .header("Ocp-Apim-Subscription-Key", trade_graph::sample::SAMPLE_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(0), "{body}");
}

/// Finding 2, partners: the US Virgin Islands' own partner code ends in
/// 1980, so partner VIR in 2020 is refused before anything is sent, naming
/// the years; in 1975 it goes out as 850. Belgium as a partner in 1995 is 58.
#[tokio::test]
async fn partner_codes_follow_the_calendar() {
    let gateway = TestGateway::start().await;
    let refused = gateway
        .query(
            r#"{ tradeFlows(reporters: ["USA"], partners: ["VIR"], periods: ["2020"]) { value } }"#,
        )
        .await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("850") && message.contains("1980"),
        "{message}"
    );
    assert_eq!(gateway.comtrade_requests(), 0);

    let old = gateway
        .query(&format!(
            r#"{{ tradeFlows(reporters: ["FRA"], partners: ["VIR", "BEL"], periods: ["1975"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
        ))
        .await;
    assert!(old.get("errors").is_none(), "{old}");
    let partners: BTreeSet<String> = sent(&gateway)
        .iter()
        .map(|params| params["partnerCode"].clone())
        .collect();
    assert_eq!(partners.into_iter().collect::<Vec<_>>(), ["58,850"]);
    for flow in rows(&old, "tradeFlows") {
        if flow["partnerCode"] == 58 {
            assert_eq!(iso3s(&flow["partnerJurisdictions"]), ["BEL", "LUX"]);
        }
    }
}

/// Finding 2, a year with no code at all: Timor-Leste before 2002 is refused,
/// naming its years, before any request.
#[tokio::test]
async fn a_year_without_a_code_is_refused() {
    let gateway = TestGateway::start().await;
    let refused = gateway
        .query(r#"{ tradeFlows(reporters: ["TLS"], periods: ["1995"]) { value } }"#)
        .await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("from 2002"), "{message}");
    assert_eq!(gateway.comtrade_requests(), 0);
}

/// Finding 3: two monthly years on v1 are two requests of twelve months,
/// thirty years three of at most twelve; the simulator refuses more.
#[tokio::test]
async fn v1_requests_carry_at_most_twelve_periods() {
    let gateway = TestGateway::start().await;
    let monthly = gateway
        .query(r#"{ tradeFlows(reporters: ["BRA"], periods: ["2021", "2022"], frequency: MONTHLY, flow: EXPORT) { period } }"#)
        .await;
    assert!(monthly.get("errors").is_none(), "{monthly}");
    assert_eq!(upstream_requests(&monthly, "comtrade"), 2);
    assert_eq!(rows(&monthly, "tradeFlows").len(), 24);
    let years: Vec<String> = (1994..2024).map(|y| format!("\"{y}\"")).collect();
    let annual = gateway
        .query(&format!(
            r#"{{ tradeFlows(reporters: ["BRA"], periods: [{}], flow: EXPORT) {{ period }} }}"#,
            years.join(",")
        ))
        .await;
    assert!(annual.get("errors").is_none(), "{annual}");
    assert_eq!(upstream_requests(&annual, "comtrade"), 3);
    assert_eq!(rows(&annual, "tradeFlows").len(), 30);
    for params in sent(&gateway) {
        assert!(params["period"].split(',').count() <= 12, "{params:?}");
    }
    let status = reqwest::Client::new()
        .get(format!(
            "{}/data/v1/get/C/A/HS?reporterCode=76&period={}&cmdCode=TOTAL",
            gateway.simulator.base_url(),
            (2000..2013)
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ))
        .header("Ocp-Apim-Subscription-Key", trade_graph::sample::SAMPLE_KEY)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
}

/// Finding 4: AG2 is the same chapters in both dialects, 99 included, as
/// the recorded legacy AG2 payload has.
#[tokio::test]
async fn ag2_includes_chapter_99_in_both_dialects() {
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(
            fixtures().join("comtrade/legacy_api_get_r76_p699_rg2_AG2_ps2014-2018.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(recorded["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["cmdCode"] == "99"));
    let mut chapters = Vec::new();
    for flags in [&[][..], &["--comtrade-api", "legacy"][..]] {
        let gateway = TestGateway::start_with(flags).await;
        let response = gateway
            .query(r#"{ tradeFlows(reporters: ["BRA"], partners: ["IND"], periods: ["2018"], commodities: ["AG2"], flow: EXPORT) { commodityCode } }"#)
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let codes: BTreeSet<String> = rows(&response, "tradeFlows")
            .iter()
            .map(|row| row["commodityCode"].as_str().unwrap().to_owned())
            .collect();
        assert!(codes.contains("99"), "{flags:?}: {codes:?}");
        chapters.push(codes);
    }
    assert_eq!(chapters[0], chapters[1], "the same rows in both dialects");
}

/// Finding 7, on the simulator: "now" and "recent" in two fields go out as
/// two requests (seed 004: each is a period of the request), and each field
/// gets what its own request answered: the latest year, and the five latest.
#[tokio::test]
async fn now_and_recent_are_routed_apart() {
    let gateway = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    let response = gateway
        .query(r#"{ now: tradeFlows(reporters: ["BRA"], periods: ["now"], flow: EXPORT) { period }
                    recent: tradeFlows(reporters: ["BRA"], periods: ["recent"], flow: EXPORT) { period } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(upstream_requests(&response, "comtrade"), 2);
    let mut periods_sent: Vec<String> = sent(&gateway).iter().map(|p| p["ps"].clone()).collect();
    periods_sent.sort();
    assert_eq!(periods_sent, ["now", "recent"]);
    let periods = |field: &str| -> Vec<String> {
        rows(&response, field)
            .iter()
            .map(|row| row["period"].as_str().unwrap().to_owned())
            .collect()
    };
    let recent: BTreeSet<String> = periods("recent").into_iter().collect();
    assert_eq!(recent.len(), 5, "{response}");
    let latest = recent.iter().max().unwrap().clone();
    assert_eq!(periods("now"), [latest], "{response}");
}

/// A legacy recording stub: records each query string and answers, per
/// request, the rows `answer` gives for its `ps` (one import row of TOTAL
/// per (reporter, year), partner World).
async fn legacy_stub(
    answer: fn(&str) -> Vec<(u16, u16)>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<HashMap<String, String>>>>,
) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let record = seen.clone();
    let stub = axum::Router::new().route(
        "/api/get",
        axum::routing::get(move |axum::extract::RawQuery(raw): axum::extract::RawQuery| {
            let record = record.clone();
            async move {
                let params: HashMap<String, String> =
                    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                let asked: Vec<u16> = params["r"].split(',').map(|r| r.parse().unwrap()).collect();
                let dataset: Vec<Value> = answer(&params["ps"])
                    .into_iter()
                    .filter(|(reporter, _)| asked.contains(reporter))
                    .map(|(reporter, year)| {
                        serde_json::json!({
                            "pfCode": "H5", "period": year, "rgCode": 1, "rtCode": reporter,
                            "ptCode": 0, "cmdCode": "TOTAL", "TradeValue": 1000.0 + f64::from(year),
                        })
                    })
                    .collect();
                record.lock().unwrap().push(params);
                axum::Json(serde_json::json!({
                    "validation": { "status": { "name": "Ok", "value": 0, "category": 0, "description": "", "helpUrl": "" },
                                    "message": null, "count": { "value": dataset.len() } },
                    "dataset": dataset,
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    (url, seen)
}

/// Issue 21's attack on finding 7: the USA reports 2020-2024 and Serbia
/// 2019-2023. "now" is the latest period of the request (2024), which
/// Serbia lacks: a stub answering each request as the API would shows that
/// "now" goes out alone and its field gets only what that request answered
/// (no Serbian 2023 row guessed as Serbia's "now"), whatever else is asked
/// beside it (`recent`, or years).
#[tokio::test]
async fn now_goes_out_alone_and_is_not_guessed_per_reporter() {
    fn answer(ps: &str) -> Vec<(u16, u16)> {
        let usa = 2020..=2024u16;
        let serbia = 2019..=2023u16;
        let mut rows = Vec::new();
        for spec in ps.split(',') {
            let years: Vec<u16> = match spec {
                "now" => vec![2024],
                "recent" => (2020..=2024).collect(),
                year => vec![year.parse().unwrap()],
            };
            for year in years {
                if usa.contains(&year) {
                    rows.push((842, year));
                }
                if serbia.contains(&year) {
                    rows.push((688, year));
                }
            }
        }
        rows.sort();
        rows.dedup();
        rows
    }
    let (url, seen) = legacy_stub(answer).await;
    let gateway =
        TestGateway::start_with(&["--comtrade-api", "legacy", "--comtrade-url", &url]).await;
    let response = gateway
        .query(
            r#"{ a: tradeFlows(reporters: ["USA", "SRB"], periods: ["now"], flow: IMPORT) { reporterCode period }
                 b: tradeFlows(reporters: ["USA", "SRB"], periods: ["recent"], flow: IMPORT) { reporterCode period }
                 c: tradeFlows(reporters: ["USA", "SRB"], periods: ["2019", "2024"], flow: IMPORT) { reporterCode period } }"#,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let mut periods_sent: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p["ps"].clone())
        .collect();
    periods_sent.sort();
    assert_eq!(
        periods_sent,
        ["2019,2024", "now", "recent"],
        "now and recent each alone"
    );
    let pairs = |field: &str| -> BTreeSet<(u64, String)> {
        rows(&response, field)
            .iter()
            .map(|row| {
                (
                    row["reporterCode"].as_u64().unwrap(),
                    row["period"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        pairs("a"),
        BTreeSet::from([(842, "2024".to_owned())]),
        "{response}"
    );
    let recent = pairs("b");
    assert_eq!(
        recent.len(),
        9,
        "USA 2020-2024, Serbia 2020-2023: {response}"
    );
    assert!(
        recent.iter().all(|(_, year)| year.as_str() >= "2020"),
        "{response}"
    );
    assert_eq!(
        pairs("c"),
        BTreeSet::from([(688, "2019".to_owned()), (842, "2024".to_owned()),]),
        "{response}"
    );
}

/// The rule behind findings 1 and 2, on generated questions, in both
/// dialects: whatever reporters, partners and year (1962-2030) a field
/// names, every reporter and partner code sent lies within its entry and
/// exit years in Comtrade's v1 lists, and no upstream row appears twice in
/// the field.
#[test]
fn generated_questions_send_codes_within_their_years_and_rows_once() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let years = reference_years();
    let gateways = [
        runtime.block_on(TestGateway::start()),
        runtime.block_on(TestGateway::start_with(&["--comtrade-api", "legacy"])),
    ];
    let countries = [
        "BEL", "LUX", "DEU", "SRB", "MNE", "SSD", "SDN", "USA", "PRI", "VIR", "CZE", "SVK", "RUS",
        "UKR", "IND", "ZAF", "NAM", "ERI", "ETH", "HRV", "ANT", "ABW", "FRA", "BRA", "YEM", "VNM",
        "CUW", "TLS", "KNA", "AIA", "PAK", "BGD",
    ];
    let config = ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        legacy in any::<bool>(),
        reporters in proptest::sample::subsequence(countries.to_vec(), 1..4),
        partners in proptest::sample::subsequence(countries.to_vec(), 0..3),
        year in 1962u16..=2030,
    )| {
        let gateway = &gateways[usize::from(legacy)];
        let before = gateway.simulator.recorded_requests(Source::Comtrade).len();
        let list = |codes: &[&str]| codes.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
        let partners_arg = if partners.is_empty() { String::new() } else { format!("partners: [{}],", list(&partners)) };
        let response = runtime.block_on(gateway.query(&format!(
            r#"{{ tradeFlows(reporters: [{}], {partners_arg} periods: ["{year}"], flow: IMPORT) {{ reporterCode partnerCode period flow commodityCode }} }}"#,
            list(&reporters)
        )));
        for request in &gateway.simulator.recorded_requests(Source::Comtrade)[before..] {
            let params = query_params(request);
            let (reporter_codes, partner_codes) = if legacy {
                (params["r"].clone(), params["p"].clone())
            } else {
                (params["reporterCode"].clone(), params.get("partnerCode").cloned().unwrap_or_default())
            };
            for (codes, role) in [(reporter_codes, "reporter"), (partner_codes, "partner")] {
                for code in codes.split(',').filter(|c| !c.is_empty() && *c != "0") {
                    let code: u16 = code.parse().unwrap();
                    let (entry, exit) = years[&(role, code)];
                    prop_assert!(entry <= year && exit.is_none_or(|exit| year <= exit),
                        "{role} {code} sent for {year}, its years are {entry}-{exit:?}");
                }
            }
        }
        if let Some(flows) = response["data"]["tradeFlows"].as_array() {
            let mut seen = HashSet::new();
            for flow in flows {
                prop_assert!(seen.insert(flow.to_string()), "{flow} twice");
            }
        } else {
            // Refused: only for a year in which some jurisdiction had no
            // code, or a partner the dialect's partner list lacks (Puerto
            // Rico on the legacy API is counted within the USA).
            prop_assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{}", response);
            let message = response["errors"][0]["message"].as_str().unwrap();
            prop_assert!(message.contains("no Comtrade") || message.contains("not a partner of its own") || message.contains("partner list"), "{}", message);
        }
    });
}

/// The same rule on every case, without the wire: every jurisdiction with
/// a node, as reporter and as partner, in both dialects, in every year
/// 1962-2030, is given a code only where the dialect's list has that code in
/// that year (the legacy lists carry no years: their codes are v1's, so v1's
/// years hold, and the code must be in the legacy list).
#[test]
fn every_jurisdiction_and_year_gets_a_code_within_its_years() {
    use countries::{AreaRole, ComtradeDialect};
    use trade_graph::countries;
    let years = reference_years();
    let legacy: HashSet<(&str, u16)> = [
        ("reporter", "comtrade/legacy_reporterAreas.json"),
        ("partner", "comtrade/legacy_partnerAreas.json"),
    ]
    .into_iter()
    .flat_map(|(role, file)| {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let bytes = bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&bytes)
            .to_vec();
        let list: Value = serde_json::from_slice(&bytes).unwrap();
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| entry["id"].as_str()?.parse::<u16>().ok())
            .map(|code| (role, code))
            .collect::<Vec<_>>()
    })
    .collect();
    let mut given = 0;
    for country in countries::all().iter().chain(countries::beyond_gta()) {
        for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
            for (role, name) in [
                (AreaRole::Reporter, "reporter"),
                (AreaRole::Partner, "partner"),
            ] {
                for year in 1962..=2030 {
                    let Ok(code) = country.comtrade_code_in(dialect, role, year) else {
                        continue;
                    };
                    given += 1;
                    let listed = match dialect {
                        ComtradeDialect::Legacy => legacy.contains(&(name, code.0)),
                        ComtradeDialect::V1 => years.contains_key(&(name, code.0)),
                    };
                    assert!(
                        listed,
                        "{} {name} {code} ({dialect:?}) is not in the list",
                        country.iso3
                    );
                    if let Some((entry, exit)) = years.get(&(name, code.0)) {
                        assert!(
                            *entry <= year && exit.is_none_or(|exit| year <= exit),
                            "{} {name} {year}: {code} has years {entry}-{exit:?}",
                            country.iso3
                        );
                    }
                }
            }
        }
    }
    assert!(given > 50_000, "{given}");
}

/// (role, code) → (entry year, exit year) from the v1 reference lists.
fn reference_years() -> HashMap<(&'static str, u16), (u16, Option<u16>)> {
    let mut years = HashMap::new();
    for (role, file) in [
        (
            "reporter",
            "comtrade/ref_v1_reporters_comtradr_extdata.json",
        ),
        ("partner", "comtrade/ref_v1_partners_comtradr_extdata.json"),
    ] {
        let list: Vec<Value> =
            serde_json::from_slice(&std::fs::read(fixtures().join(file)).unwrap()).unwrap();
        for row in list {
            let code = row["id"].as_u64().unwrap() as u16;
            let entry = row["entry_year"].as_u64().unwrap_or(1900) as u16;
            let exit = row["exit_year"].as_u64().map(|y| y as u16);
            years.insert((role, code), (entry, exit));
        }
    }
    years
}

/// Seed 004's three refusal examples, as the seed writes them (trailing
/// commas and all).
fn seed_refusals() -> Vec<String> {
    let seed = std::fs::read_to_string(
        fixtures()
            .parent()
            .unwrap()
            .join("seeds/004_2d121b359bc58ed5.txt"),
    )
    .expect("seed 004 beside the fixtures");
    let mut bodies = Vec::new();
    let mut rest = seed.as_str();
    while let Some(start) = rest.find("{\n\"validation\"") {
        let mut depth = 0;
        let mut end = start;
        for (index, c) in rest[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + index + 1;
                break;
            }
        }
        let body = &rest[start..end];
        if ["5002", "5003", "5004"]
            .iter()
            .any(|code| body.contains(&format!("\"value\": {code}")))
        {
            bodies.push(body.to_owned());
        }
        rest = &rest[end..];
    }
    bodies
}

/// Finding 6: the legacy API's refusals are read from the body whatever the
/// HTTP status (a 400 with 5004 is an invalid parameter, not a generic
/// rejection), the seed's own examples are read as written, and a 409's
/// message says the wait.
#[tokio::test]
async fn legacy_refusals_are_read_from_the_body() {
    use trade_graph::sample::Fault;
    let gateway = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    let bodies = seed_refusals();
    assert_eq!(bodies.len(), 3, "5002, 5003, 5004 in seed 004");
    let mut year = 2000;
    for (body, code, status) in [
        (&bodies[0], "UPSTREAM_QUERY_TOO_COMPLEX", 5002),
        (&bodies[1], "UPSTREAM_RESULT_TOO_LARGE", 5003),
        (&bodies[2], "UPSTREAM_INVALID_PARAMETER", 5004),
    ] {
        for http in [200, 400] {
            year += 1;
            gateway.simulator.inject_fault(
                Source::Comtrade,
                Fault::Status {
                    status: http,
                    body: body.clone(),
                },
            );
            let response = gateway
                .query(&format!(
                    r#"{{ tradeFlows(reporters: ["USA"], periods: ["{year}"], flow: IMPORT) {{ value }} }}"#
                ))
                .await;
            assert_eq!(error_codes(&response), [code], "{http}: {response}");
            assert_eq!(
                response["errors"][0]["extensions"]["upstreamStatus"], status,
                "{response}"
            );
        }
    }
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 409,
            body:
                "Usage limit: 100 requests per hour reached. You may resume requests in 20 minutes."
                    .into(),
        },
    );
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2020"], flow: IMPORT) { value } }"#)
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_RATE_LIMITED"],
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["extensions"]["retryAfterSeconds"], 1200,
        "{response}"
    );
}

/// Issue 21's eighth attack: the legacy 409 "Requests may resume after
/// 01:30 hours." is an hour and a half (5400 s), not 90 s.
#[tokio::test]
async fn a_wait_in_hours_and_minutes_is_read_as_hours() {
    use trade_graph::sample::Fault;
    let gateway = TestGateway::start_with(&["--comtrade-api", "legacy"]).await;
    gateway.simulator.inject_fault(
        Source::Comtrade,
        Fault::Status {
            status: 409,
            body: "Requests may resume after 01:30 hours.".into(),
        },
    );
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2021"], flow: IMPORT) { value } }"#)
        .await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_RATE_LIMITED"],
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["extensions"]["retryAfterSeconds"], 5400,
        "{response}"
    );
}

/// Finding 5: Comtrade's own codes are country arguments, as the argument
/// descriptions say; an ambiguous number is refused naming its candidates.
#[tokio::test]
async fn comtrade_codes_work_as_country_arguments() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(&format!(
            r#"{{ tradeFlows(reporters: ["842", "757", "579"], partners: ["380", "490"], periods: ["2020"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
        ))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let requests = sent(&gateway);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["reporterCode"], "579,757,842");
    assert_eq!(requests[0]["partnerCode"], "380,490");
    let reporters: BTreeSet<&str> = rows(&response, "tradeFlows")
        .iter()
        .map(|row| row["reporter"]["iso3"].as_str().unwrap())
        .collect();
    assert_eq!(
        reporters.into_iter().collect::<Vec<_>>(),
        ["CHE", "NOR", "USA"]
    );
    let refused = gateway
        .query(r#"{ tradeFlows(reporters: ["532"], periods: ["1980"]) { value } }"#)
        .await;
    assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Netherlands Antilles") && message.contains("Aruba"),
        "{message}"
    );
    assert_eq!(gateway.comtrade_requests(), 1);
}

/// Attack 21, F2.1: a jurisdiction-year covered by two former codes is
/// answered from both (Germany 1989: 280 West and 278 East; Yemen 1989: 886
/// and 720; Viet Nam 1974, Tanzania 1964, Panama 1977), as reporter and as
/// partner, in both dialects; each row says it is a predecessor area
/// covering only part of the jurisdiction, and names the other part.
#[tokio::test]
async fn predecessors_with_two_codes_are_both_asked_for() {
    for flags in [&[][..], &["--comtrade-api", "legacy"][..]] {
        let gateway = TestGateway::start_with(flags).await;
        for (iso3, year, expected) in [
            ("DEU", "1989", [278, 280]),
            ("YEM", "1989", [720, 886]),
            ("VNM", "1974", [866, 868]),
            ("TZA", "1964", [835, 836]),
            ("PAN", "1977", [590, 592]),
        ] {
            let before = sent(&gateway).len();
            let response = gateway
                .query(&format!(
                    r#"{{ tradeFlows(reporters: ["{iso3}"], periods: ["{year}"], flow: IMPORT) {{ reporterCode reporterPredecessorArea reporterJurisdictions {{ iso3 }} }} }}"#
                ))
                .await;
            assert!(response.get("errors").is_none(), "{response}");
            let mut codes: Vec<u16> = sent(&gateway)[before..]
                .iter()
                .flat_map(|params| {
                    reporters_sent(params)
                        .split(',')
                        .map(|code| code.parse::<u16>().unwrap())
                        .collect::<Vec<_>>()
                })
                .collect();
            codes.sort_unstable();
            assert_eq!(codes, expected, "{iso3} {year} {flags:?}");
            let flows = rows(&response, "tradeFlows");
            let mut answered: Vec<i64> = flows
                .iter()
                .map(|flow| flow["reporterCode"].as_i64().unwrap())
                .collect();
            answered.sort_unstable();
            answered.dedup();
            assert_eq!(answered.len(), 2, "{iso3} {year}: {response}");
            for flow in flows {
                assert_eq!(iso3s(&flow["reporterJurisdictions"]), [iso3]);
                let note = flow["reporterPredecessorArea"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{iso3} {year}: no predecessor note in {response}"));
                assert!(
                    note.contains("predecessor") && note.contains(iso3),
                    "{note}"
                );
            }

            let before = sent(&gateway).len();
            let response = gateway
                .query(&format!(
                    r#"{{ tradeFlows(reporters: ["FRA"], partners: ["{iso3}"], periods: ["{year}"], flow: IMPORT) {{ partnerCode partnerPredecessorArea partnerJurisdictions {{ iso3 }} }} }}"#
                ))
                .await;
            assert!(response.get("errors").is_none(), "{response}");
            let mut partners: Vec<u16> = sent(&gateway)[before..]
                .iter()
                .flat_map(|params| {
                    params
                        .get("partnerCode")
                        .or_else(|| params.get("p"))
                        .unwrap()
                        .split(',')
                        .map(|code| code.parse::<u16>().unwrap())
                        .collect::<Vec<_>>()
                })
                .collect();
            partners.sort_unstable();
            assert_eq!(partners, expected, "partner {iso3} {year} {flags:?}");
            for flow in rows(&response, "tradeFlows") {
                assert!(flow["partnerPredecessorArea"].is_string(), "{response}");
            }
        }
        // A current code, and a union code, carry no predecessor note.
        let response = gateway
            .query(r#"{ tradeFlows(reporters: ["DEU", "BEL"], periods: ["1995"], flow: IMPORT) { reporterPredecessorArea } }"#)
            .await;
        for flow in rows(&response, "tradeFlows") {
            assert!(flow["reporterPredecessorArea"].is_null(), "{response}");
        }
    }
}

/// Attack 21, F1.1/F1.2: a union code's row names no single member as its
/// `reporter` (891 is not Serbia's); partner 251 covers Monaco, which is
/// refused as a partner of its own because it is counted within France.
#[tokio::test]
async fn union_rows_name_no_single_member_and_france_covers_monaco() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["SRB", "MNE"], periods: ["2000"], flow: EXPORT) { reporterCode reporter { iso3 } reporterJurisdictions { iso3 } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let flows = rows(&response, "tradeFlows");
    assert!(!flows.is_empty(), "{response}");
    for flow in flows {
        assert_eq!(flow["reporterCode"], 891);
        assert!(flow["reporter"].is_null(), "{response}");
        assert_eq!(iso3s(&flow["reporterJurisdictions"]), ["SRB", "MNE"]);
    }
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["DEU"], partners: ["FRA"], periods: ["2010"], flow: EXPORT) { partnerCode partner { iso3 } partnerJurisdictions { iso3 } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    for flow in rows(&response, "tradeFlows") {
        assert_eq!(flow["partnerCode"], 251);
        assert_eq!(flow["partner"]["iso3"], "FRA");
        let covered = iso3s(&flow["partnerJurisdictions"]);
        assert!(
            covered.contains(&"FRA") && covered.contains(&"MCO"),
            "{response}"
        );
    }
    // Partner 842 since 1981 also counts the US Virgin Islands, whose own
    // partner 850 ended in 1980 (the refusal of partner VIR says so).
    for (year, with_vir) in [("2010", true), ("1979", false)] {
        let response = gateway
            .query(&format!(r#"{{ tradeFlows(reporters: ["DEU"], partners: ["USA"], periods: ["{year}"], flow: EXPORT) {{ partnerCode partnerJurisdictions {{ iso3 }} }} }}"#))
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let flows = rows(&response, "tradeFlows");
        assert!(!flows.is_empty(), "{response}");
        for flow in flows {
            let covered = iso3s(&flow["partnerJurisdictions"]);
            assert!(covered.contains(&"USA"), "{response}");
            assert_eq!(covered.contains(&"VIR"), with_vir, "{year}: {response}");
        }
    }
}

/// Attack 21, F5.1-F5.3: Comtrade's own codes as arguments. The other
/// halves of the splits (278, 720, 866, 592, 836) are accepted like 280,
/// 886, 868; a union code is refused saying it is a former area, which
/// jurisdictions it covered and what to ask for (not "ambiguous"); 492
/// (GTA Monaco, Comtrade "Europe EU, nes") is refused naming both; groups
/// and "nes" areas (97, 975, 899) and 250 say what they are.
#[tokio::test]
async fn comtrade_codes_of_former_areas_groups_and_clashes() {
    let gateway = TestGateway::start().await;
    // Each is its own area in its years (sent alone, issue 21's third
    // attack) and refused, pointing to its jurisdiction, outside them.
    for (code, iso3, year) in [
        ("278", "DEU", "1989"),
        ("720", "YEM", "1989"),
        ("866", "VNM", "1974"),
        ("592", "PAN", "1977"),
        ("836", "TZA", "1964"),
    ] {
        let before = sent(&gateway).len();
        let found = gateway
            .query(&format!(
                r#"{{ tradeFlows(reporters: ["{code}"], periods: ["{year}"], flow: IMPORT) {{ reporterCode reporter {{ iso3 }} }} }}"#
            ))
            .await;
        assert!(found.get("errors").is_none(), "{code}: {found}");
        assert_eq!(reporters_sent(&sent(&gateway)[before]), code);
        for flow in rows(&found, "tradeFlows") {
            assert_eq!(flow["reporter"]["iso3"], iso3, "{found}");
        }
        let refused = gateway
            .query(&format!(
                r#"{{ tradeFlows(reporters: ["{code}"], periods: ["2015"], flow: IMPORT) {{ reporterCode }} }}"#
            ))
            .await;
        assert_eq!(
            error_codes(&refused),
            ["BAD_USER_INPUT"],
            "{code}: {refused}"
        );
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(iso3) && message.contains("2015"),
            "{message}"
        );
        assert_eq!(
            trade_graph::countries::lookup(code).map(|c| c.iso3),
            Some(iso3)
        );
    }
    for (code, names) in [
        ("58", &["Belgium", "Luxembourg", "former area"][..]),
        ("891", &["Serbia", "Montenegro", "former area"][..]),
        ("810", &["Russia", "Ukraine", "former area"][..]),
        ("200", &["Czech", "Slovakia", "former area"][..]),
        ("890", &["Croatia", "Slovenia", "former area"][..]),
        ("711", &["South Africa", "Botswana", "former area"][..]),
        ("736", &["Sudan", "former area"][..]),
        ("717", &["Zambia", "Malawi", "former area"][..]),
        ("841", &["Puerto Rico", "former area"][..]),
        ("530", &["Cura", "former area"][..]),
        ("492", &["Monaco", "Europe EU, nes", "GTA id"][..]),
        ("97", &["European Union", "group"][..]),
        ("975", &["ASEAN", "group"][..]),
        ("250", &["Metropolitan France", "FRA"][..]),
    ] {
        for arguments in [
            format!(r#"reporters: ["{code}"]"#),
            format!(r#"reporters: ["FRA"], partners: ["{code}"]"#),
        ] {
            let refused = gateway
                .query(&format!(
                    r#"{{ tradeFlows({arguments}, periods: ["1985"]) {{ value }} }}"#
                ))
                .await;
            assert_eq!(
                error_codes(&refused),
                ["BAD_USER_INPUT"],
                "{code}: {refused}"
            );
            let message = refused["errors"][0]["message"].as_str().unwrap();
            assert!(!message.contains("ambiguous"), "{code}: {message}");
            for name in names {
                assert!(message.contains(name), "{code} lacks {name}: {message}");
            }
        }
    }
}

/// Issue 21's second attack: one upstream row is labelled the same whatever
/// was asked. Puerto Rico and the US Virgin Islands report within 842: the
/// row is the USA's (`reporter`), covering them (`reporterJurisdictions`),
/// whether the field named PRI, VIR, the USA or both; Liechtenstein's "438"
/// on the legacy API gives Switzerland's 757 row, labelled Switzerland.
#[tokio::test]
async fn a_row_is_labelled_by_its_code_not_by_the_question() {
    for flags in [&[][..], &["--comtrade-api", "legacy"][..]] {
        let gateway = TestGateway::start_with(flags).await;
        let mut labels = Vec::new();
        for asked in [
            r#""PRI""#,
            r#""VIR""#,
            r#""USA", "PRI""#,
            r#""842""#,
            r#""840""#,
        ] {
            let before = sent(&gateway).len();
            let response = gateway
                .query(&format!(
                    r#"{{ tradeFlows(reporters: [{asked}], periods: ["2000"], flow: IMPORT) {{ {FLOW_FIELDS} }} }}"#
                ))
                .await;
            assert!(response.get("errors").is_none(), "{asked}: {response}");
            // Later questions may be answered from the client's cache.
            for params in &sent(&gateway)[before..] {
                assert_eq!(reporters_sent(params), "842", "{asked}");
            }
            let flows = rows(&response, "tradeFlows");
            assert_eq!(flows.len(), 1, "{asked}: {response}");
            assert_eq!(flows[0]["reporter"]["iso3"], "USA", "{asked}: {response}");
            let covered = iso3s(&flows[0]["reporterJurisdictions"]);
            assert!(
                covered.contains(&"USA") && covered.contains(&"PRI"),
                "{response}"
            );
            labels.push(flows[0].clone());
        }
        assert!(
            labels.windows(2).all(|pair| pair[0] == pair[1]),
            "{labels:?}"
        );
        let response = gateway
            .query(r#"{ a: tradeFlows(reporters: ["438"], periods: ["2000"], flow: IMPORT) { reporterCode reporter { iso3 } }
                        b: tradeFlows(reporters: ["LIE"], periods: ["2000"], flow: IMPORT) { reporterCode reporter { iso3 } } }"#)
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        for field in ["a", "b"] {
            for flow in rows(&response, field) {
                assert_eq!(flow["reporterCode"], 757, "{response}");
                assert_eq!(flow["reporter"]["iso3"], "CHE", "{flags:?}: {response}");
            }
        }
    }
}

/// Issue 21's third attack: a Comtrade code given as a number is that code
/// only, as reporter and as partner, in both dialects: "280" in 1990 sends
/// 280 (not 278 beside it), "886" 886, "866" 866, "590" 590, "459" 459,
/// "835" 835; the jurisdiction's name still asks for every part.
#[tokio::test]
async fn a_numeric_comtrade_code_is_never_widened() {
    for flags in [&[][..], &["--comtrade-api", "legacy"][..]] {
        let gateway = TestGateway::start_with(flags).await;
        for (code, year) in [
            ("280", "1990"),
            ("886", "1989"),
            ("866", "1974"),
            ("590", "1977"),
            ("459", "1962"),
            ("835", "1964"),
        ] {
            let before = sent(&gateway).len();
            let response = gateway
                .query(&format!(
                    r#"{{ r: tradeFlows(reporters: ["{code}"], periods: ["{year}"], flow: IMPORT) {{ reporterCode }}
                         p: tradeFlows(reporters: ["FRA"], partners: ["{code}"], periods: ["{year}"], flow: IMPORT) {{ partnerCode }} }}"#
                ))
                .await;
            assert!(
                response.get("errors").is_none(),
                "{code} {flags:?}: {response}"
            );
            for flow in rows(&response, "r") {
                assert_eq!(flow["reporterCode"].to_string(), code, "{response}");
            }
            for flow in response["data"]["p"].as_array().into_iter().flatten() {
                assert_eq!(flow["partnerCode"].to_string(), code, "{response}");
            }
            for params in &sent(&gateway)[before..] {
                let reporters = reporters_sent(params);
                let partners = params
                    .get("partnerCode")
                    .or_else(|| params.get("p"))
                    .unwrap();
                assert!(
                    reporters == code || (reporters == "251" && partners == code),
                    "{code} {year} {flags:?}: sent {params:?}"
                );
            }
        }
    }
}

/// Issue 21's fourth attack, over the whole v1 partner list: every code is
/// accepted as a partner area (sent as that code) or refused saying what it
/// is, never "unknown"; the "nes" areas, bunkers and free zones are asked
/// for on the wire as themselves.
#[tokio::test]
async fn every_v1_partner_code_is_accepted_or_explained() {
    use trade_graph::countries::ComtradeDialect;
    use trade_graph::sources::comtrade::query::PartnerCode;
    let list: Vec<Value> = serde_json::from_slice(
        &std::fs::read(fixtures().join("comtrade/ref_v1_partners_comtradr_extdata.json")).unwrap(),
    )
    .unwrap();
    let mut refused = Vec::new();
    for entry in &list {
        let code = entry["id"].as_u64().unwrap();
        match PartnerCode::parse(ComtradeDialect::V1, &code.to_string()) {
            Ok((PartnerCode::Area(sent), _)) => {
                // A GTA id that is also a code sends its jurisdiction's code.
                if trade_graph::countries::by_gta_id(trade_graph::countries::GtaId(code as u16))
                    .is_none()
                {
                    assert_eq!(u64::from(sent), code, "{entry}");
                }
            }
            Ok((PartnerCode::All, _)) => panic!("{entry}"),
            Err(error) => {
                let message = error.to_string();
                assert!(
                    !message.to_lowercase().contains("unknown"),
                    "{code}: {message}"
                );
                refused.push(code);
            }
        }
    }
    assert!(refused.len() < 40, "{refused:?}");
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], partners: ["837", "838", "839", "129", "899", "472"], periods: ["2020"], flow: EXPORT) { partnerCode partner { iso3 } partnerJurisdictions { iso3 } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(sent(&gateway)[0]["partnerCode"], "129,472,837,838,839,899");
    for flow in rows(&response, "tradeFlows") {
        assert!(flow["partner"].is_null(), "{response}");
    }
    let refused = gateway
        .query(r#"{ tradeFlows(reporters: ["837"], periods: ["2020"]) { value } }"#)
        .await;
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Bunkers") && message.contains("partner"),
        "{message}"
    );
}

/// Issue 21's ninth attack: ranges are accepted, as the argument's
/// description says: "2004-2007" goes out as its four years, a monthly
/// range as its months (on v1 at most twelve a request); a backwards or
/// mixed range, or one past the per-field limit, is refused saying why.
#[tokio::test]
async fn period_ranges_are_expanded() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["2004-2007"], flow: IMPORT) { period } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(sent(&gateway)[0]["period"], "2004,2005,2006,2007");
    let periods: BTreeSet<&str> = rows(&response, "tradeFlows")
        .iter()
        .map(|row| row["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        periods.into_iter().collect::<Vec<_>>(),
        ["2004", "2005", "2006", "2007"]
    );

    let before = sent(&gateway).len();
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["USA"], periods: ["202211-202302"], frequency: MONTHLY, flow: IMPORT) { period } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        sent(&gateway)[before]["period"],
        "202211,202212,202301,202302"
    );

    for range in ["2007-2004", "2004-200712", "1900-2030", "20x4-2007"] {
        let refused = gateway
            .query(&format!(
                r#"{{ tradeFlows(reporters: ["USA"], periods: ["{range}"], flow: IMPORT) {{ period }} }}"#
            ))
            .await;
        assert_eq!(
            error_codes(&refused),
            ["BAD_USER_INPUT"],
            "{range}: {refused}"
        );
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(range), "{message}");
    }
}
