//! Sends ITA searches through the shared HTTP path, in either API
//! generation, paging past the 100-results-per-request cap.

use crate::sources::http::{Credential, Secret};
use std::hash::Hash;
use std::sync::Arc;

use super::model::{decode_search, Identifiable, SourceUsed};
use crate::error::Error;
use crate::sources::http::{Upstream, UpstreamRequest};
use crate::sources::UpstreamUsage;

/// ITA's cap on `size` per request (seed 002: "up to a maximum of 100").
pub const MAX_SIZE: u64 = 100;

/// Which generation of the ITA API the upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ItaApi {
    /// The seeds' api.trade.gov v2: `/v2/<endpoint>/search?api_key=`.
    V2,
    /// Today's data.trade.gov: `/<endpoint>/v1/search`, header `subscription-key`.
    Current,
}

impl ItaApi {
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::Current => "current",
        }
    }
}

/// One of the three ITA search endpoints the graph uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    TradeLeads,
    OfficeLocations,
    TradeEvents,
}

impl Endpoint {
    fn slug(self) -> &'static str {
        match self {
            Self::TradeLeads => "trade_leads",
            Self::OfficeLocations => "ita_office_locations",
            Self::TradeEvents => "trade_events",
        }
    }

    /// The search path in `api`.
    pub fn path(self, api: ItaApi) -> String {
        match api {
            ItaApi::V2 => format!("/v2/{}/search", self.slug()),
            ItaApi::Current => format!("/{}/v1/search", self.slug()),
        }
    }
}

/// Search parameters other than paging. Which ones an endpoint takes is
/// checked by the graph (leads: q, countries, industries; offices: q, city,
/// countries, state; events: q, countries).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SearchParams {
    pub q: Option<String>,
    /// ISO alpha-2, upper case.
    pub countries: Vec<String>,
    pub industries: Vec<String>,
    pub city: Option<String>,
    pub state: Option<String>,
}

impl SearchParams {
    fn query(&self, size: u64, offset: u64) -> Vec<(String, String)> {
        let mut query = Vec::new();
        let mut push = |name: &str, value: String| query.push((name.to_owned(), value));
        if let Some(q) = &self.q {
            push("q", q.clone());
        }
        if !self.countries.is_empty() {
            push("countries", self.countries.join(","));
        }
        if !self.industries.is_empty() {
            push("industries", self.industries.join(","));
        }
        if let Some(city) = &self.city {
            push("city", city.clone());
        }
        if let Some(state) = &self.state {
            push("state", state.clone());
        }
        push("size", size.to_string());
        push("offset", offset.to_string());
        query
    }
}

/// One decoded answer, records shared so that cached answers are not copied.
struct Answer<T> {
    total: Option<u64>,
    sources_used: Vec<SourceUsed>,
    results: Vec<Arc<T>>,
}

fn decode_answer<T: serde::de::DeserializeOwned + Identifiable>(
    body: &[u8],
) -> Result<Answer<T>, Error> {
    let response = decode_search::<T>(body)?;
    Ok(Answer {
        total: response.total,
        sources_used: response.sources_used,
        results: response.results.into_iter().map(Arc::new).collect(),
    })
}

/// Records of one search, with what ITA said about it.
#[derive(Clone, Debug, PartialEq)]
pub struct ItaPage<T> {
    pub items: Vec<T>,
    /// Matches in all, as ITA counts them.
    pub total: Option<u64>,
    pub sources_used: Vec<SourceUsed>,
}

/// The ITA client: a cheap `Clone` handle.
#[derive(Clone, Debug)]
pub struct ItaClient {
    upstream: Upstream,
    api: ItaApi,
}

impl ItaClient {
    /// How ITA takes its key: the v2 API's `api_key` query parameter, or
    /// the current API's `subscription-key` header.
    pub fn credential(key: Option<Secret>, api: ItaApi) -> Credential {
        match (key, api) {
            (None, _) => Credential::None,
            (Some(key), ItaApi::V2) => Credential::QueryParameter {
                name: "api_key",
                key,
            },
            (Some(key), ItaApi::Current) => Credential::Header {
                name: "subscription-key",
                prefix: "",
                key,
            },
        }
    }

    pub fn new(upstream: Upstream, api: ItaApi) -> Self {
        Self { upstream, api }
    }

    /// Up to `limit` records from `offset`, in requests of at most 100,
    /// stopping when ITA runs out. `keep_going` may stop earlier: it sees the
    /// records so far and says whether another page is needed.
    pub async fn search<T: serde::de::DeserializeOwned + Identifiable + Send + Sync + 'static>(
        &self,
        endpoint: Endpoint,
        params: &SearchParams,
        limit: u64,
        offset: u64,
        usage: &UpstreamUsage,
        mut keep_going: impl FnMut(&[Arc<T>]) -> bool,
    ) -> Result<ItaPage<Arc<T>>, Error> {
        let mut page = ItaPage {
            items: Vec::new(),
            total: None,
            sources_used: Vec::new(),
        };
        let mut next = offset;
        while (page.items.len() as u64) < limit {
            let size = (limit - page.items.len() as u64).min(MAX_SIZE);
            let request = UpstreamRequest::get(endpoint.path(self.api), params.query(size, next));
            let answer = self
                .upstream
                .request(&request, usage, decode_answer::<T>)
                .await?;
            let received = answer.results.len() as u64;
            page.total = answer.total.or(page.total);
            if page.sources_used.is_empty() {
                page.sources_used = answer.sources_used.clone();
            }
            page.items.extend(answer.results.iter().cloned());
            next += received;
            let exhausted = received < size || page.total.is_some_and(|total| next >= total);
            if exhausted || !keep_going(&page.items) {
                break;
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_parameters_by_generation() {
        assert_eq!(
            Endpoint::TradeLeads.path(ItaApi::V2),
            "/v2/trade_leads/search"
        );
        assert_eq!(
            Endpoint::OfficeLocations.path(ItaApi::Current),
            "/ita_office_locations/v1/search"
        );
        let params = SearchParams {
            countries: vec!["MX".into(), "CA".into(), "GB".into()],
            q: Some("steel".into()),
            ..SearchParams::default()
        };
        assert_eq!(
            params.query(100, 0),
            [
                ("q", "steel"),
                ("countries", "MX,CA,GB"),
                ("size", "100"),
                ("offset", "0")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
