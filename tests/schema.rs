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

/// GraphiQL's docs panel is how people learn the graph: every type, field,
/// argument, input field and enum value says what it is (federation's own
/// `_entities` and `_service` aside, and GraphQL's built-in scalars).
#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let gateway = common::TestGateway::start().await;
    let answer = gateway
        .query(
            "{ __schema { types { name kind description
                fields(includeDeprecated: true) { name description args(includeDeprecated: true) { name description } }
                inputFields(includeDeprecated: true) { name description }
                enumValues(includeDeprecated: true) { name description } } } }",
        )
        .await;
    let described =
        |value: &serde_json::Value| value["description"].as_str().is_some_and(|d| !d.is_empty());
    let mut undescribed = Vec::new();
    for kind in answer["data"]["__schema"]["types"].as_array().unwrap() {
        let type_name = kind["name"].as_str().unwrap();
        let built_in = ["String", "Int", "Float", "Boolean", "ID"].contains(&type_name);
        if type_name.starts_with('_') || built_in {
            continue;
        }
        if !described(kind) {
            undescribed.push(type_name.to_owned());
        }
        for field in kind["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            if field_name.starts_with('_') {
                continue;
            }
            if !described(field) {
                undescribed.push(format!("{type_name}.{field_name}"));
            }
            for argument in field["args"].as_array().unwrap() {
                if !described(argument) {
                    undescribed.push(format!("{type_name}.{field_name}({})", argument["name"]));
                }
            }
        }
        for member in ["inputFields", "enumValues"] {
            for value in kind[member].as_array().into_iter().flatten() {
                if !described(value) {
                    undescribed.push(format!("{type_name}.{}", value["name"]));
                }
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "without a description: {undescribed:?}"
    );
}

/// GraphiQL's docs panel shows each line break of a description: the
/// introspection answer has each paragraph on one line (the doc comments
/// they come from are wrapped), while the SDL keeps them as written.
#[tokio::test]
async fn introspected_descriptions_are_not_hard_wrapped() {
    let gateway = common::TestGateway::start().await;
    let answer = gateway
        .query(r#"{ __type(name: "Query") { description fields { name description args { name description } } } }"#)
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let fields = answer["data"]["__type"]["fields"].as_array().unwrap();
    let interventions = fields
        .iter()
        .find(|field| field["name"] == "interventions")
        .unwrap();
    let description = interventions["description"].as_str().unwrap();
    assert!(
        description.starts_with("Searches GTA's interventions, in the order `orderBy` gives"),
        "{description}"
    );
    assert!(
        !description.contains("sort"),
        "the deprecated argument is not documented: {description}"
    );
    for field in fields {
        let text = field["description"].as_str().unwrap_or_default();
        for paragraph in text.split("\n\n") {
            for line in paragraph.lines().skip(1) {
                let line = line.trim_start();
                assert!(
                    line.starts_with("- ") || line.starts_with("* ") || line.starts_with("```"),
                    "{}: a paragraph broken mid-sentence: {text:?}",
                    field["name"]
                );
            }
        }
    }
}
