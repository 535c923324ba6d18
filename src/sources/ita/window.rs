//! Paging within an upstream window: data.trade.gov's consolidated
//! screening list answers at most `size=50` records per request and no
//! `offset` beyond 1,000, so matches past the 1,050th cannot be reached
//! by any request. A wanted window of records is planned as requests that
//! all stay within those caps, or refused before anything is sent.

use crate::error::Error;
use crate::sources::Source;

/// What one endpoint lets a request ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Most records one request may ask for (`size`).
    pub page: u64,
    /// The largest `offset` a request may give, if the endpoint caps it.
    pub max_offset: Option<u64>,
}

impl Window {
    /// How many records from the start any paging can reach (`None`:
    /// unbounded).
    pub fn reach(self) -> Option<u64> {
        self.max_offset.map(|max| max + self.page)
    }
}

/// One planned request: `size` records from `offset`, of which the first
/// `skip` were already delivered by the request before (only when the
/// last records are beyond the offset cap and must be asked from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedRequest {
    pub offset: u64,
    pub size: u64,
    pub skip: u64,
}

/// The requests that deliver records `offset..offset + limit` within
/// `window`, in order; refused, naming the reach, when the window ends
/// beyond what any request can reach.
pub fn plan(
    window: Window,
    offset: u64,
    limit: u64,
    what: &'static str,
) -> Result<Vec<PlannedRequest>, Error> {
    let end = offset.saturating_add(limit);
    if let Some(reach) = window.reach() {
        if end > reach {
            return Err(Error::BeyondUpstreamWindow {
                upstream: Source::Ita,
                what,
                offset,
                limit,
                reach,
                page: window.page,
                max_offset: window.max_offset.unwrap_or_default(),
            });
        }
    }
    let page = window.page.max(1);
    let mut planned = Vec::new();
    let mut start = offset;
    while start < end {
        match window.max_offset {
            // Past the offset cap (so within one page of it, the reach was
            // checked): ask from the cap and skip what came before.
            Some(max) if start > max => {
                planned.push(PlannedRequest {
                    offset: max,
                    size: end - max,
                    skip: start - max,
                });
                start = end;
            }
            _ => {
                let size = page.min(end - start);
                planned.push(PlannedRequest {
                    offset: start,
                    size,
                    skip: 0,
                });
                start += size;
            }
        }
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CSL: Window = Window {
        page: 50,
        max_offset: Some(1000),
    };

    #[test]
    fn the_last_reachable_records_are_asked_from_the_cap() {
        assert_eq!(
            plan(CSL, 1020, 10, "x").unwrap(),
            [PlannedRequest {
                offset: 1000,
                size: 30,
                skip: 20
            }]
        );
        assert_eq!(plan(CSL, 0, 1050, "x").unwrap().len(), 21);
        assert!(plan(CSL, 1001, 50, "x").is_err());
        assert!(plan(CSL, 0, 0, "x").unwrap().is_empty());
    }

    proptest! {
        /// Any wanted window: every request within size <= page and
        /// offset <= cap, and the records delivered (each request's after
        /// its skip) are exactly the window, in order; or a refusal, exactly
        /// when the window ends beyond the reach.
        #[test]
        fn requests_stay_within_the_caps_and_deliver_the_window(
            offset in 0u64..1500,
            limit in 0u64..1200,
            page in 1u64..120,
            max_offset in prop_oneof![Just(None), (0u64..1200).prop_map(Some)],
        ) {
            let window = Window { page, max_offset };
            let end = offset + limit;
            match plan(window, offset, limit, "x") {
                Err(error) => {
                    prop_assert!(window.reach().is_some_and(|reach| end > reach));
                    prop_assert_eq!(error.code(), "UPSTREAM_WINDOW_EXCEEDED");
                }
                Ok(planned) => {
                    prop_assert!(window.reach().is_none_or(|reach| end <= reach));
                    let mut delivered = Vec::new();
                    for request in &planned {
                        prop_assert!(request.size >= 1 && request.size <= page);
                        if let Some(max) = max_offset {
                            prop_assert!(request.offset <= max);
                        }
                        prop_assert!(request.skip < request.size);
                        delivered.extend(request.offset + request.skip..request.offset + request.size);
                    }
                    prop_assert_eq!(delivered, (offset..end).collect::<Vec<_>>());
                    // No more requests than pages, plus one from the cap.
                    prop_assert!(planned.len() as u64 <= limit.div_ceil(page) + 1);
                }
            }
        }
    }
}
