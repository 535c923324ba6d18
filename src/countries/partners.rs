//! Comtrade partner codes: a jurisdiction as the *partner* of a flow.
//!
//! Comtrade's partner lists are not its reporter lists. A jurisdiction that
//! reports inside another (Puerto Rico inside the USA) can still be a partner
//! of its own (v1 partner 630), and some partners never report at all (Guam
//! 316). Folding is a reporter rule: asking for partner 842 when the user
//! named Puerto Rico would answer trade with the USA labelled as trade with
//! Puerto Rico. So a partner is its own code where the dialect's partner list
//! has one, and is refused, saying where its trade is, where it has none.
//!
//! The rule: a jurisdiction Comtrade publishes as a reporter (`Own`, `Ended`)
//! is a partner under the same code; the exceptions below are the
//! jurisdictions whose partner code differs from their reporter link, checked
//! against `ref_v1_partners` and legacy `partnerAreas.json` by
//! `tests/crosswalk.rs`.

use super::{ComtradeDialect, ComtradeReporter, Country, GtaId, ReporterCode};

/// How a jurisdiction can be asked for as a Comtrade partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComtradePartner {
    /// The dialect's partner list has it under this code.
    Own(ReporterCode),
    /// No partner code of its own: its trade is counted within this
    /// partner's (Monaco within France).
    Within(ReporterCode),
    /// Not in the dialect's partner list at all.
    Absent,
}

use ComtradePartner::{Absent as No, Own as Code, Within};

/// Jurisdictions whose partner code differs from their reporter link:
/// (GTA id, legacy partner, v1 partner).
static EXCEPTIONS: &[(GtaId, ComtradePartner, ComtradePartner)] = &[
    // American Samoa, Guam, Norfolk Island, Pitcairn, Western Sahara: partners
    // in both lists, reporters in neither.
    (GtaId(16), Code(ReporterCode(16)), Code(ReporterCode(16))),
    (GtaId(316), Code(ReporterCode(316)), Code(ReporterCode(316))),
    (GtaId(574), Code(ReporterCode(574)), Code(ReporterCode(574))),
    (GtaId(612), Code(ReporterCode(612)), Code(ReporterCode(612))),
    (GtaId(732), Code(ReporterCode(732)), Code(ReporterCode(732))),
    // Chinese Taipei: partners report it as 490 "Other Asia, nes", as it
    // reports itself (v1's partner list also has 158, which reporters do not use).
    (GtaId(158), Code(ReporterCode(490)), Code(ReporterCode(490))),
    // Falkland Islands: a legacy reporter; a v1 partner only.
    (GtaId(238), Code(ReporterCode(238)), Code(ReporterCode(238))),
    // Liechtenstein: within Switzerland in the legacy list, its own v1 partner.
    (
        GtaId(438),
        Within(ReporterCode(757)),
        Code(ReporterCode(438)),
    ),
    // Monaco: within France in both ("France, Monaco").
    (
        GtaId(492),
        Within(ReporterCode(251)),
        Within(ReporterCode(251)),
    ),
    // Puerto Rico: within the USA in the legacy list, its own v1 partner.
    (
        GtaId(630),
        Within(ReporterCode(842)),
        Code(ReporterCode(630)),
    ),
    // Saint-Martin (French part): a v1 partner only.
    (GtaId(663), No, Code(ReporterCode(663))),
    // Svalbard and Jan Mayen: within Norway in the legacy list, a v1 partner.
    (
        GtaId(744),
        Within(ReporterCode(579)),
        Code(ReporterCode(744)),
    ),
    // US Virgin Islands: partner 850 in both lists (v1 notes it ended in
    // 1980; later trade is within the USA's 842).
    (GtaId(850), Code(ReporterCode(850)), Code(ReporterCode(850))),
    // Saint-Barthélemy: a legacy reporter (652) but not a legacy partner.
    (GtaId(652), No, Code(ReporterCode(652))),
    // Kosovo: v1 partner 412 (ISO3 "_KS"); not in the legacy list.
    (GtaId(999), No, Code(ReporterCode(412))),
    // Territories outside GTA's list that Comtrade's partner lists name
    // (countries/extra.rs): both lists, or v1's only.
    (GtaId(10), Code(ReporterCode(10)), Code(ReporterCode(10))),
    (GtaId(74), Code(ReporterCode(74)), Code(ReporterCode(74))),
    (GtaId(86), Code(ReporterCode(86)), Code(ReporterCode(86))),
    (GtaId(162), Code(ReporterCode(162)), Code(ReporterCode(162))),
    (GtaId(166), Code(ReporterCode(166)), Code(ReporterCode(166))),
    (GtaId(239), Code(ReporterCode(239)), Code(ReporterCode(239))),
    (GtaId(248), No, Code(ReporterCode(248))),
    (GtaId(260), Code(ReporterCode(260)), Code(ReporterCode(260))),
    (GtaId(334), Code(ReporterCode(334)), Code(ReporterCode(334))),
    (GtaId(581), Code(ReporterCode(581)), Code(ReporterCode(581))),
    (GtaId(831), No, Code(ReporterCode(831))),
    (GtaId(832), No, Code(ReporterCode(832))),
    (GtaId(833), No, Code(ReporterCode(833))),
];

impl Country {
    /// This jurisdiction as a Comtrade partner in `dialect`.
    pub fn comtrade_partner(&self, dialect: ComtradeDialect) -> ComtradePartner {
        if let Some((_, legacy, v1)) = EXCEPTIONS.iter().find(|(id, ..)| *id == self.id) {
            return match dialect {
                ComtradeDialect::Legacy => *legacy,
                ComtradeDialect::V1 => *v1,
            };
        }
        match self.comtrade(dialect) {
            ComtradeReporter::Own(code) | ComtradeReporter::Ended { code, .. } => Code(code),
            ComtradeReporter::Folded(code) => Within(code),
            ComtradeReporter::Absent => No,
        }
    }
}

/// Areas of Comtrade's partner lists that are no jurisdiction: "nes" areas
/// (trade a reporter could not place more precisely), bunkers, free zones
/// and territories that no longer exist or belong to no one. A user who
/// reads one of these codes in a row can ask for it as a partner, as that
/// code; none is a reporter. (code, v1 name, in the legacy partner list
/// too.) Held against `ref_v1_partners` and legacy `partnerAreas.json` by
/// `tests/crosswalk.rs`. 492 "Europe EU, nes" and 250 "Metropolitan France"
/// are not here: they are refused (492 is also GTA's Monaco, 250 France's
/// partner code without its overseas departments).
pub static PARTNER_AREAS: &[(u16, &str, bool)] = &[
    (80, "Br. Antarctic Terr.", true),
    (129, "Caribbean, nes", true),
    (221, "Eastern Europe, nes", true),
    (290, "Northern Africa, nes", true),
    (471, "CACM, nes", true),
    (472, "Africa CAMEU region, nes", true),
    (473, "LAIA, nes", true),
    (488, "Midway Islands", false),
    (527, "Oceania, nes", true),
    (536, "Neutral Zone", true),
    (568, "Other Europe, nes", true),
    (577, "Other Africa, nes", true),
    (636, "Rest of America, nes", true),
    (637, "North America and Central America, nes", true),
    (647, "Ryukyu Isd", true),
    (697, "Europe EFTA, nes", true),
    (698, "Sikkim, Protectorate of India (...1974)", true),
    (830, "Channel Islands", false),
    (837, "Bunkers", true),
    (838, "Free Zones", true),
    (839, "Special Categories", true),
    (849, "US Misc. Pacific Isds", true),
    (872, "Wake Island", false),
    (879, "Western Asia, nes", true),
    (899, "Areas, nes", true),
];

/// The partner area `number` is in `dialect`'s partner list, if it is one
/// of [`PARTNER_AREAS`].
pub fn partner_area(dialect: ComtradeDialect, number: u16) -> Option<&'static str> {
    PARTNER_AREAS
        .iter()
        .find(|(code, _, legacy)| *code == number && (dialect == ComtradeDialect::V1 || *legacy))
        .map(|(_, name, _)| *name)
}

/// The partner code a number given as a partner argument is *as a Comtrade
/// code*, sent as that code only: a jurisdiction's own partner code in
/// `dialect` (842, 757), a former area (280 West Germany, not widened to
/// East Germany's 278), or an area that is no jurisdiction (837 Bunkers).
/// `None` when the number is a GTA id (840: the USA, whose code follows the
/// calendar) or no partner code of the dialect (the caller then refuses it,
/// saying why).
pub fn partner_code_given(dialect: ComtradeDialect, number: u16) -> Option<ReporterCode> {
    let code = ReporterCode(number);
    // A former union of several (58 Belgium-Luxembourg) is refused, naming them.
    if super::by_gta_id(GtaId(number)).is_some() || super::is_union_code(code) {
        return None;
    }
    let known = super::by_comtrade_partner(dialect, code).is_some()
        // A former part of one jurisdiction (280 West Germany).
        || super::former_code(code).is_some()
        || partner_area(dialect, number).is_some();
    known.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::lookup;

    #[test]
    fn partners_are_not_reporters() {
        let partner = |iso3: &str, dialect| lookup(iso3).unwrap().comtrade_partner(dialect);
        use ComtradeDialect::{Legacy, V1};
        assert_eq!(partner("PRI", V1), Code(ReporterCode(630)));
        assert_eq!(partner("PRI", Legacy), Within(ReporterCode(842)));
        assert_eq!(partner("LIE", V1), Code(ReporterCode(438)));
        assert_eq!(partner("XXK", V1), Code(ReporterCode(412)));
        assert_eq!(partner("XXK", Legacy), No);
        assert_eq!(partner("USA", V1), Code(ReporterCode(842)));
        assert_eq!(partner("ITA", Legacy), Code(ReporterCode(381)));
        assert_eq!(partner("ITA", V1), Code(ReporterCode(380)));
        assert_eq!(partner("MCO", V1), Within(ReporterCode(251)));
    }
}
