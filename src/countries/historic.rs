//! Comtrade area codes follow the calendar.
//!
//! Comtrade's reporter and partner lists give every code an `entry_year`
//! and an `exit_year` (`ref_v1_reporters`, `ref_v1_partners`): Serbia is 688
//! only from 2006 (891 "Serbia and Montenegro" before), South Sudan 728 from
//! 2011, Belgium 56 and Luxembourg 442 from 1999 (58 "Belgium-Luxembourg"
//! before), the US Virgin Islands' own 850 ends in 1980. A code asked for
//! outside its years is answered with nothing, silently. So the code sent
//! for a jurisdiction depends on the year: its own code where that code
//! exists, else the code that covered it then (Belgium 1995 is 58), else
//! none, and the question is refused.
//!
//! [`AREA_YEARS`] lists every code of the v1 lists whose years are bounded
//! (entry after 1900 or an exit year), with the jurisdictions a former code
//! covered; a code not listed exists in every year. The legacy lists
//! (`reporterAreas.json`, `partnerAreas.json`) carry no years but the same
//! codes ("Fmr USSR", "USA (before 1981)"), so both dialects follow these
//! years. `tests/crosswalk.rs` holds the table against the v1 lists.

use super::{ComtradeDialect, ComtradePartner, Country, ReporterCode};

/// One Comtrade area code with bounded years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AreaYears {
    pub code: ReporterCode,
    /// Comtrade's name for the area (v1 list).
    pub name: &'static str,
    /// The first year published under the code (1900: from the start).
    pub entry: u16,
    /// The last year published under it, if it ended.
    pub exit: Option<u16>,
    /// ISO3 of the GTA jurisdictions a *former* code covered (58: Belgium
    /// and Luxembourg). Empty for a jurisdiction's own current code (the
    /// crosswalk says whose it is) and for areas that are no jurisdiction
    /// of GTA's (Sabah, the Panama Canal Zone).
    pub covers: &'static [&'static str],
}

impl AreaYears {
    /// Whether trade is published under this code in `year`.
    pub fn contains(&self, year: u16) -> bool {
        year >= self.entry && self.exit.is_none_or(|exit| year <= exit)
    }

    /// "1992-2006", "from 2006", "until 1998".
    pub fn span(&self) -> String {
        match (self.entry, self.exit) {
            (1900, Some(exit)) => format!("until {exit}"),
            (entry, Some(exit)) => format!("{entry}-{exit}"),
            (entry, None) => format!("from {entry}"),
        }
    }
}

const fn area(
    code: u16,
    name: &'static str,
    entry: u16,
    exit: Option<u16>,
    covers: &'static [&'static str],
) -> AreaYears {
    AreaYears {
        code: ReporterCode(code),
        name,
        entry,
        exit,
        covers,
    }
}

const NOW: Option<u16> = None;

/// Every bounded code of the v1 reporter and partner lists (groups aside),
/// in the lists' order. Where several former codes cover a jurisdiction in
/// one year, each covered part of it and all are asked for: Germany before
/// 1991 is West Germany's 280 *and* East Germany's 278, Yemen before 1991
/// 886 and 720, Viet Nam before 1975 868 and 866, Tanzania before 1965 835
/// (Tanganyika) and 836 (Zanzibar), Panama before 1978 590 and 592 (the
/// Canal Zone). The lists give years but not which jurisdiction a former
/// area became part of, so `covers` is this module's own table (held
/// against the lists' names in the tests below).
pub static AREA_YEARS: &[AreaYears] = &[
    area(660, "Anguilla", 1981, NOW, &[]),
    area(
        886,
        "Arab Rep. of Yemen (...1990)",
        1900,
        Some(1990),
        &["YEM"],
    ),
    area(51, "Armenia", 1992, NOW, &[]),
    area(533, "Aruba", 1988, NOW, &[]),
    area(31, "Azerbaijan", 1992, NOW, &[]),
    area(50, "Bangladesh", 1972, NOW, &[]),
    area(112, "Belarus", 1992, NOW, &[]),
    area(56, "Belgium", 1999, NOW, &[]),
    area(
        58,
        "Belgium-Luxembourg (...1998)",
        1900,
        Some(1998),
        &["BEL", "LUX"],
    ),
    area(535, "Bonaire", 2010, NOW, &[]),
    area(70, "Bosnia Herzegovina", 1992, NOW, &[]),
    area(72, "Botswana", 2000, NOW, &[]),
    area(191, "Croatia", 1992, NOW, &[]),
    area(531, "Curaçao", 2010, NOW, &[]),
    area(203, "Czechia", 1993, NOW, &[]),
    area(
        200,
        "Czechoslovakia (...1992)",
        1900,
        Some(1992),
        &["CZE", "SVK"],
    ),
    area(
        278,
        "Dem. Rep. of Germany (...1990)",
        1900,
        Some(1990),
        &["DEU"],
    ),
    area(
        866,
        "Dem. Rep. of Vietnam (...1974)",
        1900,
        Some(1974),
        &["VNM"],
    ),
    area(720, "Dem. Yemen (...1990)", 1900, Some(1990), &["YEM"]),
    area(
        588,
        "East and West Pakistan (...1971)",
        1900,
        Some(1971),
        &["PAK", "BGD"],
    ),
    area(232, "Eritrea", 1993, NOW, &[]),
    area(233, "Estonia", 1992, NOW, &[]),
    area(748, "Eswatini", 2000, NOW, &[]),
    area(231, "Ethiopia", 1993, NOW, &[]),
    area(230, "Ethiopia (...1992)", 1976, Some(1992), &["ETH", "ERI"]),
    area(
        280,
        "Fed. Rep. of Germany (...1990)",
        1900,
        Some(1990),
        &["DEU"],
    ),
    area(
        254,
        "French Guiana (Overseas France)",
        1900,
        Some(1996),
        &[],
    ),
    area(583, "FS Micronesia", 1992, NOW, &[]),
    area(268, "Georgia", 1992, NOW, &[]),
    area(276, "Germany", 1991, NOW, &[]),
    area(312, "Guadeloupe (Overseas France)", 1900, Some(1996), &[]),
    area(699, "India", 1975, NOW, &[]),
    area(356, "India (...1974)", 1900, Some(1974), &["IND"]),
    area(398, "Kazakhstan", 1992, NOW, &[]),
    area(417, "Kyrgyzstan", 1992, NOW, &[]),
    area(428, "Latvia", 1992, NOW, &[]),
    area(426, "Lesotho", 2000, NOW, &[]),
    area(440, "Lithuania", 1992, NOW, &[]),
    area(442, "Luxembourg", 1999, NOW, &[]),
    area(454, "Malawi", 1965, NOW, &[]),
    area(458, "Malaysia", 1964, NOW, &[]),
    area(584, "Marshall Isds", 1992, NOW, &[]),
    area(175, "Mayotte (Overseas France)", 1900, Some(2013), &[]),
    area(499, "Montenegro", 2006, NOW, &[]),
    area(580, "N. Mariana Isds", 1992, NOW, &[]),
    area(516, "Namibia", 2000, NOW, &[]),
    area(
        530,
        "Netherlands Antilles (...2010)",
        1986,
        Some(2010),
        &["ANT", "CUW", "SXM", "BES"],
    ),
    area(
        532,
        "Netherlands Antilles and Aruba (...1985)",
        1900,
        Some(1985),
        &["ANT", "ABW"],
    ),
    area(807, "North Macedonia", 1993, NOW, &[]),
    area(
        582,
        "Pacific Isds (...1991)",
        1964,
        Some(1991),
        &["FSM", "MHL", "MNP", "PLW"],
    ),
    area(586, "Pakistan", 1972, NOW, &[]),
    area(585, "Palau", 1992, NOW, &[]),
    area(591, "Panama", 1978, NOW, &[]),
    area(
        590,
        "Panama, excl.Canal Zone (...1977)",
        1900,
        Some(1977),
        &["PAN"],
    ),
    area(
        592,
        "Panama-Canal-Zone (...1977)",
        1900,
        Some(1977),
        &["PAN"],
    ),
    area(
        459,
        "Peninsula Malaysia (...1963)",
        1900,
        Some(1963),
        &["MYS"],
    ),
    area(498, "Rep. of Moldova", 1992, NOW, &[]),
    area(868, "Rep. of Vietnam (...1974)", 1900, Some(1974), &["VNM"]),
    area(638, "Réunion (Overseas France)", 1900, Some(1996), &[]),
    area(
        717,
        "Rhodesia Nyas (...1964)",
        1900,
        Some(1964),
        &["ZMB", "MWI", "ZWE"],
    ),
    area(643, "Russian Federation", 1992, NOW, &[]),
    area(647, "Ryukyu Isd", 1900, Some(1972), &[]),
    area(461, "Sabah (...1963)", 1900, Some(1963), &["MYS"]),
    area(652, "Saint Barthélemy", 2013, NOW, &[]),
    area(659, "Saint Kitts and Nevis", 1981, NOW, &[]),
    area(
        658,
        "Saint Kitts, Nevis and Anguilla (...1980)",
        1900,
        Some(1980),
        &["KNA", "AIA"],
    ),
    area(534, "Saint Maarten", 2010, NOW, &[]),
    area(457, "Sarawak", 1900, Some(1963), &["MYS"]),
    area(688, "Serbia", 2006, NOW, &[]),
    area(
        891,
        "Serbia and Montenegro (...2005)",
        1992,
        Some(2006),
        &["SRB", "MNE"],
    ),
    area(
        698,
        "Sikkim, Protectorate of India (...1974)",
        1900,
        Some(1974),
        &[],
    ),
    area(703, "Slovakia", 1993, NOW, &[]),
    area(705, "Slovenia", 1992, NOW, &[]),
    area(710, "South Africa", 2000, NOW, &[]),
    area(728, "South Sudan", 2011, NOW, &[]),
    area(
        711,
        "Southern African Customs Union (...1999)",
        1900,
        Some(1999),
        &["ZAF", "BWA", "LSO", "NAM", "SWZ"],
    ),
    area(275, "State of Palestine", 2000, NOW, &[]),
    area(729, "Sudan", 2011, NOW, &[]),
    area(736, "Sudan (...2011)", 1900, Some(2011), &["SDN", "SSD"]),
    area(762, "Tajikistan", 1992, NOW, &[]),
    area(835, "Tanganyika (...1964)", 1900, Some(1964), &["TZA"]),
    area(626, "Timor-Leste", 2002, NOW, &[]),
    area(795, "Turkmenistan", 1992, NOW, &[]),
    area(804, "Ukraine", 1992, NOW, &[]),
    area(834, "United Rep. of Tanzania", 1965, NOW, &[]),
    area(850, "US Virgin Isds (...1980)", 1900, Some(1980), &["VIR"]),
    area(842, "USA", 1981, NOW, &[]),
    area(
        841,
        "USA and Puerto Rico (...1980)",
        1900,
        Some(1980),
        &["USA", "PRI"],
    ),
    area(
        810,
        "USSR (...1990)",
        1900,
        Some(1990),
        &[
            "RUS", "UKR", "BLR", "KAZ", "UZB", "TKM", "KGZ", "TJK", "GEO", "ARM", "AZE", "MDA",
            "EST", "LVA", "LTU",
        ],
    ),
    area(860, "Uzbekistan", 1992, NOW, &[]),
    area(704, "Viet Nam", 1975, NOW, &[]),
    area(887, "Yemen", 1991, NOW, &[]),
    area(
        890,
        "Yugoslavia (...1991)",
        1900,
        Some(1991),
        &["SRB", "MNE", "HRV", "SVN", "BIH", "MKD"],
    ),
    area(894, "Zambia", 1965, NOW, &[]),
    area(
        836,
        "Zanzibar and Pemba Isd (...1964)",
        1900,
        Some(1964),
        &["TZA"],
    ),
    area(716, "Zimbabwe", 1965, NOW, &[]),
];

/// Jurisdictions whose own code ended when their trade became counted
/// within another jurisdiction's code: (ISO3, that code, its name, its
/// ISO3). Comtrade's France (251, beside 250 "Metropolitan France") has
/// counted the overseas departments since 1997 and Mayotte since 2014.
const COUNTED_WITHIN_AFTER: &[(&str, u16, &str, &str)] = &[
    ("GUF", 251, "France", "FRA"),
    ("GLP", 251, "France", "FRA"),
    ("REU", 251, "France", "FRA"),
    ("MYT", 251, "France", "FRA"),
];

/// Former codes the v1 reporter list does not have (only its partner list
/// does): Sarawak 457, a legacy reporter.
const V1_PARTNERS_ONLY: &[u16] = &[457];

/// The years of `code`, if they are bounded.
pub fn area_years(code: ReporterCode) -> Option<&'static AreaYears> {
    AREA_YEARS.iter().find(|area| area.code == code)
}

/// A former code `code` (one that covered jurisdictions under other codes
/// now), if it is one.
pub fn former_code(code: ReporterCode) -> Option<&'static AreaYears> {
    area_years(code).filter(|area| !area.covers.is_empty())
}

/// The other former codes that covered part of the same jurisdiction as
/// `code` in `year` (278 in 1989: 280, West Germany), when `code` covered
/// only part of one; empty otherwise.
pub fn other_parts(code: ReporterCode, year: u16) -> Vec<&'static AreaYears> {
    let Some(former) = former_code(code) else {
        return Vec::new();
    };
    let [iso3] = former.covers else {
        return Vec::new();
    };
    AREA_YEARS
        .iter()
        .filter(|area| area.code != code && area.covers == [*iso3] && area.contains(year))
        .collect()
}

/// Whether Comtrade publishes trade under `code` in `year`.
pub fn code_in_use(code: ReporterCode, year: u16) -> bool {
    area_years(code).is_none_or(|area| area.contains(year))
}

/// The role a code plays in a request: Comtrade's reporter and partner lists
/// differ (Puerto Rico reports within the USA but is partner 630 on v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaRole {
    Reporter,
    Partner,
}

/// Why a jurisdiction has no Comtrade code in a year, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoCodeInYear {
    pub message: String,
}

impl Country {
    /// The Comtrade code this jurisdiction is asked for under in `year`, as
    /// reporter or partner: its own code where that code exists in `year`,
    /// else the former code that covered it then (Belgium in 1995: 58), else
    /// an error saying which years its codes cover.
    pub fn comtrade_code_in(
        &self,
        dialect: ComtradeDialect,
        role: AreaRole,
        year: u16,
    ) -> Result<ReporterCode, NoCodeInYear> {
        self.comtrade_codes_in(dialect, role, year)
            .map(|codes| codes[0])
    }

    /// Every Comtrade code this jurisdiction's territory was published under
    /// in `year`, as reporter or partner: its own code where that code
    /// exists in `year`; else every former code that covered it (or part of
    /// it) then: one for Belgium in 1995 (58), two for Germany in 1989 (280
    /// West, 278 East); else an error saying which years its codes cover.
    /// Never empty.
    pub fn comtrade_codes_in(
        &self,
        dialect: ComtradeDialect,
        role: AreaRole,
        year: u16,
    ) -> Result<Vec<ReporterCode>, NoCodeInYear> {
        let own = self.own_comtrade_code(dialect, role);
        if let Some(code) = own.filter(|code| code_in_use(*code, year)) {
            return Ok(vec![code]);
        }
        let formers: Vec<ReporterCode> = AREA_YEARS
            .iter()
            .filter(|area| area.covers.contains(&self.iso3) && area.contains(year))
            .filter(|area| {
                !(dialect == ComtradeDialect::V1
                    && role == AreaRole::Reporter
                    && V1_PARTNERS_ONLY.contains(&area.code.0))
            })
            .map(|area| area.code)
            .collect();
        if !formers.is_empty() {
            return Ok(formers);
        }
        let mut spans: Vec<String> = own
            .map(|code| {
                format!(
                    "{code} {}",
                    area_years(code).map_or("in every year".to_owned(), AreaYears::span)
                )
            })
            .into_iter()
            .collect();
        spans.extend(
            AREA_YEARS
                .iter()
                .filter(|area| area.covers.contains(&self.iso3) && Some(area.code) != own)
                .map(|area| format!("{} ({}) {}", area.code, area.name, area.span())),
        );
        // Successors: the other jurisdictions a code that covered this one
        // (and has ended) covered, under their own codes that year (the
        // Netherlands Antilles after 2010: Curaçao, Sint Maarten, Bonaire).
        // Said as what it is: the *other* jurisdictions' codes, which do
        // not cover this one (Aruba in 1987: 532 had ended, and the
        // Netherlands Antilles' 530 does not cover Aruba).
        let mut successors: Vec<String> = Vec::new();
        for former in AREA_YEARS.iter().filter(|area| {
            area.covers.contains(&self.iso3) && area.exit.is_some_and(|exit| exit < year)
        }) {
            let mut others: Vec<String> = Vec::new();
            for other in former.covers.iter().filter_map(|iso3| super::by_iso3(iso3)) {
                if let Some(code) = other
                    .own_comtrade_code(dialect, role)
                    .filter(|code| other.id != self.id && code_in_use(*code, year))
                {
                    let named = format!("{} ({code})", other.name);
                    if !others.contains(&named) {
                        others.push(named);
                    }
                }
            }
            if !others.is_empty() {
                successors.push(format!(
                    "the other jurisdictions {} ({}) covered are reported as {}, which do not include {}",
                    former.code,
                    former.name,
                    others.join(", "),
                    self.name
                ));
            }
        }
        // A partner with no code of its own that year whose trade a
        // reporter code counts in (the US Virgin Islands within the USA's
        // 842 since 1981).
        if role == AreaRole::Partner {
            if let Some(within) = self
                .comtrade(dialect)
                .code()
                .filter(|code| Some(*code) != own && code_in_use(*code, year))
            {
                successors.push(format!(
                    "as a reporter it is counted within {within} then; ask for that partner instead"
                ));
            }
        }
        // A jurisdiction whose own code ended when it became counted within
        // another's (France's overseas departments within 251 from 1997,
        // Mayotte from 2014): say where its trade is now.
        if let Some((_, code, name, iso3)) = COUNTED_WITHIN_AFTER
            .iter()
            .find(|(counted, ..)| *counted == self.iso3)
            .filter(|_| {
                own.is_some_and(|own| {
                    area_years(own)
                        .and_then(|a| a.exit)
                        .is_some_and(|exit| exit < year)
                })
            })
        {
            successors.push(format!(
                "its trade is counted within {name} ({code}) then; ask for {name} ({iso3})"
            ));
        }
        let role_name = match role {
            AreaRole::Reporter => "reporter",
            AreaRole::Partner => "partner",
        };
        Err(NoCodeInYear {
            message: format!(
                "{} has no Comtrade {role_name} code for {year} (Comtrade answers nothing for a code outside its years): {}{}",
                self.name,
                if spans.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("its codes are {}", spans.join("; "))
                },
                if successors.is_empty() {
                    String::new()
                } else {
                    format!("; in {year} {}", successors.join("; "))
                }
            ),
        })
    }

    /// This jurisdiction's own code as `role`, whatever the year (a folded
    /// reporter's is the code it is folded into).
    fn own_comtrade_code(&self, dialect: ComtradeDialect, role: AreaRole) -> Option<ReporterCode> {
        match role {
            AreaRole::Reporter => self.comtrade(dialect).code(),
            AreaRole::Partner => match self.comtrade_partner(dialect) {
                ComtradePartner::Own(code) => Some(code),
                ComtradePartner::Within(_) | ComtradePartner::Absent => None,
            },
        }
    }
}

/// The jurisdictions whose trade Comtrade publishes under `code` as
/// `role`: those a former code covered (58: Belgium and Luxembourg), else
/// the jurisdictions whose own code it is (a reporter code also stands for
/// those folded into it: 842 is the USA, Puerto Rico and the US Virgin
/// Islands).
pub fn area_jurisdictions(
    dialect: ComtradeDialect,
    role: AreaRole,
    code: ReporterCode,
) -> Vec<&'static Country> {
    if let Some(former) = former_code(code) {
        return former
            .covers
            .iter()
            .filter_map(|iso3| super::by_iso3(iso3))
            .collect();
    }
    match role {
        AreaRole::Reporter => super::by_comtrade_code(dialect, code).to_vec(),
        AreaRole::Partner => {
            // A partner code also stands for the jurisdictions counted
            // within it (partner 251 is France and Monaco).
            let mut covered: Vec<&'static Country> = super::by_comtrade_partner(dialect, code)
                .into_iter()
                .collect();
            for country in super::all().iter().chain(super::beyond_gta()) {
                if country.comtrade_partner(dialect) == ComtradePartner::Within(code)
                    && !covered.iter().any(|seen| seen.id == country.id)
                {
                    covered.push(country);
                }
            }
            covered
        }
    }
}

/// Whether `code` is a former area that covered several of today's
/// jurisdictions (58 Belgium-Luxembourg, 891 Serbia and Montenegro): a row
/// under it is no single jurisdiction's.
pub fn is_union_code(code: ReporterCode) -> bool {
    former_code(code).is_some_and(|area| area.covers.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::lookup;

    /// Issue 21's tenth attack: France's overseas departments after their
    /// codes ended (1996; Mayotte 2013) are refused pointing to France's
    /// 251, as reporter and partner, in both dialects; before, they are
    /// their own codes.
    #[test]
    fn overseas_departments_point_to_france() {
        for (iso3, last) in [("GUF", 1996), ("GLP", 1996), ("REU", 1996), ("MYT", 2013)] {
            let country = lookup(iso3).unwrap();
            for dialect in [ComtradeDialect::V1, ComtradeDialect::Legacy] {
                for role in [AreaRole::Reporter, AreaRole::Partner] {
                    let refused = country
                        .comtrade_codes_in(dialect, role, last + 1)
                        .unwrap_err()
                        .message;
                    assert!(
                        refused.contains("France (251)") && refused.contains("FRA"),
                        "{iso3} {role:?}: {refused}"
                    );
                    assert!(country.comtrade_codes_in(dialect, role, last).is_ok());
                }
            }
        }
    }

    fn code(iso3: &str, role: AreaRole, year: u16) -> Result<u16, NoCodeInYear> {
        lookup(iso3)
            .unwrap()
            .comtrade_code_in(ComtradeDialect::V1, role, year)
            .map(|code| code.0)
    }

    fn codes(iso3: &str, role: AreaRole, year: u16) -> Vec<u16> {
        lookup(iso3)
            .unwrap()
            .comtrade_codes_in(ComtradeDialect::V1, role, year)
            .unwrap()
            .into_iter()
            .map(|code| code.0)
            .collect()
    }

    /// Attack 21, F2.1: a jurisdiction-year covered by two former codes is
    /// asked under both, as reporter and as partner, in both dialects.
    #[test]
    fn predecessors_with_two_codes_are_all_asked_for() {
        use AreaRole::{Partner, Reporter};
        for role in [Reporter, Partner] {
            assert_eq!(codes("DEU", role, 1989), vec![278, 280]);
            assert_eq!(codes("YEM", role, 1989), vec![886, 720]);
            assert_eq!(codes("VNM", role, 1974), vec![866, 868]);
            assert_eq!(codes("TZA", role, 1964), vec![835, 836]);
            assert_eq!(codes("PAN", role, 1977), vec![590, 592]);
            assert_eq!(codes("MYS", role, 1964), vec![458]);
            assert_eq!(codes("DEU", role, 1991), vec![276]);
            assert_eq!(codes("YEM", role, 1991), vec![887]);
            assert_eq!(codes("BEL", role, 1995), vec![58]);
        }
        assert_eq!(codes("MYS", Reporter, 1963), vec![459, 461]);
        assert_eq!(codes("MYS", Partner, 1963), vec![459, 461, 457]);
        let parts = |code: u16, year: u16| -> Vec<u16> {
            other_parts(ReporterCode(code), year)
                .iter()
                .map(|area| area.code.0)
                .collect()
        };
        assert_eq!(parts(278, 1989), vec![280]);
        assert_eq!(parts(280, 1989), vec![278]);
        assert_eq!(parts(836, 1964), vec![835]);
        assert!(parts(58, 1995).is_empty());
        assert!(parts(356, 1970).is_empty());
        assert!(is_union_code(ReporterCode(891)) && !is_union_code(ReporterCode(278)));
        let taiwan = area_jurisdictions(ComtradeDialect::V1, Partner, ReporterCode(158));
        assert_eq!(taiwan.iter().map(|c| c.iso3).collect::<Vec<_>>(), ["TWN"]);
        let france = area_jurisdictions(ComtradeDialect::V1, Partner, ReporterCode(251));
        assert!(
            france.iter().any(|c| c.iso3 == "FRA") && france.iter().any(|c| c.iso3 == "MCO"),
            "{:?}",
            france.iter().map(|c| c.iso3).collect::<Vec<_>>()
        );
    }

    #[test]
    fn codes_follow_the_year() {
        use AreaRole::{Partner, Reporter};
        assert_eq!(codes("DEU", Reporter, 1985), vec![278, 280]);
        assert_eq!(code("DEU", Reporter, 1991), Ok(276));
        assert_eq!(code("USA", Reporter, 1975), Ok(841));
        assert_eq!(code("IND", Reporter, 1974), Ok(356));
        assert_eq!(code("SRB", Reporter, 2000), Ok(891));
        assert_eq!(code("MNE", Reporter, 2000), Ok(891));
        assert_eq!(code("SRB", Reporter, 2006), Ok(688));
        assert_eq!(code("SSD", Reporter, 2005), Ok(736));
        assert_eq!(code("BEL", Reporter, 1995), Ok(58));
        assert_eq!(code("LUX", Partner, 1995), Ok(58));
        assert_eq!(code("VIR", Partner, 1975), Ok(850));
        let refused = code("VIR", Partner, 2020).unwrap_err().message;
        assert!(
            refused.contains("850") && refused.contains("until 1980"),
            "{refused}"
        );
        assert!(code("TLS", Reporter, 1995).is_err());
        // Attack 21, F2.2: the refusals say what is true, once.
        let aruba = code("ABW", Reporter, 1987).unwrap_err().message;
        assert!(
            aruba.contains("do not include Aruba") && !aruba.contains("its former area is"),
            "{aruba}"
        );
        assert_eq!(refused.matches("850").count(), 1, "{refused}");
        assert!(refused.contains("within 842"), "{refused}");
        let dissolved = code("ANT", Reporter, 2015).unwrap_err().message;
        assert!(
            dissolved.contains("1986-2010")
                && dissolved.contains("Curaçao (531)")
                && dissolved.contains("Sint Maarten (Dutch part) (534)"),
            "{dissolved}"
        );
        assert!(!code_in_use(ReporterCode(276), 1985));
        assert!(code_in_use(ReporterCode(280), 1990));
        assert!(!code_in_use(ReporterCode(280), 1991));
        assert!(!code_in_use(ReporterCode(688), 2000));
    }

    /// Every jurisdiction, role, dialect and year 1962-2030: a code given
    /// is in use that year and stands for the jurisdiction; a refusal
    /// happens only when no code of its own or covering it is in use.
    #[test]
    fn every_code_given_is_in_use_and_stands_for_the_jurisdiction() {
        for country in crate::countries::all() {
            for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
                for role in [AreaRole::Reporter, AreaRole::Partner] {
                    for year in 1962..=2030 {
                        match country.comtrade_code_in(dialect, role, year) {
                            Ok(code) => {
                                assert!(code_in_use(code, year), "{code} in {year}");
                                let covered = area_jurisdictions(dialect, role, code);
                                assert!(
                                    covered.iter().any(|c| c.id == country.id),
                                    "{} {role:?} {year}: {code} covers {:?}",
                                    country.iso3,
                                    covered.iter().map(|c| c.iso3).collect::<Vec<_>>()
                                );
                            }
                            Err(refused) => assert!(
                                !AREA_YEARS
                                    .iter()
                                    .any(|area| area.covers.contains(&country.iso3)
                                        && area.contains(year)),
                                "{}",
                                refused.message
                            ),
                        }
                    }
                }
            }
        }
    }
}
