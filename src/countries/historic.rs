//! Codes a jurisdiction's trade was published under before its current one.
//!
//! Comtrade keeps a country's history under the code it had then: West
//! Germany until 1990 is 280 (Germany is 276 from 1991), the USA until 1980 is
//! 841 ("USA and Puerto Rico"), India until 1974 is 356. Asking for 276 in
//! 1985 is silently empty, so a reporter or partner code depends on the year
//! asked for. Both API generations list these codes as reporters and
//! partners (`ref_v1_reporters`, `ref_v1_partners`, legacy `reporterAreas`,
//! `partnerAreas`; `tests/crosswalk.rs` holds the table against them).

use super::{Country, GtaId, ReporterCode};

/// One former code: the jurisdiction, the code, and the last year published
/// under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoricCode {
    pub id: GtaId,
    pub code: ReporterCode,
    pub last_year: u16,
}

const fn former(id: u16, code: u16, last_year: u16) -> HistoricCode {
    HistoricCode {
        id: GtaId(id),
        code: ReporterCode(code),
        last_year,
    }
}

/// Every former code, from the reference lists' entry and exit years.
pub static HISTORIC: &[HistoricCode] = &[
    // Belgium-Luxembourg (...1998): both countries' trade until 1998.
    former(56, 58, 1998),
    former(442, 58, 1998),
    // Fed. Rep. of Germany (...1990).
    former(276, 280, 1990),
    // Ethiopia (...1992), with Eritrea.
    former(231, 230, 1992),
    // India, excluding Sikkim (...1974).
    former(699, 356, 1974),
    // Netherlands Antilles and Aruba (...1985).
    former(532, 532, 1985),
    // East and West Pakistan (...1971).
    former(586, 588, 1971),
    // Panama, excluding the Canal Zone (...1977).
    former(591, 590, 1977),
    // Saint Kitts, Nevis and Anguilla (...1980).
    former(659, 658, 1980),
    // Sudan (...2011), before South Sudan.
    former(729, 736, 2011),
    // USA and Puerto Rico (...1980).
    former(840, 841, 1980),
    // Rep. of Vietnam (...1974).
    former(704, 868, 1974),
    // Arab Rep. of Yemen (...1990).
    former(887, 886, 1990),
];

impl Country {
    /// The former code this jurisdiction's trade in `year` is published
    /// under, if `year` is before its current code.
    pub fn former_comtrade_code(&self, year: u16) -> Option<ReporterCode> {
        HISTORIC
            .iter()
            .filter(|former| former.id == self.id && year <= former.last_year)
            .min_by_key(|former| former.last_year)
            .map(|former| former.code)
    }
}

/// The former code `code`, if it is one.
pub fn former_code(code: ReporterCode) -> Option<&'static HistoricCode> {
    HISTORIC.iter().find(|former| former.code == code)
}

/// Whether Comtrade publishes trade under `code` in `year`: a former code
/// only up to its last year, a code that replaced one only after it.
pub fn code_in_use(code: ReporterCode, year: u16) -> bool {
    if let Some(former) = former_code(code) {
        return year <= former.last_year;
    }
    let replaced = HISTORIC.iter().find(|former| {
        super::by_gta_id(former.id)
            .and_then(|country| country.comtrade(super::ComtradeDialect::V1).code())
            == Some(code)
    });
    replaced.is_none_or(|former| year > former.last_year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::lookup;

    #[test]
    fn codes_follow_the_year() {
        let germany = lookup("DEU").unwrap();
        assert_eq!(germany.former_comtrade_code(1985), Some(ReporterCode(280)));
        assert_eq!(germany.former_comtrade_code(1991), None);
        assert_eq!(
            lookup("USA").unwrap().former_comtrade_code(1975),
            Some(ReporterCode(841))
        );
        assert_eq!(
            lookup("IND").unwrap().former_comtrade_code(1974),
            Some(ReporterCode(356))
        );
        assert!(!code_in_use(ReporterCode(276), 1985));
        assert!(code_in_use(ReporterCode(276), 1991));
        assert!(code_in_use(ReporterCode(280), 1990));
        assert!(!code_in_use(ReporterCode(280), 1991));
    }
}
