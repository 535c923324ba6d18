//! Sends ITA searches through the shared HTTP path, in either API
//! generation, paging past the 100-results-per-request cap.

use crate::sources::http::{Credential, Secret};
use std::hash::Hash;
use std::sync::Arc;

use super::datasets::EnvirotechKind;
use super::model::{decode_search, Aggregation, Identifiable, SourceUsed};
use super::window::{plan, Window};
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

/// One of the ITA search endpoints the graph uses: the three both
/// generations serve, and seed 000's four other data sets, which only the
/// seed-era API served ([`super::datasets`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    TradeLeads,
    OfficeLocations,
    TradeEvents,
    ExportPrograms,
    MarketResearch,
    TradeArticles,
    Envirotech(EnvirotechKind),
    /// The Consolidated Screening List's search.
    ScreeningList,
    /// De minimis thresholds of the countries asked for (current API).
    DeMinimis,
    /// Every country's de minimis thresholds, paged (current API).
    DeMinimisList,
    BusinessServiceProviders,
}

impl Endpoint {
    /// The endpoint in words, for errors.
    pub fn describe(self) -> &'static str {
        match self {
            Self::TradeLeads => "the trade leads search",
            Self::OfficeLocations => "the office locations search",
            Self::TradeEvents => "the trade events search",
            Self::ExportPrograms => "the ITA programs search",
            Self::MarketResearch => "the market research library search",
            Self::TradeArticles => "the trade articles search",
            Self::Envirotech(_) => "the environmental toolkit search",
            Self::ScreeningList => "the consolidated screening list search",
            Self::DeMinimis => "the de minimis search",
            Self::DeMinimisList => "the de minimis list",
            Self::BusinessServiceProviders => "the business service providers search",
        }
    }

    fn slug(self) -> String {
        match self {
            Self::TradeLeads => "trade_leads".into(),
            Self::OfficeLocations => "ita_office_locations".into(),
            Self::TradeEvents => "trade_events".into(),
            Self::ExportPrograms => "ita_programs".into(),
            Self::MarketResearch => "market_research_library".into(),
            Self::TradeArticles => "trade_articles".into(),
            Self::Envirotech(kind) => format!("envirotech/{}", kind.slug()),
            Self::ScreeningList => "consolidated_screening_list".into(),
            Self::DeMinimis | Self::DeMinimisList => "de_minimis".into(),
            Self::BusinessServiceProviders => "business_service_providers".into(),
        }
    }

    /// The search path in `api`. ITA programs were documented (2013) at
    /// `/ita_programs/search.json` and never moved; the current API serves
    /// none of the four data sets ([`SearchParams::check`] refuses them).
    pub fn path(self, api: ItaApi) -> String {
        match (self, api) {
            (Self::ExportPrograms, _) => "/ita_programs/search.json".to_owned(),
            (Self::DeMinimisList, _) => "/de_minimis/v1/list".to_owned(),
            (_, ItaApi::V2) => format!("/v2/{}/search", self.slug()),
            (_, ItaApi::Current) => format!("/{}/v1/search", self.slug()),
        }
    }

    /// What one request may ask for: data.trade.gov's screening list caps
    /// `size` at 50 and `offset` at 1,000; the other searches take 100 a
    /// request, at any offset.
    pub fn window(self, api: ItaApi) -> Window {
        match (self, api) {
            (Self::ScreeningList, ItaApi::Current) => super::screening::CURRENT_WINDOW,
            _ => Window {
                page: MAX_SIZE,
                max_offset: None,
            },
        }
    }

    /// The `/count` path of the endpoints that have one (current API:
    /// trade leads, offices, events), answering `{total, aggregations}`.
    pub fn count_path(self, api: ItaApi) -> Option<String> {
        match (self, api) {
            (Self::TradeLeads | Self::OfficeLocations | Self::TradeEvents, ItaApi::Current) => {
                Some(format!("/{}/v1/count", self.slug()))
            }
            _ => None,
        }
    }

    /// The data sets only the current API serves, by name.
    fn current_only(self) -> Option<&'static str> {
        match self {
            Self::DeMinimis | Self::DeMinimisList => Some("de minimis thresholds"),
            _ => None,
        }
    }
}

/// A date range, both ends inclusive, either open (`YYYY-MM-DD`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A search filter, by what it means; each endpoint and API generation
/// names it its own way, or does not have it ([`Filter::wire_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    Query,
    Countries,
    Industries,
    Sources,
    City,
    States,
    ZipCodes,
    EventTypes,
    TradeRegions,
    WorldRegions,
    PublishDate,
    EndDate,
    PublishDateAmended,
    StartDate,
    TenderStartDate,
    ContractStartDate,
    ProgramTitle,
    Abstract,
    ExportPhases,
    Topics,
    SubTopics,
    GeoRegions,
    GeoSubregions,
    TradePrograms,
    TradeInitiatives,
    CreationDate,
    ReleaseDate,
    ExpirationDate,
    SourceIds,
    IssueIds,
    ProviderIds,
    RegulationIds,
    SolutionIds,
    /// The screening list's name search, and whether it is fuzzy.
    Name,
    FuzzyName,
    /// Entry types (Individual, Entity, Vessel, Aircraft).
    Types,
    Address,
    /// One state (the screening list's `state`).
    State,
    PostalCode,
    FullAddress,
    /// Provider categories and the ITA offices that list them.
    Categories,
    ItaOffices,
}

impl Filter {
    /// The GraphQL argument that sets it.
    pub fn argument(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Countries => "countries",
            Self::Industries => "industries",
            Self::Sources => "sources",
            Self::City => "city",
            Self::States => "states",
            Self::ZipCodes => "zipCodes",
            Self::EventTypes => "eventTypes",
            Self::TradeRegions => "tradeRegions",
            Self::WorldRegions => "worldRegions",
            Self::PublishDate => "publishDate",
            Self::EndDate => "endDate",
            Self::PublishDateAmended => "publishDateAmended",
            Self::StartDate => "startDate",
            Self::TenderStartDate => "tenderStartDate",
            Self::ContractStartDate => "contractStartDate",
            Self::ProgramTitle => "title",
            Self::Abstract => "abstract",
            Self::ExportPhases => "exportPhases",
            Self::Topics => "topics",
            Self::SubTopics => "subTopics",
            Self::GeoRegions => "geoRegions",
            Self::GeoSubregions => "geoSubregions",
            Self::TradePrograms => "tradePrograms",
            Self::TradeInitiatives => "tradeInitiatives",
            Self::CreationDate => "creationDate",
            Self::ReleaseDate => "releaseDate",
            Self::ExpirationDate => "expirationDate",
            Self::SourceIds => "ids",
            Self::IssueIds => "issueIds",
            Self::ProviderIds => "providerIds",
            Self::RegulationIds => "regulationIds",
            Self::SolutionIds => "solutionIds",
            Self::Name => "name",
            Self::FuzzyName => "fuzzyName",
            Self::Types => "types",
            Self::Address => "address",
            Self::State => "state",
            Self::PostalCode => "postalCode",
            Self::FullAddress => "fullAddress",
            Self::Categories => "categories",
            Self::ItaOffices => "itaOffices",
        }
    }

    /// The parameter `endpoint` takes for it in `api` (for date ranges on
    /// the current API, the stem of `<stem>[from]` and `<stem>[to]`), or
    /// `None` where it has none. The v2 names are seeds 000-002's and the
    /// v2 API's source (GovWizely/webservices); the current ones are
    /// data.trade.gov's (`fixtures/ita/CURRENT_API.md`).
    pub fn wire_name(self, endpoint: Endpoint, api: ItaApi) -> Option<&'static str> {
        use Endpoint::{
            BusinessServiceProviders as Providers, DeMinimis, DeMinimisList, ScreeningList as Csl,
        };
        use Endpoint::{
            Envirotech, ExportPrograms as Programs, MarketResearch as Mrl,
            OfficeLocations as Offices, TradeArticles as Articles, TradeEvents as Events,
            TradeLeads as Leads,
        };
        use ItaApi::{Current, V2};
        Some(match (self, endpoint, api) {
            // The four seed-era data sets (OTHER_DATASETS.md): v2 only.
            (_, Programs | Mrl | Articles | Envirotech(_), Current) => return None,
            // De minimis: current only; its search takes country codes.
            (Self::Countries, DeMinimis, Current) => "country_codes",
            (_, DeMinimis | DeMinimisList, _) => return None,
            // The screening list (CURRENT_API.md; v2: the API's source).
            (Self::Name, Csl, _) => "name",
            (Self::FuzzyName, Csl, _) => "fuzzy_name",
            (Self::Sources, Csl, _) => "sources",
            (Self::Countries, Csl, _) => "countries",
            (Self::Address, Csl, _) => "address",
            (Self::Types, Csl, Current) => "types",
            (Self::Types, Csl, V2) => "type",
            (Self::City, Csl, Current) => "city",
            (Self::State, Csl, Current) => "state",
            (Self::PostalCode, Csl, Current) => "postal_code",
            (Self::FullAddress, Csl, Current) => "full_address",
            (_, Csl, _) => return None,
            (Self::Query, Providers, _) => "q",
            (Self::Categories, Providers, _) => "categories",
            (Self::ItaOffices, Providers, _) => "ita_offices",
            (_, Providers, _) => return None,
            (Self::Query, _, _) => "q",
            (Self::ProgramTitle, Programs, V2) => "program_title",
            (Self::Abstract, Programs, V2) => "abstract",
            (Self::ExportPhases, Programs, V2) => "export_phase",
            (Self::Countries | Self::Industries, Mrl, V2) => match self {
                Self::Countries => "countries",
                _ => "industries",
            },
            (Self::ExpirationDate, Mrl | Articles, V2) => "expiration_date",
            (Self::Countries, Articles, V2) => "countries",
            (Self::Industries, Articles, V2) => "industries",
            (Self::ExportPhases, Articles, V2) => "export_phases",
            (Self::Topics, Articles, V2) => "topics",
            (Self::SubTopics, Articles, V2) => "sub_topics",
            (Self::GeoRegions, Articles, V2) => "geo_regions",
            (Self::GeoSubregions, Articles, V2) => "geo_subregions",
            (Self::TradeRegions, Articles, V2) => "trade_regions",
            (Self::TradePrograms, Articles, V2) => "trade_programs",
            (Self::TradeInitiatives, Articles, V2) => "trade_initiatives",
            (Self::CreationDate, Articles, V2) => "creation_date",
            (Self::ReleaseDate, Articles, V2) => "release_date",
            (Self::SourceIds, Envirotech(_), V2) => "source_ids",
            (Self::IssueIds, Envirotech(_), V2) => "issue_ids",
            (Self::ProviderIds, Envirotech(_), V2) => "provider_ids",
            (Self::RegulationIds, Envirotech(_), V2) => "regulation_ids",
            (Self::SolutionIds, Envirotech(_), V2) => "solution_ids",
            (_, Programs | Mrl | Articles | Envirotech(_), _) => return None,
            (Self::Countries, Leads | Offices, V2) | (Self::Countries, Events, _) => "countries",
            (Self::Countries, Leads | Offices, Current) => "country_codes",
            (Self::Industries, Leads, V2) | (Self::Industries, Events, _) => "industries",
            (Self::Sources, Leads, V2) | (Self::Sources, Events, _) => "sources",
            (Self::City, Offices, V2) => "city",
            (Self::States, Offices, V2) => "state",
            (Self::States, Offices | Events, Current) => "states",
            (Self::ZipCodes, Offices, Current) => "assigned_zip_codes",
            (Self::EventTypes, Events, Current) => "event_types",
            (Self::TradeRegions, Leads | Events, V2) => "trade_regions",
            (Self::WorldRegions, Leads | Events, V2) => "world_regions",
            (Self::PublishDate, Leads, V2) => "publish_date",
            (Self::EndDate, Leads | Events, V2) => "end_date",
            (Self::PublishDateAmended, Leads, V2) => "publish_date_amended",
            (Self::StartDate, Events, V2) => "start_date",
            (Self::StartDate, Events, Current) => "start_date_range",
            (Self::TenderStartDate, Leads, Current) => "tender_start_date_range",
            (Self::ContractStartDate, Leads, Current) => "contract_start_date_range",
            _ => return None,
        })
    }
}

/// Search parameters other than paging, by meaning; [`SearchParams::check`]
/// says which the endpoint and API generation in use cannot honour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SearchParams {
    pub q: Option<String>,
    /// ISO alpha-2, upper case.
    pub countries: Vec<String>,
    pub industries: Vec<String>,
    pub sources: Vec<String>,
    pub city: Option<String>,
    /// U.S. postal abbreviations.
    pub states: Vec<String>,
    pub zip_codes: Vec<String>,
    pub event_types: Vec<String>,
    pub trade_regions: Vec<String>,
    pub world_regions: Vec<String>,
    pub publish_date: Option<DateRange>,
    pub end_date: Option<DateRange>,
    pub publish_date_amended: Option<DateRange>,
    pub start_date: Option<DateRange>,
    pub tender_start_date: Option<DateRange>,
    pub contract_start_date: Option<DateRange>,
    pub program_title: Option<String>,
    pub abstract_text: Option<String>,
    pub export_phases: Vec<String>,
    pub topics: Vec<String>,
    pub sub_topics: Vec<String>,
    pub geo_regions: Vec<String>,
    pub geo_subregions: Vec<String>,
    pub trade_programs: Vec<String>,
    pub trade_initiatives: Vec<String>,
    pub creation_date: Option<DateRange>,
    pub release_date: Option<DateRange>,
    pub expiration_date: Option<DateRange>,
    /// Envirotech ids (integers, as text).
    pub source_ids: Vec<String>,
    pub issue_ids: Vec<String>,
    pub provider_ids: Vec<String>,
    pub regulation_ids: Vec<String>,
    pub solution_ids: Vec<String>,
    /// The screening list's name search.
    pub name: Option<String>,
    /// Whether the name search is fuzzy (`fuzzy_name=true`).
    pub fuzzy_name: bool,
    pub types: Vec<String>,
    pub address: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub full_address: Option<String>,
    pub categories: Vec<String>,
    pub ita_offices: Vec<String>,
}

/// A filter's value, as it goes out.
enum FilterValue<'a> {
    Text(&'a str),
    List(&'a [String]),
    Range(&'a DateRange),
}

impl SearchParams {
    /// The filters that are set, with their values.
    fn set(&self) -> Vec<(Filter, FilterValue<'_>)> {
        let mut set = Vec::new();
        for (filter, value) in [
            (Filter::Query, &self.q),
            (Filter::City, &self.city),
            (Filter::ProgramTitle, &self.program_title),
            (Filter::Abstract, &self.abstract_text),
            (Filter::Name, &self.name),
            (Filter::Address, &self.address),
            (Filter::State, &self.state),
            (Filter::PostalCode, &self.postal_code),
            (Filter::FullAddress, &self.full_address),
        ] {
            if let Some(value) = value {
                set.push((filter, FilterValue::Text(value)));
            }
        }
        if self.fuzzy_name {
            set.push((Filter::FuzzyName, FilterValue::Text("true")));
        }
        for (filter, list) in [
            (Filter::Countries, &self.countries),
            (Filter::Industries, &self.industries),
            (Filter::Sources, &self.sources),
            (Filter::States, &self.states),
            (Filter::ZipCodes, &self.zip_codes),
            (Filter::EventTypes, &self.event_types),
            (Filter::TradeRegions, &self.trade_regions),
            (Filter::WorldRegions, &self.world_regions),
            (Filter::ExportPhases, &self.export_phases),
            (Filter::Topics, &self.topics),
            (Filter::SubTopics, &self.sub_topics),
            (Filter::GeoRegions, &self.geo_regions),
            (Filter::GeoSubregions, &self.geo_subregions),
            (Filter::TradePrograms, &self.trade_programs),
            (Filter::TradeInitiatives, &self.trade_initiatives),
            (Filter::SourceIds, &self.source_ids),
            (Filter::IssueIds, &self.issue_ids),
            (Filter::ProviderIds, &self.provider_ids),
            (Filter::RegulationIds, &self.regulation_ids),
            (Filter::SolutionIds, &self.solution_ids),
            (Filter::Types, &self.types),
            (Filter::Categories, &self.categories),
            (Filter::ItaOffices, &self.ita_offices),
        ] {
            if !list.is_empty() {
                set.push((filter, FilterValue::List(list)));
            }
        }
        for (filter, range) in [
            (Filter::PublishDate, &self.publish_date),
            (Filter::EndDate, &self.end_date),
            (Filter::PublishDateAmended, &self.publish_date_amended),
            (Filter::StartDate, &self.start_date),
            (Filter::TenderStartDate, &self.tender_start_date),
            (Filter::ContractStartDate, &self.contract_start_date),
            (Filter::CreationDate, &self.creation_date),
            (Filter::ReleaseDate, &self.release_date),
            (Filter::ExpirationDate, &self.expiration_date),
        ] {
            if let Some(range) = range {
                set.push((filter, FilterValue::Range(range)));
            }
        }
        set
    }

    /// Refuses, before any request, a filter `endpoint` cannot honour in
    /// `api`, saying which generation has it (never dropped, never sent
    /// under a wrong name).
    pub fn check(&self, endpoint: Endpoint, api: ItaApi) -> Result<(), Error> {
        if api == ItaApi::Current {
            if let Some(retired) = super::datasets::retirement(endpoint) {
                return Err(Error::DatasetRetired {
                    upstream: crate::sources::Source::Ita,
                    retired,
                });
            }
        }
        if let (ItaApi::V2, Some(what)) = (api, endpoint.current_only()) {
            return Err(Error::NotInConfiguredApi {
                upstream: crate::sources::Source::Ita,
                what,
                only: ItaApi::Current.name(),
                configured: api.name(),
            });
        }
        if api == ItaApi::V2 && endpoint == Endpoint::ScreeningList && self.types.len() > 1 {
            return Err(Error::bad_input(
                "types: the v2 ITA API's screening list takes one type (`type`); the current API takes several",
            ));
        }
        if endpoint == Endpoint::ScreeningList && self.fuzzy_name && self.name.is_none() {
            return Err(Error::bad_input(
                "fuzzyName: give a name to match fuzzily (fuzzyName applies to name only)",
            ));
        }
        for (filter, _) in self.set() {
            if filter.wire_name(endpoint, api).is_some() {
                continue;
            }
            let other = match api {
                ItaApi::V2 => ItaApi::Current,
                ItaApi::Current => ItaApi::V2,
            };
            return Err(Error::bad_input(match filter.wire_name(endpoint, other) {
                Some(_) => format!(
                    "{}: {} takes it only in the {} ITA API; this gateway speaks {} (set --ita-api {})",
                    filter.argument(),
                    endpoint.describe(),
                    other.name(),
                    api.name(),
                    other.name()
                ),
                None => format!(
                    "{}: {} has no such filter in either ITA API",
                    filter.argument(),
                    endpoint.describe()
                ),
            }));
        }
        if api == ItaApi::V2 && endpoint == Endpoint::OfficeLocations && self.states.len() > 1 {
            return Err(Error::bad_input(
                "states: the v2 ITA API's office search takes one state (the current API takes several)",
            ));
        }
        Ok(())
    }

    /// The query string for `endpoint` in `api`. Filters the generation
    /// cannot honour were refused by [`SearchParams::check`]; any left
    /// here are not sent.
    fn query(
        &self,
        endpoint: Endpoint,
        api: ItaApi,
        size: u64,
        offset: u64,
    ) -> Vec<(String, String)> {
        let mut query = Vec::new();
        for (filter, value) in self.set() {
            let Some(name) = filter.wire_name(endpoint, api) else {
                continue;
            };
            match value {
                FilterValue::Text(text) => query.push((name.to_owned(), text.to_owned())),
                // The library's industry names can hold commas ("Construction,
                // Building & Heavy Equipment"); it reads `\,` as a literal one.
                FilterValue::List(list)
                    if endpoint == Endpoint::MarketResearch && filter == Filter::Industries =>
                {
                    let escaped: Vec<String> =
                        list.iter().map(|value| value.replace(',', "\\,")).collect();
                    query.push((name.to_owned(), escaped.join(",")));
                }
                FilterValue::List(list) => query.push((name.to_owned(), list.join(","))),
                // v2: "YYYY-MM-DD TO YYYY-MM-DD", both ends given.
                FilterValue::Range(range) if api == ItaApi::V2 => query.push((
                    name.to_owned(),
                    format!(
                        "{} TO {}",
                        range.from.as_deref().unwrap_or("1900-01-01"),
                        range.to.as_deref().unwrap_or("2099-12-31")
                    ),
                )),
                // Current: `<stem>[from]` and `<stem>[to]`, the ends given.
                FilterValue::Range(range) => {
                    if let Some(from) = &range.from {
                        query.push((format!("{name}[from]"), from.clone()));
                    }
                    if let Some(to) = &range.to {
                        query.push((format!("{name}[to]"), to.clone()));
                    }
                }
            }
        }
        query.push(("size".to_owned(), size.to_string()));
        query.push(("offset".to_owned(), offset.to_string()));
        query
    }
}

/// One decoded answer, records shared so that cached answers are not copied.
struct Answer<T> {
    total: Option<u64>,
    sources_used: Vec<SourceUsed>,
    aggregations: Vec<Aggregation>,
    results: Vec<Arc<T>>,
}

fn decode_answer<T: serde::de::DeserializeOwned + Identifiable>(
    body: &[u8],
) -> Result<Answer<T>, Error> {
    let response = decode_search::<T>(body)?;
    Ok(Answer {
        total: response.total,
        sources_used: response.sources_used,
        aggregations: response.aggregations,
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
    /// Counts of all matches by facet, from the first answer.
    pub aggregations: Vec<Aggregation>,
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

    /// Reserves an operation's estimated ITA requests from the budget (when
    /// `--ita-budget` sets one) before it runs, or refuses them all.
    pub async fn reserve_estimate(
        &self,
        estimate: u64,
        usage: &UpstreamUsage,
    ) -> Result<(), Error> {
        self.upstream.reserve_requests(estimate, usage).await
    }

    /// The API generation this client speaks.
    pub fn api(&self) -> ItaApi {
        self.api
    }

    /// The first page (100 records) `params` match, in one request sent now
    /// whatever the cache holds: a subscription's poll for what is new.
    pub async fn newest<T: serde::de::DeserializeOwned + Identifiable + Send + Sync + 'static>(
        &self,
        endpoint: Endpoint,
        params: &SearchParams,
        usage: &UpstreamUsage,
    ) -> Result<Vec<Arc<T>>, Error> {
        params.check(endpoint, self.api)?;
        let request = UpstreamRequest::get(
            endpoint.path(self.api),
            params.query(endpoint, self.api, MAX_SIZE, 0),
        );
        let answer = self
            .upstream
            .request_fresh(&request, usage, decode_answer::<T>)
            .await?;
        Ok(answer.results.clone())
    }

    /// Up to `limit` records from `offset`, in requests within the
    /// endpoint's [`Window`] (100 a request; the current screening list 50,
    /// from offsets up to 1,000), stopping when ITA runs out. A window no
    /// request can reach is refused before anything is sent. `keep_going`
    /// may stop earlier: it sees the records so far and says whether
    /// another page is needed.
    ///
    /// `limit: 0` asks for the total alone: one request of one record from
    /// the start (whatever `offset`: no record is wanted, so none is out of
    /// reach), whose record is dropped. Without it a page of no items would
    /// send nothing and answer `totalCount: null`, though the total is what
    /// such a page is asked for.
    pub async fn search<T: serde::de::DeserializeOwned + Identifiable + Send + Sync + 'static>(
        &self,
        endpoint: Endpoint,
        params: &SearchParams,
        limit: u64,
        offset: u64,
        usage: &UpstreamUsage,
        mut keep_going: impl FnMut(&[Arc<T>]) -> bool,
    ) -> Result<ItaPage<Arc<T>>, Error> {
        params.check(endpoint, self.api)?;
        if limit == 0 {
            let request = UpstreamRequest::get(
                endpoint.path(self.api),
                params.query(endpoint, self.api, 1, 0),
            );
            let answer = self
                .upstream
                .request(&request, usage, decode_answer::<T>)
                .await?;
            return Ok(ItaPage {
                items: Vec::new(),
                total: answer.total,
                sources_used: answer.sources_used.clone(),
                aggregations: answer.aggregations.clone(),
            });
        }
        let planned = plan(
            endpoint.window(self.api),
            offset,
            limit,
            endpoint.describe(),
        )?;
        let mut page = ItaPage {
            items: Vec::new(),
            total: None,
            sources_used: Vec::new(),
            aggregations: Vec::new(),
        };
        for planned in planned {
            let request = UpstreamRequest::get(
                endpoint.path(self.api),
                params.query(endpoint, self.api, planned.size, planned.offset),
            );
            let answer = self
                .upstream
                .request(&request, usage, decode_answer::<T>)
                .await?;
            // Exactly the requested window: an upstream that answers more
            // than `size` did not page, and its records are taken as the
            // list from the start (what precedes the offset is skipped);
            // never more than `size` from one answer.
            let answered = answer.results.len() as u64;
            let base = if answered > planned.size {
                planned.offset.min(answered)
            } else {
                0
            };
            let received = (answered - base).min(planned.size);
            page.total = answer.total.or(page.total);
            if page.sources_used.is_empty() {
                page.sources_used = answer.sources_used.clone();
            }
            if page.aggregations.is_empty() {
                page.aggregations = answer.aggregations.clone();
            }
            let window = usize::try_from(base).unwrap_or(usize::MAX)
                ..usize::try_from(base + received).unwrap_or(usize::MAX);
            page.items.extend(
                answer.results[window]
                    .iter()
                    .skip(usize::try_from(planned.skip).unwrap_or(usize::MAX))
                    .cloned(),
            );
            let next = planned.offset + received;
            let exhausted =
                received < planned.size || page.total.is_some_and(|total| next >= total);
            if exhausted || !keep_going(&page.items) {
                break;
            }
        }
        Ok(page)
    }

    /// The `/count` answer of `endpoint` (current API: every record's
    /// total and facets, in one request that returns no records), or
    /// `None` where the endpoint has no count.
    pub async fn count(
        &self,
        endpoint: Endpoint,
        usage: &UpstreamUsage,
    ) -> Result<Option<(Option<u64>, Vec<Aggregation>)>, Error> {
        let Some(path) = endpoint.count_path(self.api) else {
            return Ok(None);
        };
        let request = UpstreamRequest::get(path, Vec::new());
        let answer = self
            .upstream
            .request(&request, usage, super::model::decode_count)
            .await?;
        Ok(Some((answer.0, answer.1.clone())))
    }

    /// The lists the screening list consolidates
    /// (`/consolidated_screening_list/v1/sources`); the seed-era API had no
    /// such endpoint.
    pub async fn screening_sources(
        &self,
        usage: &UpstreamUsage,
    ) -> Result<Arc<Vec<super::screening::ScreeningSource>>, Error> {
        if self.api != ItaApi::Current {
            return Err(Error::NotInConfiguredApi {
                upstream: crate::sources::Source::Ita,
                what: "list of screening list sources",
                only: ItaApi::Current.name(),
                configured: self.api.name(),
            });
        }
        let request = UpstreamRequest::get("/consolidated_screening_list/v1/sources", Vec::new());
        self.upstream
            .request(&request, usage, super::screening::decode_sources)
            .await
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
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            params.query(Endpoint::TradeLeads, ItaApi::V2, 100, 0),
            pairs(&[
                ("q", "steel"),
                ("countries", "MX,CA,GB"),
                ("size", "100"),
                ("offset", "0")
            ])
        );
        assert_eq!(
            params.query(Endpoint::TradeLeads, ItaApi::Current, 100, 0),
            pairs(&[
                ("q", "steel"),
                ("country_codes", "MX,CA,GB"),
                ("size", "100"),
                ("offset", "0")
            ])
        );
        let dated = SearchParams {
            start_date: Some(DateRange {
                from: Some("2026-01-01".into()),
                to: None,
            }),
            ..SearchParams::default()
        };
        assert_eq!(
            dated.query(Endpoint::TradeEvents, ItaApi::V2, 10, 0)[0],
            (
                "start_date".to_owned(),
                "2026-01-01 TO 2099-12-31".to_owned()
            )
        );
        assert_eq!(
            dated.query(Endpoint::TradeEvents, ItaApi::Current, 10, 0)[0],
            ("start_date_range[from]".to_owned(), "2026-01-01".to_owned())
        );
    }

    /// data.trade.gov's screening list, de minimis and providers: the names
    /// each generation takes, and the windows they page within.
    #[test]
    fn current_data_sets_by_generation() {
        let screening = SearchParams {
            name: Some("Acme".into()),
            fuzzy_name: true,
            types: vec!["Entity".into()],
            countries: vec!["IR".into()],
            city: Some("Tehran".into()),
            ..SearchParams::default()
        };
        let names = |api| -> Vec<String> {
            screening
                .query(Endpoint::ScreeningList, api, 50, 0)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(
            names(ItaApi::Current),
            [
                "city",
                "name",
                "fuzzy_name",
                "countries",
                "types",
                "size",
                "offset"
            ]
        );
        assert!(screening
            .check(Endpoint::ScreeningList, ItaApi::V2)
            .unwrap_err()
            .to_string()
            .contains("only in the current ITA API"));
        let v2 = SearchParams {
            city: None,
            ..screening.clone()
        };
        v2.check(Endpoint::ScreeningList, ItaApi::V2).unwrap();
        assert!(v2
            .query(Endpoint::ScreeningList, ItaApi::V2, 100, 0)
            .contains(&("type".to_owned(), "Entity".to_owned())));
        assert_eq!(
            Endpoint::ScreeningList.path(ItaApi::V2),
            "/v2/consolidated_screening_list/search"
        );
        assert_eq!(
            Endpoint::ScreeningList.window(ItaApi::Current).reach(),
            Some(1050)
        );
        assert_eq!(Endpoint::ScreeningList.window(ItaApi::V2).reach(), None);
        let countries = SearchParams {
            countries: vec!["MX".into(), "CA".into()],
            ..SearchParams::default()
        };
        assert_eq!(
            countries.query(Endpoint::DeMinimis, ItaApi::Current, 100, 0)[0],
            ("country_codes".to_owned(), "MX,CA".to_owned())
        );
        assert_eq!(
            Endpoint::DeMinimisList.path(ItaApi::Current),
            "/de_minimis/v1/list"
        );
        assert_eq!(
            countries
                .check(Endpoint::DeMinimis, ItaApi::V2)
                .unwrap_err()
                .code(),
            "UPSTREAM_API_LACKS_ENDPOINT"
        );
        let providers = SearchParams {
            q: Some("law".into()),
            categories: vec!["Legal Services".into()],
            ita_offices: vec!["Mexico City".into()],
            ..SearchParams::default()
        };
        for api in [ItaApi::V2, ItaApi::Current] {
            let names: Vec<String> = providers
                .query(Endpoint::BusinessServiceProviders, api, 10, 0)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(names, ["q", "categories", "ita_offices", "size", "offset"]);
        }
    }

    #[test]
    fn filters_a_generation_lacks_are_refused_naming_the_one_that_has_them() {
        let industries = SearchParams {
            industries: vec!["Energy".into()],
            ..SearchParams::default()
        };
        industries.check(Endpoint::TradeLeads, ItaApi::V2).unwrap();
        let error = industries
            .check(Endpoint::TradeLeads, ItaApi::Current)
            .unwrap_err()
            .to_string();
        assert!(error.contains("only in the v2 ITA API"), "{error}");
        let zip = SearchParams {
            zip_codes: vec!["95113".into()],
            ..SearchParams::default()
        };
        assert!(zip
            .check(Endpoint::OfficeLocations, ItaApi::V2)
            .unwrap_err()
            .to_string()
            .contains("only in the current ITA API"));
        assert!(zip
            .check(Endpoint::TradeLeads, ItaApi::Current)
            .unwrap_err()
            .to_string()
            .contains("in either ITA API"));
    }
}
