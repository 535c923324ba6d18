//! Generated Comtrade flows: every reporter of the crosswalk reports imports
//! and exports with World and its main partners for 2000-2023, annual and
//! monthly, in plausible magnitudes. Values are a pure function of the
//! request coordinates, so both dialects and every request shape agree.

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
    code == 0 || countries::by_comtrade_partner(dialect, ReporterCode(code)).is_some()
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

/// The commodity codes a `cc` entry expands to, with descriptions.
pub fn expand_commodity(code: &str) -> Vec<(String, String, u8)> {
    let chapter_name = |chapter: u32| format!("HS chapter {chapter:02} (sample)");
    match code {
        "TOTAL" => vec![("TOTAL".into(), "All Commodities".into(), 0)],
        // The HS list's chapters, 99 included (the legacy AG2 payload has
        // chapter 99 rows); 77 is reserved and has no trade.
        "AG2" => crate::sources::comtrade::query::HS_CHAPTERS
            .iter()
            .filter(|c| **c != 77)
            .map(|&c| (format!("{c:02}"), chapter_name(u32::from(c)), 2))
            .collect(),
        "AG4" => (1..=20)
            .map(|c| {
                (
                    format!("{c:02}01"),
                    format!("HS heading {c:02}01 (sample)"),
                    4,
                )
            })
            .collect(),
        "AG6" => (1..=20)
            .map(|c| {
                (
                    format!("{c:02}0110"),
                    format!("HS subheading {c:02}0110 (sample)"),
                    6,
                )
            })
            .collect(),
        "AG1" | "AG3" | "AG5" => Vec::new(),
        "ALL" => {
            let mut all = expand_commodity("TOTAL");
            all.extend(expand_commodity("AG2"));
            all
        }
        other => vec![(
            other.to_owned(),
            format!("Commodity {other} (sample)"),
            other.len().min(6) as u8,
        )],
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
    let year: u32 = period.get(..4)?.parse().ok()?;
    // HS chapter 77 is reserved: listed, never traded.
    if commodity == "77" {
        return None;
    }
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
    let share = if partner == 0 {
        1.0
    } else {
        0.01 + 0.2 * unit(&[u64::from(reporter), u64::from(partner), 3])
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
