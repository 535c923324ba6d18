//! Builds the schema: the merged root query, the limits that reject abusive
//! operations before any upstream is asked (`limits`, with this graph's
//! [`GraphCostRules`]), and the shared sources.

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema, SchemaBuilder};

use super::context::Sources;
use super::cost_rules::GraphCostRules;
use super::intervention::InterventionQueries;
use super::ita::ItaQueries;
use super::jurisdiction::JurisdictionQueries;
use super::trade_flow::TradeFlowQueries;
use crate::limits::{OperationLimits, OperationLimitsExtension, SchemaIndex};

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

/// The schema without data or limits: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
}

/// The schema serving `sources`, every operation held to `limits`.
pub fn build_schema(sources: Sources, limits: OperationLimits) -> TradeGraphSchema {
    let rules = GraphCostRules::new(sources.comtrade.limits());
    let index = SchemaIndex::from_sdl(&sdl());
    schema_builder()
        // Depth and cost are the limits extension's (linear in the
        // document); async-graphql's own checks expand fragments.
        .extension(OperationLimitsExtension::new(
            limits,
            index,
            Arc::new(rules),
        ))
        .data(sources)
        .finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
