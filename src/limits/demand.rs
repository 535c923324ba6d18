//! Demand control: how many upstream requests an operation can need, per
//! source, estimated before it runs.
//!
//! Upstream quota is shared by every user of the gateway (Comtrade allows
//! 500 requests a day on a free key), so one small operation must not be
//! able to spend it: `{ jurisdictions { interventionsAffecting(limit: 50) {
//! totalCount } } }` is 61 bytes and was 235 GTA requests. The estimate
//! follows how the loaders batch: fields with the same arguments under many
//! parents share requests, fields with different arguments (aliases with
//! other offsets) do not. It is an upper bound where the batching is
//! knowable and a realistic bound where it depends on the data (how many
//! offices a country has); the upstream path enforces the same maximum
//! while the operation runs, for what the estimate cannot see.

use crate::source::Source;

/// Most upstream requests one operation may make, per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemandLimits {
    pub gta: u64,
    pub comtrade: u64,
    pub ita: u64,
}

impl Default for DemandLimits {
    /// The README's largest examples need 21 GTA requests (the G20's pages,
    /// batched, with a follow-up each at worst), 8 Comtrade requests (the
    /// G20 over eight years on the legacy API) and 9 ITA requests (eight
    /// countries' offices); the defaults leave room above those and stay far
    /// below a day's Comtrade budget.
    fn default() -> Self {
        Self {
            gta: 50,
            comtrade: 25,
            ita: 50,
        }
    }
}

impl DemandLimits {
    /// The maximum for `source`.
    pub fn for_source(&self, source: Source) -> u64 {
        match source {
            Source::Gta => self.gta,
            Source::Comtrade => self.comtrade,
            Source::Ita => self.ita,
        }
    }
}

/// How a field's requests grow with the number of parents it is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemandKind {
    /// A fixed number of requests, however many parents (a top-level search
    /// of `pages` pages).
    Fixed { pages: u64 },
    /// One parent alone is `alone` requests; several share one request and
    /// each may need a follow-up of its own, `alone` requests (GTA's
    /// jurisdiction pages: `GtaLoader::load_group`). Parents beyond every
    /// jurisdiction are the same jurisdictions again.
    SharedWithFollowUps { alone: u64 },
    /// Parents (countries) share one search of a page of `page_size` items,
    /// each wanting `per_parent`, and each country that page leaves short
    /// has a search of its own (ITA's per-country records); with
    /// `whole_list` a page holds a page of parents, and anything more is
    /// the whole list of that many rows, read once (de minimis). The
    /// estimate is [`shared_pages_worst_case`], which the ITA loader checks
    /// its groups against, for as many distinct countries as there are
    /// parents, at most every jurisdiction.
    SharedPages {
        per_parent: u64,
        page_size: u64,
        whole_list: Option<u64>,
    },
    /// Parents are packed `per_request` to a request, times the requests the
    /// other parameters need (Comtrade's reporters, five to a legacy request);
    /// up to `changing` of the parents may each need `alone` requests more
    /// (Comtrade reporters whose codes change within the periods asked).
    Packed {
        per_request: u64,
        times: u64,
        changing: u64,
        alone: u64,
    },
    /// Each parent may need `per_parent` requests and all of them together
    /// at most `cap`: a loader that keeps to an allowance (the affected
    /// trade of an operation's interventions, one Comtrade plan).
    Capped { per_parent: u64, cap: u64 },
}

impl DemandKind {
    /// Requests for `parents` parents asking with the same arguments.
    pub fn estimate(self, parents: u64) -> u64 {
        if parents == 0 {
            return 0;
        }
        match self {
            Self::Fixed { pages } => pages,
            Self::SharedWithFollowUps { alone } if parents == 1 => alone,
            // One shared request, then each jurisdiction's follow-up alone
            // at worst; the loader asks each jurisdiction once.
            Self::SharedWithFollowUps { alone } => parents
                .min(crate::countries::all().len() as u64)
                .saturating_mul(alone)
                .saturating_add(1),
            Self::SharedPages {
                per_parent,
                page_size,
                whole_list,
            } => shared_pages_worst_case(
                // The loader asks each country once per operation.
                parents.min(crate::countries::all().len() as u64),
                per_parent,
                page_size,
                whole_list,
            ),
            Self::Packed {
                per_request,
                times,
                changing,
                alone,
            } => parents
                .div_ceil(per_request.max(1))
                .saturating_mul(times.max(1))
                .saturating_add(parents.min(changing).saturating_mul(alone)),
            Self::Capped { per_parent, cap } => parents.saturating_mul(per_parent).min(cap),
        }
    }
}

/// The most requests a loader batching as [`DemandKind::SharedPages`] says
/// sends for one group asked for `countries` distinct countries, each
/// wanting `limit` records, in pages of `page`. The ITA loader checks each
/// group against it (with its own list size), so that the estimate and the
/// plan cannot drift apart.
///
/// Records (`whole_list` `None`): a combined search of one page for every
/// country, at most once per group and operation, further combined pages
/// only as far as the countries they serve pay for them, then a search of
/// its own for each country still short, each paged as far as `limit`
/// needs. A combined page can be filled by one dominant country whatever
/// its size, so every other country may need its own search: `1 +
/// countries × pages(limit)`, and no more however the countries fall into
/// batches (a later batch, or a lone country, has only what its countries
/// pay for).
///
/// One row per country (`whole_list` of `rows`): one combined request for
/// the first batch (at most a page of countries), then the whole list, read
/// once, for anything a later or larger batch asks: `1 + pages(rows)`.
pub fn shared_pages_worst_case(
    countries: u64,
    limit: u64,
    page: u64,
    whole_list: Option<u64>,
) -> u64 {
    let page = page.max(1);
    if countries == 0 || limit == 0 {
        return 0;
    }
    if let Some(rows) = whole_list {
        return if countries == 1 {
            1
        } else {
            1 + rows.div_ceil(page)
        };
    }
    let own = limit.div_ceil(page);
    if countries == 1 {
        own
    } else {
        countries.saturating_mul(own).saturating_add(1)
    }
}

/// One field's call on an upstream: fields with the same `group` (the same
/// field with the same arguments) batch together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    pub source: Source,
    pub group: String,
    pub kind: DemandKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_follow_the_loaders_batching() {
        let gta = DemandKind::SharedWithFollowUps { alone: 1 };
        assert_eq!(gta.estimate(1), 1);
        assert_eq!(gta.estimate(234), 235);
        // One combined page, then each of the eight alone at worst.
        let ita = DemandKind::SharedPages {
            per_parent: 100,
            page_size: 100,
            whole_list: None,
        };
        assert_eq!(ita.estimate(1), 1);
        assert_eq!(ita.estimate(8), 9);
        // A limit of 20 in pages of 50: the same, however small the limit.
        let screening = DemandKind::SharedPages {
            per_parent: 20,
            page_size: 50,
            whole_list: None,
        };
        assert_eq!(screening.estimate(8), 9);
        // Parents beyond every jurisdiction are the same countries again.
        assert_eq!(
            screening.estimate(100_000),
            1 + crate::countries::all().len() as u64
        );
        let de_minimis = DemandKind::SharedPages {
            per_parent: 1,
            page_size: 100,
            whole_list: Some(300),
        };
        assert_eq!((de_minimis.estimate(1), de_minimis.estimate(234)), (1, 4));
        let comtrade = DemandKind::Packed {
            per_request: 5,
            times: 2,
            changing: 0,
            alone: 0,
        };
        assert_eq!(comtrade.estimate(19), 8);
        // Two of the parents may change code: each may cost three alone.
        let changing = DemandKind::Packed {
            per_request: 5,
            times: 2,
            changing: 2,
            alone: 3,
        };
        assert_eq!(changing.estimate(1), 2 + 3);
        assert_eq!(changing.estimate(19), 8 + 6);
        assert_eq!(DemandKind::Fixed { pages: 3 }.estimate(7), 3);
        let capped = DemandKind::Capped {
            per_parent: 8,
            cap: 20,
        };
        assert_eq!((capped.estimate(1), capped.estimate(50)), (8, 20));
        assert_eq!(DemandKind::Fixed { pages: 3 }.estimate(0), 0);
    }
}
