//! GraphiQL in a real browser without internet: headless Chromium with
//! every route outside 127.0.0.1 refused. Served from a local assets
//! directory, the page runs its default query and shows the answer; left on
//! the public CDN, it says why it cannot load and how to fix it. Needs
//! Chromium (Debian's `chromium`), `.ci/graphiql`'s packages and a filled
//! assets directory (`.ci/run` does all three), hence ignored:
//!
//!     sh scripts/graphiql-assets.sh target/graphiql-assets
//!     (cd .ci/graphiql && npm ci)
//!     TRADE_GRAPH_TEST_GRAPHIQL_ASSETS=target/graphiql-assets \
//!       cargo test --test graphiql_browser -- --ignored

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestGateway;
use serde_json::Value;

/// The filled assets directory the tests serve.
fn assets() -> PathBuf {
    let dir = std::env::var("TRADE_GRAPH_TEST_GRAPHIQL_ASSETS")
        .unwrap_or_else(|_| "target/graphiql-assets".into());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    assert!(
        dir.is_dir(),
        "fill {} with scripts/graphiql-assets.sh first",
        dir.display()
    );
    dir
}

/// Opens the gateway's page in Chromium with `expectation`; its report.
async fn open_page(gateway: &TestGateway, expectation: &str) -> Value {
    let url = format!("{}/", gateway.url);
    let expectation = expectation.to_owned();
    tokio::task::spawn_blocking(move || {
        let output = Command::new("node")
            .arg("browser.mjs")
            .arg(url)
            .arg(expectation)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/graphiql"))
            .output()
            .expect("node runs (Node 20)");
        assert!(
            output.status.success(),
            "browser.mjs failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).expect("a JSON report")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Chromium, .ci/graphiql's packages and GraphiQL's assets; .ci/run installs them"]
async fn graphiql_runs_a_query_offline_from_local_assets() {
    let assets = assets();
    let gateway = TestGateway::start_with(&["--graphiql-assets", assets.to_str().unwrap()]).await;
    let report = open_page(&gateway, "expect-result").await;
    let shown = report["shown"].as_str().unwrap();
    assert!(shown.contains("\"name\": \"Brazil\""), "{shown}");
    assert!(shown.contains("tradeFlows"), "{shown}");
    assert_eq!(
        report["refused"],
        serde_json::json!([]),
        "nothing asked outside 127.0.0.1"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Chromium, .ci/graphiql's packages and GraphiQL's assets; .ci/run installs them"]
async fn graphiql_subscribes_over_a_websocket() {
    let assets = assets();
    // News every half second: the simulator publishes 500 records and
    // then has no more, which at 50 ms ran out (25 s) before a loaded
    // machine had opened the page; the test waits for the first event.
    let gateway = TestGateway::start_publishing(
        std::time::Duration::from_millis(500),
        &["--graphiql-assets", assets.to_str().unwrap()],
    )
    .await;
    let report = open_page(&gateway, "expect-subscription").await;
    let shown = report["shown"].as_str().unwrap();
    assert!(shown.contains("newInterventions"), "{shown}");
    assert!(!shown.contains("errors"), "{shown}");
    assert_eq!(report["refused"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Chromium and .ci/graphiql's packages; .ci/run installs them"]
async fn graphiql_without_its_assets_says_how_to_serve_them() {
    let gateway = TestGateway::start().await;
    let report = open_page(&gateway, "expect-help").await;
    let shown = report["shown"].as_str().unwrap();
    assert!(shown.contains("https://unpkg.com"), "{shown}");
    assert!(shown.contains("scripts/graphiql-assets.sh"), "{shown}");
    assert!(shown.contains("--graphiql-assets"), "{shown}");
    assert!(
        !report["refused"].as_array().unwrap().is_empty(),
        "the CDN was asked, and refused"
    );
}

/// A CDN that never answers (a firewall dropping packets) does not leave
/// the page blank: its help shows once the page's wait for its scripts is
/// over.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Chromium and .ci/graphiql's packages; .ci/run installs them"]
async fn graphiql_with_a_cdn_that_never_answers_shows_its_help() {
    let gateway = TestGateway::start().await;
    let report = open_page(&gateway, "expect-help-hang").await;
    let shown = report["shown"].as_str().unwrap();
    assert!(
        shown.contains("GraphiQL could not load its scripts"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "no script arrived within {} s",
            trade_graph::server::graphiql::ASSETS_WAIT_SECONDS
        )),
        "{shown}"
    );
    assert!(shown.contains("--graphiql-assets"), "{shown}");
}

/// The script fetches the versions the page loads.
#[test]
fn the_assets_script_fetches_what_the_page_loads() {
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/graphiql-assets.sh"),
    )
    .unwrap();
    for file in trade_graph::server::graphiql::ASSET_FILES {
        let package = file.split('/').next().unwrap();
        assert!(script.contains(package), "the script lacks {package}");
    }
}
