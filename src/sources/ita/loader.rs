//! Batches the ITA fields of jurisdictions: every country asking the same
//! endpoint with the same parameters goes into one search
//! (`countries=MX,CA,GB`), paged only as far as the countries' limits need,
//! and the results are routed back by country.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures::future::try_join_all;

use super::client::{Endpoint, ItaClient, SearchParams};
use super::model::{OfficeLocation, TradeEvent, TradeLead};
use crate::countries;
use crate::error::Error;
use crate::sources::UpstreamUsage;

/// An ITA record that belongs to countries.
pub trait CountryRecord:
    serde::de::DeserializeOwned + super::model::Identifiable + Send + Sync + 'static
{
    const ENDPOINT: Endpoint;
    /// The ISO alpha-2 codes this record belongs to.
    fn country_codes(&self) -> Vec<String>;
}

impl CountryRecord for TradeLead {
    const ENDPOINT: Endpoint = Endpoint::TradeLeads;
    fn country_codes(&self) -> Vec<String> {
        self.iso2().into_iter().collect()
    }
}

impl CountryRecord for OfficeLocation {
    const ENDPOINT: Endpoint = Endpoint::OfficeLocations;
    fn country_codes(&self) -> Vec<String> {
        office_country(self).into_iter().collect()
    }
}

impl CountryRecord for super::datasets::MarketResearch {
    const ENDPOINT: Endpoint = Endpoint::MarketResearch;
    fn country_codes(&self) -> Vec<String> {
        self.iso2_codes()
    }
}

impl CountryRecord for super::datasets::TradeArticle {
    const ENDPOINT: Endpoint = Endpoint::TradeArticles;
    fn country_codes(&self) -> Vec<String> {
        self.iso2_codes()
    }
}

impl CountryRecord for super::screening::ScreeningEntry {
    const ENDPOINT: Endpoint = Endpoint::ScreeningList;
    fn country_codes(&self) -> Vec<String> {
        self.iso2_codes()
    }
}

impl CountryRecord for super::de_minimis::DeMinimis {
    const ENDPOINT: Endpoint = Endpoint::DeMinimis;
    fn country_codes(&self) -> Vec<String> {
        self.iso2().into_iter().collect()
    }
}

impl CountryRecord for super::providers::BusinessServiceProvider {
    const ENDPOINT: Endpoint = Endpoint::BusinessServiceProviders;
    fn country_codes(&self) -> Vec<String> {
        self.iso2().into_iter().collect()
    }
}

impl CountryRecord for TradeEvent {
    const ENDPOINT: Endpoint = Endpoint::TradeEvents;
    fn country_codes(&self) -> Vec<String> {
        self.countries()
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }
}

/// An office's country: its own, or, when ITA leaves it null, the one its
/// office name ("Belgrade, Serbia") or post names, if exactly one
/// jurisdiction has that name.
pub fn office_country(office: &OfficeLocation) -> Option<String> {
    // The current API's `country_code`, else `country` (v2: a code; current:
    // a name).
    if let Some(code) = office
        .country_code
        .as_deref()
        .or(office.country.as_deref())
        .and_then(super::model::country_code)
    {
        return Some(code);
    }
    let from_name = office
        .office_name
        .as_deref()
        .and_then(|name| name.rsplit(',').next())
        .and_then(|tail| countries::by_name(tail.trim()));
    let from_post = office
        .post
        .as_deref()
        .and_then(|post| countries::by_name(post.trim()));
    match (from_name, from_post) {
        (Some(a), Some(b)) if a.id != b.id => None,
        (Some(country), _) | (None, Some(country)) => Some(country.iso2.to_owned()),
        (None, None) => None,
    }
}

/// One country's records from one endpoint under shared parameters.
pub struct CountryKey<R> {
    /// ISO alpha-2, upper case.
    pub country: String,
    pub params: Arc<SearchParams>,
    /// Most records this country wants.
    pub limit: u32,
    record: PhantomData<fn() -> R>,
}

impl<R> CountryKey<R> {
    pub fn new(country: &str, params: Arc<SearchParams>, limit: u32) -> Self {
        Self {
            country: country.to_ascii_uppercase(),
            params,
            limit,
            record: PhantomData,
        }
    }
}

// Manual impls: the derives would require `R` itself to be Clone/Eq/Hash.
impl<R> Clone for CountryKey<R> {
    fn clone(&self) -> Self {
        Self::new(&self.country, self.params.clone(), self.limit)
    }
}
impl<R> PartialEq for CountryKey<R> {
    fn eq(&self, other: &Self) -> bool {
        (&self.country, &self.params, self.limit) == (&other.country, &other.params, other.limit)
    }
}
impl<R> Eq for CountryKey<R> {}
impl<R> Hash for CountryKey<R> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.country, &self.params, self.limit).hash(state);
    }
}

/// The per-operation ITA loader; one struct serves all three endpoints.
pub struct ItaLoader {
    client: ItaClient,
    usage: UpstreamUsage,
}

impl ItaLoader {
    pub fn new(client: ItaClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }

    /// Every country's first `limit` records under `params`.
    ///
    /// One search lists every country; when a page leaves some countries
    /// short, the next search lists only those, from the start, rather than
    /// paging on through the records of countries already served. ITA's
    /// leads are skewed (a few markets have most of them): paging on, a
    /// country with few, older leads is reached only after every page of the
    /// busy ones; narrowed, it is in the next request. When no country is
    /// served yet, it pages on.
    async fn load_group<R: CountryRecord>(
        &self,
        params: &SearchParams,
        limit: u32,
        countries: Vec<String>,
    ) -> Result<Vec<(CountryKey<R>, Vec<Arc<R>>)>, Error> {
        let mut own: HashMap<String, Vec<Arc<R>>> = HashMap::new();
        let mut search = params.clone();
        search.countries = countries.clone();
        // The current search's records so far, and where its next page starts.
        let mut records: Vec<Arc<R>> = Vec::new();
        let mut offset = 0;
        let window = R::ENDPOINT.window(self.client.api());
        loop {
            let wanted = u64::from(limit) * search.countries.len() as u64;
            let size = wanted.max(1).saturating_mul(50).min(window.page);
            // Past the endpoint's reach (the screening list's 1,050th
            // match), the countries still short have what can be had.
            if window.reach().is_some_and(|reach| offset + size > reach) {
                break;
            }
            let page = self
                .client
                .search::<R>(R::ENDPOINT, &search, size, offset, &self.usage, |_| false)
                .await?;
            let received = page.items.len() as u64;
            offset += received;
            let exhausted = received < size || page.total.is_some_and(|total| offset >= total);
            records.extend(page.items);
            // One pass over the records (a record's countries are worked out
            // once: an office's may need a name lookup), not one per country.
            let mut found: HashMap<&str, Vec<Arc<R>>> = search
                .countries
                .iter()
                .map(|code| (code.as_str(), Vec::new()))
                .collect();
            for record in &records {
                for code in record.country_codes() {
                    if let Some(list) = found.get_mut(code.as_str()) {
                        let fresh = !list.last().is_some_and(|last| Arc::ptr_eq(last, record));
                        if (list.len() as u32) < limit && fresh {
                            list.push(record.clone());
                        }
                    }
                }
            }
            let mut short = Vec::new();
            for (code, list) in found {
                if (list.len() as u32) < limit {
                    short.push(code.to_owned());
                }
                own.insert(code.to_owned(), list);
            }
            // Sorted, as the batch's countries are: the same batch makes the
            // same narrowed request, which the cache answers.
            short.sort();
            if exhausted || short.is_empty() {
                break;
            }
            if short.len() < search.countries.len() {
                search.countries = short;
                records.clear();
                offset = 0;
            }
        }
        let params = Arc::new(params.clone());
        Ok(countries
            .iter()
            .map(|code| {
                let found = own.remove(code).unwrap_or_default();
                (CountryKey::new(code, params.clone(), limit), found)
            })
            .collect())
    }
}

impl<R: CountryRecord> Loader<CountryKey<R>> for ItaLoader {
    type Value = Vec<Arc<R>>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[CountryKey<R>],
    ) -> Result<HashMap<CountryKey<R>, Self::Value>, Error> {
        let mut groups: BTreeMap<(&SearchParams, u32), Vec<String>> = BTreeMap::new();
        for key in keys {
            let countries = groups.entry((&*key.params, key.limit)).or_default();
            if !countries.contains(&key.country) {
                countries.push(key.country.clone());
            }
        }
        // Sorted, the same batch is the same request, which the cache answers.
        for countries in groups.values_mut() {
            countries.sort();
        }
        let answers =
            try_join_all(groups.into_iter().map(|((params, limit), countries)| {
                self.load_group::<R>(params, limit, countries)
            }))
            .await?;
        Ok(answers.into_iter().flatten().collect())
    }
}
