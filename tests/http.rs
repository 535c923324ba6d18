//! The HTTP surface: GraphQL over HTTP (media types, status codes, GET),
//! the limits, GraphiQL and the health check.

mod common;

use common::{error_codes, upstream_requests, TestGateway};
use serde_json::{json, Value};

/// graphql-js's `getIntrospectionQuery()`, what GraphiQL sends on load.
const INTROSPECTION: &str = r#"query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

async fn post(
    gateway: &TestGateway,
    accept: Option<&str>,
    content_type: &str,
    body: &str,
) -> (u16, String, Value) {
    let mut request = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, media, body)
}

/// `Accept` picks the media type; request errors are 400 only under
/// `application/graphql-response+json`, and have no `data`.
#[tokio::test]
async fn media_types_follow_graphql_over_http() {
    let gateway = TestGateway::start().await;
    let ok = r#"{"query": "{ jurisdiction(iso2: \"FR\") { id } }"}"#;
    let (status, media, body) =
        post(&gateway, Some("application/json"), "application/json", ok).await;
    assert_eq!(
        (status, media.as_str()),
        (200, "application/json; charset=utf-8")
    );
    assert_eq!(body["data"]["jurisdiction"]["id"], 251);
    assert_eq!(upstream_requests(&body, "gta"), 0);

    let (status, media, _) = post(
        &gateway,
        Some("application/graphql-response+json"),
        "application/json",
        ok,
    )
    .await;
    assert_eq!(
        (status, media.as_str()),
        (200, "application/graphql-response+json; charset=utf-8")
    );
    let (status, media, _) = post(&gateway, None, "application/json", ok).await;
    assert_eq!(
        (status, media.as_str()),
        (200, "application/json; charset=utf-8")
    );

    let invalid = r#"{"query": "{ nosuchfield }"}"#;
    let (status, _, body) = post(
        &gateway,
        Some("application/graphql-response+json"),
        "application/json",
        invalid,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.get("data").is_none() && body["errors"][0]["message"].is_string(),
        "{body}"
    );
    let (status, _, body) = post(
        &gateway,
        Some("application/json"),
        "application/json",
        invalid,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_none(), "{body}");

    let (status, _, _) = post(&gateway, Some("application/json"), "text/plain", ok).await;
    assert_eq!(status, 415);
    let (status, _, _) = post(
        &gateway,
        Some("application/json"),
        "application/json",
        "{not json",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = post(
        &gateway,
        Some("application/json"),
        "application/json",
        r#"{"query": 7}"#,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, body) = post(&gateway, Some("text/html"), "application/json", ok).await;
    assert_eq!(status, 406);
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");

    // Each refusal above is counted under its code, none reached an upstream.
    let metrics = gateway.get_text("/metrics").await;
    for (code, count) in [
        ("BAD_REQUEST", 3),
        ("NOT_ACCEPTABLE", 1),
        ("GRAPHQL_VALIDATION_FAILED", 2),
    ] {
        let line = format!("trade_graph_operation_errors_total{{code=\"{code}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert_eq!(gateway.gta_requests(), 0);
}

/// GET works with variables as JSON text; mutations over GET are 405.
#[tokio::test]
async fn get_requests_work_and_refuse_mutations() {
    let gateway = TestGateway::start().await;
    let get = |params: &[(&str, &str)]| {
        let mut url = url::Url::parse(&format!("{}/graphql", gateway.url)).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        gateway.http().get(url)
    };
    let response = get(&[
        (
            "query",
            "query($c: String) { jurisdiction(iso3: $c) { name } }",
        ),
        ("variables", r#"{"c": "JPN"}"#),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["jurisdiction"]["name"], "Japan");
    let response = get(&[("query", "mutation { x }")]).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

/// GraphiQL's introspection query passes the limits; abusive operations are
/// refused before any upstream request.
#[tokio::test]
async fn limits_let_introspection_through_and_stop_abuse() {
    let gateway = TestGateway::start().await;
    let response = gateway.query(INTROSPECTION).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert!(
        response["data"]["__schema"]["types"]
            .as_array()
            .unwrap()
            .len()
            > 20
    );

    let mut deep = String::from("id");
    for _ in 0..6 {
        deep =
            format!("interventionsAffecting {{ items {{ affectedJurisdictions {{ {deep} }} }} }}");
    }
    let deep = format!(r#"{{ jurisdiction(iso3: "USA") {{ {deep} }} }}"#);
    let response = gateway.query(&deep).await;
    assert_eq!(error_codes(&response), ["OPERATION_TOO_DEEP"], "{response}");

    let costly = r#"{ jurisdictions { interventionsAffecting(limit: 1000) { items { id title implementingJurisdictions { name } } } } }"#;
    let response = gateway.query(costly).await;
    assert_eq!(
        error_codes(&response),
        ["OPERATION_TOO_COSTLY"],
        "{response}"
    );
    assert_eq!(gateway.gta_requests(), 0);

    // Every jurisdiction's page could cost a GTA request each: refused
    // before any is sent. The G20's pages are allowed, and report their cost.
    let wide = r#"{ jurisdictions { iso3 interventionsAffecting { items { id title } } } }"#;
    let response = gateway.query(wide).await;
    assert_eq!(
        error_codes(&response),
        ["UPSTREAM_DEMAND_TOO_HIGH"],
        "{response}"
    );
    assert_eq!(gateway.gta_requests(), 0);
    let g20 =
        r#"{ jurisdictions(group: "G20") { iso3 interventionsAffecting { items { id title } } } }"#;
    let response = gateway.query(g20).await;
    assert!(response.get("errors").is_none(), "{}", response["errors"]);
    assert_eq!(
        response["extensions"]["cost"]["upstreamEstimate"]["gta"],
        20
    );
    assert!(upstream_requests(&response, "gta") <= 20);
}

/// GraphiQL loads its assets from the configured location; /healthz reports
/// each source's mode and what subscriptions cost.
#[tokio::test]
async fn graphiql_and_health() {
    let gateway =
        TestGateway::start_with(&["--graphiql-assets", "http://assets.internal/npm/"]).await;
    let page = gateway.get_text("/").await;
    assert!(
        page.contains(r#"var base = "http://assets.internal/npm";"#),
        "{page}"
    );
    assert!(!page.contains("unpkg.com"));
    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(
        health,
        json!({
            "status": "ok",
            "sources": { "gta": "live", "comtrade": "live", "ita": "live" },
            "admission": { "comtrade": "local" },
            "breakers": { "gta": "closed", "comtrade": "closed", "ita": "closed" },
            "heldSeconds": {},
            "subscriptions": { "open": 0, "websockets": 0, "polledKeys": { "interventions": 0, "tradeLeads": 0 } }
        })
    );
}

/// A key without a URL is a configuration mistake, refused at start-up
/// rather than silently unused.
#[tokio::test]
async fn a_key_without_a_url_is_refused_at_startup() {
    use clap::Parser;
    let config = trade_graph::config::Config::parse_from(["trade-graph", "--gta-key", "k"]);
    let error = trade_graph::server::Gateway::start(&config)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("TRADE_GRAPH_GTA_URL"), "{error}");
}

/// `/metrics` answers in the format the scraper's `Accept` asks for, and
/// counts operations by outcome and their errors by code beside the
/// upstream metrics.
#[tokio::test]
async fn metrics_follow_accept_and_count_operations() {
    let gateway = TestGateway::start().await;
    let ok = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { name } }"#)
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let refused = gateway
        .query("{ jurisdiction(iso3: \"BRA\") { nope } }")
        .await;
    assert!(refused.get("errors").is_some());

    let scrape = |accept: &'static str| {
        let request = gateway
            .http()
            .get(format!("{}/metrics", gateway.url))
            .header("accept", accept);
        async move {
            let response = request.send().await.unwrap();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            (content_type, response.text().await.unwrap())
        }
    };

    let (content_type, prometheus) = scrape("text/plain;version=0.0.4").await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!prometheus.contains("# EOF"));
    assert!(prometheus.contains("# TYPE trade_graph_operations_total counter"));
    assert!(prometheus.contains(r#"trade_graph_operations_total{outcome="ok",cache="none"} 1"#));
    assert!(
        prometheus.contains(r#"trade_graph_operations_total{outcome="refused",cache="none"} 1"#)
    );
    assert!(prometheus
        .contains(r#"trade_graph_operation_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1"#));
    assert!(prometheus.contains("trade_graph_operation_duration_seconds_count 2"));
    // Anonymous operations count as "other"; one that did not validate is
    // not counted by name at all (junk names must not take the places).
    assert!(
        prometheus.contains(r#"trade_graph_operations_by_name_total{operation_name="other"} 1"#)
    );

    // What Prometheus itself sends: OpenMetrics first.
    let (content_type, openmetrics) = scrape(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    )
    .await;
    assert!(content_type.starts_with("application/openmetrics-text"));
    assert!(openmetrics.ends_with("# EOF\n"));
    assert!(openmetrics.contains("# TYPE trade_graph_operations counter"));
}

/// Every counter and gauge an alert may watch is there, at zero, before
/// anything happened (an alert on a missing series sees "no data", not 0),
/// with the process metrics and the build beside them.
#[tokio::test]
async fn every_metric_family_is_present_at_start() {
    let gateway = TestGateway::start().await;
    let scrape = gateway
        .http()
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for source in ["gta", "comtrade", "ita"] {
        for family in [
            "upstream_requests_total",
            "upstream_cache_hits_total",
            "upstream_coalesced_waits_total",
            "upstream_retries_total",
            "upstream_stale_answers_total",
            "upstream_request_duration_seconds_count",
        ] {
            let series = format!("trade_graph_{family}{{source=\"{source}\"}} 0");
            assert!(scrape.contains(&series), "{series} missing:\n{scrape}");
        }
        let breaker =
            format!("trade_graph_upstream_circuit_breaker_state{{source=\"{source}\"}} 0");
        assert!(scrape.contains(&breaker), "{breaker}");
        for code in [
            "UPSTREAM_TIMEOUT",
            "UPSTREAM_UNAVAILABLE",
            "UPSTREAM_RATE_LIMITED",
        ] {
            let series = format!(
                "trade_graph_upstream_errors_total{{source=\"{source}\",code=\"{code}\"}} 0"
            );
            assert!(scrape.contains(&series), "{series}");
        }
    }
    for series in [
        r#"trade_graph_operations_total{outcome="ok",cache="none"} 0"#,
        r#"trade_graph_operations_total{outcome="partial",cache="none"} 0"#,
        r#"trade_graph_operations_total{outcome="refused",cache="none"} 0"#,
        r#"trade_graph_subscription_polls_total{feed="interventions"} 0"#,
        r#"trade_graph_operations_by_name_total{operation_name="other"} 0"#,
        "trade_graph_build_info{version=",
        "trade_graph_otlp_export_failures_total 0",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "process_max_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(scrape.contains(series), "{series} missing:\n{scrape}");
    }
    // No Redis configured: no redis_up to read as an outage.
    assert!(!scrape.contains("trade_graph_redis_up"));
}

/// Each budgeted source's remaining budget is there from the start, at its
/// full budget (an alert on "budget below 10 %" sees the budget, not "no
/// data"), before the source was ever asked; a source without a budget has
/// no series.
#[tokio::test]
async fn budget_gauges_start_at_the_full_budget() {
    let gateway = TestGateway::start_with(&["--ita-budget", "77", "--gta-budget", "1234"]).await;
    let scrape = gateway.get_text("/metrics").await;
    let value = |source: &str| -> Option<i64> {
        let series = format!("trade_graph_upstream_budget_remaining{{source=\"{source}\"}} ");
        scrape
            .lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .map(|value| value.trim().parse().unwrap())
    };
    assert_eq!(value("ita"), Some(77), "{scrape}");
    assert_eq!(value("gta"), Some(1234), "{scrape}");
    // Comtrade's documented budget, whatever it is, and not yet touched.
    assert!(value("comtrade").is_some_and(|left| left > 0), "{scrape}");
    assert_eq!(gateway.comtrade_requests(), 0);

    let without = TestGateway::start().await;
    let scrape = without.get_text("/metrics").await;
    assert!(
        !scrape.contains(r#"trade_graph_upstream_budget_remaining{source="ita"}"#),
        "{scrape}"
    );
}

/// The query GraphiQL opens with answers every part, on sample data.
#[tokio::test]
async fn graphiqls_default_query_answers() {
    let gateway = TestGateway::start().await;
    let answer = gateway
        .query(trade_graph::server::graphiql::DEFAULT_QUERY)
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let brazil = &answer["data"]["jurisdiction"];
    assert_eq!(brazil["name"], "Brazil");
    assert!(!brazil["tradeFlows"].as_array().unwrap().is_empty());
    assert!(!brazil["officeLocations"].as_array().unwrap().is_empty());
    assert!(
        brazil["interventionsAffecting"]["totalCount"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// A local assets directory that lacks GraphiQL's files is refused at
/// start-up, naming what is missing and how to fill it.
#[tokio::test]
async fn an_empty_graphiql_assets_directory_is_refused() {
    use clap::Parser;
    let empty = std::env::temp_dir().join(format!("trade-graph-assets-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let config = trade_graph::config::Config::parse_from([
        "trade-graph",
        "--graphiql-assets",
        empty.to_str().unwrap(),
    ]);
    let error = trade_graph::server::Gateway::start(&config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("graphiql@3.8.3/graphiql.min.js"), "{error}");
    assert!(error.contains("scripts/graphiql-assets.sh"), "{error}");
    std::fs::remove_dir_all(&empty).unwrap();
}

/// Operations are counted by name, up to a bound: past the first names
/// seen, any further name counts as "other", so that a client naming its
/// operations at random cannot grow the series without end.
#[tokio::test]
async fn operations_by_name_are_bounded() {
    let gateway = TestGateway::start().await;
    let max = trade_graph::metrics::MAX_OPERATION_NAMES;
    for n in 0..max + 20 {
        let answer = gateway
            .query(&format!(
                "query Page{n} {{ jurisdiction(iso3: \"BRA\") {{ name }} }}"
            ))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let _ = gateway
        .query("query Page0 { jurisdiction(iso3: \"BRA\") { name } }")
        .await;
    let scrape = gateway.get_text("/metrics").await;
    let named = scrape
        .lines()
        .filter(|line| line.starts_with("trade_graph_operations_by_name_total{"))
        .count();
    assert_eq!(named, max + 1, "{max} names and other");
    assert!(scrape.contains(r#"trade_graph_operations_by_name_total{operation_name="Page0"} 2"#));
    assert!(scrape.contains(r#"trade_graph_operations_by_name_total{operation_name="other"} 20"#));
}

/// Every answer is JSON with a code: a path the gateway does not serve is
/// a 404 `NOT_FOUND`, a method a path does not take a 405
/// `METHOD_NOT_ALLOWED` with `Allow` (both were empty bodies: issue 22's
/// fourth attack).
#[tokio::test]
async fn wrong_paths_and_methods_are_answered_with_a_code() {
    let gateway = TestGateway::start().await;
    let client = gateway.http();
    for (method, path, status, code) in [
        (reqwest::Method::GET, "/nope", 404, "NOT_FOUND"),
        (reqwest::Method::POST, "/graphql/x", 404, "NOT_FOUND"),
        (reqwest::Method::PUT, "/graphql", 405, "METHOD_NOT_ALLOWED"),
        (
            reqwest::Method::DELETE,
            "/healthz",
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ] {
        let response = client
            .request(method.clone(), format!("{}{path}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        if status == 405 {
            let allow = response
                .headers()
                .get("allow")
                .map(|value| value.to_str().unwrap().to_owned());
            assert!(
                allow.as_deref().is_some_and(|allow| allow.contains("GET")),
                "{method} {path}: {allow:?}"
            );
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
    }
}
