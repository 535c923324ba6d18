//! The simulated consolidated screening list in both generations, its
//! sources list, and the current API's `/count` endpoints.
//!
//! data.trade.gov's search (`/consolidated_screening_list/v1/search`)
//! takes `name`, `fuzzy_name`, `sources`, `types`, `countries`, `address`,
//! `city`, `state`, `postal_code`, `full_address`, `size` (1..=50) and
//! `offset` (0..=1000), refusing a size or offset beyond with HTTP 400, and
//! ignoring names it does not know; the seeds' v2 search takes `name`,
//! `fuzzy_name`, `sources`, one `type`, `countries`, `address`, `size` up to
//! 100 and refuses unknown names. A fuzzy name search scores matches the
//! way the API's source does (`app/queries/screening_list/query.rb`):
//! over the name and the alternative names, 100 for the same name, 95 for
//! the same words, 90/85 within one edit (whole name / each word), 80/75
//! within two; best first.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::faults::{apply_fault, RecordedRequest};
use super::ita_current_data::sample;
use super::SimulatorState;
use crate::source::Source;

pub(super) fn routes() -> Router<SimulatorState> {
    Router::new()
        .route(
            "/consolidated_screening_list/v1/search",
            get(current_search),
        )
        .route("/v2/consolidated_screening_list/search", get(v2_search))
        .route("/consolidated_screening_list/v1/sources", get(sources))
        .route("/{endpoint}/v1/count", get(count))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Records the request, applies an injected fault, checks the key (the
/// current API's header, v2's `api_key`); the query's parameters, or the
/// answer already due.
async fn admit(
    state: &SimulatorState,
    uri: &Uri,
    headers: Option<&HeaderMap>,
    raw: Option<&str>,
) -> Result<HashMap<String, String>, Response> {
    let recorded = RecordedRequest {
        method: "GET".into(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::new(),
        received: std::time::Instant::now(),
    };
    if let Some(response) = apply_fault(state, Source::Ita, recorded).await {
        return Err(response);
    }
    let mut params: HashMap<String, String> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let key = match headers {
        None => params.remove("api_key"),
        Some(headers) => headers
            .get("subscription-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match key {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "No api_key was supplied. Get one at https://developer.trade.gov",
        )),
        Some(key) if key != *state.key => Err(error(
            StatusCode::FORBIDDEN,
            "An invalid api_key was supplied.",
        )),
        Some(_) => Ok(params),
    }
}

async fn current_search(
    State(state): State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match admit(&state, &uri, Some(&headers), raw.as_deref()).await {
        Ok(params) => screen(&params, true),
        Err(response) => response,
    }
}

async fn v2_search(
    State(state): State<SimulatorState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    match admit(&state, &uri, None, raw.as_deref()).await {
        Ok(params) => screen(&params, false),
        Err(response) => response,
    }
}

/// The lists behind the screening list (current API only).
async fn sources(
    State(state): State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = admit(&state, &uri, Some(&headers), raw.as_deref()).await {
        return response;
    }
    let list: Vec<Value> = sample()
        .screening_sources
        .iter()
        .map(|(code, name, _)| {
            json!({ "code": code, "source": name, "source_last_updated": "2026-11-30T00:00:00Z" })
        })
        .collect();
    Json(Value::Array(list)).into_response()
}

/// `/<endpoint>/v1/count`: every record's total and facets.
async fn count(
    State(state): State<SimulatorState>,
    Path(endpoint): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = admit(&state, &uri, Some(&headers), raw.as_deref()).await {
        return response;
    }
    let records: &[Value] = match endpoint.as_str() {
        "trade_leads" => super::ita_data::visible_leads(
            state
                .publishing
                .published(super::ita_data::PUBLISHABLE_LEADS),
        ),
        "ita_office_locations" => &super::ita_data::sample().offices,
        "trade_events" => &super::ita_data::sample().events,
        _ => return error(StatusCode::NOT_FOUND, "No such endpoint"),
    };
    let all: Vec<&Value> = records.iter().collect();
    Json(json!({
        "total": all.len(),
        "aggregations": super::ita::aggregations(&endpoint, true, &all),
    }))
    .into_response()
}

/// Lower case, punctuation dropped, spaces squeezed (as the API's fuzzy
/// search prepares a name).
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else if c.is_whitespace() || c == '-' || c == '/' {
                ' '
            } else {
                '\0'
            }
        })
        .filter(|c| *c != '\0')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Levenshtein distance, in characters.
#[cfg(test)]
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    within(&a, &b, usize::MAX).unwrap_or(usize::MAX)
}

/// The edit distance of `a` and `b` if at most `limit`: rows stop as soon
/// as every cell is past it (a search runs this for every name of the
/// list).
fn within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
            best = best.min(row[j + 1]);
        }
        if best > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|distance| *distance <= limit)
}

/// A name ready to be matched: normalized, as characters, and its words.
pub struct Prepared {
    whole: Vec<char>,
    words: Vec<Vec<char>>,
}

impl Prepared {
    pub fn new(text: &str) -> Self {
        let normalized = normalize(text);
        Self {
            whole: normalized.chars().collect(),
            words: normalized.split(' ').map(|w| w.chars().collect()).collect(),
        }
    }

    /// The most edits any word of `query` is from its nearest word here,
    /// if at most `limit`.
    fn word_distance(&self, query: &Prepared, limit: usize) -> Option<usize> {
        let mut worst = 0;
        for word in &query.words {
            let nearest = self
                .words
                .iter()
                .filter_map(|have| within(word, have, limit))
                .min()?;
            worst = worst.max(nearest);
        }
        Some(worst)
    }
}

/// Every name of the list prepared once, by entry.
fn prepared_names() -> &'static [Vec<Prepared>] {
    static NAMES: std::sync::LazyLock<Vec<Vec<Prepared>>> = std::sync::LazyLock::new(|| {
        sample()
            .screening
            .iter()
            .map(|entry| names(entry).into_iter().map(Prepared::new).collect())
            .collect()
    });
    &NAMES
}

/// The fuzzy score of `query` against one name: 100 for the same name, 95
/// for the same words, 90/85 within one edit (whole/each word), 80/75
/// within two; none beyond.
fn score(query: &Prepared, name: &Prepared) -> Option<u32> {
    let whole = within(&query.whole, &name.whole, 2);
    let words = name.word_distance(query, 2);
    [
        (whole == Some(0), 100),
        (words == Some(0), 95),
        (whole.is_some_and(|d| d <= 1), 90),
        (words.is_some_and(|d| d <= 1), 85),
        (whole.is_some(), 80),
        (words.is_some(), 75),
    ]
    .into_iter()
    .find(|(matched, _)| *matched)
    .map(|(_, score)| score)
}

/// [`score`] of two texts.
#[cfg(test)]
fn fuzzy_score(query: &str, name: &str) -> Option<u32> {
    score(&Prepared::new(query), &Prepared::new(name))
}

/// The entry's names: its name and alternative names.
fn names(entry: &Value) -> Vec<&str> {
    entry["name"]
        .as_str()
        .into_iter()
        .chain(
            entry["alt_names"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .collect()
}

fn lower_list(value: Option<&String>) -> Option<Vec<String>> {
    value.map(|value| {
        value
            .split(',')
            .map(|v| v.trim().to_lowercase())
            .filter(|v| !v.is_empty())
            .collect()
    })
}

fn code_of(source: &str) -> String {
    crate::sources::ita::screening::source_code(source)
        .unwrap_or_else(|| source.to_owned())
        .to_lowercase()
}

/// The entry's country codes, lower case: addresses' and ids'.
fn entry_countries(entry: &Value) -> Vec<String> {
    let mut codes = Vec::new();
    for list in ["addresses", "ids"] {
        for item in entry[list].as_array().into_iter().flatten() {
            if let Some(code) = item["country"].as_str() {
                codes.push(code.to_lowercase());
            }
        }
    }
    if let Some(code) = entry["country"].as_str() {
        codes.push(code.to_lowercase());
    }
    codes
}

/// Every word of `wanted` in `text`.
fn all_words(wanted: &str, text: &str) -> bool {
    let text = normalize(text);
    let have: Vec<&str> = text.split(' ').collect();
    normalize(wanted)
        .split(' ')
        .all(|word| have.contains(&word))
}

fn address_field(entry: &Value, field: &str) -> Vec<String> {
    entry["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|address| address[field].as_str().map(str::to_lowercase))
        .collect()
}

fn screen(params: &HashMap<String, String>, current: bool) -> Response {
    let known: &[&str] = if current {
        &[
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
        ]
    } else {
        &[
            "name",
            "fuzzy_name",
            "sources",
            "type",
            "countries",
            "address",
            "size",
            "offset",
        ]
    };
    let unknown: Vec<&String> = params
        .keys()
        .filter(|name| !known.contains(&name.as_str()))
        .collect();
    if !current && !unknown.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "unknown_parameters": unknown } })),
        )
            .into_response();
    }
    let (max_size, max_offset) = if current {
        (50, 1000)
    } else {
        (100, usize::MAX)
    };
    let size = match params.get("size").map(|s| s.parse::<usize>()) {
        None => 10,
        Some(Ok(size)) if (1..=max_size).contains(&size) => size,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("size must be between 1 and {max_size}"),
            )
        }
    };
    let offset = match params.get("offset").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(offset)) if offset <= max_offset => offset,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("offset must be an integer between 0 and {max_offset}"),
            )
        }
    };
    let fuzzy = params
        .get("fuzzy_name")
        .is_some_and(|value| value == "true");
    let name = params
        .get("name")
        .map(|name| normalize(name))
        .filter(|name| !name.is_empty());
    let sources = lower_list(params.get("sources"));
    let types = lower_list(params.get(if current { "types" } else { "type" }));
    let countries = lower_list(params.get("countries"));
    let query = name.as_deref().map(Prepared::new);
    let mut matching: Vec<(Option<u32>, &Value)> = Vec::new();
    for (entry, names) in sample().screening.iter().zip(prepared_names()) {
        let score = match &query {
            None => None,
            Some(query) if fuzzy => {
                match names.iter().filter_map(|name| score(query, name)).max() {
                    Some(score) => Some(score),
                    None => continue,
                }
            }
            Some(query) => {
                if !names
                    .iter()
                    .any(|name| name.word_distance(query, 0).is_some())
                {
                    continue;
                }
                None
            }
        };
        if let Some(sources) = &sources {
            let code = code_of(entry["source"].as_str().unwrap_or_default());
            if !sources.contains(&code) {
                continue;
            }
        }
        if let Some(types) = &types {
            let kind = entry["type"].as_str().unwrap_or_default().to_lowercase();
            if !types.contains(&kind) {
                continue;
            }
        }
        if let Some(countries) = &countries {
            if !entry_countries(entry).iter().any(|c| countries.contains(c)) {
                continue;
            }
        }
        if let Some(address) = params.get("address") {
            if !entry["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| all_words(address, a["address"].as_str().unwrap_or_default()))
            {
                continue;
            }
        }
        let exact = |field: &str, param: &str| {
            params.get(param).is_none_or(|wanted| {
                address_field(entry, field).contains(&wanted.trim().to_lowercase())
            })
        };
        if current
            && !(exact("city", "city")
                && exact("state", "state")
                && exact("postal_code", "postal_code"))
        {
            continue;
        }
        if let (true, Some(full)) = (current, params.get("full_address")) {
            let whole = entry["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| {
                    let text: Vec<&str> = ["address", "city", "state", "postal_code", "country"]
                        .iter()
                        .filter_map(|field| a[*field].as_str())
                        .collect();
                    all_words(full, &text.join(" "))
                });
            if !whole {
                continue;
            }
        }
        matching.push((score, entry));
    }
    // Best match first; ties in list order.
    matching.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    let total = matching.len();
    let mut used: Vec<&str> = matching
        .iter()
        .filter_map(|(_, entry)| entry["source"].as_str())
        .collect();
    used.sort_unstable();
    used.dedup();
    let results: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|(score, entry)| {
            let mut entry = entry.clone();
            if let (Some(score), Some(fields)) = (score, entry.as_object_mut()) {
                fields.insert("score".into(), json!(f64::from(score)));
            }
            entry
        })
        .collect();
    let used: Vec<Value> = used
        .into_iter()
        .map(|source| json!({ "source": source, "source_last_updated": "2026-11-30T00:00:00Z", "last_imported": "2026-12-01T03:00:00Z" }))
        .collect();
    if current {
        Json(json!({ "total": total, "sources": used, "results": results })).into_response()
    } else {
        Json(json!({
            "total": total, "offset": offset, "sources_used": used,
            "search_performed_at": "2026-12-01T12:00:00Z", "results": results,
        }))
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Full Levenshtein, the textbook way, to check the bounded one by.
    fn levenshtein(a: &[char], b: &[char]) -> usize {
        let mut table = vec![vec![0; b.len() + 1]; a.len() + 1];
        for (i, row) in table.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in table[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                table[i][j] = (table[i - 1][j] + 1)
                    .min(table[i][j - 1] + 1)
                    .min(table[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]));
            }
        }
        table[a.len()][b.len()]
    }

    proptest! {
        /// The bounded distance is the distance whenever it is within the
        /// bound, and nothing otherwise.
        #[test]
        fn bounded_edits_agree_with_levenshtein(a in "[abc]{0,8}", b in "[abc]{0,8}", limit in 0usize..4) {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let full = levenshtein(&a, &b);
            prop_assert_eq!(within(&a, &b, limit), (full <= limit).then_some(full));
        }

        /// A name scores 100 against itself (however punctuated or cased),
        /// and one changed letter in one word keeps it a match of at least 85.
        #[test]
        fn scores_rank_by_edits(words in proptest::collection::vec("[a-z]{3,9}", 1..4), at in 0usize..4, letter in "[a-z]") {
            let name = words.join(" ");
            prop_assert_eq!(fuzzy_score(&name.to_uppercase().replace(' ', ", "), &name), Some(100));
            let mut changed = words.clone();
            let word = &mut changed[at % words.len()];
            word.replace_range(0..1, &letter);
            let score = fuzzy_score(&changed.join(" "), &name);
            prop_assert!(score.is_some_and(|score| score >= 85), "{changed:?} vs {name}: {score:?}");
        }
    }

    #[test]
    fn scores_follow_edits_over_names_and_words() {
        assert_eq!(edits("kitten", "sitting"), 3);
        let q = normalize("Ivanov, Sergei");
        assert_eq!(fuzzy_score(&q, "IVANOV, Sergei"), Some(100));
        assert_eq!(fuzzy_score(&q, "IVANOV, Sergei Petrovich"), Some(95));
        assert_eq!(
            fuzzy_score(&normalize("Ivanov Sergey"), "IVANOV, Sergei"),
            Some(90)
        );
        assert_eq!(
            fuzzy_score(&normalize("Ivanof Sergey"), "IVANOV, Sergei Petrovich"),
            Some(85)
        );
        assert_eq!(
            fuzzy_score(&normalize("Petrov Dmitry"), "IVANOV, Sergei"),
            None
        );
    }
}
