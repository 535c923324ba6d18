//! Named groups of jurisdictions (`jurisdictions(group: "G20")`), as the GTA
//! publisher lists them, members by ISO alpha-3.
//!
//! One correction to the publisher's list: its G20 table names only the twelve
//! members outside the G7 plus the European Union. The G20 is the G7 plus those,
//! so [`group`] returns all nineteen countries. The European Union itself (GTA
//! group id 1049, Comtrade 97) is not a jurisdiction node and is listed in
//! `non_jurisdiction_members` instead.

use super::{by_iso3, Country};

/// A named group of jurisdictions.
#[derive(Debug)]
pub struct CountryGroup {
    /// The name users ask for, e.g. "EU-27".
    pub name: &'static str,
    /// Other names accepted for it (any case).
    pub aliases: &'static [&'static str],
    /// Members by ISO alpha-3, as GTA spells them.
    pub members: &'static [&'static str],
    /// Members that are not GTA jurisdictions (the EU in the G20).
    pub non_jurisdiction_members: &'static [&'static str],
}

impl CountryGroup {
    /// The member jurisdictions, in listed order.
    pub fn countries(&self) -> Vec<&'static Country> {
        self.members
            .iter()
            .filter_map(|iso3| by_iso3(iso3))
            .collect()
    }
}

const G7: &[&str] = &["CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"];

static GROUPS: &[CountryGroup] = &[
    CountryGroup {
        name: "G7",
        aliases: &["Group of Seven"],
        members: G7,
        non_jurisdiction_members: &[],
    },
    CountryGroup {
        name: "G20",
        aliases: &["Group of Twenty"],
        members: &[
            "CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA", "ARG", "AUS", "BRA", "CHN", "IND",
            "IDN", "MEX", "RUS", "SAU", "ZAF", "KOR", "TUR",
        ],
        non_jurisdiction_members: &["European Union (GTA 1049)"],
    },
    CountryGroup {
        name: "EU-27",
        aliases: &["EU", "EU27", "European Union"],
        members: &[
            "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC",
            "HUN", "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK",
            "SVN", "ESP", "SWE",
        ],
        non_jurisdiction_members: &[],
    },
    CountryGroup {
        name: "BRICS",
        aliases: &["BRICS+"],
        members: &[
            "BRA", "RUS", "IND", "CHN", "ZAF", "EGY", "ETH", "IRN", "SAU", "ARE",
        ],
        non_jurisdiction_members: &[],
    },
    CountryGroup {
        name: "ASEAN",
        aliases: &[],
        members: &[
            "BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "VNM",
        ],
        non_jurisdiction_members: &[],
    },
    CountryGroup {
        name: "CPTPP",
        aliases: &[],
        members: &[
            "AUS", "BRN", "CAN", "CHL", "JPN", "MYS", "MEX", "NZL", "PER", "SGP", "VNM", "GBR",
        ],
        non_jurisdiction_members: &[],
    },
    CountryGroup {
        name: "RCEP",
        aliases: &[],
        members: &[
            "AUS", "BRN", "KHM", "CHN", "IDN", "JPN", "KOR", "LAO", "MYS", "MMR", "NZL", "PHL",
            "SGP", "THA", "VNM",
        ],
        non_jurisdiction_members: &[],
    },
];

/// Every group, in a stable order.
pub fn groups() -> &'static [CountryGroup] {
    GROUPS
}

/// The group with this name or alias (any case).
pub fn group(name: &str) -> Option<&'static CountryGroup> {
    let name = name.trim();
    GROUPS.iter().find(|group| {
        group.name.eq_ignore_ascii_case(name)
            || group
                .aliases
                .iter()
                .any(|alias| alias.eq_ignore_ascii_case(name))
    })
}

/// A bloc that acts as one trade actor beside its members: GTA records
/// measures the EU takes as the EU (jurisdiction id 1049, which GTA's
/// `implementer` and `affected` filters take), and Comtrade publishes the
/// EU's trade as reporter 97 (v1 "European Union", legacy "EU-28"). It is not
/// a jurisdiction node of its own; its members are (`group: "EU-27"`).
#[derive(Debug)]
pub struct Bloc {
    pub name: &'static str,
    /// The code GTA's group table gives it.
    pub iso3: &'static str,
    pub gta_id: u16,
    /// Comtrade's reporter code for the bloc's own trade. No partner list
    /// has it: its partners' trade with it is their trade with its members.
    pub comtrade_reporter: u16,
    /// Names and codes it is asked for by (compared normalized).
    pub names: &'static [&'static str],
}

/// The European Union.
pub static EUROPEAN_UNION: Bloc = Bloc {
    name: "European Union",
    iso3: "EUN",
    gta_id: 1049,
    comtrade_reporter: 97,
    names: &["eu", "eun", "eur", "european union", "1049"],
};

/// The bloc `text` names ("EU", "EUN", "European Union", GTA's 1049), if any.
pub fn bloc(text: &str) -> Option<&'static Bloc> {
    let name = super::normalized(text);
    EUROPEAN_UNION
        .names
        .contains(&name.as_str())
        .then_some(&EUROPEAN_UNION)
}
