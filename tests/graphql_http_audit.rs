//! The GraphQL-over-HTTP conformance audit of `graphql-http` (npm), run
//! against the gateway on sample data. Needs Node and `npm ci` in
//! `.ci/audit`; `bash .ci/run` does both and runs this with `--ignored`.

mod common;

use common::TestGateway;

/// Every MUST of the GraphQL-over-HTTP spec holds.
#[tokio::test]
#[ignore = "needs Node 20 and `npm ci` in .ci/audit (bash .ci/run installs both)"]
async fn graphql_http_audit_has_no_must_failures() {
    let gateway = TestGateway::start().await;
    let url = format!("{}/graphql", gateway.url);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/audit/audit.mjs");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "graphql-http audit found MUST failures:\n{report}"
    );
    assert!(report.contains("0 MUST failures"), "{report}");
}
