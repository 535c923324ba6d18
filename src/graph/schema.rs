//! Builds the schema: the merged root query and the shared sources; and the
//! [`OperationGuard`] that holds operations to the limits before they run,
//! with this graph's [`GraphCostRules`].

use std::sync::Arc;

use async_graphql::{EmptyMutation, MergedObject, Schema, SchemaBuilder};

use super::commodity::CommodityQueries;
use super::context::Sources;
use super::cost_rules::GraphCostRules;
use super::federation::EntityQueries;
use super::intervention::InterventionQueries;
use super::ita::ItaQueries;
use super::ita_current::ItaCurrentQueries;
use super::ita_datasets::ItaDatasetQueries;
use super::jurisdiction::JurisdictionQueries;
use super::subscription::TradeSubscriptions;
use super::trade_flow::TradeFlowQueries;
use crate::limits::{OperationGuard, OperationLimits, ResultSizeExtension, SchemaIndex};
use crate::sources::comtrade::commodity_cost::ListState;
use crate::subscriptions::Feeds;

/// The root query: one part per domain.
#[derive(MergedObject, Default)]
pub struct Query(
    JurisdictionQueries,
    InterventionQueries,
    TradeFlowQueries,
    ItaQueries,
    ItaDatasetQueries,
    ItaCurrentQueries,
    CommodityQueries,
    EntityQueries,
);

/// The trade graph's schema type.
pub type TradeGraphSchema = Schema<Query, EmptyMutation, TradeSubscriptions>;

/// The schema without data or limits: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, TradeSubscriptions> {
    // A federation v2 subgraph: `_service` and `_entities` (graph::federation).
    Schema::build(Query::default(), EmptyMutation, TradeSubscriptions).enable_federation()
}

/// The schema serving `sources` (and subscriptions from `feeds`); with
/// `max_result_values`, one that counts every result as it is built and
/// stops it past the cap (see `limits::result_size`), as the server runs
/// it.
pub fn build_schema(
    sources: Sources,
    feeds: Feeds,
    max_result_values: Option<u64>,
) -> TradeGraphSchema {
    let builder = schema_builder();
    let builder = match max_result_values {
        Some(max_values) => builder.extension(ResultSizeExtension { max_values }),
        None => builder,
    };
    // Depth and cost are the guard's (linear in the document), not
    // async-graphql's own limits, which expand fragments at every spread.
    builder.data(sources).data(feeds).finish()
}

/// The checks every operation passes before it runs, for `sources`' dialects.
pub fn operation_guard(sources: &Sources, limits: OperationLimits) -> OperationGuard {
    let comtrade = sources.comtrade.clone();
    let rules = GraphCostRules::new(sources.comtrade.dialect())
        .with_comtrade_max(limits.demand.comtrade)
        .with_loaded_lists(Arc::new(move |classification: &str| {
            let classification = classification.trim().to_ascii_uppercase();
            super::commodity::EstimateLists::state(&classification).unwrap_or_else(|| {
                comtrade
                    .loaded_commodities(&classification)
                    .map_or(ListState::Unknown, ListState::Loaded)
            })
        }));
    OperationGuard::new(limits, SchemaIndex::from_sdl(&sdl()), Arc::new(rules))
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// The federation subgraph SDL (`_service { sdl }`: `@link` to federation
/// v2, `@key`s), which `subgraph.graphql` must equal.
pub fn subgraph_sdl() -> String {
    schema_builder().finish().sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .federation()
            .compose_directive(),
    )
}
