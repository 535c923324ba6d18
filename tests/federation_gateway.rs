//! trade-graph composed with a second subgraph and served by a real
//! federation gateway. Needs Node and `.ci/federation`'s packages
//! (`npm ci` there; `.ci/run` does it), hence ignored by `cargo test`:
//!
//!     (cd .ci/federation && npm ci) && cargo test --test federation_gateway -- --ignored
//!
//! - Apollo's composition (`@apollo/composition`) composes trade-graph's
//!   subgraph SDL with a second subgraph that extends `Jurisdiction`, with
//!   no error; the supergraph is committed as `supergraph.graphql`
//!   (`UPDATE_SCHEMA=1` regenerates it).
//! - Hive Gateway serves that supergraph; one operation crosses both
//!   subgraphs, and trade-graph answers the gateway's `_entities` in one
//!   batch (three jurisdictions' interventions: one GTA request).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use common::{free_port, ChildProcess, TestGateway};
use serde_json::{json, Value};

/// The second subgraph: trade desks, each at a jurisdiction it extends.
#[derive(SimpleObject)]
struct Jurisdiction {
    iso3: String,
    /// The desk's note about the market (this subgraph's own field).
    desk_note: String,
}

struct DeskQuery;

// Named `Query`: a federation SDL has no `schema { query: ... }` to say
// which type is the root.
#[Object(name = "Query")]
impl DeskQuery {
    /// The markets the desk covers.
    async fn trade_desks(&self) -> Vec<Jurisdiction> {
        ["BRA", "IND", "ZAF"]
            .iter()
            .map(|iso3| desk(iso3))
            .collect()
    }

    #[graphql(entity)]
    async fn find_jurisdiction_by_iso3(&self, iso3: String) -> Jurisdiction {
        desk(&iso3)
    }
}

fn desk(iso3: &str) -> Jurisdiction {
    Jurisdiction {
        iso3: iso3.to_owned(),
        desk_note: format!("desk note for {iso3}"),
    }
}

fn desk_schema() -> Schema<DeskQuery, EmptyMutation, EmptySubscription> {
    Schema::build(DeskQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

fn federation_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/federation")
}

/// Composes the two subgraphs; returns the supergraph SDL.
fn compose(trade_graph_url: &str, desks_url: &str) -> String {
    let dir = tempfile_dir();
    let services = json!([
        { "name": "trade-graph", "url": trade_graph_url, "sdl": trade_graph::graph::subgraph_sdl() },
        { "name": "desks", "url": desks_url, "sdl": desk_schema().sdl_with_options(
            async_graphql::SDLExportOptions::new().federation().compose_directive()) },
    ]);
    let services_path = dir.join("services.json");
    std::fs::write(&services_path, services.to_string()).unwrap();
    let out = dir.join("supergraph.graphql");
    let status = Command::new("node")
        .arg(federation_dir().join("compose.mjs"))
        .arg(&out)
        .arg(&services_path)
        .current_dir(federation_dir())
        .status()
        .expect("node runs (install Node 20 and `npm ci` in .ci/federation)");
    assert!(status.success(), "composition failed: see the errors above");
    std::fs::read_to_string(out).unwrap()
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trade-graph-federation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The composed supergraph, with the subgraph URLs replaced (they change
/// with every run's ports), equals the committed `supergraph.graphql`.
fn check_committed(supergraph: &str, urls: &[(&str, &str)]) {
    let mut stable = supergraph.to_owned();
    for (url, placeholder) in urls {
        stable = stable.replace(url, placeholder);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("supergraph.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &stable).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == stable,
        "supergraph.graphql is out of date: UPDATE_SCHEMA=1 cargo test --test federation_gateway -- --ignored"
    );
}

#[tokio::test]
#[ignore = "needs Node and .ci/federation's packages (npm ci); .ci/run runs it"]
async fn an_operation_crosses_both_subgraphs_through_hive_gateway() {
    let trade_graph = TestGateway::start().await;
    let desks = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let desks_url = format!("http://{}/graphql", desks.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/graphql",
        axum::routing::post(|body: axum::Json<Value>| async move {
            let request: async_graphql::Request = serde_json::from_value(body.0).unwrap();
            axum::Json(serde_json::to_value(desk_schema().execute(request).await).unwrap())
        }),
    );
    tokio::spawn(async move { axum::serve(desks, router).await.unwrap() });
    let trade_graph_url = format!("{}/graphql", trade_graph.url);

    let supergraph = compose(&trade_graph_url, &desks_url);
    check_committed(
        &supergraph,
        &[
            (&trade_graph_url, "http://trade-graph:8080/graphql"),
            (&desks_url, "http://desks:4001/graphql"),
        ],
    );
    let supergraph_path = tempfile_dir().join("served-supergraph.graphql");
    std::fs::write(&supergraph_path, &supergraph).unwrap();

    let port = free_port();
    let _gateway = ChildProcess(
        Command::new(federation_dir().join("node_modules/.bin/hive-gateway"))
            .arg("supergraph")
            .arg(&supergraph_path)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .current_dir(federation_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("hive-gateway starts"),
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let query = r#"{ tradeDesks { iso3 deskNote name comtradeReporterCode interventionsAffecting(limit: 2) { items { id } } } }"#;
    let mut answer = Value::Null;
    for _ in 0..120 {
        let sent = client
            .post(&url)
            .json(&json!({ "query": query }))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = sent {
            if response.status().is_success() {
                answer = response.json().await.unwrap();
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(answer.get("errors").is_none(), "{answer}");
    let desks = answer["data"]["tradeDesks"].as_array().expect("an answer");
    assert_eq!(desks.len(), 3, "{answer}");
    for desk in desks {
        assert!(desk["deskNote"].as_str().unwrap().starts_with("desk note"));
        assert!(desk["name"].is_string(), "trade-graph's field: {desk}");
        assert!(!desk["interventionsAffecting"]["items"]
            .as_array()
            .unwrap()
            .is_empty());
    }
    assert_eq!(desks[0]["name"], "Brazil");
    // The gateway sent the three representations in one `_entities` call:
    // trade-graph batched their interventions into one GTA request.
    assert_eq!(trade_graph.gta_requests(), 1);
}
