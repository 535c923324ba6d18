//! The simulated UN Comtrade APIs, both dialects, with their rules:
//! - legacy `/api/get` and `/api/refs/da/view`: at most five codes in `r`,
//!   `p` and `ps`, one `all` among them, twenty in `cc`, `max` within
//!   1..=100,000; refusals as `validation.status` 5002/5004 inside a 200; the
//!   rate (one request per interval) and the hourly budget (guest or token)
//!   answered with HTTP 409, as seed 004 documents;
//! - v1 `/data/v1/get/{type}/{freq}/{cl}` (subscription key header) and the
//!   keyless `/public/v1/preview/...` (at most 500 rows), `getDa` likewise;
//!   rows split by customs procedure and mode of transport unless filtered;
//!   at most twelve periods a request (400 beyond); 429 when the rate is
//!   exceeded; 414 for very long URLs;
//! - both: nothing under an area code outside its entry and exit years
//!   (`countries::AREA_YEARS`): 688 in 2000, 850 in 2020.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// The simulator's clock for Comtrade's rules is tokio's, so that tests on
// paused time can check pacing and budgets without sleeping for real.
use tokio::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::comtrade_data::{
    area_name, expand_commodity, is_partner, is_reporter, last_year, main_partners, net_weight,
    trade_value, FIRST_YEAR, LAST_YEAR,
};
use super::faults::{apply_fault, RecordedRequest};
use super::SimulatorState;
use crate::countries::ComtradeDialect;
use crate::source::Source;
use crate::sources::pacing::Budget;

const HOUR: Duration = Duration::from_secs(3600);

/// Comtrade's usage rules as the simulator enforces them.
#[derive(Clone, Copy, Debug)]
pub struct ComtradeRules {
    /// At most one request per interval.
    pub interval: Duration,
    /// Requests allowed without a key, per window (legacy guest: 100 an
    /// hour).
    pub guest: Budget,
    /// Requests allowed with the key, per window (legacy token: 10,000 an
    /// hour; v1's free key: 500 a day).
    pub keyed: Budget,
    /// A server-side cap on rows per answer below what `max` asks (an
    /// account limit), so tests can make answers truncate.
    pub max_rows: Option<u64>,
}

impl Default for ComtradeRules {
    /// Seed 004: one request a second, and the legacy budgets Comtrade's
    /// module documents (100 an hour as guest, 10,000 with a token).
    fn default() -> Self {
        Self::documented(ComtradeDialect::Legacy)
    }
}

impl ComtradeRules {
    /// The rules `dialect` documents, from Comtrade's own module
    /// ([`crate::sources::comtrade::documented_budget`]): one request a
    /// second, its guest and keyed budgets.
    pub fn documented(dialect: ComtradeDialect) -> Self {
        use crate::sources::comtrade::documented_budget;
        Self {
            interval: Duration::from_secs(1),
            guest: documented_budget(dialect, false),
            keyed: documented_budget(dialect, true),
            max_rows: None,
        }
    }
}

/// Send times, for the rate and budget checks.
#[derive(Default)]
pub(super) struct ComtradeUsage {
    last: Option<Instant>,
    guest: VecDeque<Instant>,
    keyed: VecDeque<Instant>,
}

pub(super) type SharedComtradeUsage = Arc<Mutex<ComtradeUsage>>;

const LEGACY_FLOW_NAMES: [&str; 5] = ["", "Import", "Export", "Re-Export", "Re-Import"];
/// v1's flows (`ref_v1_flows`), numbered after the legacy four.
const V1_FLOW_CODES: [&str; 11] = [
    "", "M", "X", "RX", "RM", "DX", "FM", "MIP", "MOP", "XIP", "XOP",
];
const V1_FLOW_NAMES: [&str; 11] = [
    "",
    "Import",
    "Export",
    "Re-export",
    "Re-import",
    "Domestic Export",
    "Foreign Import",
    "Import of goods for inward processing",
    "Import of goods after outward processing",
    "Export of goods after inward processing",
    "Export of goods for outward processing",
];

/// Most periods one v1 request may carry ([`crate::sources::comtrade::planner::Limits::V1`]).
const V1_MAX_PERIODS: usize = crate::sources::comtrade::planner::Limits::V1.periods;

/// Longest query string accepted by the simulated v1 API.
const V1_MAX_QUERY: usize = 4096;

pub(super) fn routes() -> Router<SimulatorState> {
    Router::new()
        .route("/api/get", get(legacy_get))
        .route("/api/refs/da/view", get(legacy_availability))
        .route("/data/v1/get/{type}/{freq}/{cl}", get(v1_keyed))
        .route("/public/v1/preview/{type}/{freq}/{cl}", get(v1_preview))
        .route(
            "/data/v1/getDa/{type}/{freq}/{cl}",
            get(v1_availability_keyed),
        )
        .route(
            "/public/v1/getDa/{type}/{freq}/{cl}",
            get(v1_availability_public),
        )
        .route("/files/v1/app/reference/{file}", get(v1_reference))
        .route("/Data/cache/{file}", get(legacy_reference))
}

/// The HS lists the simulator serves: the combined list and its vintages,
/// all answered with the sample list (real codes, a part of Comtrade's).
const HS_LISTS: [&str; 8] = ["HS", "H0", "H1", "H2", "H3", "H4", "H5", "H6"];

/// A part of EBOPS 2002 (Comtrade's `EB02` list: items numbered in
/// sequence under "200", the total, as Comtrade's file numbers them), so
/// that the services' classification answers in sample mode too.
const EBOPS_2002: [(&str, &str, &str); 17] = [
    ("200", "TOTAL - Total EBOPS 2002 Services", "#"),
    ("205", "1. Transportation", "200"),
    ("206", "1.1 Sea transport", "205"),
    ("207", "1.1.1 Passenger", "206"),
    ("208", "1.1.2 Freight", "206"),
    ("209", "1.1.3 Other", "206"),
    ("210", "1.2 Air transport", "205"),
    ("236", "2. Travel", "200"),
    ("245", "3. Communications services", "200"),
    ("249", "4. Construction services", "200"),
    ("253", "5. Insurance services", "200"),
    ("260", "6. Financial services", "200"),
    ("262", "7. Computer and information services", "200"),
    ("266", "8. Royalties and license fees", "200"),
    ("268", "9. Other business services", "200"),
    (
        "287",
        "10. Personal, cultural, and recreational services",
        "200",
    ),
    ("291", "11. Government services, n.i.e.", "200"),
];

/// The sample EBOPS 2002 list as Comtrade's reference files write it.
fn ebops_results() -> Vec<Value> {
    EBOPS_2002
        .iter()
        .map(|(id, text, parent)| json!({ "id": id, "text": text, "parent": parent }))
        .collect()
}

/// v1's reference files (`files/v1/app/reference/HS.json`): static files,
/// no key needed; the HS lists are the sample list, EB02 a part of EBOPS
/// 2002, other files are not there (404, as a missing blob).
async fn v1_reference(
    State(state): State<SimulatorState>,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    if let Some(response) = apply_fault(&state, Source::Comtrade, record(&uri)).await {
        return response;
    }
    if let Err(refusal) = admit(&state, false, ComtradeDialect::V1) {
        return *refusal;
    }
    if file == "EB02.json" {
        return Json(json!({ "more": false, "classCode": "EB02", "results": ebops_results() }))
            .into_response();
    }
    if file == "Reporters.json" {
        return Json(json!({ "results": reporter_results(ComtradeDialect::V1) })).into_response();
    }
    let Some(classification) = file
        .strip_suffix(".json")
        .filter(|name| HS_LISTS.contains(name))
    else {
        return (StatusCode::NOT_FOUND, "The specified blob does not exist.").into_response();
    };
    let results: Vec<Value> = super::hs_list::hs()
        .entries
        .iter()
        .map(|entry| {
            json!({
                "id": entry.code,
                // "Total - All H6 commodities" is already how Comtrade
                // writes the total.
                "text": if entry.code == "TOTAL" { entry.text.to_owned() } else { format!("{} - {}", entry.code, entry.text) },
                "parent": entry.parent().unwrap_or("#"),
                "isLeaf": if entry.level() == 6 { "1" } else { "0" },
                "aggrLevel": entry.level(),
                "standardUnitAbbr": entry.unit,
            })
        })
        .collect();
    Json(json!({
        "more": false,
        "minimumInputLength": 2,
        "classCode": classification,
        "className": if classification == "HS" { "Combined HS".to_owned() } else { format!("{classification} (sample: the combined list)") },
        "results": results,
    }))
    .into_response()
}

/// The reporter list in `dialect`'s shape, from the gateway's own
/// crosswalk: every jurisdiction Comtrade publishes under its own code (or
/// did, until a year), and the EU as a group; the legacy list with its
/// `all` wildcard first and ids as text, v1's with numeric ids, ISO codes,
/// `isGroup` and a former area's `entryExpiredDate`.
fn reporter_results(dialect: ComtradeDialect) -> Vec<Value> {
    use crate::countries::ComtradeReporter;
    let mut areas: Vec<(u16, &str, &str, Option<u16>, bool)> = crate::countries::all()
        .iter()
        .chain(crate::countries::beyond_gta())
        .filter_map(|country| match country.comtrade(dialect) {
            ComtradeReporter::Own(code) => Some((code.0, country.name, country.iso3, None, false)),
            ComtradeReporter::Ended { code, last_year } => {
                Some((code.0, country.name, country.iso3, Some(last_year), false))
            }
            ComtradeReporter::Folded(_) | ComtradeReporter::Absent => None,
        })
        .collect();
    areas.push((97, "European Union", "EUR", None, true));
    areas.sort_by_key(|area| area.0);
    areas.dedup_by_key(|area| area.0);
    let entries = areas
        .into_iter()
        .map(|(code, name, iso3, last_year, group)| match dialect {
            ComtradeDialect::Legacy => json!({ "id": code.to_string(), "text": name }),
            ComtradeDialect::V1 => {
                let mut entry = json!({
                    "id": code,
                    "text": name,
                    "reporterCode": code,
                    "reporterDesc": name,
                    "reporterCodeIsoAlpha3": iso3,
                    "entryEffectiveDate": "1900-01-01T00:00:00",
                    "isGroup": group,
                });
                if let Some(year) = last_year {
                    entry["entryExpiredDate"] = json!(format!("{year}-12-31T00:00:00"));
                }
                entry
            }
        });
    match dialect {
        ComtradeDialect::Legacy => std::iter::once(json!({ "id": "all", "text": "All" }))
            .chain(entries)
            .collect(),
        ComtradeDialect::V1 => entries.collect(),
    }
}

/// The legacy site's lists (`Data/cache/classificationHS.json`, seed 004's
/// "full classification code list in JSON, formatted for select2.js"):
/// the query shortcuts first, then every code with its parent; served with
/// a byte order mark, as the site served its lists.
async fn legacy_reference(
    State(state): State<SimulatorState>,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    if let Some(response) = apply_fault(&state, Source::Comtrade, record(&uri)).await {
        return response;
    }
    if let Err(refusal) = admit(&state, false, ComtradeDialect::Legacy) {
        return *refusal;
    }
    if file == "reporterAreas.json" {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend(
            json!({ "more": false, "results": reporter_results(ComtradeDialect::Legacy) })
                .to_string()
                .into_bytes(),
        );
        return ([("content-type", "application/json")], body).into_response();
    }
    if file == "classificationEB02.json" {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend(
            json!({ "more": false, "results": ebops_results() })
                .to_string()
                .into_bytes(),
        );
        return ([("content-type", "application/json")], body).into_response();
    }
    let Some(classification) = file
        .strip_prefix("classification")
        .and_then(|rest| rest.strip_suffix(".json"))
        .filter(|name| HS_LISTS.contains(name))
    else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let mut results = vec![
        json!({ "id": "ALL", "text": format!("All {classification} commodities"), "parent": "#" }),
        json!({ "id": "TOTAL", "text": format!("Total of all {classification} commodities"), "parent": "#" }),
        json!({ "id": "AG2", "text": format!("AG2 - All 2-digit {classification} commodities"), "parent": "#" }),
        json!({ "id": "AG4", "text": format!("AG4 - All 4-digit {classification} commodities"), "parent": "#" }),
        json!({ "id": "AG6", "text": format!("AG6 - All 6-digit {classification} commodities"), "parent": "#" }),
    ];
    results.extend(
        super::hs_list::hs()
            .entries
            .iter()
            .filter(|entry| entry.code != "TOTAL")
            .map(|entry| {
                json!({
                    "id": entry.code,
                    "text": format!("{} - {}", entry.code, entry.text),
                    "parent": entry.parent().unwrap_or("#"),
                })
            }),
    );
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(
        json!({ "more": false, "results": results })
            .to_string()
            .into_bytes(),
    );
    ([("content-type", "application/json")], body).into_response()
}

fn params(raw: &Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn record(uri: &Uri) -> RecordedRequest {
    RecordedRequest {
        method: "GET".into(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::new(),
        received: std::time::Instant::now(),
    }
}

/// The rate and budget check; `Err` is the refusal to send.
fn admit(
    state: &SimulatorState,
    keyed: bool,
    dialect: ComtradeDialect,
) -> Result<(), Box<Response>> {
    let rules = state.comtrade_rules;
    let mut usage = state
        .comtrade_usage
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if let Some(last) = usage.last {
        if now.duration_since(last) < rules.interval {
            return Err(Box::new(match dialect {
                ComtradeDialect::Legacy => (
                    StatusCode::CONFLICT,
                    "Rate limit: 1 request every second. You may resume requests shortly.",
                )
                    .into_response(),
                ComtradeDialect::V1 => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    Json(json!({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds." })),
                )
                    .into_response(),
            }));
        }
    }
    let (window, budget) = if keyed {
        (&mut usage.keyed, rules.keyed)
    } else {
        (&mut usage.guest, rules.guest)
    };
    let limit = budget.limit;
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= budget.window)
    {
        window.pop_front();
    }
    if window.len() as u32 >= limit {
        let resume = window.front().map_or(budget.window.as_secs(), |t| {
            budget
                .window
                .saturating_sub(now.duration_since(*t))
                .as_secs()
        });
        let per = if budget.window == HOUR {
            "hour".to_owned()
        } else {
            humantime::format_duration(budget.window).to_string()
        };
        return Err(Box::new((
            StatusCode::CONFLICT,
            [("retry-after", resume.to_string())],
            format!("Usage limit: {limit} requests per {per} reached. You may resume requests in {resume} seconds."),
        )
            .into_response()));
    }
    window.push_back(now);
    usage.last = Some(now);
    Ok(())
}

fn legacy_refusal(
    code: i64,
    name: &str,
    description: &str,
    message: impl Into<String>,
) -> Response {
    Json(json!({
        "validation": {
            "status": { "name": name, "value": code, "category": 0, "description": description,
                        "helpUrl": "For more reference visit http://comtrade.un.org/data/doc/api/" },
            "message": message.into(),
        }
    }))
    .into_response()
}

fn invalid(message: impl Into<String>) -> Response {
    legacy_refusal(
        5004,
        "Invalid parameter",
        "the selected query does not accept the passed option.",
        message,
    )
}

/// The rows of a request, in the dialect-independent form the two renderers use.
struct Row {
    reporter: u16,
    partner: u16,
    period: String,
    flow: u8,
    commodity: String,
    commodity_desc: String,
    aggregation: u8,
    value: f64,
    weight: Option<f64>,
    customs: &'static str,
    mot: i64,
}

struct Request<'a> {
    dialect: ComtradeDialect,
    reporters: Vec<u16>,
    /// `None`: all partners.
    partners: Option<Vec<u16>>,
    periods: Vec<String>,
    flows: Vec<u8>,
    commodities: Vec<&'a str>,
    /// Asked in an HS classification: only the sample list's codes are
    /// answered, so that a heading is always the sum of its subheadings
    /// (a code the list does not have would get a value of its own).
    hs: bool,
    split_customs: bool,
    split_transport: bool,
}

fn rows(request: &Request<'_>) -> Vec<Row> {
    let mut rows = Vec::new();
    for &reporter in &request.reporters {
        let ended = last_year(request.dialect, reporter);
        for period in &request.periods {
            let year: u32 = period[..4].parse().unwrap_or(0);
            // Like Comtrade: nothing under a code outside its years (276
            // before 1991, 280 after 1990).
            let in_use = |code: u16| {
                crate::countries::code_in_use(
                    crate::countries::ReporterCode(code),
                    u16::try_from(year).unwrap_or(0),
                )
            };
            if ended.is_some_and(|last| year > last) || !in_use(reporter) {
                continue;
            }
            let partners = request.partners.clone().unwrap_or_else(|| {
                main_partners(request.dialect)
                    .into_iter()
                    .filter(|p| *p != reporter)
                    .collect()
            });
            for partner in partners.into_iter().filter(|partner| in_use(*partner)) {
                for &flow in &request.flows {
                    for code in &request.commodities {
                        for (commodity, desc, aggregation) in expand_commodity(code) {
                            if request.hs && super::hs_list::hs().get(&commodity).is_none() {
                                continue;
                            }
                            let Some(value) =
                                trade_value(reporter, partner, period, flow, &commodity)
                            else {
                                continue;
                            };
                            let customs: &[(&str, f64)] = if request.split_customs {
                                &[("C00", 1.0), ("C01", 0.7), ("C02", 0.3)]
                            } else {
                                &[("C00", 1.0)]
                            };
                            let transport: &[(i64, f64)] = if request.split_transport {
                                &[(0, 1.0), (1000, 0.6), (2000, 0.3), (9000, 0.1)]
                            } else {
                                &[(0, 1.0)]
                            };
                            for (customs, customs_share) in customs {
                                for (mot, mot_share) in transport {
                                    let value = (value * customs_share * mot_share).round();
                                    rows.push(Row {
                                        reporter,
                                        partner,
                                        period: period.clone(),
                                        flow,
                                        commodity: commodity.clone(),
                                        commodity_desc: desc.clone(),
                                        aggregation,
                                        value,
                                        weight: net_weight(value, &commodity),
                                        customs,
                                        mot: *mot,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    rows
}

/// Expands `ps` codes: `now`, `recent`, `YYYY` (a year of months when monthly).
fn expand_periods(codes: &[&str], monthly: bool) -> Result<Vec<String>, String> {
    let mut periods = Vec::new();
    for code in codes {
        match *code {
            "now" => periods.push(if monthly {
                format!("{LAST_YEAR}12")
            } else {
                LAST_YEAR.to_string()
            }),
            "recent" => {
                for back in 0..5 {
                    periods.push(if monthly {
                        format!("{LAST_YEAR}{:02}", 12 - back)
                    } else {
                        (LAST_YEAR - back).to_string()
                    });
                }
            }
            year if year.len() == 4 && year.parse::<u32>().is_ok() => {
                if monthly {
                    periods.extend((1..=12).map(|m| format!("{year}{m:02}")));
                } else {
                    periods.push(year.to_owned());
                }
            }
            month if monthly && month.len() == 6 && month.parse::<u32>().is_ok() => {
                periods.push(month.to_owned())
            }
            other => return Err(format!("Invalid period: {other}")),
        }
    }
    Ok(periods
        .into_iter()
        .filter(|p| (FIRST_YEAR..=LAST_YEAR).contains(&p[..4].parse::<u32>().unwrap_or(0)))
        .collect())
}

fn codes(value: Option<&String>) -> Vec<&str> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

async fn legacy_get(
    State(state): State<SimulatorState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(response) = apply_fault(&state, Source::Comtrade, record(&uri)).await {
        return response;
    }
    let params = params(&raw);
    let keyed = match params.get("token") {
        Some(token) if token == &*state.key => true,
        Some(_) => return (StatusCode::UNAUTHORIZED, "Invalid token").into_response(),
        None => false,
    };
    if let Err(refusal) = admit(&state, keyed, ComtradeDialect::Legacy) {
        return *refusal;
    }
    const KNOWN: &[&str] = &[
        "r", "p", "ps", "px", "rg", "cc", "freq", "type", "max", "fmt", "head", "token", "IMTS",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return invalid(format!("Unknown parameter: {unknown}"));
    }
    if params.get("fmt").map(String::as_str) != Some("json") {
        return invalid("Only fmt=json is served by this simulator.");
    }
    let trade_type = params.get("type").map_or("C", String::as_str);
    if !["C", "S"].contains(&trade_type) {
        return invalid("Invalid trade type.");
    }
    let freq = params.get("freq").map_or("A", String::as_str);
    if !["A", "M"].contains(&freq) {
        return invalid("Invalid frequency.");
    }
    let px = params.get("px").map_or("HS", String::as_str);
    if !crate::sources::comtrade::query::classifications(ComtradeDialect::Legacy).contains(&px) {
        return invalid("Invalid classification.");
    }
    if trade_type == "S" && px != "EB02" || trade_type == "C" && px == "EB02" {
        return invalid("Invalid classification for trade type.");
    }
    let reporters = codes(params.get("r"));
    let partners = codes(params.get("p"));
    let periods = codes(params.get("ps"));
    let commodities = codes(params.get("cc"));
    for (name, list) in [
        ("reporters (r)", &reporters),
        ("partners (p)", &partners),
        ("periods (ps)", &periods),
    ] {
        if list.len() > 5 {
            return invalid(format!("Too many {name}: at most 5 codes."));
        }
    }
    if commodities.len() > 20 {
        return invalid("Too many classification codes (cc): at most 20.");
    }
    let alls = [&reporters, &partners, &periods]
        .iter()
        .filter(|l| l.iter().any(|c| c.eq_ignore_ascii_case("all")))
        .count();
    if alls > 1 {
        return invalid("Only one of r, p and ps may be all.");
    }
    if reporters.iter().any(|c| c.eq_ignore_ascii_case("all"))
        || periods.iter().any(|c| c.eq_ignore_ascii_case("all"))
    {
        return legacy_refusal(
            5003,
            "Result too large",
            "you do not have permissions to access such a large resultset",
            "This simulator serves r=all and ps=all only as refusals.",
        );
    }
    let max: u64 = match params.get("max").map(|m| m.parse::<u64>()) {
        None => 500,
        Some(Ok(max)) if (1..=if keyed { 250_000 } else { 100_000 }).contains(&max) => max,
        Some(_) => return invalid("Invalid max."),
    };
    let mut reporter_codes = Vec::new();
    for code in if reporters.is_empty() {
        vec!["0"]
    } else {
        reporters
    } {
        match code.parse::<u16>() {
            Ok(r) if is_reporter(ComtradeDialect::Legacy, r) => reporter_codes.push(r),
            _ => return invalid(format!("Invalid reporter: {code}")),
        }
    }
    let partner_codes =
        if partners.is_empty() || partners.iter().any(|c| c.eq_ignore_ascii_case("all")) {
            None
        } else {
            let mut list = Vec::new();
            for code in partners {
                match code.parse::<u16>() {
                    Ok(p) if is_partner(ComtradeDialect::Legacy, p) => list.push(p),
                    _ => return invalid(format!("Invalid partner: {code}")),
                }
            }
            Some(list)
        };
    let periods = match expand_periods(
        if periods.is_empty() {
            &["now"]
        } else {
            &periods
        },
        freq == "M",
    ) {
        Ok(periods) => periods,
        Err(message) => return invalid(message),
    };
    // One year of months per monthly call (comtradr's legacy client's
    // rule; seed 004's own 5002 example is "Too many months selected").
    if freq == "M" && periods.len() > 12 {
        return legacy_refusal(
            5002,
            "Query complexity",
            "your query is too complex. Please simplify.",
            "Too many months selected.",
        );
    }
    let flows: Vec<u8> = match params.get("rg").map(String::as_str) {
        // Seed 004: "default = all", the four legacy flows.
        None | Some("all") => vec![1, 2, 3, 4],
        Some(code) => match code.parse::<u8>() {
            Ok(flow @ 1..=4) => vec![flow],
            _ => return invalid("Invalid trade flow (rg)."),
        },
    };
    let commodities = if commodities.is_empty() {
        vec!["AG2"]
    } else {
        commodities
    };
    let request = Request {
        dialect: ComtradeDialect::Legacy,
        reporters: reporter_codes,
        partners: partner_codes,
        periods,
        flows,
        commodities,
        hs: px.starts_with('H'),
        split_customs: false,
        split_transport: false,
    };
    let all_rows = rows(&request);
    let matched = all_rows.len();
    let max = state
        .comtrade_rules
        .max_rows
        .map_or(max, |cap| cap.min(max));
    let dataset: Vec<Value> = all_rows
        .into_iter()
        .take(max as usize)
        .map(|row| {
            let (rt_title, rt_iso) = area_name(ComtradeDialect::Legacy, row.reporter);
            let (pt_title, pt_iso) = area_name(ComtradeDialect::Legacy, row.partner);
            json!({
                "pfCode": if trade_type == "S" { "EB02" } else { "H4" }, "yr": row.period[..4].parse::<u32>().unwrap_or(0),
                "period": row.period.parse::<u32>().unwrap_or(0), "periodDesc": row.period,
                "aggrLevel": row.aggregation, "IsLeaf": u8::from(row.aggregation == 6), "rgCode": row.flow,
                "rgDesc": LEGACY_FLOW_NAMES[row.flow as usize],
                "rtCode": row.reporter, "rtTitle": rt_title, "rt3ISO": rt_iso,
                "ptCode": row.partner, "ptTitle": pt_title, "pt3ISO": pt_iso,
                "ptCode2": null, "ptTitle2": "", "pt3ISO2": "", "cstCode": "", "cstDesc": "", "motCode": "", "motDesc": "",
                "cmdCode": row.commodity, "cmdDescE": row.commodity_desc,
                "qtCode": if row.weight.is_some() { 8 } else { 1 }, "qtDesc": if row.weight.is_some() { "Weight in kilograms" } else { "No Quantity" },
                "qtAltCode": null, "qtAltDesc": "", "TradeQuantity": row.weight, "AltQuantity": null,
                "NetWeight": row.weight, "GrossWeight": null, "TradeValue": row.value, "CIFValue": null, "FOBValue": null,
                "estCode": u8::from(row.value as u64 % 11 == 0) * 2,
            })
        })
        .collect();
    Json(json!({
        "validation": {
            "status": { "name": "Ok", "value": 0, "category": 0, "description": "", "helpUrl": "" },
            "message": null,
            "count": { "value": matched, "started": "", "finished": "", "durationSeconds": 0.01 },
        },
        "dataset": dataset,
    }))
    .into_response()
}

async fn legacy_availability(
    State(state): State<SimulatorState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(response) = apply_fault(&state, Source::Comtrade, record(&uri)).await {
        return response;
    }
    let params = params(&raw);
    let keyed = params.get("token").is_some_and(|t| t == &*state.key);
    if let Err(refusal) = admit(&state, keyed, ComtradeDialect::Legacy) {
        return *refusal;
    }
    let monthly = params.get("freq").map(String::as_str) == Some("M");
    let rows = availability_rows(
        ComtradeDialect::Legacy,
        &codes(params.get("r")),
        &codes(params.get("ps")),
        monthly,
    );
    let px = params.get("px").cloned().unwrap_or_else(|| "HS".into());
    Json(Value::Array(
        rows.into_iter()
            .map(|(reporter, period, total)| {
                json!({
                    "type": "COMMODITIES", "freq": if monthly { "MONTHLY" } else { "ANNUAL" }, "px": px,
                    "r": reporter.to_string(), "rDesc": area_name(ComtradeDialect::Legacy, reporter).0, "ps": period,
                    "TotalRecords": total, "IsOriginal": 1, "IsPartnerDetail": 1, "UploadTime": format!("{}-06-30T00:00:00", &period[..4].parse::<u32>().unwrap_or(2000) + 1),
                })
            })
            .collect(),
    ))
    .into_response()
}

/// (reporter, period, total records) for every reporter-period with data.
fn availability_rows(
    dialect: ComtradeDialect,
    reporters: &[&str],
    periods: &[&str],
    monthly: bool,
) -> Vec<(u16, String, u64)> {
    let reporters: Vec<u16> = if reporters.is_empty() {
        let mut all: Vec<u16> = crate::countries::all()
            .iter()
            .filter_map(|c| c.comtrade(dialect).code().map(|c| c.0))
            .collect();
        all.sort();
        all.dedup();
        all
    } else {
        reporters
            .iter()
            .filter_map(|r| r.parse().ok())
            .filter(|r| is_reporter(dialect, *r))
            .collect()
    };
    let periods = expand_periods(
        if periods.is_empty() {
            &["recent"]
        } else {
            periods
        },
        monthly,
    )
    .unwrap_or_default();
    let mut rows = Vec::new();
    for reporter in reporters {
        for period in &periods {
            let year: u32 = period[..4].parse().unwrap_or(0);
            if last_year(dialect, reporter).is_some_and(|last| year > last) {
                continue;
            }
            let total = 5_000 + u64::from(reporter) * 37 % 90_000;
            rows.push((reporter, period.clone(), total));
        }
    }
    rows
}

async fn v1_keyed(
    state: State<SimulatorState>,
    path: Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    v1_data(state, path, uri, Some(headers), query).await
}

async fn v1_preview(
    state: State<SimulatorState>,
    path: Path<(String, String, String)>,
    uri: Uri,
    query: RawQuery,
) -> Response {
    v1_data(state, path, uri, None, query).await
}

fn v1_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "statusCode": status.as_u16(), "message": message.into() })),
    )
        .into_response()
}

/// What every v1 request goes through before its own checks: injected
/// faults, the key of keyed endpoints (`headers` is `None` on the keyless
/// ones), the URL length, the rate and the budget.
async fn v1_admit(
    state: &SimulatorState,
    uri: &Uri,
    headers: Option<&HeaderMap>,
    raw: Option<&str>,
) -> Result<(), Box<Response>> {
    if let Some(response) = apply_fault(state, Source::Comtrade, record(uri)).await {
        return Err(Box::new(response));
    }
    if let Some(headers) = headers {
        v1_key(state, headers)?;
    }
    if raw.map_or(0, str::len) > V1_MAX_QUERY {
        return Err(Box::new(v1_error(
            StatusCode::URI_TOO_LONG,
            "The request URL is too long.",
        )));
    }
    admit(state, headers.is_some(), ComtradeDialect::V1)
}

/// Checks the subscription key of a keyed v1 endpoint.
fn v1_key(state: &SimulatorState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    match headers.get("ocp-apim-subscription-key").and_then(|v| v.to_str().ok()) {
        None => Err(Box::new(v1_error(StatusCode::UNAUTHORIZED, "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."))),
        Some(key) if key != &*state.key => Err(Box::new(v1_error(StatusCode::UNAUTHORIZED, "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."))),
        Some(_) => Ok(()),
    }
}

async fn v1_data(
    State(state): State<SimulatorState>,
    Path((trade_type, freq, cl)): Path<(String, String, String)>,
    uri: Uri,
    headers: Option<HeaderMap>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(refusal) = v1_admit(&state, &uri, headers.as_ref(), raw.as_deref()).await {
        return *refusal;
    }
    let keyed = headers.is_some();
    let params = params(&raw);
    const KNOWN: &[&str] = &[
        "reporterCode",
        "partnerCode",
        "partner2Code",
        "period",
        "cmdCode",
        "flowCode",
        "customsCode",
        "motCode",
        "maxRecords",
        "format",
        "aggregateBy",
        "breakdownMode",
        "countOnly",
        "includeDesc",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return v1_error(
            StatusCode::BAD_REQUEST,
            format!("Unknown parameter {unknown}"),
        );
    }
    if !["C", "S"].contains(&trade_type.as_str()) || !["A", "M"].contains(&freq.as_str()) {
        return v1_error(StatusCode::NOT_FOUND, "Resource not found");
    }
    if !crate::sources::comtrade::query::classifications(ComtradeDialect::V1).contains(&cl.as_str())
    {
        return v1_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid classification code {cl}"),
        );
    }
    let cap: u64 = if keyed { 250_000 } else { 500 };
    let max = match params.get("maxRecords").map(|m| m.parse::<u64>()) {
        None => cap.min(500),
        Some(Ok(max)) if (1..=cap).contains(&max) => max,
        Some(_) => {
            return v1_error(
                StatusCode::BAD_REQUEST,
                format!("maxRecords must be between 1 and {cap}"),
            )
        }
    };
    let mut reporters = Vec::new();
    for code in codes(params.get("reporterCode")) {
        match code.parse::<u16>() {
            Ok(r) => reporters.push(r),
            Err(_) => {
                return v1_error(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid reporterCode {code}"),
                )
            }
        }
    }
    // Unknown reporters simply have no data in v1.
    reporters.retain(|r| is_reporter(ComtradeDialect::V1, *r));
    let partners = match params.get("partnerCode") {
        None => None,
        Some(list) => {
            let mut partners = Vec::new();
            for code in list.split(',') {
                match code.trim().parse::<u16>() {
                    // Codes not in the partner list simply have no data.
                    Ok(p) if is_partner(ComtradeDialect::V1, p) => partners.push(p),
                    Ok(_) => {}
                    Err(_) => {
                        return v1_error(
                            StatusCode::BAD_REQUEST,
                            format!("Invalid partnerCode {code}"),
                        )
                    }
                }
            }
            Some(partners)
        }
    };
    let period_codes = codes(params.get("period"));
    if period_codes.is_empty() {
        return v1_error(StatusCode::BAD_REQUEST, "period is required");
    }
    // Nothing shows that v1 answers more than twelve periods in one call:
    // comtradr refuses "more than twelve consecutive years/months in a
    // single query" and comtradeapicall sends one period per call, so the
    // simulator refuses more, and a test catches a client that sends them.
    if period_codes.len() > V1_MAX_PERIODS {
        return v1_error(
            StatusCode::BAD_REQUEST,
            format!(
                "At most {V1_MAX_PERIODS} periods per request, got {}",
                period_codes.len()
            ),
        );
    }
    // v1 takes only months for monthly data: a year asks for nothing (the
    // real API answers an empty `data`).
    let period_codes: Vec<&str> = if freq == "M" {
        period_codes
            .into_iter()
            .filter(|code| code.len() != 4)
            .collect()
    } else {
        period_codes
    };
    let periods = match expand_periods(&period_codes, freq == "M") {
        Ok(periods)
            if period_codes
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_digit())) =>
        {
            periods
        }
        _ => return v1_error(StatusCode::BAD_REQUEST, "Invalid period"),
    };
    // Like the real API: no flowCode, every flow it has.
    let flows: Vec<u8> = match params.get("flowCode") {
        None => (1..V1_FLOW_CODES.len() as u8).collect(),
        Some(list) => {
            let mut flows = Vec::new();
            for code in list.split(',') {
                match V1_FLOW_CODES
                    .iter()
                    .skip(1)
                    .position(|known| *known == code.trim())
                {
                    Some(index) => flows.push(index as u8 + 1),
                    None => {
                        return v1_error(
                            StatusCode::BAD_REQUEST,
                            format!("Invalid flowCode {}", code.trim()),
                        )
                    }
                }
            }
            flows
        }
    };
    let commodities = codes(params.get("cmdCode"));
    let commodities = if commodities.is_empty() {
        vec!["TOTAL"]
    } else {
        commodities
    };
    // v1's lists: no legacy aggregates (AG1..AG6) at all, and no TOTAL in
    // the services lists, whose total is 200 (a TOTAL there matches
    // nothing, as on the real API).
    if let Some(aggregate) = commodities.iter().find(|code| code.starts_with("AG")) {
        return v1_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid cmdCode {aggregate}"),
        );
    }
    let commodities: Vec<&str> = if trade_type == "S" {
        commodities
            .into_iter()
            .filter(|code| *code != "TOTAL")
            .map(|code| if code == "200" { "TOTAL" } else { code })
            .collect()
    } else {
        commodities
    };
    let max = state
        .comtrade_rules
        .max_rows
        .map_or(max, |cap| cap.min(max));
    let request = Request {
        dialect: ComtradeDialect::V1,
        reporters,
        partners,
        periods,
        flows,
        commodities,
        hs: cl.starts_with('H'),
        split_customs: !params.contains_key("customsCode"),
        split_transport: !params.contains_key("motCode"),
    };
    let data: Vec<Value> = rows(&request)
        .into_iter()
        .take(max as usize)
        .map(|row| {
            let (reporter_desc, reporter_iso) = area_name(ComtradeDialect::V1, row.reporter);
            let (partner_desc, partner_iso) = area_name(ComtradeDialect::V1, row.partner);
            let monthly = row.period.len() == 6;
            let mut record = json!({
                "typeCode": trade_type, "freqCode": freq, "refPeriodId": format!("{}{}01", &row.period[..4], if monthly { &row.period[4..] } else { "01" }).parse::<u64>().unwrap_or(0),
                "refYear": row.period[..4].parse::<u32>().unwrap_or(0), "refMonth": if monthly { row.period[4..].parse::<u32>().unwrap_or(0) } else { 52 },
                "period": row.period, "reporterCode": row.reporter, "reporterISO": reporter_iso, "reporterDesc": reporter_desc,
                "flowCode": V1_FLOW_CODES[row.flow as usize], "flowDesc": V1_FLOW_NAMES[row.flow as usize],
                "partnerCode": row.partner, "partnerISO": partner_iso, "partnerDesc": partner_desc,
                "partner2Code": 0, "partner2ISO": "W00", "partner2Desc": "World",
                "classificationCode": if cl == "HS" { "H6".to_owned() } else { cl.clone() }, "classificationSearchCode": cl, "isOriginalClassification": true,
                "cmdCode": if trade_type == "S" && row.commodity == "TOTAL" { "200" } else { row.commodity.as_str() },
                "cmdDesc": if trade_type == "S" && row.commodity == "TOTAL" { "TOTAL - Total EBOPS 2002 Services" } else { row.commodity_desc.as_str() },
                "aggrLevel": row.aggregation, "isLeaf": row.aggregation == 6,
            });
            let rest = json!({
                "customsCode": row.customs, "customsDesc": if row.customs == "C00" { "TOTAL CPC" } else { "Customs procedure (sample)" },
                "mosCode": "0", "motCode": row.mot, "motDesc": if row.mot == 0 { "TOTAL MOT" } else { "Mode of transport (sample)" },
                "qtyUnitCode": if row.weight.is_some() { 8 } else { -1 }, "qtyUnitAbbr": if row.weight.is_some() { "kg" } else { "N/A" },
                "qty": row.weight, "isQtyEstimated": false, "altQtyUnitCode": -1, "altQtyUnitAbbr": "N/A", "altQty": null, "isAltQtyEstimated": false,
                "netWgt": row.weight, "isNetWgtEstimated": false, "grossWgt": null, "isGrossWgtEstimated": false,
                "cifvalue": if row.flow == 1 { Some(row.value) } else { None }, "fobvalue": if row.flow == 2 { Some(row.value) } else { None },
                "primaryValue": row.value, "legacyEstimationFlag": u8::from(row.value as u64 % 11 == 0) * 4,
                "isReported": true, "isAggregate": false,
            });
            if let (Value::Object(record), Value::Object(rest)) = (&mut record, rest) {
                record.extend(rest);
            }
            record
        })
        .collect();
    Json(json!({ "elapsedTime": "0.01 secs", "count": data.len(), "data": data, "error": "" }))
        .into_response()
}

async fn v1_availability_keyed(
    state: State<SimulatorState>,
    path: Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    v1_availability(state, path, uri, Some(headers), query).await
}

async fn v1_availability_public(
    state: State<SimulatorState>,
    path: Path<(String, String, String)>,
    uri: Uri,
    query: RawQuery,
) -> Response {
    v1_availability(state, path, uri, None, query).await
}

async fn v1_availability(
    State(state): State<SimulatorState>,
    Path((trade_type, freq, cl)): Path<(String, String, String)>,
    uri: Uri,
    headers: Option<HeaderMap>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(refusal) = v1_admit(&state, &uri, headers.as_ref(), raw.as_deref()).await {
        return *refusal;
    }
    let params = params(&raw);
    let rows = availability_rows(
        ComtradeDialect::V1,
        &codes(params.get("reporterCode")),
        &codes(params.get("period")),
        freq == "M",
    );
    let data: Vec<Value> = rows
        .into_iter()
        .map(|(reporter, period, total)| {
            let (desc, iso) = area_name(ComtradeDialect::V1, reporter);
            json!({
                "datasetCode": 0, "typeCode": trade_type, "freqCode": freq, "period": period,
                "reporterCode": reporter, "reporterISO": iso, "reporterDesc": desc,
                "classificationCode": if cl == "HS" { "H6".to_owned() } else { cl.clone() }, "classificationSearchCode": cl,
                "isOriginalClassification": true, "isExtendedFlowCode": false, "isExtendedPartnerCode": false,
                "isExtendedPartner2Code": false, "isExtendedCmdCode": false, "isExtendedCustomsCode": false,
                "isExtendedMotCode": false, "totalRecords": total, "datasetChecksum": 0,
                "firstReleased": format!("{}-06-30T00:00:00", &period[..4].parse::<u32>().unwrap_or(2000) + 1),
                "lastReleased": format!("{}-06-30T00:00:00", &period[..4].parse::<u32>().unwrap_or(2000) + 1),
            })
        })
        .collect();
    Json(json!({ "elapsedTime": "0.01 secs", "count": data.len(), "data": data, "error": "" }))
        .into_response()
}
