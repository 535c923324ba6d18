//! The example queries of the README and of every page of `docs/` run, on
//! sample data, without errors and answer something: the docs stay true.

mod common;

use std::time::Duration;

use common::socket::Socket;
use common::TestGateway;

/// The first event of subscription `document`.
async fn first_event(gateway: &TestGateway, document: &str) -> serde_json::Value {
    let mut socket = Socket::open(gateway).await;
    socket.subscribe("readme", document).await;
    socket
        .next_payloads("readme", 1, &mut Vec::new())
        .await
        .remove(0)
}

/// README.md and every page of docs/, with their text.
fn pages() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.display().to_string(), text)
        })
        .collect()
}

/// Every ```graphql block of README.md and docs/ answers without errors (a
/// subscription: its first event, over WebSocket).
#[tokio::test]
async fn readme_examples_run_without_errors() {
    let pages = pages();
    let blocks: Vec<(&str, &str)> = pages
        .iter()
        .flat_map(|(path, text)| {
            text.split("```graphql\n")
                .skip(1)
                .map(move |rest| (path.as_str(), rest.split("```").next().unwrap()))
        })
        .collect();
    assert!(blocks.len() >= 15, "found {} graphql blocks", blocks.len());
    let gateway = TestGateway::start().await;
    // Subscriptions need news: a simulator that publishes, started when the
    // first subscription comes (it runs out of news after a while, and the
    // examples before it can take some seconds).
    let mut publishing: Option<TestGateway> = None;
    for (page, block) in blocks {
        let response = if block.trim_start().starts_with("subscription") {
            if publishing.is_none() {
                publishing =
                    Some(TestGateway::start_publishing(Duration::from_millis(20), &[]).await);
            }
            first_event(publishing.as_ref().expect("started above"), block).await
        } else {
            gateway.query(block).await
        };
        assert!(
            response.get("errors").is_none(),
            "{page}: example failed:\n{block}\n{}",
            response["errors"]
        );
        assert!(response["data"].is_object(), "{block}");
        let empty = empty_answers(&response["data"], "data");
        assert!(
            empty.is_empty(),
            "{page}: example answers nothing at {empty:?}:\n{block}\n{}",
            response["data"]
        );
    }
}

/// Where an answer is empty: a list with no items, a root field that is
/// null, a zero `totalCount` (a null scalar deeper down can be the data's:
/// world totals have no partner). A README example that answers nothing
/// teaches nothing.
fn empty_answers(value: &serde_json::Value, path: &str) -> Vec<String> {
    match value {
        serde_json::Value::Null if path.matches('.').count() == 1 => vec![path.to_owned()],
        serde_json::Value::Array(items) if items.is_empty() => vec![path.to_owned()],
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| empty_answers(item, &format!("{path}[{index}]")))
            .collect(),
        serde_json::Value::Object(fields) => fields
            .iter()
            .flat_map(|(name, field)| {
                let path = format!("{path}.{name}");
                if name == "totalCount" && field.as_u64() == Some(0) {
                    vec![path]
                } else {
                    empty_answers(field, &path)
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// docs/clients.md lists every `extensions.code` of the registry, with its
/// meaning, and no code the registry does not have.
#[test]
fn every_error_code_is_documented() {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/clients.md"),
    )
    .unwrap();
    for entry in trade_graph::error_codes::ALL {
        let row = format!("| `{}` | {} |", entry.code, entry.meaning);
        assert!(page.contains(&row), "docs/clients.md lacks: {row}");
    }
    let listed = page
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('`').nth(1))
        .filter(|code| code.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
    for code in listed {
        assert!(
            trade_graph::error_codes::find(code).is_some(),
            "docs/clients.md lists {code}, which the registry does not have"
        );
    }
}
