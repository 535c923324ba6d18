//! GraphQL over HTTP, as the GraphQL-over-HTTP specification asks.
//!
//! Written here rather than taken from async-graphql-axum, whose responses are
//! always `application/graphql-response+json`, which breaks the MUST that a
//! client accepting only `application/json` gets `application/json`. Here:
//! - `Accept` decides the media type: `application/graphql-response+json` when
//!   the client lists it first among the two, `application/json` when that
//!   comes first, is implied (`*/*`, none given) or alone; 406 otherwise.
//! - A request that is not a GraphQL request (bad JSON, no `query`, wrong
//!   types) is 400; a POST that is not JSON is 415.
//! - With `application/graphql-response+json`, a request error (the document
//!   does not parse or validate: there is no `data`) is 400; with
//!   `application/json` every GraphQL response is 200.
//!
//! Every response carries `extensions.upstream` with the operation's upstream
//! requests and cache hits per source.

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Variables};
use axum::body::Bytes;
use std::net::SocketAddr;
use tracing::Instrument;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::http_caching::{self, Cacheable};
use super::persisted_queries::{PersistedHash, PersistedQueryError};
use super::AppState;
use crate::error_codes as codes;
use crate::limits::{Analysis, Refusal, RefusalCode};
use crate::metrics::{OperationOutcome, ResponseCacheUse};
use crate::operation::{
    CachedResponse, DocumentId, OperationKey, OperationLabel, SelectionOrder, SplitResponse,
};
use crate::source::Source;
use crate::sources::pacing::ClientId;

use super::pipeline::{
    check_document, is_mutation, is_request_error, label, name_operation, operation_span, outcome,
    refusal_response, run_operation_counted, Response_,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type a response is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MediaType {
    Json,
    GraphqlResponseJson,
}

impl MediaType {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        })
    }
}

/// Picks the response media type from `Accept`, in the client's order
/// (entries with `q=0` are refused types and skipped).
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Some(MediaType::Json);
    };
    let accept = accept.to_str().ok()?;
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(MediaType::GraphqlResponseJson),
            JSON | "application/*" | "*/*" => return Some(MediaType::Json),
            _ => {}
        }
    }
    None
}

/// One operation's answer, before it becomes the HTTP response (alone) or
/// an element of a batch's array.
struct Answer {
    status: StatusCode,
    /// Headers beyond the content type (`Retry-After`, `Allow`).
    headers: Vec<(header::HeaderName, HeaderValue)>,
    body: String,
    /// For the metrics: how the operation ended and its errors' codes.
    outcome: OperationOutcome,
    codes: Vec<String>,
    /// A status no media type changes: PERSISTED_QUERY_NOT_FOUND is 200
    /// either way, which Apollo's link reads as "send the document".
    status_fixed: bool,
    /// A batch's array, whose operations were each counted in the metrics
    /// as they were answered.
    counted_per_operation: bool,
    /// How HTTP caches may keep it (`None`: not at all).
    cacheable: Option<Cacheable>,
    /// Whether it came from the whole-response cache.
    cache_use: ResponseCacheUse,
}

impl Answer {
    /// An answer without errors.
    fn new(status: StatusCode, body: String) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
            outcome: OperationOutcome::Ok,
            codes: Vec::new(),
            status_fixed: false,
            counted_per_operation: false,
            cacheable: None,
            cache_use: ResponseCacheUse::None,
        }
    }

    /// An answer from the whole-response cache.
    fn cached(hit: CachedResponse) -> Self {
        Self {
            cacheable: Some(Cacheable {
                max_age: hit.max_age,
                etag: hit.etag,
            }),
            cache_use: ResponseCacheUse::Hit,
            ..Self::new(StatusCode::OK, hit.body)
        }
    }

    /// The answer carrying `response` as `body`: its outcome and codes.
    fn of(status: StatusCode, response: &Response_, body: String) -> Self {
        let (outcome, codes) = outcome(response);
        Self {
            outcome,
            codes,
            ..Self::new(status, body)
        }
    }

    fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn into_response(self, media: MediaType) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, media.header())],
            self.body,
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// A request that is not a well-formed GraphQL request.
fn bad_request(status: StatusCode, message: &str) -> Answer {
    coded_error(status, message, codes::BAD_REQUEST)
}

/// A request error with `code`, without data.
fn coded_error(status: StatusCode, message: &str, code: &str) -> Answer {
    Answer {
        outcome: OperationOutcome::Refused,
        codes: vec![code.to_owned()],
        ..Answer::new(
            status,
            json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
        )
    }
}

/// The client accepts no media type GraphQL answers in (answered in JSON
/// all the same).
fn not_acceptable() -> (Answer, MediaType) {
    let answer = coded_error(
        StatusCode::NOT_ACCEPTABLE,
        "Accept must allow application/json or application/graphql-response+json",
        codes::NOT_ACCEPTABLE,
    );
    (answer, MediaType::Json)
}

/// The four members of a GraphQL request, checked for type. `query` may be
/// missing when `extensions.persistedQuery` names a registered document.
struct GraphqlParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn params_from_object(mut object: Map<String, Value>) -> Result<GraphqlParams, &'static str> {
    let query = match object.remove("query") {
        Some(Value::String(query)) => Some(query),
        None | Some(Value::Null) => None,
        Some(_) => return Err("`query` must be a string"),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string or null"),
    };
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(variables)) => Some(variables),
        Some(_) => return Err("`variables` must be an object or null"),
    };
    let extensions = match object.remove("extensions") {
        None | Some(Value::Null) => None,
        Some(Value::Object(extensions)) => Some(extensions),
        Some(_) => return Err("`extensions` must be an object or null"),
    };
    Ok(GraphqlParams {
        query,
        operation_name,
        variables,
        extensions,
    })
}

/// The longest URL query a GET operation may have. hyper answers a request
/// line past 64 KiB itself, with an empty 414 the gateway never sees; this
/// bound sits well below it, so that a long GET is refused as a GraphQL
/// error with a code, the way a long POST body is.
pub(super) const MAX_GET_QUERY_BYTES: usize = 32 * 1024;

/// `GET /graphql?query=...&variables=...` (variables and extensions as JSON
/// text); with `extensions` naming a persisted query, `query` may be left
/// out, so that CDNs can cache the short URL.
pub(super) async fn get(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let started = std::time::Instant::now();
    let (answer, media) = get_answer(&state, peer, &headers, raw).await;
    let cacheable = answer.cacheable.clone();
    let mut response = respond(&state, answer, media, started);
    http_caching::for_get(&mut response, cacheable.as_ref(), &headers);
    response
}

async fn get_answer(
    state: &AppState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    raw: Option<String>,
) -> (Answer, MediaType) {
    let Some(media) = negotiate(headers) else {
        return not_acceptable();
    };
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_GET_QUERY_BYTES {
        let message = format!(
            "the URL's query is longer than the {MAX_GET_QUERY_BYTES} bytes a GET accepts; send the operation with POST (or as a persisted query's hash)"
        );
        return (
            coded_error(StatusCode::URI_TOO_LONG, &message, codes::URI_TOO_LONG),
            media,
        );
    }
    let mut object = Map::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" if !value.is_empty() => {
                match serde_json::from_str::<Value>(&value) {
                    Ok(parsed) => parsed,
                    Err(_) => {
                        let message = format!("`{key}` is not valid JSON");
                        return (bad_request(StatusCode::BAD_REQUEST, &message), media);
                    }
                }
            }
            "variables" | "extensions" => Value::Null,
            _ => Value::String(value.into_owned()),
        };
        object.insert(key.into_owned(), value);
    }
    let client = state
        .clients
        .of(headers, peer.map(|Extension(ConnectInfo(peer))| peer));
    let answer = match params_from_object(object) {
        Ok(params) => execute(state, params, media, true, client).await,
        Err(message) => bad_request(StatusCode::BAD_REQUEST, message),
    };
    (answer, media)
}

/// `POST /graphql` with a JSON body: one operation (an object), or a batch
/// of them (an array), answered with an array in the same order.
pub(super) async fn post(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let (answer, media) = match body {
        Ok(body) => post_answer(&state, peer, &headers, &body).await,
        Err(rejection) => (body_refused(&state, &rejection), MediaType::Json),
    };
    let mut response = respond(&state, answer, media, started);
    http_caching::for_post(&mut response);
    response
}

/// A body that could not be read, as a GraphQL request error with a code
/// (axum's own rejection is plain text): past `--max-body-bytes`, or cut
/// off (`--body-read-timeout`, a broken connection).
fn body_refused(state: &AppState, rejection: &axum::extract::rejection::BytesRejection) -> Answer {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        coded_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is larger than the {} bytes accepted (--max-body-bytes)",
                state.max_body_bytes
            ),
            codes::BODY_TOO_LARGE,
        )
    } else {
        bad_request(
            StatusCode::BAD_REQUEST,
            "the request body could not be read whole (too slow: --body-read-timeout, or cut off)",
        )
    }
}

async fn post_answer(
    state: &AppState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Answer, MediaType) {
    let Some(media) = negotiate(headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some(JSON) {
        let answer = bad_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json",
        );
        return (answer, media);
    }
    let client = state
        .clients
        .of(headers, peer.map(|Extension(ConnectInfo(peer))| peer));
    let answer = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => match params_from_object(object) {
            Ok(params) => execute(state, params, media, false, client).await,
            Err(message) => bad_request(StatusCode::BAD_REQUEST, message),
        },
        Ok(Value::Array(operations)) => batch(state, operations, client).await,
        Ok(_) => bad_request(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object (one operation) or array (a batch)",
        ),
        Err(_) => bad_request(StatusCode::BAD_REQUEST, "the body is not valid JSON"),
    };
    (answer, media)
}

/// The HTTP response of `answer`, counted in the metrics (a batch's
/// operations were counted one by one; a request refused before any
/// operation ran counts as one refused operation with its code).
fn respond(
    state: &AppState,
    answer: Answer,
    media: MediaType,
    started: std::time::Instant,
) -> Response {
    if !answer.counted_per_operation {
        record(state, &answer, started);
    }
    answer.into_response(media)
}

/// A batch: each operation is held to the limits alone, and together they
/// are held to one operation's cost and upstream demand, so that a batch
/// cannot ask more of the gateway than one operation may. They run
/// concurrently, each taking its own operation slot; the answer is an array
/// in the batch's order (200, each element carrying its own errors).
async fn batch(state: &AppState, operations: Vec<Value>, client: ClientId) -> Answer {
    let max = state.max_batch_size;
    if operations.is_empty() {
        return bad_request(StatusCode::BAD_REQUEST, "the batch is empty");
    }
    if operations.len() > max {
        return coded_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the batch has {} operations; at most {max} are allowed (--max-batch-size)",
                operations.len()
            ),
            codes::BATCH_TOO_LARGE,
        );
    }
    let mut prepared = Vec::with_capacity(operations.len());
    for operation in operations {
        let params = match operation {
            Value::Object(object) => params_from_object(object),
            _ => Err("each operation of a batch must be a JSON object"),
        };
        prepared.push(match params {
            Ok(params) => {
                // A hit is answered as it is: it sends nothing upstream,
                // so it costs the batch nothing.
                let key = response_key(state, &params);
                match lookup(state, key.as_ref()).await {
                    Some(hit) => {
                        // No operation span of its own in a batch: named
                        // on the request's span, as a batch's executions
                        // are.
                        name_operation(hit.operation.name.as_deref(), "", &client);
                        BatchOperation::Answered(hit.answer)
                    }
                    None => match prepare(state, params, false).await {
                        Ok(prepared) => BatchOperation::Prepared(Box::new(prepared), key),
                        Err(answer) => BatchOperation::Answered(answer),
                    },
                }
            }
            Err(message) => BatchOperation::Answered(bad_request(StatusCode::BAD_REQUEST, message)),
        });
    }
    let started = std::time::Instant::now();
    let answers: Vec<Answer> = match batch_refusal(state, &prepared) {
        // Every operation of the batch that would run is refused.
        Some(refusal) => prepared
            .into_iter()
            .map(|operation| match operation {
                BatchOperation::Answered(answer) if answer.cache_use == ResponseCacheUse::Hit => {
                    answer
                }
                _ => refused(MediaType::Json, &refusal),
            })
            .collect(),
        None => {
            let result_size = crate::limits::ResultSize::default();
            let result_size = &result_size;
            // Answers from the whole-response cache are not built again:
            // each counts into the batch's one cap with what it holds, in
            // the batch's order, and one that crosses it is refused as an
            // execution crossing it is stopped.
            let prepared: Vec<BatchOperation> = prepared
                .into_iter()
                .map(|operation| match operation {
                    BatchOperation::Answered(answer)
                        if answer.cache_use == ResponseCacheUse::Hit =>
                    {
                        match count_built(state, result_size, &answer.body) {
                            Ok(()) => BatchOperation::Answered(answer),
                            Err(refusal) => {
                                BatchOperation::Answered(refused(MediaType::Json, &refusal))
                            }
                        }
                    }
                    operation => operation,
                })
                .collect();
            futures::future::join_all(prepared.into_iter().map(|prepared| {
                let client = client.clone();
                async move {
                    match prepared {
                        BatchOperation::Prepared(prepared, key) => {
                            run(
                                state,
                                *prepared,
                                MediaType::Json,
                                client,
                                key,
                                false,
                                Some(result_size),
                            )
                            .await
                        }
                        BatchOperation::Answered(answer) => answer,
                    }
                }
            }))
            .await
        }
    };
    for answer in &answers {
        record(state, answer, started);
    }
    let bodies: Vec<String> = answers.into_iter().map(|answer| answer.body).collect();
    Answer {
        counted_per_operation: true,
        ..Answer::new(StatusCode::OK, format!("[{}]", bodies.join(",")))
    }
}

/// Counts an answer built before (a whole-response cache hit) into a
/// batch's `result_size`: the refusal when it crosses the cap.
fn count_built(
    state: &AppState,
    result_size: &crate::limits::ResultSize,
    body: &str,
) -> Result<(), Refusal> {
    result_size.add_built(
        crate::limits::weigh_response_json(body),
        state.guard.limits().max_result_values,
    )
}

/// The refusal of a whole batch whose operations together cost more, or
/// ask more of an upstream, than one operation may.
fn batch_refusal(state: &AppState, prepared: &[BatchOperation]) -> Option<Refusal> {
    let analyses: Vec<&Analysis> = prepared
        .iter()
        .filter_map(|prepared| match prepared {
            BatchOperation::Prepared(prepared, _) => prepared.analysis.as_ref(),
            BatchOperation::Answered(_) => None,
        })
        .collect();
    let limits = state.guard.limits();
    let cost: u64 = analyses.iter().map(|analysis| analysis.cost).sum();
    if cost > limits.max_cost {
        let mut refusal = Refusal::new(
            RefusalCode::OperationTooCostly,
            format!(
                "the batch's operations together cost {cost}, more than one operation may ({}); send them in smaller batches",
                limits.max_cost
            ),
        );
        refusal.measured = Some((cost, limits.max_cost));
        return Some(refusal);
    }
    for source in Source::ALL {
        let demand: u64 = analyses
            .iter()
            .map(|analysis| analysis.requests(source))
            .sum();
        let limit = limits.demand.for_source(source);
        if demand > limit {
            let mut refusal = Refusal::new(
                RefusalCode::UpstreamDemandTooHigh,
                format!(
                    "the batch's operations together need about {demand} {source} requests, more than one operation may make ({limit}); send them in smaller batches"
                ),
            );
            refusal.source = Some(source);
            refusal.measured = Some((demand, limit));
            return Some(refusal);
        }
    }
    None
}

/// One operation of a batch: answered already (from the response cache,
/// or refused), or ready to run (with its response-cache key).
enum BatchOperation {
    Answered(Answer),
    Prepared(Box<Prepared>, Option<OperationKey>),
}

/// The whole-response cache's key of an operation, read from the request
/// before anything is parsed: the document's hash (of its text, or the
/// persisted-query hash sent in its place), name and variables. `None`
/// when the cache is off, or the request is one the cache must not answer
/// (a persisted-query extension the store would refuse, a hash that is not
/// its document's: those go the whole way, to be told why).
fn response_key(state: &AppState, params: &GraphqlParams) -> Option<OperationKey> {
    if !state.responses.enabled() {
        return None;
    }
    let persisted = match params
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("persistedQuery"))
    {
        None => None,
        Some(extension) => {
            let version_1 = extension.get("version").and_then(Value::as_u64) == Some(1);
            let hash = extension.get("sha256Hash").and_then(Value::as_str);
            match (version_1 && state.persisted_queries.enabled(), hash) {
                (true, Some(hash)) => Some((DocumentId::from_hex(hash)?, hash)),
                _ => return None,
            }
        }
    };
    let document = match (&params.query, persisted) {
        (Some(query), None) => DocumentId::of_text(query),
        (Some(query), Some((hash, _))) => {
            let document = DocumentId::of_text(query);
            (document == hash).then_some(document)?
        }
        // A hash alone is looked up only once it is registered: otherwise
        // a hash never registered would be answered from the cache (and
        // anyone could probe what others asked) where the store says
        // PERSISTED_QUERY_NOT_FOUND.
        (None, Some((hash, hex))) if state.persisted_queries.is_registered(hex) => hash,
        (None, _) => return None,
    };
    Some(state.responses.key(
        document,
        params.operation_name.as_deref(),
        params.variables.as_ref(),
    ))
}

/// The answer the whole-response cache holds for `key`.
async fn lookup(state: &AppState, key: Option<&OperationKey>) -> Option<Hit> {
    state.responses.get(key?).await.map(Hit::of)
}

/// A whole-response cache hit: its answer, and the operation it answers.
struct Hit {
    answer: Answer,
    operation: OperationLabel,
}

impl Hit {
    fn of(mut cached: CachedResponse) -> Self {
        let operation = std::mem::take(&mut cached.operation);
        Self {
            answer: Answer::cached(cached),
            operation,
        }
    }
}

/// Names a hit's operation in the access log line and its trace, as an
/// execution would have: nothing is parsed for a hit, so the name is the
/// one kept with the response.
fn name_hit(hit: &Hit, client: &ClientId) {
    tracing::Span::current().record("trade_graph.response_cache.hit", true);
    super::access_log::note(|span| {
        span.record("upstream_requests", 0_i64);
    });
    name_operation(hit.operation.name.as_deref(), hit.operation.kind, client);
}

/// An operation checked and ready to run.
struct Prepared {
    request: Request,
    analysis: Option<Analysis>,
    /// What the response's keys are put in order by.
    order: Option<SelectionOrder>,
    /// The document to register under its persisted-query hash once it ran.
    persist: Option<(PersistedHash, String)>,
}

/// Resolves a persisted query, checks the document's text, shape, cost and
/// demand: everything before running.
async fn prepare(
    state: &AppState,
    params: GraphqlParams,
    via_get: bool,
) -> Result<Prepared, Answer> {
    let persisted = state
        .persisted_queries
        .resolve(params.query.as_deref(), params.extensions.as_ref())
        .await
        .map_err(|error| {
            if error == PersistedQueryError::NotFound {
                Answer {
                    status_fixed: true,
                    ..coded_error(StatusCode::OK, &error.message(), error.code())
                }
            } else {
                coded_error(StatusCode::BAD_REQUEST, &error.message(), error.code())
            }
        })?;
    let query = match (params.query, &persisted) {
        (Some(query), _) => query,
        (
            None,
            Some(PersistedHash {
                document: Some(document),
                ..
            }),
        ) => document.to_string(),
        (None, _) => {
            return Err(bad_request(
                StatusCode::BAD_REQUEST,
                "the request has no `query`",
            ))
        }
    };
    // Before anything parses the text (the GET check and the document cache
    // do): the parser's recursion is what a hostile document overflows.
    state
        .guard
        .check_text(&query)
        .map_err(|refusal| refused(MediaType::Json, &refusal))?;
    if via_get && is_mutation(&query, params.operation_name.as_deref()) {
        return Err(coded_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations are not allowed over GET; use POST",
            codes::METHOD_NOT_ALLOWED,
        )
        .with_header(header::ALLOW, HeaderValue::from_static("POST")));
    }
    let persist = persisted
        .filter(|persisted| persisted.document.is_none())
        .map(|persisted| (persisted, query.clone()));
    let mut request = Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    if let Some(extensions) = params.extensions {
        for (key, value) in extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    analyze(
        state,
        Prepared {
            request,
            analysis: None,
            order: None,
            persist,
        },
    )
    .await
}

/// Parses (through the document cache) and analyzes the operation.
async fn analyze(state: &AppState, mut prepared: Prepared) -> Result<Prepared, Answer> {
    let checked = check_document(state, &mut prepared.request)
        .await
        .map_err(|refusal| refused(MediaType::Json, &refusal))?;
    if checked.as_ref().map(|checked| checked.kind) == Some(OperationType::Subscription) {
        return Err(coded_error(
            StatusCode::OK,
            "subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, not over HTTP",
            codes::SUBSCRIPTION_NEEDS_WEBSOCKET,
        ));
    }
    if let Some(checked) = checked {
        prepared.analysis = Some(checked.analysis);
        prepared.order = Some(checked.order);
    }
    Ok(prepared)
}

/// Answers one operation from the whole-response cache, or runs it and
/// encodes its response for `media`. A hit skips everything: parsing,
/// the limits (the entry exists only because the same document, name and
/// variables passed them here, under limits that do not change while the
/// process runs) and execution.
async fn execute(
    state: &AppState,
    params: GraphqlParams,
    media: MediaType,
    via_get: bool,
    client: ClientId,
) -> Answer {
    let key = response_key(state, &params);
    // Its name and type are recorded once the document is parsed, or from
    // the whole-response cache's entry for a hit.
    let span = operation_span();
    async {
        if let Some(hit) = lookup(state, key.as_ref()).await {
            name_hit(&hit, &client);
            return hit.answer;
        }
        if key.is_some() {
            tracing::Span::current().record("trade_graph.response_cache.hit", false);
        }
        match prepare(state, params, via_get).await {
            Ok(prepared) => run(state, prepared, media, client, key, via_get, None).await,
            Err(answer) => answer.for_media(media),
        }
    }
    .instrument(span)
    .await
}

/// Counts an answered operation in the metrics: its outcome, its errors'
/// codes, its duration.
fn record(state: &AppState, answer: &Answer, started: std::time::Instant) {
    state.metrics.operation(
        answer.outcome,
        answer.cache_use,
        answer.codes.iter().map(String::as_str),
        started.elapsed(),
    );
}

/// Runs a prepared operation in an operation slot; keeps its response in
/// the whole-response cache under `key` when it may be kept, and gives it
/// a validator when HTTP caches may keep it (`via_get`); a batch's
/// operations count their results into one `shared_result`.
async fn run(
    state: &AppState,
    prepared: Prepared,
    media: MediaType,
    client: ClientId,
    key: Option<OperationKey>,
    via_get: bool,
    shared_result: Option<&crate::limits::ResultSize>,
) -> Answer {
    let Prepared {
        request,
        analysis,
        order,
        persist,
    } = prepared;
    let cache_use = match key {
        Some(_) => ResponseCacheUse::Miss,
        None => ResponseCacheUse::None,
    };
    // Another replica's answer (Redis), now that the document passed the
    // guard here.
    let operation = label(analysis.as_ref());
    if let Some(key) = &key {
        if let Some(hit) = state.responses.get_shared(key, operation.clone()).await {
            let hit = Hit::of(hit);
            name_hit(&hit, &client);
            if let Some(result_size) = shared_result {
                if let Err(refusal) = count_built(state, result_size, &hit.answer.body) {
                    return refused(media, &refusal);
                }
            }
            return hit.answer;
        }
    }
    // Before execution starts: news arriving while it runs makes its
    // response out of date.
    let generations = state.responses.generations();
    let started = tokio::time::Instant::now();
    let Some((response, usage)) = run_operation_counted(
        state,
        request,
        analysis,
        order.as_ref(),
        client,
        shared_result,
    )
    .await
    else {
        return overloaded();
    };
    // A request error (the document did not parse or validate) has errors
    // without paths and no data; it is answered without a `data` member.
    if is_request_error(&response) {
        return Answer {
            cache_use,
            ..request_error(media, &response)
        };
    }
    // Only a document that ran is kept under its hash.
    if let Some((hash, document)) = persist {
        state.persisted_queries.register(&hash, &document).await;
    }
    // Serialized once, straight to text (this is on every request's path).
    let body = serde_json::to_string(&response).unwrap_or_else(|_| {
        r#"{"errors":[{"message":"the response could not be serialized"}]}"#.to_owned()
    });
    let mut cacheable = None;
    let freshness = response
        .errors
        .is_empty()
        .then(|| state.responses.freshness(&usage))
        .flatten();
    if let (Some(freshness), true) = (freshness, key.is_some() || via_get) {
        let upstream = response
            .extensions
            .get("upstream")
            .and_then(|upstream| serde_json::to_string(upstream).ok());
        if let Some(split) = upstream.and_then(|upstream| SplitResponse::of(&body, &upstream)) {
            cacheable = Some(Cacheable {
                max_age: freshness.ttl.saturating_sub(started.elapsed()),
                etag: split.etag.clone(),
            });
            if let Some(key) = key {
                state
                    .responses
                    .store(key, split, operation, freshness, started, generations)
                    .await;
            }
        }
    }
    Answer {
        cacheable,
        cache_use,
        ..Answer::of(StatusCode::OK, &response, body)
    }
}

impl Answer {
    /// A request error prepared before the media type mattered: 400 with
    /// `application/graphql-response+json`, as the spec asks, else as is.
    fn for_media(mut self, media: MediaType) -> Self {
        if self.status == StatusCode::OK
            && media == MediaType::GraphqlResponseJson
            && !self.status_fixed
        {
            self.status = StatusCode::BAD_REQUEST;
        }
        self
    }
}

/// A response without data: 400 with `application/graphql-response+json`,
/// 200 with `application/json`, as the GraphQL-over-HTTP spec asks.
fn request_error(media: MediaType, response: &Response_) -> Answer {
    let body = serde_json::to_string(&RequestErrorBody {
        errors: &response.errors,
        extensions: &response.extensions,
    })
    .unwrap_or_else(|_| {
        r#"{"errors":[{"message":"the response could not be serialized"}]}"#.to_owned()
    });
    let status = if media == MediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Answer::of(status, response, body)
}

/// An operation refused by a limit before it ran: a request error, with the
/// (empty) upstream accounting every response carries.
fn refused(media: MediaType, refusal: &Refusal) -> Answer {
    request_error(media, &refusal_response(refusal))
}

/// Every operation slot is taken: come back in a second.
fn overloaded() -> Answer {
    Answer {
        outcome: OperationOutcome::Refused,
        codes: vec![codes::SERVER_OVERLOADED.to_owned()],
        ..Answer::new(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "errors": [{
                "message": "the gateway is running as many operations as it is configured for; retry after 1 s",
                "extensions": { "code": codes::SERVER_OVERLOADED, "retryAfterSeconds": 1 }
            }] })
            .to_string(),
        )
    }
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// A response to a request error: no `data` member at all.
#[derive(serde::Serialize)]
struct RequestErrorBody<'a> {
    errors: &'a [async_graphql::ServerError],
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_negotiation_follows_the_spec() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }
}
