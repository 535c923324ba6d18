//! Batches the ITA fields of jurisdictions: every country asking the same
//! endpoint with the same parameters shares one search of one page
//! (`countries=MX,CA,GB`), and the results are routed back by country;
//! a country that page leaves short (one busy country can fill any page)
//! has a search of its own. [`worst_case`] is the most this can send, and
//! the operation's estimate is that function: an operation the maximum
//! cannot cover is refused before anything is sent, never cut off midway.

use std::any::Any;
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
    /// At most one record a country (de minimis), so a page of records holds
    /// a page of countries and no country needs a search of its own.
    const ONE_PER_COUNTRY: bool = false;
    /// The endpoint listing every record without a country filter, for
    /// one-per-country records.
    const LIST: Option<Endpoint> = None;
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
    const ONE_PER_COUNTRY: bool = true;
    const LIST: Option<Endpoint> = Some(Endpoint::DeMinimisList);
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

/// Rows of the de minimis list the loader reads at most (three pages of a
/// hundred): the list has one row per country, and ITA lists about two
/// hundred. A country not found in that many rows, when the list goes on,
/// is an error, never a silent null.
pub const DE_MINIMIS_LIST_ROWS: u64 = 300;

/// The most requests [`ItaLoader`] sends in one operation for one group
/// (one endpoint, parameters and limit) asked for `countries` distinct
/// countries, each wanting `limit` records, in pages of `page`: the shared
/// pages' worst case ([`crate::limits::shared_pages_worst_case`], which
/// says how the loader batches), with de minimis's list of
/// [`DE_MINIMIS_LIST_ROWS`] for `one_per_country`. The cost model's
/// estimate is the same function, so the estimate and the plan cannot
/// drift apart; the loader checks every group against it.
pub fn worst_case(countries: u64, limit: u64, page: u64, one_per_country: bool) -> u64 {
    crate::limits::shared_pages_worst_case(
        countries,
        limit,
        page,
        one_per_country.then_some(DE_MINIMIS_LIST_ROWS),
    )
}

/// What one group has done so far in this operation: whether its combined
/// search was spent, the records found per country (each country is
/// searched once per operation, whatever batch asks for it again), and, for
/// de minimis, the whole list once read.
struct GroupState<R> {
    combined_spent: bool,
    found: HashMap<String, Vec<Arc<R>>>,
    /// The de minimis list, when read: its rows, and whether it went on
    /// beyond what was read.
    list: Option<(Vec<Arc<R>>, bool)>,
    /// Requests this group sent, against [`worst_case`].
    sent: u64,
}

type Group<R> = Arc<futures::lock::Mutex<GroupState<R>>>;

/// The per-operation ITA loader (one per record type).
pub struct ItaLoader {
    client: ItaClient,
    usage: UpstreamUsage,
    /// Each group's state, typed by its record (`GroupState<R>`).
    groups: std::sync::Mutex<HashMap<(SearchParams, u32), Arc<dyn Any + Send + Sync>>>,
}

impl ItaLoader {
    pub fn new(client: ItaClient, usage: UpstreamUsage) -> Self {
        Self {
            client,
            usage,
            groups: std::sync::Mutex::default(),
        }
    }

    fn group<R: CountryRecord>(&self, params: &SearchParams, limit: u32) -> Group<R> {
        let mut groups = self
            .groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = groups
            .entry((params.clone(), limit))
            .or_insert_with(|| {
                let state: Group<R> = Arc::new(futures::lock::Mutex::new(GroupState {
                    combined_spent: false,
                    found: HashMap::new(),
                    list: None,
                    sent: 0,
                }));
                state
            })
            .clone();
        drop(groups);
        entry
            .downcast::<futures::lock::Mutex<GroupState<R>>>()
            .expect("one loader serves one record type")
    }

    /// Records of `records` that belong to each of `countries`, at most
    /// `limit` each, in the upstream's order, without repeats.
    fn route<R: CountryRecord>(
        records: &[Arc<R>],
        countries: &[String],
        limit: u32,
    ) -> HashMap<String, Vec<Arc<R>>> {
        let mut found: HashMap<String, Vec<Arc<R>>> = countries
            .iter()
            .map(|code| (code.clone(), Vec::new()))
            .collect();
        // One pass over the records (a record's countries are worked out
        // once: an office's may need a name lookup), not one per country.
        for record in records {
            let mut codes = record.country_codes();
            codes.dedup();
            for code in codes {
                if let Some(list) = found.get_mut(&code) {
                    let fresh = !list.iter().any(|kept| Arc::ptr_eq(kept, record));
                    if (list.len() as u32) < limit && fresh {
                        list.push(record.clone());
                    }
                }
            }
        }
        found
    }

    /// One search of `countries` under `params`: `size` records from the
    /// start (at most one page's requests), and whether nothing more
    /// matches beyond them.
    async fn search<R: CountryRecord>(
        &self,
        endpoint: Endpoint,
        params: &SearchParams,
        countries: &[String],
        size: u64,
        offset: u64,
    ) -> Result<(Vec<Arc<R>>, bool), Error> {
        let mut search = params.clone();
        search.countries = countries.to_vec();
        let page = self
            .client
            .search::<R>(endpoint, &search, size, offset, &self.usage, |_| true)
            .await?;
        let received = page.items.len() as u64;
        let exhausted =
            received < size || page.total.is_some_and(|total| offset + received >= total);
        Ok((page.items, exhausted))
    }

    /// Every country's first `limit` records under `params`, as
    /// [`worst_case`] plans them.
    async fn load_group<R: CountryRecord>(
        &self,
        params: &SearchParams,
        limit: u32,
        countries: Vec<String>,
    ) -> Result<Vec<(CountryKey<R>, Vec<Arc<R>>)>, Error> {
        let group = self.group::<R>(params, limit);
        // Batches of one group run one after the other: a later batch sees
        // what the earlier found and whether the combined search is spent.
        let mut state = group.lock().await;
        let fresh: Vec<String> = countries
            .iter()
            .filter(|code| !state.found.contains_key(*code))
            .cloned()
            .collect();
        if limit > 0 && !fresh.is_empty() {
            if R::ONE_PER_COUNTRY {
                self.load_rows::<R>(params, fresh, &mut state).await?;
            } else {
                self.load_records::<R>(params, limit, fresh, &mut state)
                    .await?;
            }
        }
        debug_assert!(
            state.sent
                <= worst_case(
                    state.found.len() as u64,
                    u64::from(limit),
                    R::ENDPOINT.window(self.client.api()).page,
                    R::ONE_PER_COUNTRY,
                ),
            "the plan went beyond its worst case"
        );
        let params = Arc::new(params.clone());
        Ok(countries
            .iter()
            .map(|code| {
                let found = state.found.get(code).cloned().unwrap_or_default();
                (CountryKey::new(code, params.clone(), limit), found)
            })
            .collect())
    }

    /// Records: combined searches while they are paid for, then an own
    /// search for each country still short.
    ///
    /// The batch may spend `slack` (1 for the group's first combined
    /// search, once per operation) plus `pages(limit)` per fresh country.
    /// A combined search costs one request of that slack, and every country
    /// it serves gives back the own search it no longer needs; so another
    /// combined search (narrowed to the countries still short, from the
    /// start, or the next page when it served none) is sent only while one
    /// request of slack is left over what the short countries' own searches
    /// would cost. ITA's leads are skewed (a few markets have most of
    /// them): narrowing reaches a country with few, older leads in the next
    /// request where paging on would not, and on the sample data 65
    /// countries take 3 combined searches rather than 40 own ones. One
    /// country filling every page serves nobody else: the slack is then
    /// spent and the rest go alone, within [`worst_case`].
    async fn load_records<R: CountryRecord>(
        &self,
        params: &SearchParams,
        limit: u32,
        fresh: Vec<String>,
        state: &mut GroupState<R>,
    ) -> Result<(), Error> {
        let window = R::ENDPOINT.window(self.client.api());
        let own = u64::from(limit).div_ceil(window.page.max(1));
        let wanted = limit as usize;
        let mut short = fresh;
        let mut slack = 0u64;
        if short.len() > 1 && !state.combined_spent {
            state.combined_spent = true;
            slack = 1;
        }
        // The current combined search: its countries, its records so far and
        // where its next page starts.
        let mut searched = short.clone();
        let mut records: Vec<Arc<R>> = Vec::new();
        let mut offset = 0;
        while short.len() > 1 && slack >= 1 {
            slack -= 1;
            state.sent += 1;
            let (items, exhausted) = self
                .search::<R>(R::ENDPOINT, params, &searched, window.page, offset)
                .await?;
            offset += items.len() as u64;
            records.extend(items);
            for (code, list) in Self::route(&records, &searched, limit) {
                keep_longer(&mut state.found, code, list);
            }
            if exhausted {
                // Everything the searched countries have was listed.
                short.clear();
                break;
            }
            let before = short.len();
            short.retain(|code| state.found.get(code).map_or(0, Vec::len) < wanted);
            slack += (before - short.len()) as u64 * own;
            if short.len() < searched.len() {
                searched = short.clone();
                records.clear();
                offset = 0;
            }
        }
        // Each country still short alone, from the start: its records are
        // then its own, whatever dominated the combined pages.
        state.sent += own * short.len() as u64;
        let answers = try_join_all(short.iter().map(|code| async move {
            let (records, _) = self
                .search::<R>(
                    R::ENDPOINT,
                    params,
                    std::slice::from_ref(code),
                    u64::from(limit),
                    0,
                )
                .await?;
            Ok::<_, Error>(Self::route(&records, std::slice::from_ref(code), limit))
        }))
        .await?;
        for found in answers {
            for (code, list) in found {
                keep_longer(&mut state.found, code, list);
            }
        }
        Ok(())
    }

    /// One row per country (de minimis): the first batch of at most a
    /// page of countries in one request; anything else from the whole list,
    /// read once.
    async fn load_rows<R: CountryRecord>(
        &self,
        params: &SearchParams,
        fresh: Vec<String>,
        state: &mut GroupState<R>,
    ) -> Result<(), Error> {
        let window = R::ENDPOINT.window(self.client.api());
        if !state.combined_spent && fresh.len() as u64 <= window.page {
            state.combined_spent = true;
            state.sent += 1;
            let (records, exhausted) = self
                .search::<R>(R::ENDPOINT, params, &fresh, window.page, 0)
                .await?;
            // A page of rows for at most a page of countries holds them all
            // (one row each); an upstream repeating countries is read from
            // its whole list instead, within the same worst case.
            let found = Self::route(&records, &fresh, 1);
            if exhausted || fresh.len() == 1 || found.values().all(|rows| !rows.is_empty()) {
                state.found.extend(found);
                return Ok(());
            }
        }
        state.combined_spent = true;
        if state.list.is_none() {
            let list_endpoint = R::LIST.unwrap_or(R::ENDPOINT);
            state.sent += DE_MINIMIS_LIST_ROWS.div_ceil(window.page.max(1));
            let (rows, exhausted) = self
                .search::<R>(list_endpoint, params, &[], DE_MINIMIS_LIST_ROWS, 0)
                .await?;
            state.list = Some((rows, !exhausted));
        }
        let (rows, truncated) = state.list.as_ref().expect("read above");
        let found = Self::route(rows, &fresh, 1);
        if *truncated {
            if let Some((code, _)) = found.iter().find(|(_, rows)| rows.is_empty()) {
                let list = R::LIST.unwrap_or(R::ENDPOINT);
                return Err(Error::UpstreamBadResponse {
                    upstream: crate::sources::Source::Ita,
                    path: list.path(self.client.api()),
                    detail: format!(
                        "{} goes on beyond {DE_MINIMIS_LIST_ROWS} rows (one a country) and {code} is not among them",
                        list.describe()
                    ),
                });
            }
        }
        state.found.extend(found);
        Ok(())
    }
}

/// Keeps the longer of two lists of a country's first records: each search
/// from the start lists a prefix of the country's records in ITA's order,
/// and a later, narrowed one may reach fewer of them than an earlier page.
fn keep_longer<R>(found: &mut HashMap<String, Vec<Arc<R>>>, code: String, list: Vec<Arc<R>>) {
    match found.get(&code) {
        Some(kept) if kept.len() >= list.len() => {}
        _ => {
            found.insert(code, list);
        }
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
