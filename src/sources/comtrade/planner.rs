//! Packs the trade-flow keys of one batch into the fewest requests
//! Comtrade accepts.
//!
//! The legacy API takes at most five codes in each of `r`, `p` and `ps` (and
//! `all` in at most one of them) and twenty in `cc`; a request is the cross
//! product of its lists. The planner therefore:
//! 1. collects, per (reporter, period), the partners asked for; a partner set
//!    containing "all" becomes just "all", which answers every partner;
//! 2. groups (reporter, period) pairs by partner set, then reporters by the
//!    periods they want under that partner set, so each group is an exact
//!    cross product (nothing is fetched that no key asked for);
//! 3. cuts each group's reporters, periods, partners and commodities into
//!    chunks within the limits.
//!
//! For a cross-product batch (every reporter wants every period and partner)
//! this is the lower bound ceil(R/5) × ceil(P/5) × ceil(Q/5). The current API
//! has no five-code limit but rejects very long URLs, so its limits are wider
//! chunks sized to keep the query string short.

use std::collections::{BTreeMap, BTreeSet};

use super::query::{PartnerCode, Period};
use crate::countries::ReporterCode;

/// How many codes one request may carry per parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub reporters: usize,
    pub partners: usize,
    pub periods: usize,
    pub commodities: usize,
    /// For monthly data, the most months one request may ask for once its
    /// years are expanded (`None`: annual data, no such limit).
    pub months: Option<usize>,
}

impl Limits {
    /// Seed 004: r, p and ps at most 5 codes each, cc at most 20.
    pub const LEGACY: Limits = Limits {
        reporters: 5,
        partners: 5,
        periods: 5,
        commodities: 20,
        months: None,
    };

    /// Legacy monthly data: the API expands a year into its 12 months and
    /// refuses "Too many months selected" (5002) past what it allows;
    /// comtradr's legacy client asked one year per monthly call, and so
    /// does this one.
    pub const LEGACY_MONTHS: usize = 12;

    /// The current API: comma lists bounded by URL length, and periods by
    /// what an official client is known to send: comtradr refuses "more than
    /// twelve consecutive years/months in a single query"
    /// (`R/ct_check_params.R`) and comtradeapicall sends one period a call,
    /// so a request carries at most twelve period codes (a monthly year is
    /// twelve). The other chunk sizes keep the query string under about
    /// 2,300 characters at their fullest (area codes are at most 3 digits,
    /// commodity codes 6, each list's commas escaped: 100 reporters and 100
    /// partners are 1,200, 100 commodity codes 900), within the 4 KB a
    /// conservative server reads. A hundred codes, not fifty: a search's
    /// worth of measures names hundreds of HS6 products per implementer
    /// (issue 20's attack: 480 codes were ten requests a group).
    pub const V1: Limits = Limits {
        reporters: 100,
        partners: 100,
        periods: 12,
        commodities: 100,
        months: None,
    };

    /// These limits for monthly data, at most `months` months a request.
    pub fn monthly(self, months: usize) -> Self {
        Self {
            months: Some(months),
            ..self
        }
    }

    /// Periods one request can carry, when each weighs `months_each`
    /// months (a year of monthly data: 12).
    pub fn periods_per_request(&self, months_each: usize) -> usize {
        match self.months {
            Some(months) => (months / months_each.max(1)).clamp(1, self.periods),
            None => self.periods,
        }
    }
}

/// Cuts `periods` into consecutive chunks of at most `limits.periods` codes
/// and, for monthly data, at most `limits.months` months.
fn period_chunks(periods: &[Period], limits: &Limits) -> Vec<Vec<Period>> {
    let mut chunks: Vec<Vec<Period>> = Vec::new();
    let mut months = 0;
    for period in periods {
        let weight = period.months();
        let full = chunks.last().is_none_or(|chunk| {
            chunk.len() >= limits.periods
                || limits.months.is_some_and(|most| months + weight > most)
        });
        if full {
            chunks.push(Vec::new());
            months = 0;
        }
        months += weight;
        chunks
            .last_mut()
            .expect("pushed above")
            .push(period.clone());
    }
    chunks
}

/// One upstream request: the cross product of its lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRequest {
    pub reporters: Vec<ReporterCode>,
    pub partners: Vec<PartnerCode>,
    pub periods: Vec<Period>,
    pub commodities: Vec<String>,
}

impl PlannedRequest {
    /// Whether the request keeps to `limits` (and uses `all` only as the
    /// single partner).
    pub fn within(&self, limits: &Limits) -> bool {
        let all_alone = !self.partners.contains(&PartnerCode::All) || self.partners.len() == 1;
        !self.reporters.is_empty()
            && !self.partners.is_empty()
            && !self.periods.is_empty()
            && !self.commodities.is_empty()
            && self.reporters.len() <= limits.reporters
            && self.partners.len() <= limits.partners
            && self.periods.len() <= limits.periods
            && limits
                .months
                .is_none_or(|most| self.periods.iter().map(Period::months).sum::<usize>() <= most)
            && self.commodities.len() <= limits.commodities
            && all_alone
    }

    /// Whether the request's answer includes rows for this key.
    pub fn covers(&self, reporter: ReporterCode, partner: PartnerCode, period: &Period) -> bool {
        self.reporters.contains(&reporter)
            && (self.partners.contains(&partner) || self.partners.contains(&PartnerCode::All))
            && self.periods.contains(period)
    }

    /// Two requests that together ask for what this one asks for, cut along
    /// its longest list; `None` when every list has one code.
    pub fn split(&self) -> Option<(PlannedRequest, PlannedRequest)> {
        fn halves<T: Clone>(list: &[T]) -> (Vec<T>, Vec<T>) {
            let (a, b) = list.split_at(list.len() / 2);
            (a.to_vec(), b.to_vec())
        }
        let longest = [
            self.reporters.len(),
            self.periods.len(),
            self.partners.len(),
            self.commodities.len(),
        ];
        let (dimension, &size) = longest.iter().enumerate().max_by_key(|(_, size)| **size)?;
        if size < 2 {
            return None;
        }
        let mut first = self.clone();
        let mut second = self.clone();
        match dimension {
            0 => (first.reporters, second.reporters) = halves(&self.reporters),
            1 => (first.periods, second.periods) = halves(&self.periods),
            2 => (first.partners, second.partners) = halves(&self.partners),
            _ => (first.commodities, second.commodities) = halves(&self.commodities),
        }
        Some((first, second))
    }
}

/// The fewest requests within `limits` that answer every key, `now` and
/// `recent` each on requests of their own.
///
/// Seed 004 defines `now` as "the most recently available period" and
/// `recent` as the five most recent: periods of the *request*, not of each
/// reporter. Sent together with other period specs (`ps=now,recent`,
/// `ps=2019,now`) the answer is one list whose rows cannot be told apart
/// (is Serbia's 2023 row its "now", or one of its "recent"?), and guessing
/// per reporter gives a reporter that lacks the latest period a "now" of
/// its own. Kept apart, every row of a `now` request answers `now`.
pub fn plan(
    keys: &[(ReporterCode, PartnerCode, Period)],
    commodities: &[String],
    limits: &Limits,
) -> Vec<PlannedRequest> {
    let kind = |period: &Period| match period {
        Period::Exact(_) => 0,
        Period::Latest => 1,
        Period::Recent => 2,
    };
    let mut requests = Vec::new();
    for wanted in 0..3 {
        let part: Vec<_> = keys
            .iter()
            .filter(|(_, _, period)| kind(period) == wanted)
            .cloned()
            .collect();
        if !part.is_empty() {
            requests.extend(plan_periods(&part, commodities, limits));
        }
    }
    requests
}

/// [`plan`] for keys of one kind of period.
fn plan_periods(
    keys: &[(ReporterCode, PartnerCode, Period)],
    commodities: &[String],
    limits: &Limits,
) -> Vec<PlannedRequest> {
    // 1. Partners wanted per (reporter, period).
    let mut partners_of: BTreeMap<(ReporterCode, &Period), BTreeSet<PartnerCode>> = BTreeMap::new();
    for (reporter, partner, period) in keys {
        partners_of
            .entry((*reporter, period))
            .or_default()
            .insert(*partner);
    }
    // 2. Group by partner set, then reporters by their period set.
    let mut by_partners: BTreeMap<Vec<PartnerCode>, BTreeMap<ReporterCode, Vec<Period>>> =
        BTreeMap::new();
    for ((reporter, period), partners) in partners_of {
        let partners: Vec<PartnerCode> = if partners.contains(&PartnerCode::All) {
            vec![PartnerCode::All]
        } else {
            partners.into_iter().collect()
        };
        by_partners
            .entry(partners)
            .or_default()
            .entry(reporter)
            .or_default()
            .push(period.clone());
    }
    let mut requests = Vec::new();
    for (partners, periods_of) in by_partners {
        let mut by_periods: BTreeMap<Vec<Period>, Vec<ReporterCode>> = BTreeMap::new();
        for (reporter, periods) in periods_of {
            by_periods.entry(periods).or_default().push(reporter);
        }
        // 3. Chunk each exact cross product within the limits.
        for (periods, reporters) in by_periods {
            for reporter_chunk in reporters.chunks(limits.reporters) {
                for period_chunk in period_chunks(&periods, limits) {
                    for partner_chunk in partners.chunks(limits.partners) {
                        for commodity_chunk in commodities.chunks(limits.commodities) {
                            requests.push(PlannedRequest {
                                reporters: reporter_chunk.to_vec(),
                                partners: partner_chunk.to_vec(),
                                periods: period_chunk.clone(),
                                commodities: commodity_chunk.to_vec(),
                            });
                        }
                    }
                }
            }
        }
    }
    requests
}

/// Cells a request with every partner (`all`) can answer per reporter,
/// period and commodity: Comtrade's partner lists have fewer than 300
/// entries (legacy 293 with `all` and World, v1 about as many).
pub const ALL_PARTNER_CELLS: u64 = 300;

impl PlannedRequest {
    /// The most rows the request can answer for one flow: its cross
    /// product, every partner counted as [`ALL_PARTNER_CELLS`].
    pub fn cells(&self) -> u64 {
        let partners = if self.partners.contains(&PartnerCode::All) {
            ALL_PARTNER_CELLS
        } else {
            self.partners.len() as u64
        };
        (self.reporters.len() as u64)
            .saturating_mul(partners)
            .saturating_mul(self.periods.len() as u64)
            .saturating_mul(self.commodities.len() as u64)
    }

    /// This request widened to answer `piece` as well: every list the
    /// union of both (sorted), every partner when either asks for all.
    pub fn merged(&self, piece: &PlannedRequest) -> PlannedRequest {
        fn union<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
            let mut all: Vec<T> = a.iter().chain(b).cloned().collect();
            all.sort();
            all.dedup();
            all
        }
        let partners = if self.partners.contains(&PartnerCode::All)
            || piece.partners.contains(&PartnerCode::All)
        {
            vec![PartnerCode::All]
        } else {
            union(&self.partners, &piece.partners)
        };
        PlannedRequest {
            reporters: union(&self.reporters, &piece.reporters),
            partners,
            periods: union(&self.periods, &piece.periods),
            commodities: union(&self.commodities, &piece.commodities),
        }
    }
}

/// Requests packed from pieces (each a cross product that must be asked),
/// in the order they were packed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packing {
    pub requests: Vec<PlannedRequest>,
}

impl Packing {
    /// Puts `piece` into the first request that can take it within
    /// `limits` and `most_cells` (a request's cross product is what it
    /// answers, extra cells included: two pieces share a request only when
    /// the union's cells stay under the bound), else into a new request
    /// while there are fewer than `most_requests`. Returns the request's
    /// index, or `None` when the piece needed a request past the most.
    pub fn place(
        &mut self,
        piece: &PlannedRequest,
        limits: &Limits,
        most_cells: u64,
        most_requests: usize,
    ) -> Option<usize> {
        for (index, request) in self.requests.iter_mut().enumerate() {
            let merged = request.merged(piece);
            if merged == *request {
                return Some(index);
            }
            if merged.within(limits) && merged.cells() <= most_cells {
                *request = merged;
                return Some(index);
            }
        }
        if self.requests.len() >= most_requests {
            return None;
        }
        self.requests.push(piece.clone());
        Some(self.requests.len() - 1)
    }
}

/// The pieces that ask for `reporter`'s `partners` × `commodities` in
/// `period` within `limits`, each at most `most_cells` cells: named partners
/// in chunks, or every partner (`all`, one code for any number of them)
/// when that takes fewer requests, commodities in chunks.
pub fn pieces(
    reporter: ReporterCode,
    period: &Period,
    partners: &[PartnerCode],
    commodities: &[String],
    limits: &Limits,
    most_cells: u64,
) -> Vec<PlannedRequest> {
    let most_cells = most_cells.max(1);
    let chunk = |items: usize, per: usize| items.div_ceil(per.max(1));
    // Every partner: commodities as many as the cells allow.
    let all_commodities = (most_cells / ALL_PARTNER_CELLS) as usize;
    let all_count = (all_commodities > 0)
        .then(|| chunk(commodities.len(), all_commodities.min(limits.commodities)));
    // Named partners: as many commodities a request as the cells allow
    // with a full chunk of partners, then as many partners as fit.
    let partner_chunk = partners.len().clamp(1, limits.partners);
    let commodity_chunk =
        ((most_cells / partner_chunk as u64).max(1) as usize).min(limits.commodities);
    let partner_chunk = ((most_cells / commodity_chunk as u64).max(1) as usize).min(partner_chunk);
    let named_count =
        chunk(partners.len(), partner_chunk) * chunk(commodities.len(), commodity_chunk);
    let (partner_lists, commodity_chunk): (Vec<Vec<PartnerCode>>, usize) = match all_count {
        Some(count) if count < named_count || partners.contains(&PartnerCode::All) => (
            vec![vec![PartnerCode::All]],
            all_commodities.min(limits.commodities),
        ),
        _ => (
            partners.chunks(partner_chunk).map(<[_]>::to_vec).collect(),
            commodity_chunk,
        ),
    };
    let mut pieces = Vec::new();
    for partners in &partner_lists {
        for commodities in commodities.chunks(commodity_chunk.max(1)) {
            pieces.push(PlannedRequest {
                reporters: vec![reporter],
                partners: partners.clone(),
                periods: vec![period.clone()],
                commodities: commodities.to_vec(),
            });
        }
    }
    pieces
}

/// The lower bound for a cross product of `reporters` × `periods` ×
/// `partners` within `limits` (one commodity chunk).
pub fn lower_bound(reporters: usize, periods: usize, partners: usize, limits: &Limits) -> usize {
    reporters.div_ceil(limits.reporters)
        * periods.div_ceil(limits.periods)
        * partners.div_ceil(limits.partners)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(y: u16) -> Period {
        Period::Exact(y.to_string())
    }

    fn cross(
        reporters: u16,
        periods: u16,
        partners: u16,
    ) -> Vec<(ReporterCode, PartnerCode, Period)> {
        let mut keys = Vec::new();
        for r in 0..reporters {
            for p in 0..periods {
                for q in 0..partners {
                    keys.push((ReporterCode(100 + r), PartnerCode::Area(q), year(2000 + p)));
                }
            }
        }
        keys
    }

    /// A seeded linear congruential generator: `next(n)` is below `n`. The
    /// planner's property tests share it (no extra dependency).
    fn generator(mut state: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        }
    }

    /// Deterministic pseudo-random key sets (no extra dependency for a
    /// property test): every key is covered and every request keeps the limits.
    #[test]
    fn every_key_is_covered_within_the_limits() {
        let mut next = generator(0x5EED);
        for _case in 0..300 {
            let count = 1 + next(120) as usize;
            let keys: Vec<_> = (0..count)
                .map(|_| {
                    let partner = match next(10) {
                        0 => PartnerCode::All,
                        n => PartnerCode::Area(n as u16 * 7),
                    };
                    (
                        ReporterCode(next(40) as u16),
                        partner,
                        year(2000 + next(15) as u16),
                    )
                })
                .collect();
            let commodities: Vec<String> = (0..1 + next(45)).map(|c| format!("{:02}", c)).collect();
            for limits in [Limits::LEGACY, Limits::V1] {
                let requests = plan(&keys, &commodities, &limits);
                for request in &requests {
                    assert!(request.within(&limits), "{request:?}");
                }
                for (reporter, partner, period) in &keys {
                    for commodity in &commodities {
                        assert!(
                            requests
                                .iter()
                                .any(|r| r.covers(*reporter, *partner, period)
                                    && r.commodities.contains(commodity)),
                            "{reporter:?} {partner:?} {period:?} {commodity} not covered"
                        );
                    }
                }
            }
        }
    }

    /// Issue 21: `now` and `recent` are periods of the request, so neither
    /// ever shares a request with another period spec; on generated key
    /// sets mixing them with years, every key is still covered, and no
    /// more requests go out than planning each kind apart.
    #[test]
    fn now_and_recent_never_share_a_request() {
        let mut next = generator(0xA11CE);
        for _case in 0..300 {
            let keys: Vec<_> = (0..1 + next(40))
                .map(|_| {
                    let period = match next(4) {
                        0 => Period::Latest,
                        1 => Period::Recent,
                        _ => year(2015 + next(10) as u16),
                    };
                    (
                        ReporterCode(next(12) as u16),
                        PartnerCode::Area(next(3) as u16),
                        period,
                    )
                })
                .collect();
            let commodities = vec!["TOTAL".to_owned()];
            let requests = plan(&keys, &commodities, &Limits::LEGACY);
            for request in &requests {
                let special = request
                    .periods
                    .iter()
                    .any(|p| matches!(p, Period::Latest | Period::Recent));
                assert!(!special || request.periods.len() == 1, "{request:?}");
            }
            for (reporter, partner, period) in &keys {
                assert!(requests
                    .iter()
                    .any(|r| r.covers(*reporter, *partner, period)));
            }
        }
        let keys = [
            (ReporterCode(842), PartnerCode::WORLD, Period::Latest),
            (ReporterCode(688), PartnerCode::WORLD, Period::Latest),
            (ReporterCode(842), PartnerCode::WORLD, Period::Recent),
            (ReporterCode(688), PartnerCode::WORLD, Period::Recent),
            (ReporterCode(842), PartnerCode::WORLD, year(2019)),
        ];
        let requests = plan(&keys, &["TOTAL".to_owned()], &Limits::LEGACY);
        let periods: Vec<Vec<&str>> = requests
            .iter()
            .map(|r| r.periods.iter().map(Period::wire).collect())
            .collect();
        assert_eq!(periods, [vec!["2019"], vec!["now"], vec!["recent"]]);
    }

    /// Cross products cost exactly the lower bound.
    #[test]
    fn cross_products_meet_the_lower_bound() {
        for (reporters, periods, partners) in [
            (1, 1, 1),
            (5, 5, 5),
            (6, 1, 1),
            (40, 8, 1),
            (200, 12, 1),
            (7, 11, 3),
            (30, 2, 6),
        ] {
            let keys = cross(reporters, periods, partners);
            let requests = plan(&keys, &["TOTAL".into()], &Limits::LEGACY);
            assert_eq!(
                requests.len(),
                lower_bound(
                    reporters as usize,
                    periods as usize,
                    partners as usize,
                    &Limits::LEGACY
                ),
                "{reporters}x{periods}x{partners}"
            );
        }
        assert_eq!(
            plan(&cross(200, 12, 1), &["TOTAL".into()], &Limits::V1).len(),
            2
        );
    }

    /// Pieces keep the limits and the cell bound; every partner replaces
    /// named ones only when it takes fewer requests; pieces that fit share a
    /// request, and a bound on requests is kept.
    #[test]
    fn pieces_and_packing_keep_limits_cells_and_the_bound() {
        let partners: Vec<PartnerCode> = (1..=12).map(PartnerCode::Area).collect();
        let codes: Vec<String> = (0..30).map(|c| format!("{c:06}")).collect();
        let legacy = pieces(
            ReporterCode(842),
            &year(2020),
            &partners,
            &codes,
            &Limits::LEGACY,
            20_000,
        );
        // 12 partners are 3 legacy chunks: `all` is one.
        assert!(legacy.iter().all(|p| p.partners == [PartnerCode::All]));
        assert_eq!(legacy.len(), 2, "30 codes in chunks of 20");
        let v1 = pieces(
            ReporterCode(842),
            &year(2020),
            &partners,
            &codes,
            &Limits::V1,
            20_000,
        );
        assert_eq!(v1.len(), 1);
        assert_eq!(v1[0].partners.len(), 12);
        let preview = pieces(
            ReporterCode(842),
            &year(2020),
            &partners,
            &codes,
            &Limits::V1,
            500,
        );
        assert!(preview
            .iter()
            .all(|p| p.cells() <= 500 && p.within(&Limits::V1)));
        assert_eq!(
            preview
                .iter()
                .map(|p| p.partners.len() * p.commodities.len())
                .sum::<usize>(),
            360
        );
        // Four reporters with the same question share one request.
        let mut packing = Packing::default();
        for reporter in [842, 156, 276, 392] {
            for piece in pieces(
                ReporterCode(reporter),
                &year(2020),
                &partners[..3],
                &codes[..5],
                &Limits::LEGACY,
                20_000,
            ) {
                assert_eq!(packing.place(&piece, &Limits::LEGACY, 20_000, 10), Some(0));
            }
        }
        assert_eq!(packing.requests.len(), 1);
        assert_eq!(packing.requests[0].reporters.len(), 4);
        // No room past the bound.
        let other = pieces(
            ReporterCode(250),
            &year(2021),
            &partners,
            &codes,
            &Limits::LEGACY,
            20_000,
        );
        let mut bounded = packing.clone();
        assert_eq!(bounded.place(&other[0], &Limits::LEGACY, 100, 1), None);
    }

    #[test]
    fn all_partners_answer_specific_ones_and_splits_cover_the_whole() {
        let keys = vec![
            (ReporterCode(842), PartnerCode::All, year(2020)),
            (ReporterCode(842), PartnerCode::Area(124), year(2020)),
        ];
        let requests = plan(&keys, &["TOTAL".into()], &Limits::LEGACY);
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].partners, [PartnerCode::All]);
        let request = &plan(&cross(5, 4, 1), &["TOTAL".into()], &Limits::LEGACY)[0];
        let (a, b) = request.split().unwrap();
        assert_eq!(a.reporters.len() + b.reporters.len(), 5);
        let single = PlannedRequest {
            reporters: vec![ReporterCode(1)],
            partners: vec![PartnerCode::WORLD],
            periods: vec![year(2020)],
            commodities: vec!["TOTAL".into()],
        };
        assert!(single.split().is_none());
    }
}
