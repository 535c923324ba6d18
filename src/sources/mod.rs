//! The upstream sources. Each submodule owns one upstream's whole contract
//! (requests, response shapes, batching); [`http`] is the one path they all use
//! to reach the network. Nothing here knows about GraphQL.

pub mod admission;
pub mod breaker;
pub mod cache;
pub mod comtrade;
pub mod definition;
pub mod gta;
pub mod hold;
pub mod http;
pub mod ita;
pub mod pacing;
pub mod redis_link;
pub mod replica_slots;
pub mod retry;
pub mod scrub;
pub mod settings;
pub mod shared_admission;
pub mod shared_cache;
mod usage;

pub use usage::UpstreamUsage;

pub use crate::source::Source;
