//! Traces over OTLP, received by a real OTLP/HTTP receiver: this test
//! serves `POST /v1/traces` and decodes what the exporter sends with the
//! specification's own protobuf messages (`opentelemetry-proto`). One
//! operation through two sources, sent with a W3C `traceparent`, arrives
//! as one tree in the caller's trace: the server span under the caller's
//! span, the operation named as the GraphQL conventions ask, its parse,
//! validate and execute, a batch per loader and an attempt per upstream
//! request, whose `traceparent` the upstream receives.
//!
//! Alone in its file: it installs the process-wide subscriber.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use tokio::sync::mpsc;

use common::TestGateway;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A span as received.
#[derive(Clone, Debug)]
struct Received {
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
    attributes: HashMap<String, String>,
    /// Attributes sent as OTLP ints and bools (the others are strings).
    ints: HashMap<String, i64>,
    bools: HashMap<String, bool>,
    /// The OTLP status code: 0 unset, 1 ok, 2 error.
    status: i32,
    service: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        Some(AnyValue::StringValue(text)) => text.clone(),
        Some(AnyValue::IntValue(number)) => number.to_string(),
        Some(AnyValue::BoolValue(flag)) => flag.to_string(),
        Some(AnyValue::DoubleValue(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1:0; every span it decodes goes to the
/// channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>, Arc<AtomicBool>) {
    let (sender, received) = mpsc::unbounded_channel();
    let refusing = Arc::new(AtomicBool::new(false));
    let refuse = refusing.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sender = sender.clone();
            let refuse = refuse.clone();
            async move {
                if refuse.load(Ordering::SeqCst) {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [("content-type", "text/plain")],
                        Bytes::from_static(b"collector overloaded"),
                    );
                }
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|resource| &resource.attributes)
                        .find(|attribute| attribute.key == "service.name")
                        .map(|attribute| text(attribute.value.as_ref()))
                        .unwrap_or_default();
                    for span in resource
                        .scope_spans
                        .into_iter()
                        .flat_map(|scope| scope.spans)
                    {
                        let attributes = span
                            .attributes
                            .iter()
                            .map(|attribute| {
                                (attribute.key.clone(), text(attribute.value.as_ref()))
                            })
                            .collect();
                        let ints = span
                            .attributes
                            .iter()
                            .filter_map(|attribute| {
                                match attribute.value.as_ref()?.value.as_ref()? {
                                    AnyValue::IntValue(number) => {
                                        Some((attribute.key.clone(), *number))
                                    }
                                    _ => None,
                                }
                            })
                            .collect();
                        let bools = span
                            .attributes
                            .iter()
                            .filter_map(|attribute| {
                                match attribute.value.as_ref()?.value.as_ref()? {
                                    AnyValue::BoolValue(flag) => {
                                        Some((attribute.key.clone(), *flag))
                                    }
                                    _ => None,
                                }
                            })
                            .collect();
                        let status = span.status.as_ref().map_or(0, |status| status.code);
                        let _ = sender.send(Received {
                            ints,
                            bools,
                            status,
                            name: span.name,
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent: hex(&span.parent_span_id),
                            attributes,
                            service: service.clone(),
                        });
                    }
                }
                // An empty ExportTraceServiceResponse: everything accepted.
                (
                    axum::http::StatusCode::OK,
                    [("content-type", "application/x-protobuf")],
                    Bytes::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received, refusing)
}

/// Takes spans from `received` into `spans` until `done` holds; waits on
/// the spans themselves, whatever the machine's speed.
async fn until(
    received: &mut mpsc::UnboundedReceiver<Received>,
    spans: &mut Vec<Received>,
    done: impl Fn(&[Received]) -> bool,
) {
    while !done(spans) {
        let span = tokio::time::timeout(std::time::Duration::from_secs(120), received.recv())
            .await
            .expect("the exporter sends within two minutes")
            .expect("the receiver runs");
        spans.push(span);
    }
}

/// Sends `query` with a `traceparent` in `trace`.
async fn traced(gateway: &TestGateway, trace: &str, query: &str) -> serde_json::Value {
    gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .header("traceparent", format!("00-{trace}-{CALLER_SPAN}-01"))
        .body(serde_json::json!({ "query": query }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sends what the exporter holds now (it blocks: off the runtime's threads).
async fn flush(telemetry: trade_graph::telemetry::Telemetry) -> trade_graph::telemetry::Telemetry {
    tokio::task::spawn_blocking(move || {
        telemetry.flush();
        telemetry
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operation_through_two_sources_is_one_trace_in_the_callers() {
    let (endpoint, mut received, refusing) = receiver().await;
    // The variables of the OpenTelemetry specification, as an operator sets
    // them; set before anything else runs in this process.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    std::env::remove_var("OTEL_SERVICE_NAME");
    let telemetry = trade_graph::logging::init(&trade_graph::config::Config::sample())
        .expect("the exporter builds");
    assert!(telemetry.is_on());

    // The whole-response cache on, and two attempts per upstream request.
    let gateway =
        TestGateway::start_with(&["--response-cache-max-mb", "16", "--retry-max-attempts", "2"])
            .await;
    let query = r#"query CountryPage { jurisdiction(iso3: "BRA") {
        name
        interventionsAffecting(limit: 1) { totalCount }
        tradeFlows(periods: ["2022"], flow: EXPORT) { value } } }"#;
    let answer = traced(&gateway, TRACE_ID, query).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let telemetry = flush(telemetry).await;

    // Until the server span has arrived (it ends last).
    let mut spans: Vec<Received> = Vec::new();
    until(&mut received, &mut spans, |spans| {
        spans
            .iter()
            .any(|span| span.name == "POST /graphql" && span.trace_id == TRACE_ID)
    })
    .await;
    let ours: Vec<&Received> = spans
        .iter()
        .filter(|span| span.trace_id == TRACE_ID)
        .collect();
    let named = |name: &str| -> Vec<&Received> {
        ours.iter()
            .copied()
            .filter(|span| span.name == name)
            .collect()
    };
    let one = |name: &str| -> &Received {
        let found = named(name);
        assert_eq!(found.len(), 1, "one {name} in {ours:#?}");
        found[0]
    };

    let server = one("POST /graphql");
    assert_eq!(
        server.parent, CALLER_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(server.service, "trade-graph");
    assert_eq!(server.ints["http.response.status_code"], 200, "an int");
    assert_eq!(server.attributes["operation_name"], "CountryPage");

    let operation = one("query CountryPage");
    assert_eq!(operation.parent, server.span_id);
    assert_eq!(
        operation.attributes["graphql.operation.name"],
        "CountryPage"
    );
    assert_eq!(operation.attributes["graphql.operation.type"], "query");
    for stage in ["graphql.parse", "graphql.validate", "graphql.execute"] {
        assert_eq!(one(stage).parent, operation.span_id, "{stage}");
    }
    let execute = one("graphql.execute");

    let batches = named("source.batch");
    assert!(
        batches.len() >= 2,
        "a batch per source at least: {batches:#?}"
    );
    assert!(batches.iter().all(|batch| batch.parent == execute.span_id));
    let fetches = named("GET comtrade")
        .into_iter()
        .chain(named("POST gta"))
        .collect::<Vec<_>>();
    let sources: Vec<&str> = fetches
        .iter()
        .map(|fetch| fetch.attributes["trade_graph.source"].as_str())
        .collect();
    assert!(
        sources.contains(&"gta") && sources.contains(&"comtrade"),
        "{fetches:#?}"
    );
    let requests = named("upstream gta")
        .into_iter()
        .chain(named("upstream comtrade"))
        .collect::<Vec<_>>();
    for request in &requests {
        assert!(
            batches.iter().any(|batch| batch.span_id == request.parent),
            "an upstream request is under its batch: {request:?}"
        );
        assert!(!request.bools["trade_graph.cache.hit"], "{request:?}");
        assert!(!request.bools["trade_graph.stale"], "{request:?}");
        assert_eq!(request.status, 0, "not an error: {request:?}");
    }
    for fetch in &fetches {
        assert!(
            requests
                .iter()
                .any(|request| request.span_id == fetch.parent),
            "an attempt is under its upstream request: {fetch:?}"
        );
        assert_eq!(fetch.ints["http.response.status_code"], 200, "an int");
        assert_eq!(fetch.ints["http.request.resend_count"], 0, "an int");
        assert!(!fetch.bools["trade_graph.cache.hit"], "{fetch:?}");
        assert_eq!(fetch.status, 0, "not an error: {fetch:?}");
        assert!(!fetch.attributes["url.path"].contains('?'), "{fetch:?}");
        for value in fetch.attributes.values() {
            assert!(
                !value.contains(trade_graph::sample::SAMPLE_KEY),
                "no key in spans: {fetch:?}"
            );
        }
    }

    // Each upstream request carried the trace on, its parent the attempt.
    let sent = gateway.simulator.traceparents();
    assert!(sent.len() >= 2, "{sent:?}");
    for (path, traceparent) in &sent {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts[1], TRACE_ID, "{path}: {traceparent}");
        assert!(
            fetches.iter().any(|fetch| fetch.span_id == parts[2]),
            "{path}: parent {} is an attempt's span",
            parts[2]
        );
    }

    // The same operation again, answered whole from the response cache:
    // its trace still names the operation and the client.
    const HIT_TRACE: &str = "5bf92f3577b34da6a3ce929d0e0e4737";
    let answer = traced(&gateway, HIT_TRACE, query).await;
    assert_eq!(
        answer["extensions"]["upstream"]["responseCache"]["hit"], true,
        "{answer}"
    );
    let telemetry = flush(telemetry).await;
    until(&mut received, &mut spans, |spans| {
        spans
            .iter()
            .any(|span| span.name == "POST /graphql" && span.trace_id == HIT_TRACE)
    })
    .await;
    let in_trace = |spans: &[Received], trace: &str, name: &str| -> Vec<Received> {
        spans
            .iter()
            .filter(|span| span.trace_id == trace && span.name == name)
            .cloned()
            .collect()
    };
    let server = &in_trace(&spans, HIT_TRACE, "POST /graphql")[0];
    assert_eq!(
        server.attributes["operation_name"], "CountryPage",
        "{server:?}"
    );
    assert_eq!(server.attributes["client"], "127.0.0.1", "{server:?}");
    let operation = &in_trace(&spans, HIT_TRACE, "query CountryPage");
    assert_eq!(operation.len(), 1, "{spans:#?}");
    assert_eq!(operation[0].parent, server.span_id);
    assert!(operation[0].bools["trade_graph.response_cache.hit"]);
    assert_eq!(
        operation[0].attributes["graphql.operation.name"],
        "CountryPage"
    );

    // GTA failing: each attempt is an Error with its status and resend
    // count as ints, and so is the upstream request they were for.
    const FAILED_TRACE: &str = "6bf92f3577b34da6a3ce929d0e0e4738";
    gateway.simulator.inject_fault(
        trade_graph::sources::Source::Gta,
        trade_graph::sample::Fault::Status {
            status: 503,
            body: "down for maintenance".into(),
        },
    );
    let failing = r#"query Failing { jurisdiction(iso3: "DEU") { interventionsAffecting(limit: 2) { totalCount } } }"#;
    let answer = traced(&gateway, FAILED_TRACE, failing).await;
    assert!(answer.get("errors").is_some(), "{answer}");
    let telemetry = flush(telemetry).await;
    until(&mut received, &mut spans, |spans| {
        spans
            .iter()
            .any(|span| span.name == "POST /graphql" && span.trace_id == FAILED_TRACE)
    })
    .await;
    let mut attempts = in_trace(&spans, FAILED_TRACE, "POST gta");
    attempts.sort_by_key(|attempt| attempt.ints["http.request.resend_count"]);
    assert_eq!(attempts.len(), 2, "two attempts: {spans:#?}");
    for (resent, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt.ints["http.request.resend_count"], resent as i64);
        assert_eq!(attempt.ints["http.response.status_code"], 503);
        assert_eq!(attempt.status, 2, "Error: {attempt:?}");
        assert_eq!(attempt.attributes["error.type"], "UPSTREAM_UNAVAILABLE");
    }
    let request = &in_trace(&spans, FAILED_TRACE, "upstream gta");
    assert_eq!(request.len(), 1, "{spans:#?}");
    assert_eq!(request[0].status, 2, "Error: {request:?}");
    assert_eq!(request[0].attributes["error.type"], "UPSTREAM_UNAVAILABLE");
    assert!(attempts
        .iter()
        .all(|attempt| attempt.parent == request[0].span_id));
    gateway
        .simulator
        .clear_fault(trade_graph::sources::Source::Gta);

    // An operation over a WebSocket: its span, named from its document,
    // under the connection's, under the upgrade request's in the caller's
    // trace; its parse, validate and execute under it.
    const SOCKET_TRACE: &str = "8bf92f3577b34da6a3ce929d0e0e473a";
    let traceparent = format!("00-{SOCKET_TRACE}-{CALLER_SPAN}-01");
    let mut socket =
        common::socket::Socket::open_with(&gateway, &[("traceparent", &traceparent)]).await;
    socket
        .subscribe(
            "q",
            r#"query OverTheSocket { jurisdiction(iso3: "ITA") { name } }"#,
        )
        .await;
    let answer = socket
        .next_payloads("q", 1, &mut Vec::new())
        .await
        .remove(0);
    assert_eq!(answer["data"]["jurisdiction"]["name"], "Italy", "{answer}");
    socket.close().await;
    let telemetry = flush(telemetry).await;
    until(&mut received, &mut spans, |spans| {
        spans
            .iter()
            .any(|span| span.name == "query OverTheSocket" && span.trace_id == SOCKET_TRACE)
    })
    .await;
    let operation = &in_trace(&spans, SOCKET_TRACE, "query OverTheSocket")[0];
    assert_eq!(
        operation.attributes["graphql.operation.name"],
        "OverTheSocket"
    );
    for stage in ["graphql.parse", "graphql.validate", "graphql.execute"] {
        let stage = &in_trace(&spans, SOCKET_TRACE, stage);
        assert_eq!(stage.len(), 1, "{spans:#?}");
        assert_eq!(stage[0].parent, operation.span_id);
    }
    // The connection's span ends with the socket (closed above); wait for it.
    let telemetry = flush(telemetry).await;
    until(&mut received, &mut spans, |spans| {
        spans
            .iter()
            .any(|span| span.name == "GET /graphql" && span.trace_id == SOCKET_TRACE)
    })
    .await;
    let connection = &in_trace(&spans, SOCKET_TRACE, "graphql.websocket");
    assert_eq!(connection.len(), 1, "{spans:#?}");
    assert_eq!(operation.parent, connection[0].span_id);
    let upgrade = &in_trace(&spans, SOCKET_TRACE, "GET /graphql")[0];
    assert_eq!(connection[0].parent, upgrade.span_id);
    assert_eq!(upgrade.parent, CALLER_SPAN);

    // The receiver refusing: the export failure is counted (and logged).
    refusing.store(true, Ordering::SeqCst);
    assert_eq!(trade_graph::telemetry::export_failures(), 0);
    let answer = traced(
        &gateway,
        "7bf92f3577b34da6a3ce929d0e0e4739",
        "{ jurisdiction(iso3: \"FRA\") { name } }",
    )
    .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let telemetry = flush(telemetry).await;
    assert!(trade_graph::telemetry::export_failures() >= 1);
    let scrape = gateway.get_text("/metrics").await;
    let failures: u64 = scrape
        .lines()
        .find_map(|line| line.strip_prefix("trade_graph_otlp_export_failures_total "))
        .expect("the counter is scraped")
        .trim()
        .parse()
        .unwrap();
    assert!(failures >= 1, "{scrape}");

    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
}
