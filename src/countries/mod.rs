//! The country crosswalk: the one place that knows how the three upstreams name
//! a country.
//!
//! GTA speaks its own jurisdiction ids (UN M49 with exceptions: France 251, India
//! 699, Italy 381, Kosovo 999), Comtrade speaks reporter codes (USA 842, Norway
//! 579, Italy 381 in the legacy API and 380 in the current one, some
//! jurisdictions folded into another reporter) and ITA speaks ISO alpha-2. Every
//! country argument of the graph goes through [`lookup`], which accepts any of
//! these spellings, and every record an upstream returns links back through
//! [`by_gta_id`] or [`by_iso2`].
//!
//! The data lives in `table.rs` (jurisdictions) and `groups.rs` (G7, G20,
//! EU-27...).

mod groups;
mod table;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

pub use groups::{group, groups, CountryGroup};

/// A GTA jurisdiction id: what GTA's `implementer` and `affected` filters take
/// and what its records return as `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GtaId(pub u16);

/// A UN Comtrade reporter (or partner) area code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReporterCode(pub u16);

impl fmt::Display for GtaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ReporterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The two Comtrade API generations, whose reporter lists differ (Italy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComtradeDialect {
    /// `comtrade.un.org/api/get` (seed 004), reporter list `reporterAreas.json`.
    Legacy,
    /// `comtradeapi.un.org/data/v1`, reporter list `Reporters.json`.
    V1,
}

/// How Comtrade publishes one jurisdiction's trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComtradeReporter {
    /// Comtrade reports it under this code.
    Own(ReporterCode),
    /// Comtrade reports it inside another reporter, under that reporter's code.
    Folded(ReporterCode),
    /// The reporter existed under `code` and stopped after `last_year`.
    Ended { code: ReporterCode, last_year: u16 },
    /// This dialect's reporter list has no entry for it.
    Absent,
}

impl ComtradeReporter {
    /// The reporter code to ask Comtrade for, if any.
    pub fn code(self) -> Option<ReporterCode> {
        match self {
            Self::Own(code) | Self::Folded(code) | Self::Ended { code, .. } => Some(code),
            Self::Absent => None,
        }
    }
}

/// One GTA jurisdiction and its codes in every upstream.
#[derive(Debug, PartialEq, Eq)]
pub struct Country {
    pub id: GtaId,
    /// ISO 3166 alpha-2, what ITA filters by (`XK` for Kosovo).
    pub iso2: &'static str,
    /// ISO 3166 alpha-3 as GTA spells it (`XXK` for Kosovo).
    pub iso3: &'static str,
    /// GTA's name, e.g. "United States of America".
    pub name: &'static str,
    /// GTA's short name, e.g. "United States".
    pub short_name: &'static str,
    pub comtrade_legacy: ComtradeReporter,
    pub comtrade_v1: ComtradeReporter,
    /// Why a code differs from the obvious one; empty when nothing is unusual.
    pub note: &'static str,
}

impl Country {
    /// This jurisdiction's Comtrade reporter in the given dialect.
    pub fn comtrade(&self, dialect: ComtradeDialect) -> ComtradeReporter {
        match dialect {
            ComtradeDialect::Legacy => self.comtrade_legacy,
            ComtradeDialect::V1 => self.comtrade_v1,
        }
    }
}

/// Every GTA jurisdiction, ordered by GTA id.
pub fn all() -> &'static [Country] {
    table::COUNTRIES
}

/// The indexes built once from the table: id, ISO2, ISO3 and lower-cased names.
struct Index {
    by_id: HashMap<GtaId, &'static Country>,
    /// Upper-cased ISO2 and ISO3 codes and lower-cased names, all in one map:
    /// they never collide (two letters, three letters, longer names).
    by_text: HashMap<String, &'static Country>,
    /// Jurisdictions by the Comtrade code their trade is published under, per
    /// dialect, in table order (a folded code lists several).
    by_comtrade: HashMap<(ComtradeDialect, ReporterCode), Vec<&'static Country>>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut by_id = HashMap::new();
    let mut by_text = HashMap::new();
    let mut by_comtrade: HashMap<_, Vec<_>> = HashMap::new();
    for country in table::COUNTRIES {
        for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
            if let Some(code) = country.comtrade(dialect).code() {
                by_comtrade
                    .entry((dialect, code))
                    .or_default()
                    .push(country);
            }
        }
        by_id.insert(country.id, country);
        by_text.insert(country.iso2.to_ascii_uppercase(), country);
        by_text.insert(country.iso3.to_ascii_uppercase(), country);
        by_text.insert(country.name.to_lowercase(), country);
        by_text.insert(country.short_name.to_lowercase(), country);
    }
    Index {
        by_id,
        by_text,
        by_comtrade,
    }
});

/// The jurisdiction with this GTA id.
pub fn by_gta_id(id: GtaId) -> Option<&'static Country> {
    INDEX.by_id.get(&id).copied()
}

/// The jurisdiction with this ISO alpha-2 code (any case).
pub fn by_iso2(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    (code.len() == 2)
        .then(|| INDEX.by_text.get(&code.to_ascii_uppercase()).copied())
        .flatten()
}

/// The jurisdiction with this ISO alpha-3 code (any case).
pub fn by_iso3(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    (code.len() == 3)
        .then(|| INDEX.by_text.get(&code.to_ascii_uppercase()).copied())
        .flatten()
}

/// The jurisdiction with exactly this GTA name or short name (any case).
pub fn by_name(name: &str) -> Option<&'static Country> {
    INDEX.by_text.get(&name.trim().to_lowercase()).copied()
}

/// Every jurisdiction that Comtrade publishes under `code` in `dialect`: the
/// reporter itself and the jurisdictions folded into it (842: the USA, Puerto
/// Rico, the US Virgin Islands).
pub fn by_comtrade_code(
    dialect: ComtradeDialect,
    code: ReporterCode,
) -> &'static [&'static Country] {
    INDEX
        .by_comtrade
        .get(&(dialect, code))
        .map_or(&[], Vec::as_slice)
}

/// The one jurisdiction that stands for a Comtrade area code: the one
/// Comtrade publishes under its own code, else the first folded into it (490
/// is Chinese Taipei). What a Comtrade record's reporter or partner links to.
pub fn by_comtrade_area(dialect: ComtradeDialect, code: ReporterCode) -> Option<&'static Country> {
    let candidates = by_comtrade_code(dialect, code);
    candidates
        .iter()
        .find(|country| matches!(country.comtrade(dialect), ComtradeReporter::Own(_)))
        .or(candidates.first())
        .copied()
}

/// Resolves a country argument given in any spelling the graph accepts: a GTA id
/// ("840"), ISO alpha-2 ("US"), ISO alpha-3 ("USA") or an exact name ("United
/// States", any case).
pub fn lookup(any: &str) -> Option<&'static Country> {
    let text = any.trim();
    if let Ok(id) = text.parse::<u16>() {
        return by_gta_id(GtaId(id));
    }
    by_iso2(text)
        .or_else(|| by_iso3(text))
        .or_else(|| by_name(text))
}

/// Why a country argument could not be resolved, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown country {given:?}: give a GTA jurisdiction id, an ISO alpha-2 or alpha-3 code, or an exact jurisdiction name (e.g. 840, \"US\", \"USA\" or \"United States\")")]
pub struct UnknownCountry {
    pub given: String,
}

/// Resolves every country argument, failing on the first one that matches
/// nothing. Duplicates are kept once, in the order first given.
pub fn resolve_all<S: AsRef<str>>(given: &[S]) -> Result<Vec<&'static Country>, UnknownCountry> {
    let mut countries: Vec<&'static Country> = Vec::with_capacity(given.len());
    for text in given {
        let country = lookup(text.as_ref()).ok_or_else(|| UnknownCountry {
            given: text.as_ref().to_owned(),
        })?;
        if !countries.iter().any(|seen| seen.id == country.id) {
            countries.push(country);
        }
    }
    Ok(countries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The traps DESIGN.md names, each in the dialect where it bites.
    #[test]
    fn the_country_code_traps() {
        let usa = lookup("usa").unwrap();
        assert_eq!(usa.id, GtaId(840));
        assert_eq!(usa.comtrade_v1, ComtradeReporter::Own(ReporterCode(842)));
        let italy = lookup("IT").unwrap();
        assert_eq!(
            italy.comtrade(ComtradeDialect::Legacy).code(),
            Some(ReporterCode(381))
        );
        assert_eq!(
            italy.comtrade(ComtradeDialect::V1).code(),
            Some(ReporterCode(380))
        );
        assert_eq!(lookup("France").unwrap().id, GtaId(251));
        assert_eq!(lookup("699").unwrap().iso3, "IND");
        assert_eq!(lookup("XK").unwrap().id, GtaId(999));
        assert_eq!(lookup("xxk").unwrap().id, GtaId(999));
        assert_eq!(lookup("Kosovo").unwrap().id, GtaId(999));
        assert_eq!(lookup("250"), None, "250 is ISO France, not a GTA id");
        assert_eq!(
            lookup("Monaco").unwrap().comtrade_v1,
            ComtradeReporter::Folded(ReporterCode(251))
        );
        assert_eq!(
            lookup("Chinese Taipei").unwrap().comtrade_legacy,
            ComtradeReporter::Folded(ReporterCode(490))
        );
        let usa_reporters: Vec<_> = by_comtrade_code(ComtradeDialect::V1, ReporterCode(842))
            .iter()
            .map(|c| c.iso3)
            .collect();
        assert_eq!(usa_reporters, ["PRI", "USA", "VIR"]);
    }

    #[test]
    fn resolve_all_names_the_unknown_code_and_dedupes() {
        let err = resolve_all(&["US", "ZZ"]).unwrap_err();
        assert_eq!(err.given, "ZZ");
        let countries = resolve_all(&["US", "USA", "840", "united states of america"]).unwrap();
        assert_eq!(countries.len(), 1);
    }
}
