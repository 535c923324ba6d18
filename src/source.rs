//! Which upstream: the one type every layer names (errors, metrics, limits,
//! configuration, the sources themselves), kept in a module that depends on
//! nothing so that naming a source never pulls in how it is reached.

use std::fmt;

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
