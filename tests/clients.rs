//! The GraphQL clients frontend apps use, against a running gateway: Apollo
//! Client 3 with its persisted-query link (over POST, and hash-only over
//! GET) and with its batching link. Needs Node and `.ci/clients`' packages
//! (`npm ci` there; `.ci/run` does it), hence ignored by `cargo test`:
//!
//!     (cd .ci/clients && npm ci) && cargo test --test clients -- --ignored

mod common;

use std::path::Path;
use std::process::Command;

use common::TestGateway;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Node and .ci/clients' packages; .ci/run installs and runs them"]
async fn apollo_client_persists_queries_and_batches_operations() {
    let gateway = TestGateway::start().await;
    let report = tokio::task::spawn_blocking({
        let url = gateway.url.clone();
        move || {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/clients");
            let output = Command::new("node")
                .arg("apollo.mjs")
                .arg(format!("{url}/graphql"))
                .current_dir(&dir)
                .output()
                .expect("node runs (Node 20)");
            assert!(
                output.status.success(),
                "apollo.mjs failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            serde_json::from_slice::<Value>(&output.stdout).expect("a JSON report")
        }
    })
    .await
    .unwrap();

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
