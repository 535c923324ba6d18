//! The simulated GTA data endpoint, v1 (`/api/v1/data/`, bare array) and v2
//! (`/api/v2/gta/data/`, `{count, next, previous, results}`), with the
//! publisher's rules: `Authorization: APIKey <key>`, `limit` in 0..=1000, only
//! documented filters (unknown ones answer 400 in Django REST framework's
//! `{"field": ["message"]}` shape, as GTA's API does).

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::{apply_fault, RecordedRequest};
use super::gta_data::{visible_interventions, SampleIntervention, PUBLISHABLE};
use super::SimulatorState;
use crate::countries::Country;
use crate::source::Source;

pub(super) fn routes() -> Router<SimulatorState> {
    Router::new()
        .route("/api/v1/data/", post(data_v1))
        .route("/api/v2/gta/data/", post(data_v2))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

async fn data_v1(
    state: State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(state, uri, headers, body, Version::V1).await
}

async fn data_v2(
    state: State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(state, uri, headers, body, Version::V2).await
}

fn drf_error(status: StatusCode, field: &str, message: impl Into<String>) -> Response {
    let body = if field == "detail" {
        json!({ "detail": message.into() })
    } else {
        json!({ field: [message.into()] })
    };
    (status, Json(body)).into_response()
}

async fn answer(
    State(state): State<SimulatorState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    version: Version,
) -> Response {
    let recorded = RecordedRequest {
        method: "POST".into(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
        received: std::time::Instant::now(),
    };
    if let Some(response) = apply_fault(&state, Source::Gta, recorded).await {
        return response;
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    match authorization.and_then(|value| value.strip_prefix("APIKey ")) {
        None => {
            return drf_error(
                StatusCode::FORBIDDEN,
                "detail",
                "Authentication credentials were not provided.",
            )
        }
        Some(key) if key != &*state.key => {
            return drf_error(StatusCode::FORBIDDEN, "detail", "Invalid API key.")
        }
        Some(_) => {}
    }
    let request: DataRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return drf_error(
                StatusCode::BAD_REQUEST,
                "detail",
                format!("JSON parse error - {error}"),
            )
        }
    };
    let limit = request.limit.unwrap_or(1000);
    if !(0..=1000).contains(&limit) {
        return drf_error(
            StatusCode::BAD_REQUEST,
            "limit",
            "Ensure this value is between 0 and 1000.",
        );
    }
    let offset = request.offset.unwrap_or(0);
    if offset < 0 {
        return drf_error(
            StatusCode::BAD_REQUEST,
            "offset",
            "Ensure this value is greater than or equal to 0.",
        );
    }
    let filters: Filters = match serde_json::from_value(request.request_data.unwrap_or(json!({}))) {
        Ok(filters) => filters,
        Err(error) => return drf_error(StatusCode::BAD_REQUEST, "request_data", error.to_string()),
    };
    // GTA's OpenAPI document has `query` in the v2 request schema only
    // (`update_period` and sorting by `last_updated` are in both).
    if version == Version::V1 && filters.query.is_some() {
        return drf_error(
            StatusCode::BAD_REQUEST,
            "request_data",
            "unknown field `query`",
        );
    }
    // The publisher's own client always sends an announcement period, "to
    // avoid API error": the simulator holds requests to that.
    if filters.announcement_period.is_none() {
        return drf_error(
            StatusCode::BAD_REQUEST,
            "request_data",
            "announcement_period is required",
        );
    }
    let sorting = match parse_sorting(request.sorting.as_deref().unwrap_or("-date_announced")) {
        Ok(sorting) => sorting,
        Err(message) => return drf_error(StatusCode::BAD_REQUEST, "sorting", message),
    };
    let published = state.publishing.published(PUBLISHABLE);
    let mut matching: Vec<&SampleIntervention> = visible_interventions(published)
        .iter()
        .filter(|i| filters.matches(i))
        .collect();
    matching.sort_by(|a, b| compare(a, b, &sorting));
    let count = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|intervention| {
            render(
                intervention,
                version,
                request.show_full_names.unwrap_or(false),
            )
        })
        .collect();
    match version {
        Version::V1 => Json(Value::Array(page)).into_response(),
        Version::V2 => {
            let next = (offset as usize + limit as usize) < count;
            Json(json!({
                "count": count,
                "next": next.then(|| format!("{}?offset={}", uri.path(), offset + limit)),
                "previous": (offset > 0).then(|| format!("{}?offset={}", uri.path(), (offset - limit).max(0))),
                "results": page,
            }))
            .into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataRequest {
    limit: Option<i64>,
    offset: Option<i64>,
    sorting: Option<String>,
    show_full_names: Option<bool>,
    request_data: Option<Value>,
}

/// GTA's documented filters; unknown members are refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Filters {
    gta_evaluation: Option<Vec<u16>>,
    affected_flow: Option<Vec<u16>>,
    affected: Option<Vec<u16>>,
    keep_affected: Option<bool>,
    implementer: Option<Vec<u16>>,
    keep_implementer: Option<bool>,
    intervention_types: Option<Vec<u16>>,
    keep_intervention_types: Option<bool>,
    mast_chapters: Option<Vec<u16>>,
    keep_mast_chapters: Option<bool>,
    implementation_level: Option<Vec<u16>>,
    keep_implementation_level: Option<bool>,
    eligible_firms: Option<Vec<u16>>,
    keep_eligible_firms: Option<bool>,
    announcement_period: Option<(Option<String>, Option<String>)>,
    implementation_period: Option<(Option<String>, Option<String>)>,
    keep_implementation_na: Option<bool>,
    revocation_period: Option<(Option<String>, Option<String>)>,
    keep_revocation_na: Option<bool>,
    submission_period: Option<(Option<String>, Option<String>)>,
    in_force_on_date: Option<String>,
    keep_in_force_on_date: Option<bool>,
    affected_sectors: Option<Vec<u32>>,
    keep_affected_sectors: Option<bool>,
    affected_products: Option<Vec<u32>>,
    keep_affected_products: Option<bool>,
    intervention_id: Option<Vec<u32>>,
    keep_intervention_id: Option<bool>,
    lag_adjustment: Option<String>,
    query: Option<String>,
    update_period: Option<(Option<String>, Option<String>)>,
}

/// A list filter with its keep flag: "only these" (keep) or "all but these".
fn listed<T: PartialEq>(
    filter: &Option<Vec<T>>,
    keep: Option<bool>,
    has: impl Fn(&T) -> bool,
) -> bool {
    match filter {
        None => true,
        Some(values) => values.iter().any(has) == keep.unwrap_or(true),
    }
}

fn jurisdictions_listed(
    filter: &Option<Vec<u16>>,
    keep: Option<bool>,
    countries: &[&Country],
) -> bool {
    listed(filter, keep, |id| countries.iter().any(|c| c.id.0 == *id))
}

/// A date against a `[from, to]` range (None or "" is open); `keep_na` says
/// whether records without the date pass.
fn in_period(
    period: &Option<(Option<String>, Option<String>)>,
    date: Option<&str>,
    keep_na: Option<bool>,
) -> bool {
    let keep_na = keep_na.unwrap_or(true);
    let Some(date) = date else { return keep_na };
    let Some((from, to)) = period else {
        return true;
    };
    let open = |end: &Option<String>| end.as_deref().is_none_or(str::is_empty);
    (open(from) || from.as_deref() <= Some(date)) && (open(to) || to.as_deref() >= Some(date))
}

impl Filters {
    fn matches(&self, i: &SampleIntervention) -> bool {
        listed(&self.gta_evaluation, None, |id| {
            *id == i.evaluation.gta_id()
        }) && listed(&self.affected_flow, None, |id| *id == i.flow.gta_id())
            && jurisdictions_listed(&self.affected, self.keep_affected, &i.affected)
            && listed(&self.implementer, self.keep_implementer, |id| {
                // GTA's 1049: the measures the EU takes as a bloc.
                i.implementers.iter().any(|c| c.id.0 == *id)
                    || (*id == crate::countries::EUROPEAN_UNION.gta_id
                        && i.implementer_group.is_some())
            })
            && listed(
                &self.intervention_types,
                self.keep_intervention_types,
                |id| *id == i.intervention_type.gta_id(),
            )
            && listed(&self.mast_chapters, self.keep_mast_chapters, |id| {
                *id == i.mast_chapter.gta_id()
            })
            && listed(
                &self.implementation_level,
                self.keep_implementation_level,
                |id| *id == i.level.gta_id(),
            )
            && listed(&self.eligible_firms, self.keep_eligible_firms, |id| {
                *id == i.eligible_firms.gta_id()
            })
            && in_period(&self.announcement_period, Some(&i.date_announced), None)
            && (self.implementation_period.is_none() && self.keep_implementation_na != Some(false)
                || in_period(
                    &self.implementation_period,
                    i.date_implemented.as_deref(),
                    self.keep_implementation_na,
                ))
            && (self.revocation_period.is_none() && self.keep_revocation_na != Some(false)
                || in_period(
                    &self.revocation_period,
                    i.date_removed.as_deref(),
                    self.keep_revocation_na,
                ))
            && in_period(&self.submission_period, Some(&i.date_published), None)
            && in_period(&self.update_period, Some(&i.last_updated), None)
            && self
                .in_force_on_date
                .as_deref()
                .is_none_or(|day| i.in_force_on(day) == self.keep_in_force_on_date.unwrap_or(true))
            && listed(&self.affected_sectors, self.keep_affected_sectors, |s| {
                i.sectors.contains(s)
            })
            && listed(&self.affected_products, self.keep_affected_products, |p| {
                i.products.iter().any(|(code, _, _)| code == p)
            })
            && listed(&self.intervention_id, self.keep_intervention_id, |id| {
                *id == i.id
            })
            && self
                .lag_adjustment
                .as_deref()
                .is_none_or(|lag| i.date_published.get(5..) <= lag.get(5..))
            && self.query.as_deref().is_none_or(|query| {
                let query = query.to_lowercase();
                i.title.to_lowercase().contains(&query)
                    || i.description.to_lowercase().contains(&query)
            })
    }
}

#[derive(Clone, Copy)]
enum SortField {
    Announced,
    Published,
    Implemented,
    Removed,
    Id,
    Updated,
}

fn parse_sorting(text: &str) -> Result<Vec<(SortField, bool)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|clause| !clause.is_empty())
        .map(|clause| {
            let (descending, name) = clause
                .strip_prefix('-')
                .map_or((false, clause), |name| (true, name));
            let field = match name {
                "date_announced" => SortField::Announced,
                "date_published" => SortField::Published,
                "date_implemented" => SortField::Implemented,
                "date_removed" => SortField::Removed,
                "intervention_id" => SortField::Id,
                "last_updated" => SortField::Updated,
                other => return Err(format!("Invalid sorting key: {other}")),
            };
            Ok((field, descending))
        })
        .collect()
}

fn compare(
    a: &SampleIntervention,
    b: &SampleIntervention,
    sorting: &[(SortField, bool)],
) -> Ordering {
    for (field, descending) in sorting {
        let ordering = match field {
            SortField::Announced => a.date_announced.cmp(&b.date_announced),
            SortField::Published => a.date_published.cmp(&b.date_published),
            SortField::Implemented => a.date_implemented.cmp(&b.date_implemented),
            SortField::Removed => a.date_removed.cmp(&b.date_removed),
            SortField::Id => a.id.cmp(&b.id),
            SortField::Updated => a.last_updated.cmp(&b.last_updated),
        };
        let ordering = if *descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.id.cmp(&b.id)
}

fn jurisdiction(country: &Country) -> Value {
    json!({ "id": country.id.0, "name": country.name, "iso": country.iso3 })
}

/// One record as the version answers it: v1 in the seed's basic-access shape
/// (HS codes as ints, texts as strings), v2 in the full-access shape of the
/// current API (product levels, dated text entries).
fn render(i: &SampleIntervention, version: Version, full_names: bool) -> Value {
    // Like GTA: product and sector names cut to 20 characters and "..."
    // unless the request asks for `show_full_names`.
    let shown = |name: String| {
        if full_names || name.chars().count() <= 20 {
            name
        } else {
            format!("{}...", name.chars().take(20).collect::<String>())
        }
    };
    let (description, source, products): (Value, Value, Value) = match version {
        Version::V1 => (
            json!(i.description),
            json!(i.source),
            i.products.iter().map(|(code, _, _)| json!(code)).collect(),
        ),
        Version::V2 => (
            json!([{ "status": "new", "order_nr": 1, "modified": format!("{} 09:00", i.date_published), "text": i.description }]),
            json!([{ "status": "new", "order_nr": 1, "modified": format!("{} 09:00", i.date_published), "text": i.source }]),
            i.products
                .iter()
                .map(|(code, prior, new)| {
                    let name = super::hs_list::hs()
                        .get(&format!("{code:06}"))
                        .map_or_else(|| format!("HS {code:06}"), |entry| entry.text.to_owned());
                    json!({ "product_id": code, "name": shown(name), "prior_level": prior, "new_level": new, "unit": "%" })
                })
                .collect(),
        ),
    };
    let mut record = json!({
        "intervention_id": i.id,
        "state_act_id": i.state_act_id,
        "state_act_title": i.title,
        "intervention_description": description,
        "intervention_url": format!("https://www.globaltradealert.org/intervention/{}", i.id),
        "state_act_url": format!("https://www.globaltradealert.org/state-act/{}", i.state_act_id),
        "state_act_source": source,
        "is_official_source": i.is_official_source,
        "gta_evaluation": i.evaluation.label(),
        "implementing_jurisdictions": i.implementers.iter().map(|c| jurisdiction(c)).collect::<Vec<_>>(),
        "implementing_jurisdiction_groups": i.implementer_group.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "affected_jurisdictions": i.affected.iter().map(|c| jurisdiction(c)).collect::<Vec<_>>(),
        "implementation_level": i.level.label(),
        "eligible_firm": i.eligible_firms.label(),
        "intervention_type": i.intervention_type.label(),
        "mast_chapter": i.mast_chapter.label(),
        "mast_subchapter": i.mast_chapter.label(),
        "affected_sectors": match version {
            Version::V1 => json!(i.sectors),
            Version::V2 => i.sectors.iter().map(|code| json!({ "sector_id": code, "name": shown(format!("CPC sector {code}: sample products and services")) })).collect(),
        },
        "affected_products": products,
        "date_announced": i.date_announced,
        "date_published": i.date_published,
        "date_implemented": i.date_implemented,
        "date_removed": i.date_removed,
        "is_in_force": u8::from(i.in_force),
    });
    if version == Version::V2 {
        record["last_updated"] = json!(format!("{} 09:00", i.last_updated));
        record["inferred_jurisdictions"] = json!("Not inferred");
    }
    record
}
