//! Comtrade's arithmetic for estimates: how many rows a trade-flow field's
//! arguments can bring back and how many requests packing them takes, in
//! each dialect. The graph's cost rules read a field's arguments into a
//! [`FlowAsk`] and hand it here; the planner's own packing limits
//! ([`client::limits`]) are the numbers both use, so the estimate and the
//! plan cannot drift apart on them. Fields whose reporters are known are
//! estimated by the planner itself (`graph::trade_flow::planned_requests`);
//! this arithmetic is for parents the estimate cannot name.

use crate::countries::ComtradeDialect;
use crate::limits::{Demand, DemandKind};
use crate::source::Source;

use super::client::{self, limits as comtrade_limits};
use super::{Frequency, PartnerCode};

/// HS subheadings (six digits) in HS 2022: the most products one
/// intervention can name, and the rows `ALL` or `AG6` can expand to.
pub const HS_SUBHEADINGS: u64 = 5_700;
/// Partners Comtrade can answer for "all".
pub const ALL_PARTNERS: u64 = 300;
/// Flows one Comtrade row set can hold when no flow is asked for.
pub const FLOWS: u64 = 4;

/// What a trade-flow field asks, as its arguments say it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowAsk<'a> {
    /// The partners named (`None`: the world only).
    pub partners: Option<&'a [String]>,
    /// Periods once ranges are expanded (at least one).
    pub periods: u64,
    pub monthly: bool,
    /// The commodity codes named (`None`: the total only).
    pub commodities: Option<&'a [String]>,
    /// Whether one flow is asked for (else every flow may come back).
    pub one_flow: bool,
}

impl FlowAsk<'_> {
    /// Whether every commodity code is asked for (`ALL`).
    fn all_codes(&self) -> bool {
        self.commodities.is_some_and(|codes| {
            codes
                .iter()
                .any(|code| code.trim().eq_ignore_ascii_case("ALL"))
        })
    }
}

/// Reporters one request of a trade-flow field carries: fewer on v1 when
/// it asks for every code (`ALL`), whose rows fill a request's maximum.
pub fn reporters_per_request(dialect: ComtradeDialect, ask: &FlowAsk<'_>) -> u64 {
    let limits = comtrade_limits(dialect, Frequency::Annual);
    if ask.all_codes() && dialect == ComtradeDialect::V1 {
        (client::V1_MAX_ROWS / client::ALL_CODES_ROWS).clamp(1, limits.reporters as u64)
    } else {
        limits.reporters as u64
    }
}

/// Rows one reporter's flows can hold, and the requests one batch of
/// reporters needs besides packing the reporters.
pub fn rows_and_requests(dialect: ComtradeDialect, ask: &FlowAsk<'_>) -> (u64, u64) {
    let partner_rows = match ask.partners {
        None => 1,
        Some(list) if list.iter().any(|p| PartnerCode::means_all(p)) => ALL_PARTNERS,
        Some(list) => list.len().max(1) as u64,
    };
    let partner_codes = ask.partners.map_or(1, |list| list.len().max(1) as u64);
    let periods = ask.periods.max(1);
    let months = if ask.monthly { 12 } else { 1 };
    let commodity_rows: u64 = ask.commodities.map_or(1, |list| {
        list.iter()
            .map(|code| commodity_rows(code))
            .sum::<u64>()
            .max(1)
    });
    let commodity_codes = ask.commodities.map_or(1, |list| list.len().max(1) as u64);
    let flows = if ask.one_flow { 1 } else { FLOWS };
    let rows = partner_rows
        .saturating_mul(periods * months)
        .saturating_mul(commodity_rows)
        .saturating_mul(flows);
    let frequency = if ask.monthly {
        Frequency::Monthly
    } else {
        Frequency::Annual
    };
    let limits = comtrade_limits(dialect, frequency);
    // A monthly period may be a whole year: counted as twelve months.
    let periods_per_request = limits.periods_per_request(months as usize) as u64;
    let requests = partner_codes.div_ceil(limits.partners as u64)
        * periods.div_ceil(periods_per_request)
        * commodity_codes.div_ceil(limits.commodities as u64);
    (rows, requests)
}

/// Commodity codes one request carries (annual flows).
pub fn codes_per_request(dialect: ComtradeDialect) -> u64 {
    comtrade_limits(dialect, Frequency::Annual)
        .commodities
        .max(1) as u64
}

/// Rows one commodity argument can expand to.
pub fn commodity_rows(code: &str) -> u64 {
    match code.to_ascii_uppercase().as_str() {
        "ALL" | "AG6" => HS_SUBHEADINGS,
        "AG4" => 1_300,
        "AG2" => 100,
        "AG1" => 25,
        _ => 1,
    }
}

/// A reference list's demand: one request, shared by every field that
/// needs the same list (and none once it is in memory).
pub fn reference_list(classification: Option<&str>) -> Demand {
    Demand {
        source: Source::Comtrade,
        group: format!(
            "reference list {}",
            classification.unwrap_or("HS").trim().to_ascii_uppercase()
        ),
        kind: DemandKind::Fixed { pages: 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Legacy takes five partners a request, v1 a comma list: ten
    /// partners over two years are two legacy requests, one v1 request.
    #[test]
    fn packing_follows_each_dialects_limits() {
        let partners: Vec<String> = (0..10).map(|code| code.to_string()).collect();
        let ask = FlowAsk {
            partners: Some(&partners),
            periods: 2,
            one_flow: true,
            ..FlowAsk::default()
        };
        let (rows, legacy) = rows_and_requests(ComtradeDialect::Legacy, &ask);
        assert_eq!(rows, 20);
        assert_eq!(legacy, 2);
        let (_, v1) = rows_and_requests(ComtradeDialect::V1, &ask);
        assert!(v1 <= legacy, "{v1}");
    }

    #[test]
    fn every_code_fills_a_v1_request_with_fewer_reporters() {
        let all = ["ALL".to_owned()];
        let ask = FlowAsk {
            commodities: Some(&all),
            periods: 1,
            ..FlowAsk::default()
        };
        assert!(
            reporters_per_request(ComtradeDialect::V1, &ask)
                < reporters_per_request(ComtradeDialect::V1, &FlowAsk::default())
        );
        assert_eq!(
            rows_and_requests(ComtradeDialect::V1, &ask).0,
            HS_SUBHEADINGS * FLOWS
        );
    }
}
