//! The GraphQL clients frontend apps use, against a running gateway: Apollo
//! Client 3 with its persisted-query link (over POST, and hash-only over
//! GET) and with its batching link; graphql-ws subscribing over WebSocket.
//! Needs Node and `.ci/clients`' packages (`npm ci` there; `.ci/run` does
//! it), hence ignored by `cargo test`:
//!
//!     (cd .ci/clients && npm ci) && cargo test --test clients -- --ignored

mod common;

use std::path::Path;
use std::process::Command;

use common::TestGateway;
use serde_json::Value;

/// Runs `script` of `.ci/clients` with `args`; its JSON report.
async fn node(script: &'static str, args: Vec<String>) -> Value {
    tokio::task::spawn_blocking(move || {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/clients");
        let output = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("node runs (Node 20)");
        assert!(
            output.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).expect("a JSON report")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Node and .ci/clients' packages; .ci/run installs and runs them"]
async fn apollo_client_persists_queries_and_batches_operations() {
    let gateway = TestGateway::start().await;
    let report = node("apollo.mjs", vec![format!("{}/graphql", gateway.url)]).await;

    // Persisted over POST: the first operation is sent by hash, not found,
    // then with its document; the second (same document) by hash only.
    let post = &report["persistedPost"];
    assert_eq!(post["names"], serde_json::json!(["Brazil", "Germany"]));
    let hash_only: Vec<bool> = post["fetches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fetch| fetch["hashOnly"].as_bool().unwrap())
        .collect();
    assert_eq!(hash_only, [true, false, true], "{post}");

    // Over GET: hash-only requests are GETs, and the document was already
    // registered by the POST run, so nothing is sent twice.
    let get = &report["persistedGet"];
    assert_eq!(get["names"], serde_json::json!(["Brazil", "Germany"]));
    for fetch in get["fetches"].as_array().unwrap() {
        assert_eq!(fetch["method"], "GET", "{get}");
        assert_eq!(fetch["hashOnly"], true, "{get}");
    }

    // Batched: three queries in one POST of an array.
    let batched = &report["batched"];
    assert_eq!(
        batched["names"],
        serde_json::json!(["United States of America", "China", "India"])
    );
    assert_eq!(batched["fetches"].as_array().unwrap().len(), 1, "{batched}");
    assert_eq!(batched["fetches"][0]["batch"], 3, "{batched}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Node and .ci/clients' packages; .ci/run installs and runs them"]
async fn graphql_ws_subscribes_to_new_interventions_and_trade_leads() {
    // News every 50 ms, polled every 50 ms.
    let gateway = TestGateway::start_publishing(std::time::Duration::from_millis(50), &[]).await;
    let url = format!("{}/graphql", gateway.url.replacen("http", "ws", 1));
    let report = node("subscriptions.mjs", vec![url, "3".into()]).await;

    let interventions = report["interventions"].as_array().unwrap();
    assert_eq!(interventions.len(), 3, "{report}");
    let mut ids = Vec::new();
    for intervention in interventions {
        let implementers: Vec<&str> = intervention["implementers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|iso3| iso3.as_str().unwrap())
            .collect();
        assert!(
            implementers
                .iter()
                .any(|iso3| ["USA", "CHN", "IND", "BRA", "DEU"].contains(iso3)),
            "{report}"
        );
        assert_eq!(intervention["upstream"]["gta"]["requests"], 0, "{report}");
        ids.push(intervention["id"].as_u64().unwrap());
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");

    let leads = report["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 3, "{report}");
    for lead in leads {
        assert!(
            ["MX", "CA", "GB"].contains(&lead["countryCode"].as_str().unwrap()),
            "{report}"
        );
    }
    assert_eq!(report["query"]["jurisdiction"]["name"], "Brazil");
}
