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
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (sender, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sender = sender.clone();
            async move {
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
                        let _ = sender.send(Received {
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
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operation_through_two_sources_is_one_trace_in_the_callers() {
    let (endpoint, mut received) = receiver().await;
    // The variables of the OpenTelemetry specification, as an operator sets
    // them; set before anything else runs in this process.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    std::env::remove_var("OTEL_SERVICE_NAME");
    let telemetry = trade_graph::logging::init(&trade_graph::config::Config::sample())
        .expect("the exporter builds");
    assert!(telemetry.is_on());

    let gateway = TestGateway::start().await;
    let query = r#"query CountryPage { jurisdiction(iso3: "BRA") {
        name
        interventionsAffecting(limit: 1) { totalCount }
        tradeFlows(periods: ["2022"], flow: EXPORT) { value } } }"#;
    let answer: serde_json::Value = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .body(serde_json::json!({ "query": query }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.flush();
        telemetry
    })
    .await
    .unwrap();

    // Waits on the spans themselves: until the server span has arrived
    // (it ends last), whatever the machine's speed.
    let mut spans: Vec<Received> = Vec::new();
    while !spans.iter().any(|span| span.name == "POST /graphql") {
        let span = tokio::time::timeout(std::time::Duration::from_secs(120), received.recv())
            .await
            .expect("the exporter sends within two minutes")
            .expect("the receiver runs");
        spans.push(span);
    }
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
    assert_eq!(server.attributes["http.response.status_code"], "200");
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
    for fetch in &fetches {
        assert!(
            batches.iter().any(|batch| batch.span_id == fetch.parent),
            "an attempt is under its batch: {fetch:?}"
        );
        assert_eq!(fetch.attributes["http.response.status_code"], "200");
        assert_eq!(fetch.attributes["http.request.resend_count"], "0");
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
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
}
