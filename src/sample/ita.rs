//! The simulated ITA search endpoints in both generations: the seeds'
//! `/v2/<endpoint>/search?api_key=` and data.trade.gov's
//! `/<endpoint>/v1/search` with a `subscription-key` header. Checks the key,
//! the documented parameters of each endpoint, and `size` (1..=100,
//! default 10).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::faults::{apply_fault, RecordedRequest};
use super::ita_current_data::sample as current_sample;
use super::ita_data::{sample, visible_leads, PUBLISHABLE_LEADS};
use super::SimulatorState;
use crate::source::Source;

pub(super) fn routes() -> Router<SimulatorState> {
    Router::new()
        .route("/v2/{endpoint}/search", get(v2_search))
        .route("/v2/envirotech/{kind}/search", get(envirotech_search))
        .route("/ita_programs/search.json", get(programs_search))
        .route("/{endpoint}/v1/search", get(current_search))
        .route("/de_minimis/v1/list", get(de_minimis_list))
}

/// Every country's de minimis row, paged (the search without filters).
async fn de_minimis_list(
    state: State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    search(
        state,
        Path("de_minimis".to_owned()),
        uri,
        Some(headers),
        query,
    )
    .await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn v2_search(
    state: State<SimulatorState>,
    path: Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Response {
    search(state, path, uri, None, query).await
}

/// The toolkit's seven endpoints (seed-era API only).
async fn envirotech_search(
    state: State<SimulatorState>,
    Path(kind): Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Response {
    search(state, Path(format!("envirotech/{kind}")), uri, None, query).await
}

/// ITA programs, at the path the 2013 documentation gave.
async fn programs_search(state: State<SimulatorState>, uri: Uri, query: RawQuery) -> Response {
    search(state, Path("ita_programs".to_owned()), uri, None, query).await
}

async fn current_search(
    state: State<SimulatorState>,
    path: Path<String>,
    uri: Uri,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    search(state, path, uri, Some(headers), query).await
}

async fn search(
    State(state): State<SimulatorState>,
    Path(endpoint): Path<String>,
    uri: Uri,
    headers: Option<HeaderMap>,
    RawQuery(raw): RawQuery,
) -> Response {
    let recorded = RecordedRequest {
        method: "GET".into(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::new(),
        received: std::time::Instant::now(),
    };
    if let Some(response) = apply_fault(&state, Source::Ita, recorded).await {
        return response;
    }
    let mut params: HashMap<String, String> =
        url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let key = match &headers {
        None => params.remove("api_key"),
        Some(headers) => headers
            .get("subscription-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match key {
        None => {
            return error(
                StatusCode::UNAUTHORIZED,
                "No api_key was supplied. Get one at https://developer.trade.gov",
            )
        }
        Some(key) if key != *state.key => {
            return error(StatusCode::FORBIDDEN, "An invalid api_key was supplied.")
        }
        Some(_) => {}
    }
    let current = headers.is_some();
    let records: &[Value] = match (endpoint.as_str(), current) {
        ("trade_leads", _) => visible_leads(state.publishing.published(PUBLISHABLE_LEADS)),
        ("ita_office_locations", _) => &sample().offices,
        ("trade_events", _) => &sample().events,
        // data.trade.gov's further data sets (de minimis: current only).
        ("de_minimis", true) => &current_sample().de_minimis,
        ("business_service_providers", _) => &current_sample().providers,
        // Seed 000's other data sets: only the seed-era API served them.
        ("ita_programs", false) => &sample().programs,
        ("market_research_library", false) => &sample().market_research,
        ("trade_articles", false) => &sample().articles,
        (other, false) if other.starts_with("envirotech/") => {
            let kind = &other["envirotech/".len()..];
            match sample().envirotech.iter().find(|(name, _)| *name == kind) {
                Some((_, records)) => records,
                None => return error(StatusCode::NOT_FOUND, "No route matches"),
            }
        }
        _ => return error(StatusCode::NOT_FOUND, "No such endpoint"),
    };
    // Each generation's parameters, by meaning. The v2 API answers 400 to a
    // name it does not know; the current one, like data.trade.gov, ignores
    // it (so a test catches a wrong name by its missing effect).
    let listing = uri.path().ends_with("/list");
    let known: &[(&str, Meaning)] = match (endpoint.as_str(), current) {
        ("de_minimis", _) if listing => &[],
        ("de_minimis", _) => &[("country_codes", Meaning::Countries)],
        ("business_service_providers", _) => &[
            ("q", Meaning::Query),
            ("categories", Meaning::Text("category")),
            ("ita_offices", Meaning::Text("ita_office")),
        ],
        ("trade_leads", false) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("industries", Meaning::Industries),
            ("sources", Meaning::Sources),
            ("publish_date", Meaning::Range("publish_date")),
            ("end_date", Meaning::Range("end_date")),
            (
                "publish_date_amended",
                Meaning::Range("publish_date_amended"),
            ),
            ("trade_regions", Meaning::List("trade_regions")),
            ("world_regions", Meaning::List("world_regions")),
        ],
        ("trade_leads", true) => &[
            ("q", Meaning::Query),
            ("country_codes", Meaning::Countries),
            (
                "tender_start_date_range",
                Meaning::Range("tender_start_date"),
            ),
            (
                "contract_start_date_range",
                Meaning::Range("contract_start_date"),
            ),
        ],
        ("ita_office_locations", false) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("city", Meaning::Text("city")),
            ("state", Meaning::Text("state")),
        ],
        ("ita_office_locations", true) => &[
            ("q", Meaning::Query),
            ("country_codes", Meaning::Countries),
            ("states", Meaning::Text("state")),
            ("assigned_zip_codes", Meaning::List("assigned_zip_codes")),
        ],
        ("ita_programs", _) => &[
            ("q", Meaning::Query),
            ("program_title", Meaning::Words("program_title")),
            ("abstract", Meaning::Words("abstract")),
            ("export_phase", Meaning::Phrases("export_phase")),
        ],
        ("market_research_library", _) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("industries", Meaning::Industries),
            ("expiration_date", Meaning::Range("expiration_date")),
        ],
        ("trade_articles", _) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("industries", Meaning::Industries),
            ("export_phases", Meaning::List("export_phases")),
            ("topics", Meaning::List("topics")),
            ("sub_topics", Meaning::List("sub_topics")),
            ("geo_regions", Meaning::List("geo_regions")),
            ("geo_subregions", Meaning::List("geo_subregions")),
            ("trade_regions", Meaning::List("trade_regions")),
            ("trade_programs", Meaning::List("trade_programs")),
            ("trade_initiatives", Meaning::List("trade_initiatives")),
            ("creation_date", Meaning::Range("creation_date")),
            ("release_date", Meaning::Range("release_date")),
            ("expiration_date", Meaning::Range("expiration_date")),
        ],
        (envirotech, _) if envirotech.starts_with("envirotech/") => &[
            ("q", Meaning::Query),
            ("source_ids", Meaning::Ids("source_id")),
            ("issue_ids", Meaning::Ids("issue_ids")),
            ("provider_ids", Meaning::Ids("provider_id")),
            ("regulation_ids", Meaning::Ids("regulation_ids")),
            ("solution_ids", Meaning::Ids("solution_ids")),
        ],
        (_, false) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("industries", Meaning::Industries),
            ("sources", Meaning::Sources),
            ("start_date", Meaning::Range("start_date")),
            ("end_date", Meaning::Range("end_date")),
            ("trade_regions", Meaning::List("trade_regions")),
            ("world_regions", Meaning::List("world_regions")),
        ],
        (_, true) => &[
            ("q", Meaning::Query),
            ("countries", Meaning::Countries),
            ("industries", Meaning::Industries),
            ("sources", Meaning::Sources),
            ("event_types", Meaning::Text("event_type")),
            ("states", Meaning::VenueStates),
            ("start_date_range", Meaning::Range("start_date")),
        ],
    };
    let stem = |name: &str| {
        name.strip_suffix("[from]")
            .or_else(|| name.strip_suffix("[to]"))
            .unwrap_or(name)
            .to_owned()
    };
    let unknown: Vec<&String> = params
        .keys()
        .filter(|name| {
            !["size", "offset"].contains(&name.as_str())
                && !known.iter().any(|(known, _)| *known == stem(name))
                // Only the current API writes ranges as name[from]/name[to].
                || (!current && name.contains('['))
        })
        .collect();
    if !current && !unknown.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "unknown_parameters": unknown } })),
        )
            .into_response();
    }
    let size = match params.get("size").map(|s| s.parse::<usize>()) {
        None => 10,
        Some(Ok(size)) if (1..=100).contains(&size) => size,
        Some(_) => return error(StatusCode::BAD_REQUEST, "size must be between 1 and 100"),
    };
    let offset = match params.get("offset").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "offset must be a non-negative integer",
            )
        }
    };
    let mut filters: Vec<(Meaning, Filter)> = Vec::new();
    for (name, meaning) in known {
        let filter = match meaning {
            Meaning::Range(_) if current => {
                let from = params.get(&format!("{name}[from]")).cloned();
                let to = params.get(&format!("{name}[to]")).cloned();
                if from.is_none() && to.is_none() {
                    continue;
                }
                Filter::Range(from, to)
            }
            Meaning::Range(_) => {
                let Some(value) = params.get(*name) else {
                    continue;
                };
                match value.split_once(" TO ") {
                    Some((from, to)) if valid_date(from) && valid_date(to) => {
                        Filter::Range(Some(from.to_owned()), Some(to.to_owned()))
                    }
                    _ => return error(StatusCode::BAD_REQUEST, "Invalid Date Range Format"),
                }
            }
            Meaning::Query => match params.get(*name) {
                Some(value) => Filter::Values(vec![value.trim().to_lowercase()]),
                None => continue,
            },
            _ => match params.get(*name) {
                Some(value) => Filter::Values(
                    split_list(value)
                        .into_iter()
                        .map(|v| v.trim().to_lowercase())
                        .filter(|v| !v.is_empty())
                        .collect(),
                ),
                None => continue,
            },
        };
        filters.push((*meaning, filter));
    }
    let matching: Vec<&Value> = records
        .iter()
        .filter(|record| {
            filters
                .iter()
                .all(|(meaning, filter)| meaning.matches(&endpoint, record, filter))
        })
        .collect();
    let total = matching.len();
    let facets = aggregations(&endpoint, current, &matching);
    let results: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|record| {
            if current {
                current_shape(&endpoint, record)
            } else {
                record.clone()
            }
        })
        .collect();
    let source = match endpoint.as_str() {
        "trade_leads" => "TRADE_LEADS",
        "ita_office_locations" => "ITA_OFFICE_LOCATIONS",
        "trade_events" => "TRADE_EVENTS",
        "business_service_providers" => "BUSINESS_SERVICE_PROVIDERS",
        "market_research_library" | "trade_articles" | "ita_programs" => "ITA",
        envirotech => envirotech
            .strip_prefix("envirotech/")
            .map_or("ITA", |kind| {
                if kind == "issues" {
                    "ISSUES"
                } else {
                    "SOLUTIONS"
                }
            }),
    };
    if current {
        let next = offset + results.len();
        Json(json!({
            "total": total,
            "count": results.len(),
            "offset": offset,
            "next_offset": (next < total).then_some(next),
            "results": results,
            "aggregations": facets,
        }))
        .into_response()
    } else {
        Json(json!({
            "total": total,
            "offset": offset,
            "sources_used": [{ "source": source, "source_last_updated": "2026-11-22T20:00:00-05:00", "last_imported": "2026-11-23T03:00:00-05:00" }],
            "search_performed_at": "2026-11-23T12:00:00Z",
            "results": results,
            "aggregations": facets,
        }))
        .into_response()
    }
}

/// A comma list, where `\,` is a literal comma (the library's industry
/// names hold commas).
fn split_list(value: &str) -> Vec<String> {
    let mut values = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                values.last_mut().expect("one value").push(',');
                chars.next();
            }
            ',' => values.push(String::new()),
            c => values.last_mut().expect("one value").push(c),
        }
    }
    values
}

/// What a search parameter filters on.
#[derive(Clone, Copy, Debug)]
enum Meaning {
    /// Every word of the value in this text field.
    Words(&'static str),
    /// Any of the values among the comma-separated phrases of this field.
    Phrases(&'static str),
    /// Any of the ids in this field (an integer or a list; `solution_ids`
    /// also matches `solution_id`).
    Ids(&'static str),
    Query,
    Countries,
    Industries,
    Sources,
    /// A record field, matched case-insensitively.
    Text(&'static str),
    /// A record list field, any value matching.
    List(&'static str),
    /// An event's venue states.
    VenueStates,
    /// A record date field, inside the range.
    Range(&'static str),
}

enum Filter {
    Values(Vec<String>),
    Range(Option<String>, Option<String>),
}

fn valid_date(text: &str) -> bool {
    let text = text.trim();
    text.len() == 10
        && text.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.to_lowercase()],
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        _ => Vec::new(),
    }
}

/// A record's countries, ISO alpha-2 lower case: an event's venues'.
fn record_countries(endpoint: &str, record: &Value) -> Vec<String> {
    match endpoint {
        "market_research_library" | "trade_articles" => strings(&record["countries"]),
        "de_minimis" => strings(&record["country_code"]),
        "trade_events" => record["venues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["country"].as_str().map(str::to_lowercase))
            .collect(),
        _ => strings(&record["country"]),
    }
}

impl Meaning {
    fn matches(self, endpoint: &str, record: &Value, filter: &Filter) -> bool {
        let any = |have: Vec<String>, wanted: &[String]| have.iter().any(|h| wanted.contains(h));
        match (self, filter) {
            (Self::Query, Filter::Values(words)) => {
                let fields: &[&str] = match endpoint {
                    "trade_leads" => &["title", "description"],
                    "business_service_providers" => {
                        &["company_name", "company_description", "category"]
                    }
                    "ita_office_locations" => &["post", "office_name"],
                    "ita_programs" => &["program_title", "abstract", "description"],
                    "market_research_library" => &["title", "description"],
                    "trade_articles" => &["title", "short_title", "summary", "content", "keyword"],
                    envirotech if envirotech.starts_with("envirotech/") => {
                        &["name_english", "abstract_english"]
                    }
                    _ => &["event_name", "description"],
                };
                let q = words.join(" ");
                fields.iter().any(|field| {
                    record[*field]
                        .as_str()
                        .unwrap_or_default()
                        .to_lowercase()
                        .contains(&q)
                })
            }
            (Self::Countries, Filter::Values(wanted)) => {
                any(record_countries(endpoint, record), wanted)
            }
            (Self::Industries, Filter::Values(wanted)) => {
                let mut have = strings(&record["ita_industries"]);
                have.extend(strings(&record["industries"]));
                have.extend(strings(&record["industry"]));
                any(have, wanted)
            }
            (Self::Sources, Filter::Values(wanted)) => any(strings(&record["source"]), wanted),
            (Self::Words(field), Filter::Values(words)) => {
                let text = record[field].as_str().unwrap_or_default().to_lowercase();
                words
                    .iter()
                    .all(|word| word.split_whitespace().all(|w| text.contains(w)))
            }
            (Self::Phrases(field), Filter::Values(wanted)) => any(
                record[field]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(|phrase| phrase.trim().to_lowercase())
                    .collect(),
                wanted,
            ),
            (Self::Ids(field), Filter::Values(wanted)) => {
                let mut have: Vec<String> = match &record[field] {
                    Value::Number(id) => vec![id.to_string()],
                    Value::Array(ids) => ids.iter().map(Value::to_string).collect(),
                    _ => Vec::new(),
                };
                if field == "solution_ids" {
                    if let Some(id) = record["solution_id"].as_u64() {
                        have.push(id.to_string());
                    }
                }
                any(have, wanted)
            }
            (Self::Text(field), Filter::Values(wanted)) => any(strings(&record[field]), wanted),
            (Self::List(field), Filter::Values(wanted)) => {
                let have = if field == "assigned_zip_codes" {
                    zip_codes(record)
                } else {
                    strings(&record[field])
                };
                any(have, wanted)
            }
            (Self::VenueStates, Filter::Values(wanted)) => any(
                record["venues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|venue| strings(&venue["state"]))
                    .collect(),
                wanted,
            ),
            (Self::Range(field), Filter::Range(from, to)) => {
                let Some(date) = record[field].as_str() else {
                    return false;
                };
                from.as_deref().is_none_or(|from| date >= from)
                    && to.as_deref().is_none_or(|to| date <= to)
            }
            _ => true,
        }
    }
}

/// The ZIP codes a domestic office serves (generated from its id).
fn zip_codes(record: &Value) -> Vec<String> {
    if record["post_type"] != "D" {
        return Vec::new();
    }
    let id = record["id"].as_str().unwrap_or_default();
    let seed = id.bytes().fold(7u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    (0..3)
        .map(|n| format!("{:05}", (seed.wrapping_add(n * 7)) % 99_999))
        .collect()
}

/// Counts of the matches by facet, in the generation's shape: v2 `{key,
/// doc_count}` under `countries`, `sources`, `trade_regions`,
/// `world_regions`; current `{value, count}` (leads by `country_codes`,
/// offices by `country_codes` and `states`, events by `sources`,
/// `countries`, `states`, `event_types`, `industries`).
pub(super) fn aggregations(endpoint: &str, current: bool, matching: &[&Value]) -> Value {
    let facets: &[&str] = match (endpoint, current) {
        ("ita_programs" | "market_research_library" | "trade_articles", _) => &[],
        ("de_minimis" | "business_service_providers", _) => &[],
        (envirotech, _) if envirotech.starts_with("envirotech/") => &[],
        (_, false) if endpoint == "ita_office_locations" => &["countries"],
        (_, false) => &["countries", "sources", "trade_regions", "world_regions"],
        ("trade_leads", true) => &["country_codes"],
        ("ita_office_locations", true) => &["country_codes", "states"],
        (_, true) => &[
            "sources",
            "countries",
            "states",
            "event_types",
            "industries",
        ],
    };
    let mut out = serde_json::Map::new();
    for facet in facets {
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for record in matching {
            let mut values: Vec<String> = match *facet {
                "countries" | "country_codes" => record_countries(endpoint, record)
                    .into_iter()
                    .map(|c| c.to_ascii_uppercase())
                    .collect(),
                "sources" => record["source"]
                    .as_str()
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                "states" if endpoint == "trade_events" => record["venues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["state"].as_str().map(str::to_owned))
                    .collect(),
                "states" => record["state"]
                    .as_str()
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                "event_types" => record["event_type"]
                    .as_str()
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                "industries" => record["industries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                field => record[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            };
            values.sort();
            values.dedup();
            for value in values {
                *counts.entry(value).or_default() += 1;
            }
        }
        let mut buckets: Vec<(String, u64)> = counts.into_iter().collect();
        buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let buckets: Vec<Value> = buckets
            .into_iter()
            .map(|(value, count)| {
                if current {
                    json!({ "value": value, "count": count })
                } else {
                    json!({ "key": value, "doc_count": count })
                }
            })
            .collect();
        out.insert((*facet).to_owned(), Value::Array(buckets));
    }
    Value::Object(out)
}

/// A record as data.trade.gov answers it (`fixtures/ita/CURRENT_API.md`):
/// leads with `country_code` and `published_date` (no `country`), offices
/// with the country's name in `country` beside `country_code`, events with
/// `name`, `registration_url`, venues `{name, street, city, state,
/// country}` and contacts `{name, ...}`.
fn current_shape(endpoint: &str, record: &Value) -> Value {
    let mut record = record.clone();
    let Some(fields) = record.as_object_mut() else {
        return record;
    };
    let rename = |fields: &mut serde_json::Map<String, Value>, from: &str, to: &str| {
        if let Some(value) = fields.remove(from) {
            fields.insert(to.to_owned(), value);
        }
    };
    match endpoint {
        // Generated in the current API's shape already.
        "de_minimis" | "business_service_providers" => {}
        "trade_leads" => {
            rename(fields, "country", "country_code");
            rename(fields, "publish_date", "published_date");
            for legacy in [
                "country_name",
                "trade_regions",
                "world_regions",
                "ita_industries",
                "industry",
                "source",
                "publish_date_amended",
            ] {
                fields.remove(legacy);
            }
        }
        "ita_office_locations" => {
            let code = fields.remove("country").unwrap_or(Value::Null);
            let name = code
                .as_str()
                .and_then(crate::countries::by_iso2)
                .map_or(Value::Null, |country| json!(country.name));
            fields.insert("country_code".into(), code);
            fields.insert("country".into(), name);
            let zips = zip_codes(&Value::Object(fields.clone()));
            fields.insert("assigned_zip_codes".into(), json!(zips));
            fields.insert("apo_address".into(), json!([]));
            fields.insert(
                "website_url".into(),
                json!("https://www.trade.gov/sample-office"),
            );
            fields.remove("city");
        }
        _ => {
            rename(fields, "event_name", "name");
            rename(fields, "registration_link", "registration_url");
            fields.remove("ita_industries");
            fields.remove("trade_regions");
            fields.remove("world_regions");
            if let Some(Value::Array(venues)) = fields.get_mut("venues") {
                for venue in venues.iter_mut().filter_map(Value::as_object_mut) {
                    rename(venue, "venue", "name");
                    rename(venue, "address", "street");
                    venue.remove("country_name");
                }
            }
            if let Some(Value::Array(contacts)) = fields.get_mut("contacts") {
                for contact in contacts.iter_mut().filter_map(Value::as_object_mut) {
                    let first = contact.remove("first_name");
                    let last = contact.remove("last_name");
                    let name: Vec<&str> = [&first, &last]
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    contact.insert("name".into(), json!(name.join(" ")));
                }
            }
        }
    }
    record
}
