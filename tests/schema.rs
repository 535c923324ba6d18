//! `schema.graphql` is the committed SDL; this fails when the code's schema
//! drifts from it.

mod common;

use trade_graph::graph::sdl;

/// The generated SDL equals the committed file. To accept a deliberate change:
/// `UPDATE_SCHEMA=1 cargo test --test schema`, then commit schema.graphql.
#[test]
fn committed_sdl_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let generated = sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema.graphql is out of date with the code. Regenerate it with\n\n    UPDATE_SCHEMA=1 cargo test --test schema\n\nand commit the change (review the diff: it is the public API)."
    );
}

/// `subgraph.graphql` is the federation SDL a gateway composes (`_service {
/// sdl }`): `@link` to federation v2 and the entity keys. Regenerate with
/// `UPDATE_SCHEMA=1 cargo test --test schema`.
#[test]
fn committed_subgraph_sdl_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/subgraph.graphql");
    let generated = trade_graph::graph::subgraph_sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).expect("write subgraph.graphql");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "subgraph.graphql is out of date with the code: UPDATE_SCHEMA=1 cargo test --test schema"
    );
    for key in [
        r#"type Jurisdiction @key(fields: "iso3") @key(fields: "id")"#,
        r#"type Intervention @key(fields: "id")"#,
        r#"type EnvironmentalIssue @key(fields: "id")"#,
    ] {
        assert!(generated.contains(key), "missing {key}");
    }
    assert!(generated.contains("https://specs.apollo.dev/federation/v2"));
}

/// GraphiQL's docs panel is how people learn the graph: every argument
/// says what it takes (federation's own `_entities` aside).
#[tokio::test]
async fn every_argument_is_described() {
    let gateway = common::TestGateway::start().await;
    let answer = gateway
        .query(
            "{ __schema { types { name fields(includeDeprecated: true) { name args(includeDeprecated: true) { name description } } } } }",
        )
        .await;
    let mut undescribed = Vec::new();
    for kind in answer["data"]["__schema"]["types"].as_array().unwrap() {
        let type_name = kind["name"].as_str().unwrap();
        if type_name.starts_with("__") {
            continue;
        }
        for field in kind["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            if field_name.starts_with('_') {
                continue;
            }
            for argument in field["args"].as_array().unwrap() {
                if argument["description"].as_str().is_none_or(str::is_empty) {
                    undescribed.push(format!("{type_name}.{field_name}({})", argument["name"]));
                }
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "arguments without a description: {undescribed:?}"
    );
}
