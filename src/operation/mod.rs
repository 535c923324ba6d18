//! The operation pipeline's parts that know nothing of HTTP: today the
//! whole-response cache ([`response_cache`]) and its second level shared by
//! replicas ([`shared_responses`]). The transport (`server::graphql_http`,
//! `server::websocket`) prepares an operation (persisted query, document
//! guard, parse, validate, cost, demand), looks it up here, runs it, and
//! stores what may be kept.

pub(crate) mod field_order;
pub(crate) mod response_cache;
pub(crate) mod shared_responses;

pub use field_order::SelectionOrder;
pub use response_cache::{
    CachedResponse, DocumentId, OperationKey, OperationLabel, ResponseFreshness, SplitResponse,
    WholeResponseCache,
};
