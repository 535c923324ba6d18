//! `schema.graphql` is the committed SDL; this fails when the code's schema
//! drifts from it.

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
