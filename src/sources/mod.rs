//! The upstream sources. Each submodule owns one upstream's whole contract
//! (requests, response shapes, batching); [`http`] is the one path they all use
//! to reach the network. Nothing here knows about GraphQL.

pub mod admission;
mod answer;
pub mod breaker;
pub(crate) mod cache;
pub mod comtrade;
pub(crate) mod definition;
pub mod gta;
pub(crate) mod hold;
pub mod http;
mod in_flight;
pub mod ita;
pub mod pacing;
pub mod redis_link;
pub(crate) mod replica_slots;
pub mod retry;
pub(crate) mod scrub;
pub(crate) mod settings;
pub mod shared_admission;
pub(crate) mod shared_cache;
mod turn;
mod usage;
mod wire;

pub use usage::UpstreamUsage;

pub use crate::source::Source;
