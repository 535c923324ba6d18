//! The operation pipeline, apart from any transport: what HTTP (GET, POST
//! and batches) and WebSocket do with one operation between reading it and
//! writing its answer, in the order it runs.
//!
//! 1. [`check_document`]: parse (through the document cache), fill variable
//!    defaults, load the reference lists the estimate reads, hold the
//!    document to the limits (shape, cost, upstream demand), note which
//!    operation it selects and in what order its fields are answered.
//! 2. [`run_operation`]: in an operation slot, its result counted against
//!    the cap as it is built (a batch's operations into one), with ITA's
//!    estimate reserved, through the operation's loaders; then the response
//!    in the order asked, with `extensions.cost` and `extensions.upstream`,
//!    and its request errors coded.
//! 3. [`outcome`] / [`record_response`]: how it ended, for the metrics.
//!
//! The transports own only what is theirs: media types, status codes,
//! batching and HTTP caching (`graphql_http`), the socket protocol
//! (`websocket`).

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Variables};
use tracing::Instrument;

use super::AppState;
use crate::error_codes as codes;
use crate::graph::OperationContext;
use crate::limits::{Analysis, Refusal};
use crate::metrics::{OperationOutcome, ResponseCacheUse};
use crate::operation::{OperationLabel, SelectionOrder};
use crate::source::Source;
use crate::sources::pacing::ClientId;
use crate::sources::UpstreamUsage;

/// async-graphql's response (axum's `Response` is the HTTP one).
pub(super) type Response_ = async_graphql::Response;

/// The span of one operation (`graphql.operation`, renamed "query Name"
/// once its name and type are known).
pub(super) fn operation_span() -> tracing::Span {
    tracing::info_span!(
        "graphql.operation",
        otel.name = "graphql.operation",
        graphql.operation.name = tracing::field::Empty,
        graphql.operation.type = tracing::field::Empty,
        trade_graph.response_cache.hit = tracing::field::Empty,
    )
}

/// Names the operation being answered: on the request's span (the access
/// log line and every line logged within the request) with the client it
/// counts against, and on the current operation span (named as the
/// GraphQL semantic conventions ask: "query CountryPage").
pub(super) fn name_operation(name: Option<&str>, kind: &'static str, client: &ClientId) {
    super::access_log::note(|span| {
        if let Some(name) = name {
            span.record("operation_name", name);
        }
        span.record("client", client.0.as_str());
    });
    if kind.is_empty() {
        return;
    }
    let operation_span = tracing::Span::current();
    operation_span.record("graphql.operation.type", kind);
    if let Some(name) = name {
        operation_span.record("graphql.operation.name", name);
    }
    if crate::telemetry::exporting() {
        let span_name = match name {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        };
        crate::telemetry::rename(&operation_span, span_name);
    }
}

/// The label a response is kept under in the whole-response cache.
pub(super) fn label(analysis: Option<&Analysis>) -> OperationLabel {
    OperationLabel {
        name: analysis
            .and_then(|analysis| analysis.operation_name.as_deref())
            .map(std::sync::Arc::from),
        kind: analysis.map_or("", |analysis| analysis.operation_type),
    }
}

/// A document that parsed, held to the limits: what it costs and asks of
/// the upstreams, and what kind of operation it runs.
pub(super) struct Checked {
    pub analysis: Analysis,
    pub kind: OperationType,
    pub order: SelectionOrder,
}

/// Parses `request`'s document (through the document cache) and holds it
/// to the limits. `None`: it does not parse, which the schema reports
/// (GRAPHQL_PARSE_FAILED) when it runs.
pub(super) async fn check_document(
    state: &AppState,
    request: &mut Request,
) -> Result<Option<Checked>, Refusal> {
    let document = state
        .documents
        .attach(request, &state.guard)
        .instrument(tracing::info_span!("graphql.parse"))
        .await?;
    let operation_name = request.operation_name.take();
    let mut variables = std::mem::take(&mut request.variables);
    let mut lists = None;
    if let Some(document) = &document {
        fill_variable_defaults(document, operation_name.as_deref(), &mut variables);
        lists = load_lists_for_estimate(state, request, document, &variables).await;
    }
    // The limits and the cost: the gateway's validation before anything
    // runs (async-graphql's own validation runs inside graphql.execute).
    let _validate = tracing::info_span!("graphql.validate").entered();
    let checked = document.map(|document| {
        let kind = operation_type(&document, operation_name.as_deref());
        let order = SelectionOrder::new(document.clone(), operation_name.as_deref(), &variables);
        let analyze = || {
            state
                .guard
                .analyze(&document, operation_name.as_deref(), &variables)
        };
        match &lists {
            Some(lists) => lists.estimating(analyze),
            None => analyze(),
        }
        // A refused operation still says what loading its lists sent.
        .map_err(|mut refusal| {
            if let Some(lists) = &lists {
                refusal.upstream = Some(lists.usage().to_json());
            }
            refusal
        })
        .map(|analysis| Checked {
            analysis,
            // An operation name that names nothing is the schema's to
            // report; as a query.
            kind: kind.unwrap_or(OperationType::Query),
            order,
        })
    });
    request.operation_name = operation_name;
    request.variables = variables;
    checked.transpose()
}

/// Loads the reference lists a drill-down's estimate reads
/// ([`crate::graph::lists_for_estimate`]) when they are not in memory: one
/// keyless Comtrade request each, through the same path as every other
/// (budget, pacing, breaker), kept a day. The operation's fields then
/// answer from these lists ([`crate::graph::EstimateLists`]). A list that
/// cannot be loaded leaves the estimate at the most any list allows, and
/// the fields that need it say why.
pub(super) async fn load_lists_for_estimate(
    state: &AppState,
    request: &mut Request,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Option<crate::graph::EstimateLists> {
    let needed = crate::graph::lists_for_estimate(document, variables);
    if needed.is_empty() {
        return None;
    }
    let comtrade = &state.sources.comtrade;
    // Within the operation's time, as its fields would be.
    let timeout = state.sources.operation_timeout;
    let loaded = futures::future::join_all(needed.into_iter().map(|classification| async move {
        let usage = UpstreamUsage::with_limits(state.sources.demand);
        let list = tokio::time::timeout(timeout, comtrade.commodities(&classification, &usage))
            .await
            .unwrap_or(Err(crate::error::Error::UpstreamTimeout {
                upstream: Source::Comtrade,
                after: timeout,
            }));
        (classification, list, usage)
    }))
    .instrument(tracing::info_span!("graphql.estimate.reference_lists"))
    .await;
    let lists = crate::graph::EstimateLists::new(loaded);
    request.data.insert(lists.clone());
    Some(lists)
}

/// Gives every variable the operation declares with a default, and that
/// the request leaves out, its default (the spec's CoerceVariableValues).
/// async-graphql applies defaults where a field argument reads a variable,
/// but not in `@skip(if:)` and `@include(if:)`, which it evaluates before
/// running: `@include(if: $yes)` with `$yes: Boolean = true` left the field
/// out.
pub(super) fn fill_variable_defaults(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &mut async_graphql::Variables,
) {
    let Some((_, operation)) = crate::limits::selected_operation(document, operation_name) else {
        return;
    };
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        if let Some(default) = &definition.default_value {
            if !variables.contains_key(&definition.name.node) {
                variables.insert(definition.name.node.clone(), default.node.clone());
            }
        }
    }
}

/// How `response` ended, and its errors' codes, for the metrics.
pub(super) fn outcome(response: &Response_) -> (OperationOutcome, Vec<String>) {
    let codes: Vec<String> = response
        .errors
        .iter()
        .map(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .and_then(|code| match code {
                    async_graphql::Value::String(code) => Some(code.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "UNKNOWN".to_owned())
        })
        .collect();
    let outcome = match (
        response.data != async_graphql::Value::Null,
        codes.is_empty(),
    ) {
        (true, true) => OperationOutcome::Ok,
        (true, false) => OperationOutcome::Partial,
        (false, _) => OperationOutcome::Refused,
    };
    (outcome, codes)
}

/// Counts an operation answered over a WebSocket (a query, or the refusal
/// of a subscription) in the metrics, as [`record`] does over HTTP.
pub(super) fn record_response(state: &AppState, response: &Response_, started: std::time::Instant) {
    let (outcome, codes) = outcome(response);
    state.metrics.operation(
        outcome,
        ResponseCacheUse::None,
        codes.iter().map(String::as_str),
        started.elapsed(),
    );
}

/// Whether `response` is a request error: no data, and errors without
/// paths (the document did not parse or validate, or a limit refused it).
pub(super) fn is_request_error(response: &Response_) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Gives async-graphql's own parse and validation errors, which have no
/// code, theirs: GRAPHQL_PARSE_FAILED when the document did not parse
/// (`parsed` false), else GRAPHQL_VALIDATION_FAILED.
pub(super) fn code_request_errors(response: &mut Response_, parsed: bool) {
    if !is_request_error(response) {
        return;
    }
    let code = if parsed {
        codes::GRAPHQL_VALIDATION_FAILED
    } else {
        codes::GRAPHQL_PARSE_FAILED
    };
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", code);
        }
    }
}

/// Runs one checked operation (`analysis` is `None` when its document did
/// not parse) in an operation slot, for `client`; `None` when every slot is
/// taken. The response carries `extensions.cost` and `extensions.upstream`,
/// and its request errors their codes.
pub(super) async fn run_operation(
    state: &AppState,
    request: Request,
    analysis: Option<Analysis>,
    order: Option<&SelectionOrder>,
    client: ClientId,
) -> Option<Response_> {
    run_operation_counted(state, request, analysis, order, client, None)
        .await
        .map(|(response, _)| response)
}

/// [`run_operation`], with the operation's upstream accounting (what the
/// whole-response cache judges a response's lifetime by), its result
/// counted into `shared_result` when it is one of a batch's.
pub(super) async fn run_operation_counted(
    state: &AppState,
    request: Request,
    analysis: Option<Analysis>,
    order: Option<&SelectionOrder>,
    client: ClientId,
    shared_result: Option<&crate::limits::ResultSize>,
) -> Option<(Response_, UpstreamUsage)> {
    let _permit = state.operations.try_acquire().ok()?;
    // No analysis: the document did not parse.
    let parsed = analysis.is_some();
    let schema = &state.schema;
    let mut operation = OperationContext::new(&state.sources, client);
    // A batch's operations count into one result cap, as they are held to
    // one operation's cost and demand (ten operations each under the cap
    // answered ten times it).
    if let Some(shared) = shared_result {
        operation.result_size = shared.clone();
    }
    let usage = operation.usage.clone();
    // The reference lists loaded for the estimate count whatever runs next.
    if let Some(lists) = request
        .data
        .get(&std::any::TypeId::of::<crate::graph::EstimateLists>())
        .and_then(|lists| lists.downcast_ref::<crate::graph::EstimateLists>())
    {
        lists.count_in(&usage);
    }
    // What the operation may send Comtrade at most: a plan's requests fit
    // the estimate by construction; splitting a truncated answer is done
    // only while it has room (`UpstreamUsage::try_commit`).
    if let Some(analysis) = &analysis {
        usage.set_estimate(Source::Comtrade, analysis.requests(Source::Comtrade));
    }
    let name = analysis
        .as_ref()
        .and_then(|analysis| analysis.operation_name.as_deref());
    let analysis_name = name.map(str::to_owned);
    name_operation(
        name,
        analysis
            .as_ref()
            .map_or("", |analysis| analysis.operation_type),
        usage.client(),
    );
    // ITA's requests are not planned ahead the way Comtrade's are: the
    // operation's estimate (an upper bound) is reserved from ITA's budget,
    // when one is set, before anything is sent, so that many searches in
    // one operation (a bulk screening) are answered whole or refused whole.
    let ita_estimate = analysis
        .as_ref()
        .map_or(0, |analysis| analysis.requests(Source::Ita));
    let reserved = state
        .sources
        .ita
        .reserve_estimate(ita_estimate, &usage)
        .await;
    let mut response = match reserved {
        Err(error) => {
            use async_graphql::ErrorExtensions;
            Response_::from_errors(vec![error
                .extend()
                .into_server_error(async_graphql::Pos::default())])
        }
        Ok(()) => {
            let request = request
                .data(operation.result_size.clone())
                .data(operation.clone());
            let execute = tracing::info_span!("graphql.execute");
            let max_values = state.guard.limits().max_result_values;
            let execution = operation
                .result_size
                .counting_errors(max_values, schema.execute(request));
            match operation.run(execution).instrument(execute).await {
                Ok(response) => response,
                // Stopped part-way: what was built is dropped, the refusal is the answer.
                Err(refusal) => Response_::from_errors(vec![refusal.to_server_error()]),
            }
        }
    };
    // async-graphql inserts each field when it completes; clients get
    // them in the order they asked for them.
    if let Some(order) = order {
        order.apply(&mut response.data, state.guard.schema());
    }
    if analysis
        .as_ref()
        .is_some_and(|analysis| analysis.introspection)
    {
        crate::graph::descriptions::unwrap_introspection(&mut response.data);
    }
    if let Some(cost) = analysis.and_then(|analysis| {
        async_graphql::Value::from_json(analysis.to_json(state.guard.limits().max_cost)).ok()
    }) {
        response.extensions.insert("cost".into(), cost);
    }
    let upstream_requests: u64 = crate::source::Source::ALL
        .iter()
        .map(|source| usage.requests(*source))
        .sum();
    super::access_log::note(|span| {
        span.record(
            "upstream_requests",
            i64::try_from(upstream_requests).unwrap_or(i64::MAX),
        );
    });
    if let Ok(upstream) = async_graphql::Value::from_json(usage.to_json()) {
        response.extensions.insert("upstream".into(), upstream);
    }
    code_request_errors(&mut response, parsed);
    // Named only once it ran: a document that does not validate takes no
    // name's place (else junk names would crowd out the real ones).
    if !is_request_error(&response) {
        state.metrics.operation_named(analysis_name.as_deref());
    }
    Some((response, usage))
}

/// The response to an operation `refusal` stopped before it ran.
pub(super) fn refusal_response(refusal: &Refusal) -> Response_ {
    let mut response = Response_::from_errors(vec![refusal.to_server_error()]);
    if let Some(cost) = refusal
        .cost
        .clone()
        .and_then(|cost| async_graphql::Value::from_json(cost).ok())
    {
        response.extensions.insert("cost".into(), cost);
    }
    let upstream = refusal
        .upstream
        .clone()
        .unwrap_or_else(|| UpstreamUsage::default().to_json());
    if let Ok(upstream) = async_graphql::Value::from_json(upstream) {
        response.extensions.insert("upstream".into(), upstream);
    }
    response
}

/// Whether the operation to run is a mutation (refused over GET). The schema
/// has no mutations, but the spec asks GET to refuse them with 405 rather than
/// attempt them.
pub(super) fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    operation_type(&document, operation_name) == Some(OperationType::Mutation)
}

/// The kind of the operation `operation_name` selects in `document` (the
/// only one when no name is given); `None` when it selects none.
pub(super) fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    crate::limits::selected_operation(document, operation_name).map(|(_, operation)| operation.ty)
}
