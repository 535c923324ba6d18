//! Turns planned requests into Comtrade's wire format for the configured
//! dialect, sends them through the shared HTTP path (paced and budgeted), and
//! splits truncated answers.

use crate::sources::http::{Credential, Secret};
use std::sync::Arc;

use futures::future::try_join_all;

use super::commodities::{decode_reference, reference_request, CommodityList};
use super::model::FlowCode;
use super::model::{
    decode_legacy, decode_legacy_availability, decode_v1, decode_v1_availability,
    AvailabilityRecord, DataAnswer, Refusal, TradeFlowRecord,
};
use super::planner::{Limits, PlannedRequest};
use super::query::{FlowShape, Frequency, Period, TradeType};
use crate::countries::{ComtradeDialect, ReporterCode};
use crate::error::Error;
use crate::sources::http::{Upstream, UpstreamRequest};
use crate::sources::{Source, UpstreamUsage};

/// Rows the legacy API returns at most per request (`max`); the guest range is
/// 1..=100,000.
pub const LEGACY_MAX_ROWS: u64 = 100_000;
/// Rows the current API returns at most per request with a key (`maxRecords`).
pub const V1_MAX_ROWS: u64 = 100_000;
/// Rows the keyless preview returns at most.
pub const PREVIEW_MAX_ROWS: u64 = 500;

/// Each request that was sent, with its rows.
pub type PlanAnswers = Vec<(PlannedRequest, Vec<Arc<TradeFlowRecord>>)>;

/// Each request that was sent, with its rows and, when its answer stayed
/// truncated, the error that says so.
pub type PartialAnswers = Vec<(PlannedRequest, Vec<Arc<TradeFlowRecord>>, Option<Error>)>;

/// The planner's limits for `dialect` and `frequency`: monthly requests
/// carry at most one year of months on the legacy API, and on v1 as many
/// months as its period chunk holds codes (every month is a code there:
/// twelve).
pub fn limits(dialect: ComtradeDialect, frequency: Frequency) -> Limits {
    match (dialect, frequency) {
        (ComtradeDialect::Legacy, Frequency::Annual) => Limits::LEGACY,
        (ComtradeDialect::Legacy, Frequency::Monthly) => {
            Limits::LEGACY.monthly(Limits::LEGACY_MONTHS)
        }
        (ComtradeDialect::V1, Frequency::Annual) => Limits::V1,
        (ComtradeDialect::V1, Frequency::Monthly) => Limits::V1.monthly(Limits::V1.periods),
    }
}

/// Rows one v1 reporter's `ALL` can answer with one partner in a year: every
/// code of the HS list (8,262 in `HS.json`).
pub const ALL_CODES_ROWS: u64 = 8_300;

/// The planner's limits for a shape: [`limits`], with fewer reporters a
/// request when v1 is asked for every code (`ALL`), so that an answer stays
/// within the rows one request returns (twelve reporters with one partner).
pub fn limits_for(dialect: ComtradeDialect, shape: &FlowShape) -> Limits {
    let limits = limits(dialect, shape.frequency);
    if dialect == ComtradeDialect::V1 && shape.commodities.iter().any(|code| code == "ALL") {
        Limits {
            reporters: ((V1_MAX_ROWS / ALL_CODES_ROWS) as usize).clamp(1, limits.reporters),
            ..limits
        }
    } else {
        limits
    }
}

/// How many times a truncated answer may be split before giving up.
const MAX_SPLIT_DEPTH: u32 = 8;

/// How long a classification's reference list is kept once loaded: Comtrade
/// changes them a few times a year (the v1 HS list's Last-Modified was
/// 2024-01-16 when comtradr recorded it in 2025).
pub const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The Comtrade client: a cheap `Clone` handle.
#[derive(Clone)]
pub struct ComtradeClient {
    upstream: Upstream,
    dialect: ComtradeDialect,
    /// The classifications' reference lists, loaded once each and kept
    /// for a day ([`REFERENCE_TTL`]), whatever the response cache does.
    references: moka::future::Cache<String, Arc<CommodityList>>,
}

impl std::fmt::Debug for ComtradeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComtradeClient")
            .field("upstream", &self.upstream)
            .field("dialect", &self.dialect)
            .field("references", &self.references.entry_count())
            .finish()
    }
}

impl ComtradeClient {
    /// How Comtrade takes its key: the legacy `token` query parameter, or
    /// v1's `Ocp-Apim-Subscription-Key` header.
    pub fn credential(key: Option<Secret>, dialect: ComtradeDialect) -> Credential {
        match (key, dialect) {
            (None, _) => Credential::None,
            (Some(key), ComtradeDialect::Legacy) => {
                Credential::QueryParameter { name: "token", key }
            }
            (Some(key), ComtradeDialect::V1) => Credential::Header {
                name: "Ocp-Apim-Subscription-Key",
                prefix: "",
                key,
            },
        }
    }

    pub fn new(upstream: Upstream, dialect: ComtradeDialect) -> Self {
        Self {
            upstream,
            dialect,
            references: moka::future::Cache::builder()
                .time_to_live(REFERENCE_TTL)
                .build(),
        }
    }

    /// The reference list of `classification` ("HS", "H6", "S4"...): from
    /// memory when it was loaded within the day, else fetched once (callers
    /// asking at the same time share the one request) through the shared
    /// path (budget, pacing, retries), counted in `usage`.
    pub async fn commodities(
        &self,
        classification: &str,
        usage: &UpstreamUsage,
    ) -> Result<Arc<CommodityList>, Error> {
        let classification = classification.trim().to_ascii_uppercase();
        let request = reference_request(self.dialect, &classification)?;
        if let Some(list) = self.references.get(&classification).await {
            usage.record_cache_hit(Source::Comtrade);
            return Ok(list);
        }
        let load = async {
            self.upstream
                .reserve_plan(std::slice::from_ref(&request), usage)
                .await?;
            usage.commit(Source::Comtrade, 1);
            let body = self
                .upstream
                .request(&request, usage, |body| Ok(body.to_vec()))
                .await?;
            // Indexing 8,000 codes and describing them takes milliseconds
            // of CPU: off the runtime's workers, so that a large or hostile
            // list never holds up other operations or /healthz.
            let named = classification.clone();
            tokio::task::spawn_blocking(move || decode_reference(&named, &body[..]).map(Arc::new))
                .await
                .map_err(|panicked| Error::UpstreamBadResponse {
                    upstream: Source::Comtrade,
                    path: "results".into(),
                    detail: format!(
                        "the {classification} reference list could not be read: {panicked}"
                    ),
                })?
        };
        self.references
            .try_get_with(classification.clone(), load)
            .await
            .map_err(|error| (*error).clone())
    }

    /// The reference list of `classification` if it is in memory now,
    /// without loading it: the cost model estimates a drill-down through
    /// `Commodity.children` by the codes it will really reach.
    pub fn loaded_commodities(&self, classification: &str) -> Option<Arc<CommodityList>> {
        let classification = classification.trim().to_ascii_uppercase();
        self.references
            .iter()
            .find_map(|(key, list)| (*key == classification).then_some(list))
    }

    pub fn dialect(&self) -> ComtradeDialect {
        self.dialect
    }

    /// Requests `client` may still spend of the budget (`None`: no budget).
    pub fn budget_room(&self, client: &crate::sources::pacing::ClientId) -> Option<u32> {
        self.upstream
            .admission()
            .and_then(|admission| admission.client_room(client))
    }

    /// The planner's limits for this dialect and frequency.
    pub fn limits(&self, frequency: Frequency) -> Limits {
        limits(self.dialect, frequency)
    }

    /// Rows one request returns at most.
    pub fn max_rows(&self) -> u64 {
        match self.dialect {
            ComtradeDialect::Legacy => LEGACY_MAX_ROWS,
            ComtradeDialect::V1 if self.upstream.has_key() => V1_MAX_ROWS,
            ComtradeDialect::V1 => PREVIEW_MAX_ROWS,
        }
    }

    /// The wire request for one planned request.
    pub fn data_request(&self, planned: &PlannedRequest, shape: &FlowShape) -> UpstreamRequest {
        let join = |codes: Vec<String>| codes.join(",");
        let reporters = join(
            planned
                .reporters
                .iter()
                .map(ReporterCode::to_string)
                .collect(),
        );
        let partners = join(planned.partners.iter().map(ToString::to_string).collect());
        let periods = join(
            planned
                .periods
                .iter()
                .flat_map(|p| p.wire_codes(shape.frequency, self.dialect))
                .collect(),
        );
        let commodities = join(planned.commodities.clone());
        let pairs = |list: &[(&str, String)]| {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        match self.dialect {
            ComtradeDialect::Legacy => UpstreamRequest::get(
                "/api/get",
                pairs(&[
                    ("type", shape.trade_type.code().to_owned()),
                    ("freq", shape.frequency.code().to_owned()),
                    ("px", shape.classification.clone()),
                    ("ps", periods),
                    ("r", reporters),
                    ("p", partners),
                    (
                        "rg",
                        // Checked by FlowShape::new: only legacy flows here.
                        shape
                            .flow
                            .and_then(FlowCode::legacy_code)
                            .map_or("all".to_owned(), |code| code.to_string()),
                    ),
                    ("cc", commodities),
                    ("max", self.max_rows().to_string()),
                    ("fmt", "json".to_owned()),
                    ("head", "M".to_owned()),
                ]),
            ),
            ComtradeDialect::V1 => {
                let mut query = vec![
                    ("reporterCode", reporters),
                    ("period", periods),
                    ("cmdCode", commodities),
                    // Totals only: without these, v1 splits every flow by
                    // customs procedure and mode of transport.
                    ("customsCode", "C00".to_owned()),
                    ("motCode", "0".to_owned()),
                    ("partner2Code", "0".to_owned()),
                    ("maxRecords", self.max_rows().to_string()),
                    ("includeDesc", "true".to_owned()),
                ];
                if !planned.partners.contains(&super::query::PartnerCode::All) {
                    query.insert(1, ("partnerCode", partners));
                }
                let flows = shape
                    .flow
                    .as_ref()
                    .map_or(&FlowCode::DEFAULT[..], std::slice::from_ref);
                query.push((
                    "flowCode",
                    join(flows.iter().map(|flow| flow.v1_code().to_owned()).collect()),
                ));
                UpstreamRequest::get(
                    format!(
                        "{}/{}/{}/{}",
                        self.v1_prefix("get", "preview"),
                        shape.trade_type.code(),
                        shape.frequency.code(),
                        shape.classification
                    ),
                    pairs(&query),
                )
            }
        }
    }

    /// `/data/v1/<keyed>` with a key, `/public/v1/<keyless>` without.
    fn v1_prefix(&self, keyed: &str, keyless: &str) -> String {
        if self.upstream.has_key() {
            format!("/data/v1/{keyed}")
        } else {
            format!("/public/v1/{keyless}")
        }
    }

    /// Sends a whole plan (reserving it first, as [`Self::reserve_plans`]
    /// does), keeping what a truncated answer has: each
    /// request sent with its rows and, when the answer stayed truncated
    /// (no room in the estimate, or nothing left to split), the
    /// [`Error::UpstreamTruncated`] that says so. For callers that can say
    /// which of their cells a truncated request covered (the affected
    /// trade).
    pub async fn fetch_plan_partial(
        &self,
        plan: &[PlannedRequest],
        shape: &FlowShape,
        usage: &UpstreamUsage,
    ) -> Result<PartialAnswers, Error> {
        self.reserve_plans(&[(plan, shape)], usage).await?;
        self.send_reserved_partial(plan, shape, usage).await
    }

    /// Reserves the budget for several plans at once (an operation's batch
    /// of flows in several shapes): all of them, or none and nothing sent.
    /// Reserved shape by shape, the first shapes spent a client's share and
    /// the rest were refused, failing the batch with nothing answered.
    pub async fn reserve_plans(
        &self,
        plans: &[(&[PlannedRequest], &FlowShape)],
        usage: &UpstreamUsage,
    ) -> Result<(), Error> {
        let requests: Vec<UpstreamRequest> = plans
            .iter()
            .flat_map(|(plan, shape)| plan.iter().map(|planned| self.data_request(planned, shape)))
            .collect();
        self.upstream.reserve_plan(&requests, usage).await?;
        usage.commit(Source::Comtrade, requests.len() as u64);
        Ok(())
    }

    /// Sends a plan [`Self::reserve_plans`] reserved, paced, splitting
    /// truncated answers while the operation's estimate has room. A request
    /// whose answer stays truncated fails the plan
    /// ([`Error::UpstreamTruncated`]): a list of flows missing some is not
    /// answered as if whole.
    pub async fn fetch_reserved_plan(
        &self,
        plan: &[PlannedRequest],
        shape: &FlowShape,
        usage: &UpstreamUsage,
    ) -> Result<PlanAnswers, Error> {
        let answers = self.send_reserved_partial(plan, shape, usage).await?;
        let mut whole = Vec::with_capacity(answers.len());
        for (planned, records, truncated) in answers {
            if let Some(truncated) = truncated {
                return Err(truncated);
            }
            whole.push((planned, records));
        }
        Ok(whole)
    }

    /// Sends a reserved plan, paced, splitting truncated answers while the
    /// operation's estimate has room.
    async fn send_reserved_partial(
        &self,
        plan: &[PlannedRequest],
        shape: &FlowShape,
        usage: &UpstreamUsage,
    ) -> Result<PartialAnswers, Error> {
        let answers = try_join_all(
            plan.iter()
                .map(|planned| self.fetch_splitting(planned.clone(), shape, usage, 0)),
        )
        .await?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// One planned request; a truncated answer, or a refusal as too complex
    /// (5002, e.g. "Too many months selected"), is split in two and both
    /// halves fetched (each sent half takes its share of the budget) when
    /// the operation's estimate has room for the two; else the answer is
    /// kept as it is, marked truncated.
    fn fetch_splitting<'a>(
        &'a self,
        planned: PlannedRequest,
        shape: &'a FlowShape,
        usage: &'a UpstreamUsage,
        depth: u32,
    ) -> futures::future::BoxFuture<'a, Result<PartialAnswers, Error>> {
        Box::pin(async move {
            let answer = match self.send_data(&planned, shape, usage).await {
                Err(Error::UpstreamValidation { status: 5002, .. })
                    if depth < MAX_SPLIT_DEPTH
                        && planned.split().is_some()
                        && usage.try_commit(Source::Comtrade, 2) =>
                {
                    let (first, second) = planned.split().expect("checked above");
                    tracing::debug!("comtrade refused a request as too complex; splitting it");
                    let (a, b) = futures::try_join!(
                        self.fetch_splitting(first, shape, usage, depth + 1),
                        self.fetch_splitting(second, shape, usage, depth + 1)
                    )?;
                    return Ok(a.into_iter().chain(b).collect());
                }
                answer => answer?,
            };
            let received = answer.records.len() as u64;
            let truncated = match self.dialect {
                ComtradeDialect::Legacy => answer.matched.is_some_and(|matched| matched > received),
                ComtradeDialect::V1 => received >= self.max_rows(),
            };
            if !truncated {
                return Ok(vec![(planned, answer.records, None)]);
            }
            // v1's `count` is the rows it sent, not how many matched.
            let matched = match self.dialect {
                ComtradeDialect::Legacy => answer.matched,
                ComtradeDialect::V1 => None,
            };
            let splittable = planned.split().filter(|_| depth < MAX_SPLIT_DEPTH);
            let Some((first, second)) =
                splittable.filter(|_| usage.try_commit(Source::Comtrade, 2))
            else {
                let remedy = if planned.split().is_some() && depth < MAX_SPLIT_DEPTH {
                    "splitting the request would send more than the operation's estimate of Comtrade requests: ask for fewer commodities, partners or periods in one operation"
                } else if self.dialect == ComtradeDialect::V1 && !self.upstream.has_key() {
                    "the keyless preview answers at most 500 rows a request: set --comtrade-key (a subscription key) for up to 100,000, or narrow the query (fewer commodities, partners or periods)"
                } else {
                    "narrow the query (fewer commodities, partners or periods)"
                };
                let error = Error::UpstreamTruncated {
                    upstream: Source::Comtrade,
                    received,
                    matched,
                    remedy,
                };
                return Ok(vec![(planned, answer.records, Some(error))]);
            };
            tracing::debug!(
                received,
                matched,
                "comtrade answer truncated; splitting the request"
            );
            let (a, b) = futures::try_join!(
                self.fetch_splitting(first, shape, usage, depth + 1),
                self.fetch_splitting(second, shape, usage, depth + 1)
            )?;
            Ok(a.into_iter().chain(b).collect())
        })
    }

    async fn send_data(
        &self,
        planned: &PlannedRequest,
        shape: &FlowShape,
        usage: &UpstreamUsage,
    ) -> Result<DataAnswer, Error> {
        let request = self.data_request(planned, shape);
        let decode = match self.dialect {
            ComtradeDialect::Legacy => decode_legacy,
            ComtradeDialect::V1 => decode_v1,
        };
        let decoded = self.upstream.request(&request, usage, decode).await?;
        match &*decoded {
            Ok(answer) => Ok(answer.clone()),
            Err(Refusal { code, message }) => Err(Error::UpstreamValidation {
                upstream: Source::Comtrade,
                status: *code,
                // Refusals can name the token the request carried.
                message: self.upstream.scrub(message),
            }),
        }
    }

    /// Data availability: which reporters published which periods (legacy
    /// `/api/refs/da/view`, v1 `getDa`).
    pub async fn availability(
        &self,
        trade_type: TradeType,
        frequency: Frequency,
        classification: &str,
        reporters: &[ReporterCode],
        periods: &[Period],
        usage: &UpstreamUsage,
    ) -> Result<Vec<AvailabilityRecord>, Error> {
        let join = |codes: Vec<String>| codes.join(",");
        let reporters = join(reporters.iter().map(ReporterCode::to_string).collect());
        let periods = join(periods.iter().map(|p| p.wire().to_owned()).collect());
        let mut query: Vec<(String, String)> = Vec::new();
        let request = match self.dialect {
            ComtradeDialect::Legacy => {
                query.push(("type".into(), trade_type.code().into()));
                query.push(("freq".into(), frequency.code().into()));
                query.push(("px".into(), classification.into()));
                if !reporters.is_empty() {
                    query.push(("r".into(), reporters));
                }
                if !periods.is_empty() {
                    query.push(("ps".into(), periods));
                }
                UpstreamRequest::get("/api/refs/da/view", query)
            }
            ComtradeDialect::V1 => {
                if !reporters.is_empty() {
                    query.push(("reporterCode".into(), reporters));
                }
                if !periods.is_empty() {
                    query.push(("period".into(), periods));
                }
                UpstreamRequest::get(
                    format!(
                        "{}/{}/{}/{}",
                        self.v1_prefix("getDa", "getDa"),
                        trade_type.code(),
                        frequency.code(),
                        classification
                    ),
                    query,
                )
            }
        };
        self.upstream
            .reserve_plan(std::slice::from_ref(&request), usage)
            .await?;
        usage.commit(Source::Comtrade, 1);
        let decode = match self.dialect {
            ComtradeDialect::Legacy => decode_legacy_availability,
            ComtradeDialect::V1 => decode_v1_availability,
        };
        let records = self.upstream.request(&request, usage, decode).await?;
        Ok(records.to_vec())
    }

    /// The reporter list (legacy `reporterAreas.json`, v1
    /// `Reporters.json`): a public file, asked without the key, through the
    /// shared path (budget, pacing, retries, the response cache).
    pub async fn reporters(
        &self,
        usage: &UpstreamUsage,
    ) -> Result<Arc<Vec<super::reporters::ReporterArea>>, Error> {
        let request = super::reporters::request(self.dialect);
        self.upstream
            .reserve_plan(std::slice::from_ref(&request), usage)
            .await?;
        usage.commit(Source::Comtrade, 1);
        self.upstream
            .request(&request, usage, |body| {
                super::reporters::decode_list(self.dialect, body)
            })
            .await
    }
}

/// Comtrade's reading of its error answers, before the generic mapping by
/// status:
/// - the legacy API's HTTP 409 is its usage limit (seed 004), a rate limit;
/// - the legacy API explains refusals in `validation.message`;
/// - the v1 API's management layer refuses a subscription that has used its
///   quota with 403 (or 429) and a body like "Out of call volume quota.
///   Quota will be replenished in 23:12:05.": a rate limit to wait out, not
///   a bad key.
pub fn refusal(status: u16, body: &[u8], retry_after: Option<u64>) -> Option<Error> {
    let validation =
        serde_json::from_slice::<serde_json::Value>(crate::sources::http::strip_bom(body))
            .ok()
            .and_then(|json| {
                json.pointer("/validation/message")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|message| !message.trim().is_empty());
    let message = validation.unwrap_or_else(|| crate::sources::http::error_message(body));
    let lower = message.to_ascii_lowercase();
    let quota = matches!(status, 403 | 429) && lower.contains("quota");
    // The legacy API's own refusal is its status code in the body, whatever
    // the HTTP status it came with (seed 004 documents the body, not the
    // status).
    if status != 409 && !quota {
        if let Some(super::model::Refusal { code, message }) = super::model::legacy_refusal(body) {
            return Some(Error::UpstreamValidation {
                upstream: Source::Comtrade,
                status: code,
                message,
            });
        }
    }
    if status == 409 || quota {
        return Some(Error::UpstreamRateLimited {
            upstream: Source::Comtrade,
            retry_after: retry_after
                .or_else(|| replenished_in(&lower))
                .or_else(|| resume_in(&lower)),
            message: Some(message).filter(|m| !m.is_empty() && m != "{}"),
        });
    }
    if (400..500).contains(&status) && !matches!(status, 401 | 403 | 429) {
        return Some(Error::UpstreamRejected {
            upstream: Source::Comtrade,
            status,
            message,
        });
    }
    None
}

/// Seconds from "replenished in hh:mm:ss" in a quota refusal.
fn replenished_in(message: &str) -> Option<u64> {
    clock_seconds(message.split("replenished in").nth(1)?.trim())
}

/// Seconds from a usage limit's "when requests may resume", in the words
/// Comtrade's two front ends use: the legacy API (seed 004: "You may resume
/// requests in 1200 seconds", "in 20 minutes", "in 00:20:00") and v1's
/// Azure API Management ("Rate limit is exceeded. Try again in 23
/// seconds."), and the variants a gateway in front may write: "Try again in
/// 59 minutes", "in 1 hour", "in 2 days", "in 1 hour and 5 minutes",
/// "resume after 00:45:30", "resume at 2037-01-01T00:00:00Z" (the seconds
/// from now until then).
fn resume_in(message: &str) -> Option<u64> {
    resume_in_at(message, std::time::SystemTime::now())
}

/// [`resume_in`] with the time it is now.
fn resume_in_at(message: &str, now: std::time::SystemTime) -> Option<u64> {
    let message = message.to_ascii_lowercase();
    // The part that says when: after the last "resume", "try again",
    // "retry" or "wait" (an earlier "100 requests in 1 hour" is the limit,
    // not the wait); the whole message when none of them is there.
    let anchor = ["resum", "again", "retry", "wait"]
        .iter()
        .filter_map(|word| message.rfind(word))
        .max()
        .unwrap_or(0);
    let when = &message[anchor..];
    if let Some(at) = absolute_time(when) {
        return Some(at.duration_since(now).map_or(0, |left| {
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        }));
    }
    for (position, _) in when.match_indices(' ') {
        let rest = &when[position + 1..];
        let Some(rest) = ["in ", "after ", "within "]
            .iter()
            .find_map(|word| rest.strip_prefix(word))
        else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(seconds) = clock_seconds(rest).filter(|_| {
            rest.chars()
                .take_while(|c| c.is_ascii_digit() || *c == ':')
                .any(|c| c == ':')
        }) {
            return Some(seconds);
        }
        if let Some(seconds) = duration_words(rest) {
            return Some(seconds);
        }
    }
    None
}

/// Seconds in "2 days", "1 hour and 5 minutes", "1h 5m", "90 s", "23 seconds".
fn duration_words(text: &str) -> Option<u64> {
    let mut total: Option<u64> = None;
    let mut rest = text;
    loop {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(count) = digits.parse::<u64>() else {
            break;
        };
        let after = rest[digits.len()..].trim_start();
        let unit: String = after
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let per = match unit.as_str() {
            "d" | "day" | "days" => 86_400,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            _ => break,
        };
        total = Some(total.unwrap_or(0).checked_add(count.checked_mul(per)?)?);
        rest = after[unit.len()..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        rest = rest.strip_prefix("and ").unwrap_or(rest).trim_start();
    }
    total
}

/// The first "2037-01-01T00:00:00Z" (or with a space, without the Z: UTC)
/// in `text`.
fn absolute_time(text: &str) -> Option<std::time::SystemTime> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|start| {
        let candidate: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 't' | 'z' | ' ' | '.'))
            .collect();
        let looks = candidate.len() >= 16
            && candidate.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && candidate.as_bytes()[4] == b'-'
            && (start == 0 || !bytes[start - 1].is_ascii_digit());
        if !looks {
            return None;
        }
        // Longest prefix humantime reads ("…:00z." and trailing words cut).
        let upper = candidate.to_ascii_uppercase();
        (16..=upper.len())
            .rev()
            .find_map(|end| humantime::parse_rfc3339_weak(upper[..end].trim_end()).ok())
    })
}

/// Seconds in a leading "hh:mm:ss" or "mm:ss".
fn clock_seconds(after: &str) -> Option<u64> {
    let clock: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let parts: Vec<u64> = clock
        .split(':')
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    // A two-part clock is minutes and seconds unless the unit after it says
    // hours: the legacy API's "Requests may resume after 01:30 hours." is
    // an hour and a half, not 90 seconds.
    let unit: String = after[clock.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    let in_hours = matches!(unit.as_str(), "h" | "hr" | "hrs" | "hour" | "hours");
    match parts.as_slice() {
        [hours, minutes, seconds] => Some(hours * 3600 + minutes * 60 + seconds),
        [hours, minutes] if in_hours => Some(hours * 3600 + minutes * 60),
        [minutes, seconds] => Some(minutes * 60 + seconds),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_refusals_are_rate_limits_with_the_wait() {
        let body = br#"{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 23:12:05." }"#;
        match refusal(403, body, None) {
            Some(Error::UpstreamRateLimited { retry_after, .. }) => {
                assert_eq!(retry_after, Some(23 * 3600 + 12 * 60 + 5));
            }
            other => panic!("{other:?}"),
        }
        let bad_key =
            br#"{"statusCode": 401, "message": "Access denied due to invalid subscription key."}"#;
        assert!(refusal(401, bad_key, None).is_none());
        assert!(refusal(403, bad_key, None).is_none());
        assert!(refusal(500, body, None).is_none());
    }

    #[test]
    fn the_legacy_usage_limit_and_validation_messages_are_comtrades_own() {
        assert!(matches!(
            refusal(409, b"{}", Some(3)),
            Some(Error::UpstreamRateLimited {
                retry_after: Some(3),
                ..
            })
        ));
        let body =
            br#"{"validation": {"status": {"value": 5004}, "message": "Invalid parameter ps"}}"#;
        match refusal(400, body, None) {
            Some(Error::UpstreamValidation {
                status: 5004,
                message,
                ..
            }) => {
                assert_eq!(message, "Invalid parameter ps")
            }
            other => panic!("{other:?}"),
        }
        // Attack 21, F6.2: the status value as a string is read the same.
        let quoted =
            br#"{"validation": {"status": {"value": "5004"}, "message": "Invalid parameter ps"}}"#;
        assert!(matches!(
            refusal(400, quoted, None),
            Some(Error::UpstreamValidation { status: 5004, .. })
        ));
        let usage =
            b"Usage limit: 100 requests per hour reached. You may resume requests in 20 minutes.";
        assert!(matches!(
            refusal(409, usage, None),
            Some(Error::UpstreamRateLimited {
                retry_after: Some(1200),
                ..
            })
        ));
        assert_eq!(resume_in("you may resume requests in 00:02:05."), Some(125));
        assert_eq!(resume_in("you may resume requests shortly."), None);
    }

    /// Attack 21, F6.1: the wordings a 409 gives its wait in.
    #[test]
    fn the_wait_is_read_in_every_wording() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000);
        for (message, seconds) in [
            ("Usage limit exceeded. Please try again in 59 minutes.", 3540),
            ("Rate limit is exceeded. Try again in 1 hour.", 3600),
            (
                r#"{ "statusCode": 409, "message": "Rate limit is exceeded. Try again in 23 seconds." }"#,
                23,
            ),
            ("Too many requests. Try again in 1 second.", 1),
            ("Usage limit exceeded. Requests may resume after 00:45:30.", 2730),
            // Issue 21's eighth attack: hh:mm with "hours" after it.
            ("Requests may resume after 01:30 hours.", 5400),
            ("Requests may resume after 01:30 HOURS", 5400),
            ("Requests may resume after 02:15 h.", 8100),
            ("Requests may resume after 01:30 minutes.", 90),
            ("Usage limit exceeded. Try again in 2 days.", 172_800),
            ("Quota exceeded; usage resumes in 1 hour and 5 minutes.", 3900),
            (
                "Usage limit: 100 requests in 1 hour reached. You may resume requests in 20 minutes.",
                1200,
            ),
            ("You may resume requests in 3540 seconds", 3540),
            // 2033-05-18T03:33:20Z is 2_000_000_000; an hour later:
            ("Usage limit exceeded. Requests may resume at 2033-05-18T04:33:20Z.", 3600),
            ("Requests may resume at 2033-05-18 04:33:20.", 3600),
            ("Requests may resume at 2000-01-01T00:00:00Z.", 0),
        ] {
            assert_eq!(resume_in_at(message, now), Some(seconds), "{message}");
        }
        assert_eq!(resume_in_at("Try again later.", now), None);
        let body = br#"{ "statusCode": 409, "message": "Rate limit is exceeded. Try again in 23 seconds." }"#;
        assert!(matches!(
            refusal(409, body, None),
            Some(Error::UpstreamRateLimited {
                retry_after: Some(23),
                ..
            })
        ));
    }

    fn phrase(count: u64, unit: &str) -> String {
        format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
    }

    proptest::proptest! {
        /// Any wait, in any of the wordings, reads back as its seconds.
        #[test]
        fn generated_waits_read_back(
            days in 0u64..3,
            hours in 0u64..24,
            minutes in 0u64..60,
            seconds in 0u64..60,
            lead in 0usize..5,
            form in 0usize..5,
        ) {
            let total = days * 86_400 + hours * 3600 + minutes * 60 + seconds;
            let mut parts = Vec::new();
            for (count, unit) in [(days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")] {
                if count > 0 {
                    parts.push(phrase(count, unit));
                }
            }
            if parts.is_empty() {
                parts.push("0 seconds".to_owned());
            }
            let words = match parts.len() {
                1 => parts[0].clone(),
                _ => format!("{} and {}", parts[..parts.len() - 1].join(", "), parts[parts.len() - 1]),
            };
            let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000);
            let at = humantime::format_rfc3339_seconds(now + std::time::Duration::from_secs(total));
            let when = match form {
                0 => format!("in {words}"),
                1 => format!("in {total} seconds"),
                2 => format!("after {:02}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60),
                3 => format!("at {at}"),
                _ => format!("in {} minutes", total / 60),
            };
            let expected = if form == 4 { total / 60 * 60 } else { total };
            let message = [
                format!("Usage limit exceeded. Requests may resume {when}."),
                format!("Rate limit is exceeded. Try again {when}."),
                format!(r#"{{"statusCode": 409, "message": "Try again {when}."}}"#),
                format!("Usage limit: 100 requests per hour reached. You may resume requests {when}"),
                format!("Quota exceeded; usage resumes {when}."),
            ][lead].clone();
            proptest::prop_assert_eq!(resume_in_at(&message, now), Some(expected), "{}", message);
        }
    }
}
