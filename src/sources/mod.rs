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
pub mod shared_admission;
pub mod shared_cache;
mod usage;

use std::fmt;

pub use usage::UpstreamUsage;

/// One of the upstream APIs the gateway federates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Global Trade Alert: trade policy interventions.
    Gta,
    /// UN Comtrade: reported trade flows.
    Comtrade,
    /// US International Trade Administration: offices, trade leads, events.
    Ita,
}

impl Source {
    /// Every source, in the order `extensions.upstream` lists them.
    pub const ALL: [Source; 3] = [Source::Gta, Source::Comtrade, Source::Ita];

    /// The lower-case name used in `extensions`, configuration and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gta => "gta",
            Self::Comtrade => "comtrade",
            Self::Ita => "ita",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
