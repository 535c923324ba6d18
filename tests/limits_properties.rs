//! Property tests of the path every document takes before execution: the
//! raw-text guard, the parser, the expansion check and the cost analysis.
//! Whatever the text, nothing panics, and a document the guard lets through
//! parses within a worker thread's stack. `.ci/run` runs the same path
//! under cargo-fuzz when a nightly toolchain is present.

use proptest::prelude::*;

use async_graphql::Variables;
use trade_graph::countries::ComtradeDialect;
use trade_graph::graph::{sdl, GraphCostRules};
use trade_graph::limits::{
    cost, document, shape, DemandLimits, DocumentLimits, SchemaIndex, ShapeLimits,
};

/// tokio's worker threads have 2 MiB of stack; the parser runs on one.
const WORKER_STACK: usize = 2 * 1024 * 1024;

/// The schema's index, built once (building the schema is the slow part).
fn schema_index() -> &'static SchemaIndex {
    static INDEX: std::sync::OnceLock<SchemaIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| SchemaIndex::from_sdl(&sdl()))
}

/// Runs the whole pre-execution path on `text`, on a thread with a worker's
/// stack; a stack overflow aborts the test process, a panic fails it.
fn admit(text: String) {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let limits = DocumentLimits::default();
            if document::check(&text, &limits).is_err() {
                return;
            }
            let Ok(parsed) = async_graphql::parser::parse_query(&text) else {
                return;
            };
            if shape::check(&parsed, &ShapeLimits::default()).is_err() {
                return;
            }
            let index = schema_index();
            let rules = GraphCostRules::new(ComtradeDialect::Legacy);
            let _ = cost::analyze(
                &parsed,
                None,
                &Variables::default(),
                index,
                &rules,
                1_000_000,
                &DemandLimits::default(),
            );
        })
        .expect("a thread starts")
        .join()
        .expect("the pre-execution path does not panic");
}

/// Pieces of GraphQL, hostile ones included, to build documents from.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("...".to_owned()),
        Just("...F ".to_owned()),
        Just("fragment F on Query { ...F ...F }".to_owned()),
        Just("fragment F on Jurisdiction { name }".to_owned()),
        Just(" on ".to_owned()),
        Just("@include(if: true)".to_owned()),
        Just("jurisdictions".to_owned()),
        Just("interventionsAffecting(limit: 1000)".to_owned()),
        Just("items".to_owned()),
        Just("affectedJurisdictions".to_owned()),
        Just("tradeFlows(periods: [\"2022\"], partners: [\"all\"])".to_owned()),
        Just("officeLocations".to_owned()),
        Just("a: ".to_owned()),
        Just("$v".to_owned()),
        Just("\"".to_owned()),
        Just("\"\"\"".to_owned()),
        Just("\\".to_owned()),
        Just("#".to_owned()),
        Just("\n".to_owned()),
        Just("query Q($v: Int = 5) ".to_owned()),
        "[a-zA-Z_]{1,8}",
        "-?[0-9]{1,20}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
        any::<char>().prop_map(String::from),
    ]
}

fn document_text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..200).prop_map(|pieces| pieces.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text, GraphQL-shaped or not, passes through without a panic or a
    /// stack overflow.
    #[test]
    fn any_document_is_admitted_or_refused_without_crashing(text in document_text()) {
        admit(text);
    }

    /// Arbitrary bytes too.
    #[test]
    fn arbitrary_text_never_crashes(text in ".{0,2000}") {
        admit(text);
    }

    /// Nesting of any bracket mix: refused exactly when deeper than the
    /// limit, and the deepest accepted nesting parses on a worker's stack.
    #[test]
    fn nesting_is_refused_exactly_past_the_limit(
        kinds in prop::collection::vec(0usize..3, 1..200),
    ) {
        let open: String = kinds.iter().map(|k| ['[', '{', '('][*k]).collect();
        let text = format!("{{ a(x: {open}");
        let depth = kinds.len() + 2;
        let limits = DocumentLimits::default();
        let refused = document::check(&text, &limits).is_err();
        prop_assert_eq!(refused, depth > limits.max_nesting);
        admit(text);
    }
}

/// At the deepest nesting the guard allows, every kind of bracket parses on
/// a worker thread's stack (in this unoptimized build, the worst case).
#[test]
fn the_deepest_admitted_documents_parse_on_a_worker_stack() {
    let limits = DocumentLimits::default();
    let inner = limits.max_nesting - 2;
    let lists = format!("{{ a(x: {}1{}) }}", "[".repeat(inner), "]".repeat(inner));
    let objects = format!("{{ a(x: {}1{}) }}", "{b: ".repeat(inner), "}".repeat(inner));
    let selections = format!(
        "{}a{}",
        "{ a ".repeat(limits.max_nesting - 1),
        " }".repeat(limits.max_nesting - 1)
    );
    for text in [lists, objects, selections] {
        assert!(document::check(&text, &limits).is_ok(), "{text}");
        let parsed = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn(move || async_graphql::parser::parse_query(&text).is_ok())
            .unwrap()
            .join()
            .unwrap();
        assert!(parsed);
    }
}
