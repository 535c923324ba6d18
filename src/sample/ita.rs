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
use super::ita_data::sample;
use super::SimulatorState;
use crate::sources::Source;

pub(super) fn routes() -> Router<SimulatorState> {
    Router::new()
        .route("/v2/{endpoint}/search", get(v2_search))
        .route("/{endpoint}/v1/search", get(current_search))
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
    let (records, allowed): (&[Value], &[&str]) = match endpoint.as_str() {
        "trade_leads" => (
            &sample().leads,
            &["q", "industries", "countries", "size", "offset"],
        ),
        "ita_office_locations" => (
            &sample().offices,
            &["q", "city", "countries", "state", "size", "offset"],
        ),
        "trade_events" => (&sample().events, &["q", "countries", "size", "offset"]),
        _ => return error(StatusCode::NOT_FOUND, "No such endpoint"),
    };
    if let Some(unknown) = params.keys().find(|name| !allowed.contains(&name.as_str())) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Invalid parameter: {unknown}"),
        );
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
    let countries: Vec<String> = params
        .get("countries")
        .map(|list| {
            list.split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();
    let text =
        |record: &Value, field: &str| record[field].as_str().unwrap_or_default().to_lowercase();
    let matching: Vec<&Value> = records
        .iter()
        .filter(|record| {
            let record_countries: Vec<String> = match endpoint.as_str() {
                "trade_events" => record["venues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["country"].as_str().map(str::to_owned))
                    .collect(),
                _ => record["country"]
                    .as_str()
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
            };
            countries.is_empty() || record_countries.iter().any(|c| countries.contains(c))
        })
        .filter(|record| {
            params.get("q").is_none_or(|q| {
                let q = q.to_lowercase();
                let fields: &[&str] = match endpoint.as_str() {
                    "trade_leads" => &["title", "description"],
                    "ita_office_locations" => &["post", "office_name"],
                    _ => &["event_name", "description"],
                };
                fields.iter().any(|field| text(record, field).contains(&q))
            })
        })
        .filter(|record| {
            params.get("industries").is_none_or(|list| {
                let wanted: Vec<String> =
                    list.split(',').map(|i| i.trim().to_lowercase()).collect();
                record["ita_industries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|i| wanted.contains(&i.to_lowercase()))
            })
        })
        .filter(|record| {
            params
                .get("city")
                .is_none_or(|city| text(record, "city") == city.to_lowercase())
        })
        .filter(|record| {
            params
                .get("state")
                .is_none_or(|state| text(record, "state") == state.to_lowercase())
        })
        .collect();
    let total = matching.len();
    let results: Vec<&Value> = matching.into_iter().skip(offset).take(size).collect();
    let source = match endpoint.as_str() {
        "trade_leads" => "TRADE_LEADS",
        "ita_office_locations" => "ITA_OFFICE_LOCATIONS",
        _ => "TRADE_EVENTS",
    };
    Json(json!({
        "total": total,
        "offset": offset,
        "sources_used": [{ "source": source, "source_last_updated": "2026-11-22T20:00:00-05:00", "last_imported": "2026-11-23T03:00:00-05:00" }],
        "results": results,
        "aggregations": { "countries": countries.iter().map(|c| json!({ "key": c, "doc_count": 0 })).collect::<Vec<_>>() },
    }))
    .into_response()
}
