//! Fuzzes the path every GraphQL document takes before execution: the
//! raw-text guard, then (for what it admits) the parser, the expansion check
//! and the cost analysis. A crash, a panic or a stack overflow is a finding.
//! `.ci/run` runs it for a bounded time when a nightly toolchain is present:
//! `cargo +nightly fuzz run document -- -max_total_time=60`.
#![no_main]

use std::sync::OnceLock;

use async_graphql::Variables;
use libfuzzer_sys::fuzz_target;
use trade_graph::graph::{sdl, GraphCostRules};
use trade_graph::limits::{
    cost, document, shape, DemandLimits, DocumentLimits, SchemaIndex, ShapeLimits,
};
use trade_graph::countries::ComtradeDialect;

fn schema_index() -> &'static SchemaIndex {
    static INDEX: OnceLock<SchemaIndex> = OnceLock::new();
    INDEX.get_or_init(|| SchemaIndex::from_sdl(&sdl()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if document::check(text, &DocumentLimits::default()).is_err() {
        return;
    }
    let Ok(parsed) = async_graphql::parser::parse_query(text) else {
        return;
    };
    if shape::check(&parsed, &ShapeLimits::default()).is_err() {
        return;
    }
    let rules = GraphCostRules::new(ComtradeDialect::Legacy);
    let _ = cost::analyze(
        &parsed,
        None,
        &Variables::default(),
        schema_index(),
        &rules,
        1_000_000,
        &DemandLimits::default(),
    );
});
