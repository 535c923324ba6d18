//! Generated Comtrade flows: every reporter of the crosswalk reports imports
//! and exports with World and its main partners for 2000-2023, annual and
//! monthly, in plausible magnitudes. Values are a pure function of the
//! request coordinates, so both dialects and every request shape agree.
//!
//! The codes of the sample HS list ([`super::hs_list`]) add up: a
//! subheading's value is its share of the total (whole dollars, the last
//! subheading taking the rounding), a heading's the sum of its
//! subheadings', a chapter's the sum of its headings', the total the sum of
//! the chapters'. Codes outside the list get a share of their own in other
//! classifications; asked in HS, the simulator answers only the list's codes.

use std::collections::HashMap;

use super::hs_list::hs;
use crate::countries::{self, ComtradeDialect, ComtradeReporter, ReporterCode};

/// First and last year with data (1962: Comtrade's first; the years before
/// 1991 are where former codes such as West Germany's 280 apply).
pub const FIRST_YEAR: u32 = 1962;
pub const LAST_YEAR: u32 = 2023;

/// The partners a reporter trades with when asked for all partners: World
/// and the largest economies (Comtrade's own codes; Italy's differs by
/// dialect).
pub fn main_partners(dialect: ComtradeDialect) -> Vec<u16> {
    let italy = match dialect {
        ComtradeDialect::Legacy => 381,
        ComtradeDialect::V1 => 380,
    };
    vec![
        0, 842, 156, 276, 392, 251, italy, 826, 699, 76, 124, 484, 410, 528, 643, 710,
    ]
}

/// Every area code the simulated dialect knows as a reporter.
pub fn is_reporter(dialect: ComtradeDialect, code: u16) -> bool {
    code == countries::EUROPEAN_UNION.comtrade_reporter
        || countries::area_years(ReporterCode(code)).is_some()
        || !countries::by_comtrade_code(dialect, ReporterCode(code)).is_empty()
}

/// Every area code the simulated dialect's partner list has (0 is World).
pub fn is_partner(dialect: ComtradeDialect, code: u16) -> bool {
    code == 0
        || countries::by_comtrade_partner(dialect, ReporterCode(code)).is_some()
        || countries::former_code(ReporterCode(code)).is_some()
        || countries::partner_area(dialect, code).is_some()
}

/// The last year a reporter published, if its code has ended.
pub fn last_year(dialect: ComtradeDialect, code: u16) -> Option<u32> {
    countries::by_comtrade_code(dialect, ReporterCode(code))
        .iter()
        .find_map(|country| match country.comtrade(dialect) {
            ComtradeReporter::Ended { last_year, .. } => Some(u32::from(last_year)),
            _ => None,
        })
}

/// A reporter's name as Comtrade would print it.
pub fn area_name(dialect: ComtradeDialect, code: u16) -> (String, String) {
    if code == 0 {
        return ("World".into(), "W00".into());
    }
    if code == countries::EUROPEAN_UNION.comtrade_reporter {
        return match dialect {
            ComtradeDialect::Legacy => ("EU-28".into(), "EU2".into()),
            ComtradeDialect::V1 => ("European Union".into(), "EUR".into()),
        };
    }
    if let Some(former) = countries::former_code(ReporterCode(code)) {
        return (former.name.to_owned(), former.covers[0].to_owned());
    }
    let country = countries::by_comtrade_area(dialect, ReporterCode(code))
        .or_else(|| countries::by_comtrade_partner(dialect, ReporterCode(code)));
    match country {
        Some(_) if code == 490 => ("Other Asia, nes".into(), "S19".into()),
        Some(country) => (country.short_name.to_owned(), country.iso3.to_owned()),
        None => (format!("Area {code}"), String::new()),
    }
}

/// The commodity codes a `cc` entry expands to, with descriptions: the
/// aggregates are the sample HS list's codes of their level.
pub fn expand_commodity(code: &str) -> Vec<(String, String, u8)> {
    let list = hs();
    let level = |level: u8| -> Vec<(String, String, u8)> {
        list.codes_at(level)
            // Chapter 77 is reserved: listed, never traded.
            .filter(|entry| entry.code != "77")
            .map(|entry| (entry.code.to_owned(), entry.text.to_owned(), level))
            .collect()
    };
    match code {
        "TOTAL" => vec![("TOTAL".into(), "All Commodities".into(), 0)],
        // The HS list's chapters, 99 included (the legacy AG2 payload has
        // chapter 99 rows).
        "AG2" => level(2),
        "AG4" => level(4),
        "AG6" => level(6),
        "AG1" | "AG3" | "AG5" => Vec::new(),
        "ALL" => {
            let mut all = expand_commodity("TOTAL");
            for depth in [2, 4, 6] {
                all.extend(level(depth));
            }
            all
        }
        other => match list.get(other) {
            Some(entry) => vec![(other.to_owned(), entry.text.to_owned(), entry.level())],
            None => vec![(
                other.to_owned(),
                format!("Commodity {other} (sample)"),
                other.len().min(6) as u8,
            )],
        },
    }
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic fraction in [0, 1) for these coordinates.
fn unit(parts: &[u64]) -> f64 {
    let seed = parts.iter().fold(0x00C0_FFEE_u64, |acc, part| {
        mix(acc ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    });
    (seed >> 11) as f64 / (1u64 << 53) as f64
}

/// The trade value in US dollars of one flow, or `None` when the reporter
/// reported nothing for it.
pub fn trade_value(
    reporter: u16,
    partner: u16,
    period: &str,
    flow: u8,
    commodity: &str,
) -> Option<f64> {
    // HS chapter 77 is reserved: listed, never traded.
    if commodity == "77" {
        return None;
    }
    let list = hs();
    match list.position(commodity) {
        Some(_) if commodity == "TOTAL" => total_value(reporter, partner, period, flow),
        Some(position) => {
            let total = total_value(reporter, partner, period, flow)?;
            let spread = Spread::of(reporter, flow);
            let value: f64 = list
                .leaves_of(position)
                .iter()
                .map(|&leaf| spread.leaf_value(total, leaf))
                .sum();
            (value > 0.0).then_some(value)
        }
        None => code_value(reporter, partner, period, flow, commodity),
    }
}

/// Weights of the sample list's subheadings, the same for every reporter,
/// and each one's chapter.
struct LeafWeights {
    /// Per position in the list (0 above subheadings).
    weight: Vec<f64>,
    chapter: Vec<usize>,
    /// Per chapter number, the weight of its subheadings together.
    chapter_weight: [f64; 100],
}

fn leaf_weights() -> &'static LeafWeights {
    static WEIGHTS: std::sync::LazyLock<LeafWeights> = std::sync::LazyLock::new(|| {
        let list = hs();
        let mut weights = LeafWeights {
            weight: vec![0.0; list.entries.len()],
            chapter: vec![0; list.entries.len()],
            chapter_weight: [0.0; 100],
        };
        for &position in list.leaves_of(0) {
            let code = list.entries[position].code;
            let key = code.bytes().fold(11u64, |acc, b| {
                acc.wrapping_mul(31).wrapping_add(u64::from(b))
            });
            let chapter: usize = code[..2].parse().unwrap_or(0);
            weights.weight[position] = 0.2 + unit(&[key, 6]);
            weights.chapter[position] = chapter;
            weights.chapter_weight[chapter] += weights.weight[position];
        }
        weights
    });
    &WEIGHTS
}

/// How one reporter's trade in one flow spreads over the sample list:
/// a weight per chapter (some trade mostly fuels, others machines) times
/// each subheading's own weight.
struct Spread {
    chapter: [f64; 100],
    normal: f64,
}

impl Spread {
    /// The spread of `reporter`'s `flow`, computed once (a chapter's value
    /// sums dozens of subheadings, an AG2 answer a hundred chapters).
    fn of(reporter: u16, flow: u8) -> std::sync::Arc<Self> {
        type Spreads = std::sync::Mutex<HashMap<(u16, u8), std::sync::Arc<Spread>>>;
        static SPREADS: std::sync::LazyLock<Spreads> = std::sync::LazyLock::new(Default::default);
        let mut spreads = SPREADS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        spreads
            .entry((reporter, flow))
            .or_insert_with(|| std::sync::Arc::new(Self::new(reporter, flow)))
            .clone()
    }

    fn new(reporter: u16, flow: u8) -> Self {
        let weights = leaf_weights();
        let mut chapter = [0.0; 100];
        let mut normal = 0.0;
        for (number, weight) in chapter.iter_mut().enumerate() {
            if weights.chapter_weight[number] == 0.0 {
                continue;
            }
            let draw = unit(&[u64::from(reporter), u64::from(flow), number as u64, 7]);
            *weight = 0.05 + 3.0 * draw * draw;
            normal += *weight * weights.chapter_weight[number];
        }
        Self { chapter, normal }
    }

    /// The value of the subheading at `leaf` (a position in the list)
    /// within a total of `total`: its share in whole dollars rounded down;
    /// the list's last subheading takes what rounding left, so that the
    /// subheadings add up to the total exactly.
    fn leaf_value(&self, total: f64, leaf: usize) -> f64 {
        let weights = leaf_weights();
        let part = |position: usize| {
            let share = weights.weight[position] * self.chapter[weights.chapter[position]];
            (total * share / self.normal).floor()
        };
        let leaves = hs().leaves_of(0);
        if Some(&leaf) == leaves.last() {
            let others: f64 = leaves[..leaves.len() - 1].iter().map(|&p| part(p)).sum();
            (total - others).max(0.0)
        } else {
            part(leaf)
        }
    }
}

/// A reporter's total trade with a partner in a period and flow, in whole
/// dollars, or `None` when there was none.
fn total_value(reporter: u16, partner: u16, period: &str, flow: u8) -> Option<f64> {
    code_value(reporter, partner, period, flow, "TOTAL")
}

/// The value of one code on its own: the total's formula, with a share for
/// codes other than the total (services, SITC, HS codes outside the list).
fn code_value(reporter: u16, partner: u16, period: &str, flow: u8, commodity: &str) -> Option<f64> {
    let year: u32 = period.get(..4)?.parse().ok()?;
    let commodity_key = commodity.bytes().fold(7u64, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    // Some partner pairs have no trade at all.
    if partner != 0 && unit(&[u64::from(reporter), u64::from(partner), 1]) < 0.1 {
        return None;
    }
    // Large economies (the main partners) trade in the hundreds of billions,
    // others between a hundred million and a hundred billion dollars a year.
    let large = main_partners(ComtradeDialect::V1).contains(&reporter) || reporter == 381;
    let size = if large { 2e11 } else { 1e8 }
        * 10f64.powf(if large { 1.0 } else { 3.0 } * unit(&[u64::from(reporter), 2]));
    // The fifteen main partners together stay under World whatever the
    // noise (at most 15 × 0.045 × 1.15 = 0.78 of it, against World's 0.85
    // at least): a profile's partner shares add up to less than the whole,
    // as Comtrade's do.
    let share = if partner == 0 {
        1.0
    } else {
        0.01 + 0.035 * unit(&[u64::from(reporter), u64::from(partner), 3])
    };
    let commodity_share = if commodity == "TOTAL" {
        1.0
    } else {
        0.002 + 0.05 * unit(&[commodity_key, u64::from(reporter), 4])
    };
    let growth = 1.04f64.powi(year as i32 - 2000);
    let monthly = if period.len() == 6 { 1.0 / 12.0 } else { 1.0 };
    let noise = 0.85
        + 0.3
            * unit(&[
                u64::from(reporter),
                u64::from(partner),
                u64::from(year),
                u64::from(flow),
                commodity_key,
            ]);
    // Imports and exports carry the trade; re-exports, re-imports and v1's
    // finer flows (numbered from 3, see the simulator's flow tables) are a
    // few percent of it, as in real data.
    let flow_share = match flow {
        1 | 2 => 1.0,
        _ => 0.01 + 0.05 * unit(&[u64::from(reporter), u64::from(flow), 5]),
    };
    Some((size * share * commodity_share * growth * monthly * noise * flow_share).round())
}

/// Net weight in kg for a value (roughly a dollar per kilogram, varying by
/// commodity); `None` for totals, which Comtrade reports without weight.
pub fn net_weight(value: f64, commodity: &str) -> Option<f64> {
    (commodity != "TOTAL")
        .then(|| (value / (0.5 + 5.0 * unit(&[commodity.len() as u64, value as u64 % 97]))).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// For any reporter, partner, year and flow, every heading of the
        /// sample list is the sum of its subheadings (issue 20: the
        /// simulator answers only the list's codes, so no code answers
        /// more than the chapter above it).
        #[test]
        fn headings_are_the_sum_of_their_subheadings(
            reporter in proptest::sample::select(vec![842u16, 156, 276, 76, 4, 699, 36]),
            partner in proptest::sample::select(vec![0u16, 156, 842, 276, 392]),
            year in 2000u32..=2023,
            flow in 1u8..=2,
        ) {
            let list = hs();
            let period = year.to_string();
            let value = |code: &str| trade_value(reporter, partner, &period, flow, code).unwrap_or(0.0);
            for heading in list.codes_at(4) {
                let children: f64 = list
                    .codes_at(6)
                    .filter(|s| s.parent() == Some(heading.code))
                    .map(|s| value(s.code))
                    .sum();
                proptest::prop_assert_eq!(children, value(heading.code), "{}", heading.code);
            }
        }
    }

    /// Subheadings add up to headings, headings to chapters, chapters to
    /// the total, exactly.
    #[test]
    fn hs_values_add_up_along_the_list() {
        let list = hs();
        for (reporter, partner, period, flow) in [
            (842, 0, "2020", 1),
            (76, 156, "2015", 2),
            (4, 842, "202003", 1),
        ] {
            let value =
                |code: &str| trade_value(reporter, partner, period, flow, code).unwrap_or(0.0);
            let total = value("TOTAL");
            assert!(total > 0.0);
            let chapters: f64 = list.codes_at(2).map(|c| value(c.code)).sum();
            assert_eq!(chapters, total, "{reporter} {partner} {period}");
            for heading in list.codes_at(4) {
                let children: f64 = list
                    .codes_at(6)
                    .filter(|s| s.parent() == Some(heading.code))
                    .map(|s| value(s.code))
                    .sum();
                assert_eq!(children, value(heading.code), "{}", heading.code);
            }
            for chapter in list.codes_at(2) {
                let children: f64 = list
                    .codes_at(4)
                    .filter(|h| h.parent() == Some(chapter.code))
                    .map(|h| value(h.code))
                    .sum();
                assert_eq!(children, value(chapter.code), "{}", chapter.code);
            }
        }
    }
}
