//! The README's example queries run, on sample data, without errors: the
//! README stays true.

mod common;

use common::TestGateway;

/// Every ```graphql block of README.md answers without errors.
#[tokio::test]
async fn readme_examples_run_without_errors() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```graphql\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4, "found {} graphql blocks", blocks.len());
    let gateway = TestGateway::start().await;
    for block in blocks {
        let response = gateway.query(block).await;
        assert!(
            response.get("errors").is_none(),
            "README example failed:\n{block}\n{}",
            response["errors"]
        );
        assert!(response["data"].is_object(), "{block}");
    }
}
