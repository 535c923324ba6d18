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

use async_graphql::{Request, Variables};
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::AppState;
use crate::graph::OperationContext;
use crate::limits::Refusal;
use crate::sources::pacing::ClientId;
use crate::sources::UpstreamUsage;

/// async-graphql's response (axum's `Response` is the HTTP one).
type Response_ = async_graphql::Response;

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

/// A request that is not a well-formed GraphQL request.
fn bad_request(status: StatusCode, media: MediaType, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }] });
    (
        status,
        [(header::CONTENT_TYPE, media.header())],
        body.to_string(),
    )
        .into_response()
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        [(header::CONTENT_TYPE, MediaType::Json.header())],
        json!({ "errors": [{ "message": "Accept must allow application/json or application/graphql-response+json" }] })
            .to_string(),
    )
        .into_response()
}

/// The four members of a GraphQL request, checked for type.
struct GraphqlParams {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn params_from_object(mut object: Map<String, Value>) -> Result<GraphqlParams, &'static str> {
    let query = match object.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err("`query` must be a string"),
        None => return Err("the request has no `query`"),
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

/// `GET /graphql?query=...&variables=...` (variables and extensions as JSON text).
pub(super) async fn get(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let mut object = Map::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" if !value.is_empty() => {
                match serde_json::from_str::<Value>(&value) {
                    Ok(parsed) => parsed,
                    Err(_) => {
                        return bad_request(
                            StatusCode::BAD_REQUEST,
                            media,
                            &format!("`{key}` is not valid JSON"),
                        );
                    }
                }
            }
            "variables" | "extensions" => Value::Null,
            _ => Value::String(value.into_owned()),
        };
        object.insert(key.into_owned(), value);
    }
    match params_from_object(object) {
        Ok(params) => {
            execute(
                &state,
                params,
                media,
                true,
                state
                    .clients
                    .of(&headers, peer.map(|Extension(ConnectInfo(peer))| peer)),
            )
            .await
        }
        Err(message) => bad_request(StatusCode::BAD_REQUEST, media, message),
    }
}

/// `POST /graphql` with a JSON body.
pub(super) async fn post(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
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
        return bad_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "POST bodies must be application/json",
        );
    }
    let object = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return bad_request(
                StatusCode::BAD_REQUEST,
                media,
                "the body must be a JSON object",
            )
        }
        Err(_) => return bad_request(StatusCode::BAD_REQUEST, media, "the body is not valid JSON"),
    };
    match params_from_object(object) {
        Ok(params) => {
            execute(
                &state,
                params,
                media,
                false,
                state
                    .clients
                    .of(&headers, peer.map(|Extension(ConnectInfo(peer))| peer)),
            )
            .await
        }
        Err(message) => bad_request(StatusCode::BAD_REQUEST, media, message),
    }
}

/// Runs one operation and encodes its response for `media`.
async fn execute(
    state: &AppState,
    params: GraphqlParams,
    media: MediaType,
    via_get: bool,
    client: ClientId,
) -> Response {
    // Before anything parses the text (the GET check and the document cache
    // do): the parser's recursion is what a hostile document overflows.
    if let Err(refusal) = state.guard.check_text(&params.query) {
        return refused(media, &refusal);
    }
    if via_get && is_mutation(&params) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [
                (header::ALLOW, HeaderValue::from_static("POST")),
                (header::CONTENT_TYPE, media.header()),
            ],
            json!({ "errors": [{ "message": "mutations are not allowed over GET; use POST" }] })
                .to_string(),
        )
            .into_response();
    }
    let Ok(_permit) = state.operations.try_acquire() else {
        return overloaded(media);
    };
    let mut request = Request::new(params.query);
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
    if let Err(refusal) = state.documents.attach(&mut request, &state.guard).await {
        return refused(media, &refusal);
    }
    // A document that does not parse is the schema's to report.
    let operation_name = request.operation_name.take();
    let variables = std::mem::take(&mut request.variables);
    let analysis = request.parsed_query().ok().map(|document| {
        state
            .guard
            .analyze(document, operation_name.as_deref(), &variables)
    });
    request.operation_name = operation_name;
    request.variables = variables;
    let analysis = match analysis {
        Some(Err(refusal)) => return refused(media, &refusal),
        Some(Ok(analysis)) => Some(analysis),
        None => None,
    };
    let max_values = state.guard.limits().max_result_values;
    let schema = match &analysis {
        Some(analysis) if !analysis.needs_result_count(max_values) => &state.schema,
        _ => &state.counted_schema,
    };
    let operation = OperationContext::new(&state.sources, client);
    let usage = operation.usage.clone();
    let request = request
        .data(operation.result_size.clone())
        .data(operation.clone());
    let mut response = match operation.run(schema.execute(request)).await {
        Ok(response) => response,
        // Stopped part-way: what was built is dropped, the refusal is the answer.
        Err(refusal) => Response_::from_errors(vec![refusal.to_server_error()]),
    };
    if let Some(cost) = analysis.and_then(|analysis| {
        async_graphql::Value::from_json(analysis.to_json(state.guard.limits().max_cost)).ok()
    }) {
        response.extensions.insert("cost".into(), cost);
    }
    if let Ok(upstream) = async_graphql::Value::from_json(usage.to_json()) {
        response.extensions.insert("upstream".into(), upstream);
    }

    // A request error (the document did not parse or validate) has errors
    // without paths and no data; it is answered without a `data` member.
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    if is_request_error {
        return request_error(media, &response);
    }
    // Serialized once, straight to text (this is on every request's path).
    let body = serde_json::to_string(&response).unwrap_or_else(|_| {
        r#"{"errors":[{"message":"the response could not be serialized"}]}"#.to_owned()
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, media.header())],
        body,
    )
        .into_response()
}

/// A response without data: 400 with `application/graphql-response+json`,
/// 200 with `application/json`, as the GraphQL-over-HTTP spec asks.
fn request_error(media: MediaType, response: &Response_) -> Response {
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
    (status, [(header::CONTENT_TYPE, media.header())], body).into_response()
}

/// An operation refused by a limit before it ran: a request error, with the
/// (empty) upstream accounting every response carries.
fn refused(media: MediaType, refusal: &Refusal) -> Response {
    let mut response = Response_::from_errors(vec![refusal.to_server_error()]);
    if let Ok(upstream) = async_graphql::Value::from_json(UpstreamUsage::default().to_json()) {
        response.extensions.insert("upstream".into(), upstream);
    }
    request_error(media, &response)
}

/// Every operation slot is taken: come back in a second.
fn overloaded(media: MediaType) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, HeaderValue::from_static("1")),
            (header::CONTENT_TYPE, media.header()),
        ],
        json!({ "errors": [{
            "message": "the gateway is running as many operations as it is configured for; retry after 1 s",
            "extensions": { "code": "SERVER_OVERLOADED", "retryAfterSeconds": 1 }
        }] })
        .to_string(),
    )
        .into_response()
}

/// A response to a request error: no `data` member at all.
#[derive(serde::Serialize)]
struct RequestErrorBody<'a> {
    errors: &'a [async_graphql::ServerError],
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Whether the operation to run is a mutation (refused over GET). The schema
/// has no mutations, but the spec asks GET to refuse them with 405 rather than
/// attempt them.
fn is_mutation(params: &GraphqlParams) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&params.query) else {
        return false;
    };
    let operation_type = match (&document.operations, &params.operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get(name.as_str())
            .map(|operation| operation.node.ty),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values()
            .next()
            .map(|operation| operation.node.ty),
        _ => None,
    };
    operation_type == Some(OperationType::Mutation)
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
