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
//! The data lives in `table.rs` (GTA's jurisdictions), `extra.rs` (those
//! Comtrade reports that GTA does not list), `historic.rs` (every Comtrade
//! code's years, and whom a former code covered), `partners.rs`,
//! `aliases.rs` (names) and `groups.rs` (G7, G20, EU-27...).

mod aliases;
mod extra;
mod groups;
mod historic;
mod partners;
mod table;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

pub use aliases::normalized;
pub use groups::{bloc, group, groups, Bloc, CountryGroup, EUROPEAN_UNION};
pub use historic::{
    area_jurisdictions, area_years, code_in_use, former_code, is_union_code, other_parts, AreaRole,
    AreaYears, NoCodeInYear, AREA_YEARS,
};
pub use partners::{partner_area, partner_code_given, ComtradePartner, PARTNER_AREAS};

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

/// The jurisdictions an upstream reports that GTA does not list (Curaçao,
/// Sint Maarten, Bonaire, Gibraltar: Comtrade reporters), by M49 code.
pub fn beyond_gta() -> &'static [Country] {
    extra::COMTRADE_ONLY
}

impl Country {
    /// Whether GTA lists this jurisdiction (and so can record measures for it).
    pub fn in_gta(&self) -> bool {
        !extra::COMTRADE_ONLY.iter().any(|extra| extra.id == self.id)
    }
}

/// The indexes built once from the table: id, codes, names.
struct Index {
    by_id: HashMap<GtaId, &'static Country>,
    /// Upper-cased ISO2 and ISO3 codes, and the codes in use beside them
    /// (UK, XKX).
    by_code: HashMap<String, &'static Country>,
    /// Normalized names: GTA's own and the aliases people type.
    by_name: HashMap<String, &'static Country>,
    /// Jurisdictions by the Comtrade code their trade is published under, per
    /// dialect, in table order (a folded code lists several).
    by_comtrade: HashMap<(ComtradeDialect, ReporterCode), Vec<&'static Country>>,
    /// Jurisdictions by their own Comtrade partner code, per dialect.
    by_partner: HashMap<(ComtradeDialect, ReporterCode), &'static Country>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut by_id = HashMap::new();
    let mut by_code = HashMap::new();
    let mut by_name = HashMap::new();
    let mut by_comtrade: HashMap<_, Vec<_>> = HashMap::new();
    let mut by_partner = HashMap::new();
    for country in table::COUNTRIES.iter().chain(extra::COMTRADE_ONLY) {
        for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
            if let ComtradePartner::Own(code) = country.comtrade_partner(dialect) {
                by_partner.entry((dialect, code)).or_insert(country);
            }
            if let Some(code) = country.comtrade(dialect).code() {
                by_comtrade
                    .entry((dialect, code))
                    .or_default()
                    .push(country);
            }
        }
        by_id.insert(country.id, country);
        by_code.insert(country.iso2.to_ascii_uppercase(), country);
        by_code.insert(country.iso3.to_ascii_uppercase(), country);
        by_name.insert(normalized(country.name), country);
        by_name.insert(normalized(country.short_name), country);
    }
    let by_iso3 = |iso3: &str| {
        table::COUNTRIES
            .iter()
            .chain(extra::COMTRADE_ONLY)
            .find(|country| country.iso3 == iso3)
            .unwrap_or_else(|| panic!("alias for unknown ISO3 {iso3}"))
    };
    // A former code names the first jurisdiction it covered as a partner
    // too (280 is Germany before 1991, 58 Belgium before 1999);
    // `historic::area_jurisdictions` names them all.
    for former in AREA_YEARS {
        let Some(first) = former.covers.first() else {
            continue;
        };
        for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
            if let Some(country) = table::COUNTRIES.iter().find(|c| c.iso3 == *first) {
                by_partner.entry((dialect, former.code)).or_insert(country);
            }
        }
    }
    // v1's partner list also has 158 "Taiwan, Province of China" beside
    // 490 "Other Asia, nes" (the code Chinese Taipei is asked for under): a
    // row a reporter files under 158 is Chinese Taipei's too (attack 21).
    if let Some(taiwan) = table::COUNTRIES.iter().find(|c| c.iso3 == "TWN") {
        by_partner
            .entry((ComtradeDialect::V1, ReporterCode(158)))
            .or_insert(taiwan);
    }
    for (code, iso3) in aliases::CODES {
        by_code.insert((*code).to_owned(), by_iso3(iso3));
    }
    for (alias, iso3) in aliases::ALIASES {
        by_name.insert((*alias).to_owned(), by_iso3(iso3));
    }
    // An ambiguous name is refused, even where GTA uses it for one of them.
    for (name, _) in aliases::AMBIGUOUS {
        by_name.remove(*name);
    }
    Index {
        by_id,
        by_code,
        by_name,
        by_comtrade,
        by_partner,
    }
});

/// The jurisdiction with this GTA id.
pub fn by_gta_id(id: GtaId) -> Option<&'static Country> {
    INDEX.by_id.get(&id).copied()
}

/// The jurisdiction with this ISO alpha-2 code (any case; "UK" too).
pub fn by_iso2(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    (code.len() == 2)
        .then(|| INDEX.by_code.get(&code.to_ascii_uppercase()).copied())
        .flatten()
}

/// The jurisdiction with this ISO alpha-3 code (any case; "XKX" too).
pub fn by_iso3(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    (code.len() == 3)
        .then(|| INDEX.by_code.get(&code.to_ascii_uppercase()).copied())
        .flatten()
}

/// The jurisdiction with this name: GTA's name or short name, or an official
/// or common name people use ("South Korea", "Türkiye", "Côte d'Ivoire"),
/// compared with case, accents and punctuation folded. `None` for an
/// ambiguous name ([`ambiguous`] says which it could be).
///
/// The major lists write a name's official form after a comma or in
/// brackets ("Egypt, Arab Rep.", "Armenia, Rep. of", "Macedonia, FYR",
/// "Bolivia (Plurinational State of)", "Martinique (Overseas France)"):
/// without an alias for the whole, the name before them is read, unless
/// it is one a qualifier splits ([`aliases::SPLIT`]: Korea, Congo, Yemen,
/// China...), whose forms the aliases spell out, or a comma's words are not
/// all words of a government's form.
pub fn by_name(name: &str) -> Option<&'static Country> {
    // A Comtrade name with its last year ("Ethiopia (...1992)") is the
    // former area, not today's jurisdiction of the same name: answered by
    // [`former_name`], as every other such name is.
    if name.contains("(...") && former_name(name).is_some() {
        return None;
    }
    if let Some(country) = INDEX.by_name.get(&normalized(name)) {
        return Some(country);
    }
    let (base, qualifier, bracketed) = if name.contains('(') {
        let (outside, inside) = split_brackets(name);
        (outside, inside, true)
    } else {
        let (base, qualifier) = name.split_once(',')?;
        (base.to_owned(), qualifier.to_owned(), false)
    };
    let base = normalized(&base);
    if base.is_empty() || aliases::SPLIT.contains(&base.as_str()) {
        return None;
    }
    let form = normalized(&qualifier)
        .split_whitespace()
        .all(|word| aliases::FORM_WORDS.contains(&word));
    (bracketed || form)
        .then(|| INDEX.by_name.get(&base).copied())
        .flatten()
}

/// `text` split by round brackets: what is outside them, and what is
/// inside.
fn split_brackets(text: &str) -> (String, String) {
    let (mut outside, mut inside) = (String::new(), String::new());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => inside.push(c),
            _ => outside.push(c),
        }
    }
    (outside, inside)
}

/// The jurisdictions an ambiguous name could mean ("Congo"), if it is one.
pub fn ambiguous(name: &str) -> Option<Vec<&'static Country>> {
    let name = normalized(name);
    aliases::AMBIGUOUS
        .iter()
        .find(|(ambiguous, _)| *ambiguous == name)
        .map(|(_, candidates)| candidates.iter().filter_map(|iso3| by_iso3(iso3)).collect())
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

/// The jurisdiction a Comtrade partner code stands for in `dialect` (630
/// is Puerto Rico on v1, though Puerto Rico reports within 842).
pub fn by_comtrade_partner(
    dialect: ComtradeDialect,
    code: ReporterCode,
) -> Option<&'static Country> {
    INDEX.by_partner.get(&(dialect, code)).copied()
}

/// Resolves a country argument given in any spelling the graph accepts: a GTA id
/// ("840") or a Comtrade area code ("842"; a number meaning different
/// jurisdictions in the two is refused, see [`number_candidates`]), ISO
/// alpha-2 ("US"), ISO alpha-3 ("USA") or a name ("United States", any case).
pub fn lookup(any: &str) -> Option<&'static Country> {
    let text = any.trim();
    if let Ok(number) = text.parse::<u16>() {
        if comtrade_area_beyond_jurisdictions(number).is_some() {
            return None;
        }
        return match number_candidates(number).as_slice() {
            [one] => Some(*one),
            _ => None,
        };
    }
    by_iso2(text)
        .or_else(|| by_iso3(text))
        .or_else(|| by_name(text))
}

/// The jurisdictions a number given as a country argument can mean: the
/// GTA jurisdiction with that id, and the jurisdiction Comtrade's reporter
/// or partner lists (either dialect) give that code (842 the USA, 380 and
/// 381 Italy, 757 Switzerland, 490 Chinese Taipei, 280 Germany before 1991).
/// One candidate: that one. Several: the number is ambiguous (a former
/// code that covered several jurisdictions, 58 Belgium-Luxembourg, or a
/// number that is one jurisdiction's GTA id and another's Comtrade code).
pub fn number_candidates(number: u16) -> Vec<&'static Country> {
    let mut candidates: Vec<&'static Country> = by_gta_id(GtaId(number)).into_iter().collect();
    let code = ReporterCode(number);
    let mut push = |country: &'static Country| {
        if !candidates.iter().any(|seen| seen.id == country.id) {
            candidates.push(country);
        }
    };
    if let Some(former) = former_code(code) {
        for country in former.covers.iter().filter_map(|iso3| by_iso3(iso3)) {
            push(country);
        }
        return candidates;
    }
    for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
        if let Some(country) =
            by_comtrade_area(dialect, code).or_else(|| by_comtrade_partner(dialect, code))
        {
            push(country);
        }
    }
    candidates
}

/// Comtrade area codes (reporter or partner lists) that stand for no
/// jurisdiction: groups and "nes" areas, and France's metropolitan partner
/// code. As a country argument each is refused, saying what it is (and, for
/// 492, that GTA's 492 is Monaco): taking 492 as Monaco would answer
/// Monaco's trade to a user who read 492 "Europe EU, nes" in a Comtrade row.
static COMTRADE_AREAS_BEYOND_JURISDICTIONS: &[(u16, &str, &str)] = &[
    (
        97,
        "European Union",
        "a group: ask for its members, `jurisdictions(group: \"EU-27\")`",
    ),
    (
        975,
        "ASEAN",
        "a group: ask for its members, `jurisdictions(group: \"ASEAN\")`",
    ),
    (
        250,
        "Metropolitan France",
        "a v1 partner code for France without its overseas departments; ask for France (FRA, Comtrade 251)",
    ),
    (
        492,
        "Europe EU, nes",
        "trade Comtrade could not place in a European country, no jurisdiction",
    ),
    (
        899,
        "Areas, nes",
        "trade Comtrade could not place in any area, no jurisdiction",
    ),
];

/// What a Comtrade code that stands for no jurisdiction is, if `number` is one.
pub fn comtrade_area_beyond_jurisdictions(number: u16) -> Option<(&'static str, &'static str)> {
    COMTRADE_AREAS_BEYOND_JURISDICTIONS
        .iter()
        .find(|(code, _, _)| *code == number)
        .map(|(_, name, what)| (*name, *what))
}

/// The former area a name stands for ("Serbia and Montenegro", "USSR",
/// "Czechoslovakia"), if it is the name of one rather than a jurisdiction's.
///
/// Comtrade writes a former area's last year into its name ("Serbia and
/// Montenegro (...2005)", "Dem. Rep. of Vietnam (...1974)"): every former
/// area of [`AREA_YEARS`] is found by its Comtrade name, with or without
/// that suffix, so all of them are answered alike.
pub fn former_name(name: &str) -> Option<&'static AreaYears> {
    let name = normalized(name);
    let bare = without_year(&name);
    aliases::FORMER_NAMES
        .iter()
        .find(|(former, _)| *former == name || *former == bare)
        .and_then(|(_, code)| area_years(ReporterCode(*code)))
        .or_else(|| {
            AREA_YEARS.iter().find(|area| {
                let listed = normalized(area.name);
                !area.covers.is_empty() && (listed == name || without_year(&listed) == bare)
            })
        })
}

/// A normalized name without a trailing year ("serbia and montenegro 2005").
fn without_year(name: &str) -> &str {
    match name.rsplit_once(' ') {
        Some((rest, year)) if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => name,
    }
}

/// What a former area was and which jurisdictions to ask for instead.
pub fn former_area_message(given: &str, area: &AreaYears) -> String {
    let covered: Vec<&'static Country> = area
        .covers
        .iter()
        .filter_map(|iso3| by_iso3(iso3))
        .collect();
    let named: Vec<String> = covered
        .iter()
        .map(|country| format!("{} ({})", country.name, country.iso3))
        .collect();
    let asked: Vec<String> = covered
        .iter()
        .map(|country| format!("{:?}", country.iso3))
        .collect();
    if let [only] = covered.as_slice() {
        return format!(
            "{given} is Comtrade area {} {:?}, a former area ({}) that is now part of {} ({}): ask for {:?}; for those years its rows come back beside the other parts', each saying which part it is (reporterPredecessorArea / partnerPredecessorArea)",
            area.code, area.name, area.span(), only.name, only.iso3, only.iso3
        );
    }
    format!(
        "{given} is Comtrade area {} {:?}, a former area ({}) covering {}: no single jurisdiction; ask for those jurisdictions ([{}]): for the years of {} its rows come back once, listing them in reporterJurisdictions / partnerJurisdictions, and for later years each is asked under its own code",
        area.code,
        area.name,
        area.span(),
        named.join(", "),
        asked.join(", "),
        area.code
    )
}

/// Why a country argument could not be resolved, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCountry {
    pub given: String,
}

impl std::error::Error for UnknownCountry {}

impl fmt::Display for UnknownCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(number) = self.given.trim().parse::<u16>() {
            if let Some((name, what)) = comtrade_area_beyond_jurisdictions(number) {
                return match by_gta_id(GtaId(number)) {
                    Some(gta) => write!(
                        f,
                        "country {number} means two different areas: GTA id {number} is {} ({}), Comtrade area {number} is {name:?} ({what}); give {}'s ISO code or name for it",
                        gta.name, gta.iso3, gta.name
                    ),
                    None => write!(
                        f,
                        "Comtrade area {number} is {name:?}, {what}; it is not a jurisdiction"
                    ),
                };
            }
            if let Some(name) = partner_area(ComtradeDialect::V1, number) {
                return write!(
                    f,
                    "Comtrade area {number} is {name:?}, an area of Comtrade's partner list, not a jurisdiction: it is only a partner{}, never a reporter or a jurisdiction",
                    if partner_area(ComtradeDialect::Legacy, number).is_some() {
                        " (ask for it in `partners`)"
                    } else {
                        " of the v1 API (the legacy partner list lacks it)"
                    }
                );
            }
            if let Some(area) = former_code(ReporterCode(number))
                .filter(|area| area.covers.len() > 1 && by_gta_id(GtaId(number)).is_none())
            {
                return f.write_str(&former_area_message(&format!("{number}"), area));
            }
            let candidates = number_candidates(number);
            if candidates.len() > 1 {
                let named: Vec<String> = candidates
                    .iter()
                    .map(|country| {
                        let mut systems = Vec::new();
                        if country.id.0 == number {
                            systems.push("GTA id".to_owned());
                        }
                        if country.id.0 != number || former_code(ReporterCode(number)).is_some() {
                            systems.push("Comtrade code".to_owned());
                        }
                        format!(
                            "{} ({}, {})",
                            country.name,
                            country.iso3,
                            systems.join(" and ")
                        )
                    })
                    .collect();
                return write!(
                    f,
                    "country {} is ambiguous: it could be {}; give the ISO code or the name",
                    number,
                    named.join(" or ")
                );
            }
        }
        if let Some(area) = former_name(&self.given) {
            return f.write_str(&former_area_message(&format!("{:?}", self.given), area));
        }
        if let Some(candidates) = ambiguous(&self.given) {
            let mut named: Vec<String> = candidates
                .iter()
                .map(|country| format!("{} ({})", country.name, country.iso3))
                .collect();
            let key = normalized(&self.given);
            named.extend(
                aliases::AMBIGUOUS_REGIONS
                    .iter()
                    .filter(|(name, _)| *name == key)
                    .map(|(_, region)| (*region).to_owned()),
            );
            return write!(
                f,
                "country {:?} is ambiguous: it could be {}; give the ISO code or the full name",
                self.given,
                named.join(" or ")
            );
        }
        write!(
            f,
            "unknown country {:?}: give a GTA jurisdiction id or a Comtrade area code, an ISO alpha-2 or alpha-3 code, or a jurisdiction name (e.g. 840, 842, \"US\", \"USA\" or \"United States\")",
            self.given
        )
    }
}

/// Resolves every country argument, failing on the first one that matches
/// nothing (or more than one thing). Duplicates are kept once, in the order
/// first given.
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
        assert_eq!(
            lookup("250"),
            None,
            "250 is ISO France, neither a GTA id nor a Comtrade code"
        );
        // Comtrade's own codes, beside GTA's ids.
        for (code, iso3) in [
            ("842", "USA"),
            ("380", "ITA"),
            ("381", "ITA"),
            ("757", "CHE"),
            ("579", "NOR"),
            ("490", "TWN"),
            ("280", "DEU"),
        ] {
            assert_eq!(lookup(code).map(|c| c.iso3), Some(iso3), "{code}");
        }
        assert_eq!(
            lookup("58"),
            None,
            "Belgium-Luxembourg is two jurisdictions"
        );
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
