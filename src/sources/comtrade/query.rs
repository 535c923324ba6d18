//! What a trade-flow request asks for, checked against the dialect's rules
//! before anything is planned: trade type, frequency, classification, flow,
//! commodities (the [`FlowShape`] that keys of one request share), and per key
//! a reporter, a partner and a period ([`TradeFlowKey`]).

use std::fmt;
use std::sync::Arc;

use super::model::FlowCode;
use crate::countries::{ComtradeDialect, ReporterCode};
use crate::error::Error;

/// Goods or services (`type`, `typeCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TradeType {
    Goods,
    Services,
}

impl TradeType {
    pub fn code(self) -> &'static str {
        match self {
            Self::Goods => "C",
            Self::Services => "S",
        }
    }
}

/// Annual or monthly data (`freq`, `freqCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frequency {
    Annual,
    Monthly,
}

impl Frequency {
    pub fn code(self) -> &'static str {
        match self {
            Self::Annual => "A",
            Self::Monthly => "M",
        }
    }
}

/// Classifications each dialect accepts (`px` in legacy, `clCode` in v1).
pub fn classifications(dialect: ComtradeDialect) -> &'static [&'static str] {
    match dialect {
        ComtradeDialect::Legacy => &[
            "HS", "H0", "H1", "H2", "H3", "H4", "H5", "ST", "S1", "S2", "S3", "S4", "BEC", "EB02",
        ],
        ComtradeDialect::V1 => &[
            "HS", "H0", "H1", "H2", "H3", "H4", "H5", "H6", "SS", "S1", "S2", "S3", "S4", "B4",
            "B5", "EB", "EB02", "EB10", "EB10S", "EBSDMX",
        ],
    }
}

/// The chapters of v1's HS list (`ref_v1_HS`, aggrLevel 2): 01 to 97
/// (77 reserved but listed) and 99, "Commodities not specified according to
/// kind", which the legacy API's AG2 answers too (the recorded legacy AG2
/// payload has chapter 99 rows).
pub const HS_CHAPTERS: [u8; 98] = {
    let mut chapters = [0u8; 98];
    let mut index = 0;
    while index < 97 {
        chapters[index] = index as u8 + 1;
        index += 1;
    }
    chapters[97] = 99;
    chapters
};

/// Commodity codes as v1 knows them. Its services lists (EB, EB02...) have
/// no `TOTAL`: their total is `200` (`ref_v1_cmd_EB*`). Its lists have none
/// of the legacy aggregates `AG1`..`AG6`: `AG2` in an HS classification is
/// its chapters ([`HS_CHAPTERS`]), the others are refused, saying what to
/// ask for instead.
fn v1_commodities(codes: Vec<String>, classification: &str) -> Result<Vec<String>, Error> {
    let services = classification.starts_with("EB");
    let hs =
        classification == "HS" || (classification.len() == 2 && classification.starts_with('H'));
    let mut translated = Vec::with_capacity(codes.len());
    for code in codes {
        match code.as_str() {
            "TOTAL" if services => translated.push(SERVICES_TOTAL.to_owned()),
            "AG2" if hs => translated.extend(HS_CHAPTERS.iter().map(|c| format!("{c:02}"))),
            aggregate if aggregate.len() == 3 && aggregate.starts_with("AG") => {
                return Err(Error::bad_input(format!(
                    "commodity {aggregate} is a legacy Comtrade aggregate that the v1 API does not have{}; name the codes (e.g. \"27\", \"2709\"), or use TOTAL or ALL",
                    if hs { " (AG2 is translated into the HS chapters)" } else { "" }
                )))
            }
            _ => translated.push(code),
        }
    }
    Ok(translated)
}

/// The total of v1's services classifications (EB, EB02, EB10...).
pub const SERVICES_TOTAL: &str = "200";

/// A partner: one area (0 is World) or every partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartnerCode {
    Area(u16),
    All,
}

impl PartnerCode {
    pub const WORLD: PartnerCode = PartnerCode::Area(0);

    /// Whether `given` asks for every partner ("all", Comtrade's keyword).
    pub fn means_all(given: &str) -> bool {
        given.trim().eq_ignore_ascii_case("all")
    }

    /// A partner as a caller names it: World ("World", "0", "WLD"), every
    /// partner ("all"), or a jurisdiction in any spelling, as its Comtrade
    /// area code in `dialect`, with the jurisdiction it resolved to (whose
    /// code for an earlier year can differ).
    pub fn parse(
        dialect: ComtradeDialect,
        given: &str,
    ) -> Result<(Self, Option<&'static crate::countries::Country>), Error> {
        let text = given.trim();
        if text.eq_ignore_ascii_case("world") || text == "0" || text.eq_ignore_ascii_case("wld") {
            return Ok((Self::WORLD, None));
        }
        if Self::means_all(text) {
            return Ok((Self::All, None));
        }
        if let Some(bloc) = crate::countries::bloc(text) {
            return Err(Error::bad_input(format!(
                "the {} is not in Comtrade's partner lists (only its own trade is, as reporter {}): ask for its members as partners, e.g. jurisdictions(group: \"EU-27\")",
                bloc.name, bloc.comtrade_reporter
            )));
        }
        if let Ok(number) = text.parse::<u16>() {
            // A Comtrade code given as a number is that code only (partner
            // "280" is West Germany's area, never widened to East Germany's
            // 278 beside it), and so is an area of the partner list that is
            // no jurisdiction (837 Bunkers, 899 Areas, nes).
            if let Some(code) = crate::countries::partner_code_given(dialect, number) {
                return Ok((Self::Area(code.0), None));
            }
        }
        let country = crate::countries::lookup(text).ok_or_else(|| {
            Error::from(crate::countries::UnknownCountry {
                given: text.to_owned(),
            })
        })?;
        use crate::countries::ComtradePartner;
        let api = match dialect {
            ComtradeDialect::Legacy => "the legacy Comtrade API",
            ComtradeDialect::V1 => "the v1 Comtrade API",
        };
        match country.comtrade_partner(dialect) {
            ComtradePartner::Own(code) => Ok((Self::Area(code.0), Some(country))),
            ComtradePartner::Within(code) => Err(Error::bad_input(format!(
                "{} is not a partner of its own in {api}: its trade is counted within {} (partner {code}); ask for that partner instead",
                country.name,
                crate::countries::by_comtrade_partner(dialect, code).map_or("another area", |within| within.name),
            ))),
            ComtradePartner::Absent => Err(Error::bad_input(format!(
                "{} is not in {api}'s partner list",
                country.name
            ))),
        }
    }
}

impl fmt::Display for PartnerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Area(code) => code.fmt(f),
            Self::All => f.write_str("all"),
        }
    }
}

/// A period: a year or month, or the legacy API's `now` and `recent`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// `YYYY` or `YYYYMM`.
    Exact(String),
    /// The most recent period available (legacy `now`).
    Latest,
    /// The five most recent periods available (legacy `recent`).
    Recent,
}

impl Period {
    /// Parses a period for `frequency`: `YYYY` (annual, or a whole year of
    /// months), `YYYYMM` (monthly), and on the legacy API `now` and `recent`.
    pub fn parse(
        text: &str,
        frequency: Frequency,
        dialect: ComtradeDialect,
    ) -> Result<Self, Error> {
        let text = text.trim();
        match text.to_ascii_lowercase().as_str() {
            "now" | "recent" if dialect == ComtradeDialect::V1 => {
                return Err(Error::bad_input(format!(
                    "period {text:?} exists only in the legacy Comtrade API; give years (\"2022\") or months (\"202201\")"
                )))
            }
            "now" => return Ok(Self::Latest),
            "recent" => return Ok(Self::Recent),
            _ => {}
        }
        let digits = text.chars().all(|c| c.is_ascii_digit());
        let valid = match (frequency, text.len()) {
            (_, 4) => digits && ("1962".."2100").contains(&text),
            (Frequency::Monthly, 6) => {
                digits
                    && ("1962".."2100").contains(&&text[..4])
                    && ("01"..="12").contains(&&text[4..])
            }
            _ => false,
        };
        if !valid {
            let expected = match frequency {
                Frequency::Annual => "a year YYYY",
                Frequency::Monthly => "a month YYYYMM or a year YYYY",
            };
            return Err(Error::bad_input(format!(
                "period {text:?} is not {expected} (1962 or later){}",
                if dialect == ComtradeDialect::Legacy {
                    ", \"now\" or \"recent\""
                } else {
                    ""
                }
            )));
        }
        Ok(Self::Exact(text.to_owned()))
    }

    /// The code on the wire.
    pub fn wire(&self) -> &str {
        match self {
            Self::Exact(text) => text,
            Self::Latest => "now",
            Self::Recent => "recent",
        }
    }

    /// The year of a period given as a year or month (`None` for the
    /// legacy API's `now` and `recent`).
    pub fn year(&self) -> Option<u16> {
        match self {
            Self::Exact(text) => text.get(..4)?.parse().ok(),
            Self::Latest | Self::Recent => None,
        }
    }

    /// Months this period stands for in a monthly request: a year is 12
    /// (expanded by the legacy API, by the gateway for v1), `recent` 5.
    pub fn months(&self) -> usize {
        match self {
            Self::Exact(period) if period.len() == 4 => 12,
            Self::Exact(_) | Self::Latest => 1,
            Self::Recent => 5,
        }
    }

    /// The codes this period goes out as: a monthly year is its 12 months
    /// on v1, which takes only `YYYYMM` for monthly data (a year asks for
    /// nothing); the legacy API expands a year itself (seed 004).
    pub fn wire_codes(&self, frequency: Frequency, dialect: ComtradeDialect) -> Vec<String> {
        match self {
            Self::Exact(year)
                if year.len() == 4
                    && frequency == Frequency::Monthly
                    && dialect == ComtradeDialect::V1 =>
            {
                (1..=12).map(|month| format!("{year}{month:02}")).collect()
            }
            other => vec![other.wire().to_owned()],
        }
    }

    /// Whether a row's period answers this one.
    pub fn matches(&self, row_period: &str) -> bool {
        match self {
            Self::Exact(period) => {
                row_period == period
                    || (period.len() == 4
                        && row_period.len() == 6
                        && row_period.starts_with(period.as_str()))
            }
            Self::Latest | Self::Recent => true,
        }
    }
}

/// Commodity codes: `TOTAL`, `ALL`, `AG1`..`AG6`, or a classification's own
/// codes (digits for HS and SITC, digits and letters for services).
pub fn parse_commodity(text: &str) -> Result<String, Error> {
    let code = text.trim().to_ascii_uppercase();
    let valid = !code.is_empty()
        && code.len() <= 12
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if !valid {
        return Err(Error::bad_input(format!(
            "commodity {text:?} is not a commodity code (e.g. TOTAL, AG2, 27, 2709, ALL)"
        )));
    }
    Ok(code)
}

/// What every key of one request shares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowShape {
    pub trade_type: TradeType,
    pub frequency: Frequency,
    pub classification: String,
    /// `None` asks for the default flows ([`FlowCode::DEFAULT`]).
    pub flow: Option<FlowCode>,
    /// Sorted, without duplicates.
    pub commodities: Vec<String>,
}

impl FlowShape {
    /// Checks a shape against `dialect`'s rules.
    pub fn new(
        dialect: ComtradeDialect,
        trade_type: TradeType,
        frequency: Frequency,
        classification: Option<&str>,
        flow: Option<FlowCode>,
        commodities: &[String],
    ) -> Result<Self, Error> {
        let default = match trade_type {
            TradeType::Goods => "HS",
            TradeType::Services => "EB02",
        };
        let classification = classification
            .unwrap_or(default)
            .trim()
            .to_ascii_uppercase();
        if !classifications(dialect).contains(&classification.as_str()) {
            return Err(Error::bad_input(format!(
                "classification {classification:?} is not one this Comtrade API accepts: {}",
                classifications(dialect).join(", ")
            )));
        }
        if let Some(flow) =
            flow.filter(|flow| dialect == ComtradeDialect::Legacy && flow.legacy_code().is_none())
        {
            return Err(Error::bad_input(format!(
                "flow {flow:?} (v1 flowCode {}) exists only in the v1 Comtrade API; the legacy API has imports, exports, re-imports and re-exports (set --comtrade-api v1)",
                flow.v1_code(),
            )));
        }
        let mut codes = if commodities.is_empty() {
            vec!["TOTAL".to_owned()]
        } else {
            commodities
                .iter()
                .map(|c| parse_commodity(c))
                .collect::<Result<Vec<_>, _>>()?
        };
        if dialect == ComtradeDialect::V1 {
            codes = v1_commodities(codes, &classification)?;
        }
        codes.sort();
        codes.dedup();
        Ok(Self {
            trade_type,
            frequency,
            classification,
            flow,
            commodities: codes,
        })
    }
}

/// One reporter's flows with one partner in one period, under a shared shape:
/// what a resolver asks the loader for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TradeFlowKey {
    pub reporter: ReporterCode,
    pub partner: PartnerCode,
    pub period: Period,
    pub shape: Arc<FlowShape>,
    /// Every reporter, partner and period of the field that asked, when the
    /// field's codes are planned with the codes of other fields of the same
    /// arguments (`Commodity.tradeFlows` under a list of commodities): the
    /// loader plans such keys by the field's arguments, as the cost estimate
    /// counts them, not by the union of the arguments each code was asked
    /// under. `None` plans a key with the other keys of its shape.
    pub asked_with: Option<Arc<[Triple]>>,
}

/// One reporter's flows with one partner in one period: the unit the
/// planner packs.
pub type Triple = (ReporterCode, PartnerCode, Period);

#[cfg(test)]
mod tests {
    use super::*;
    use ComtradeDialect::{Legacy, V1};

    #[test]
    fn periods_follow_frequency_and_dialect() {
        assert_eq!(
            Period::parse("2022", Frequency::Annual, V1).unwrap(),
            Period::Exact("2022".into())
        );
        assert!(Period::parse("202201", Frequency::Annual, V1).is_err());
        assert!(Period::parse("202213", Frequency::Monthly, V1).is_err());
        assert!(Period::parse("202212", Frequency::Monthly, V1).is_ok());
        assert_eq!(
            Period::parse("recent", Frequency::Annual, Legacy).unwrap(),
            Period::Recent
        );
        assert!(Period::parse("now", Frequency::Annual, V1)
            .unwrap_err()
            .to_string()
            .contains("legacy"));
        assert!(Period::parse("1850", Frequency::Annual, V1).is_err());
        assert!(Period::Exact("2022".into()).matches("202203"));
    }

    #[test]
    fn shapes_check_classification_and_commodities() {
        let shape =
            FlowShape::new(V1, TradeType::Goods, Frequency::Annual, None, None, &[]).unwrap();
        assert_eq!(
            (shape.classification.as_str(), shape.commodities.as_slice()),
            ("HS", &["TOTAL".to_owned()][..])
        );
        assert!(FlowShape::new(
            Legacy,
            TradeType::Goods,
            Frequency::Annual,
            Some("H6"),
            None,
            &[]
        )
        .is_err());
        assert!(FlowShape::new(
            V1,
            TradeType::Goods,
            Frequency::Annual,
            None,
            None,
            &["27; DROP".into()]
        )
        .is_err());
    }
}
