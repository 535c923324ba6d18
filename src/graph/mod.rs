//! The GraphQL graph: thin types over the sources' records, one file per type
//! family. Resolvers never see HTTP or JSON: they ask a source client or a
//! per-operation loader for typed records and join sources only through the
//! crosswalk (`countries`).

mod affected_trade;
mod batch;
mod commodity;
mod context;
mod cost_rules;
pub mod descriptions;
mod federation;
mod intervention;
mod ita;
mod ita_current;
mod ita_datasets;
mod jurisdiction;
mod paging;
mod schema;
mod subscription;
mod trade_flow;
mod trade_profile;
pub mod vocabulary;

pub use commodity::EstimateLists;
pub use context::{OperationContext, Sources};
pub use cost_rules::{lists_for_estimate, GraphCostRules};
pub use schema::{build_schema, operation_guard, sdl, subgraph_sdl, TradeGraphSchema};
