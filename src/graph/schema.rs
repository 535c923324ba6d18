//! Builds the schema: the merged root query, the limits that reject abusive
//! operations before any upstream is asked, and the shared sources.

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema, SchemaBuilder};

use super::context::Sources;
use super::intervention::InterventionQueries;
use super::ita::ItaQueries;
use super::jurisdiction::JurisdictionQueries;
use super::trade_flow::TradeFlowQueries;

/// Deepest selection accepted. graphql-js's introspection query (GraphiQL's)
/// nests 13 levels; real trade queries stay under 10.
pub const MAX_DEPTH: usize = 16;

/// Highest complexity accepted. Fields cost 1; list fields cost their children
/// times their size (`jurisdictions` counts its jurisdictions, intervention
/// pages one unit per 20 requested), so 234 jurisdictions with a page of
/// interventions each pass while 234 × 1000 interventions do not. The
/// introspection query costs about 230.
pub const MAX_COMPLEXITY: usize = 20_000;

/// The root query: one part per domain.
#[derive(MergedObject, Default)]
pub struct Query(
    JurisdictionQueries,
    InterventionQueries,
    TradeFlowQueries,
    ItaQueries,
);

/// The trade graph's schema type.
pub type TradeGraphSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The schema without data: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema serving `sources`.
pub fn build_schema(sources: Sources) -> TradeGraphSchema {
    schema_builder().data(sources).finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
