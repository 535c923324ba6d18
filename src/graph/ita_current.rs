//! data.trade.gov's data sets beyond leads, offices and events: the
//! Consolidated Screening List (`screeningList`, `screeningListSources`,
//! `Jurisdiction.screeningListEntries`), de minimis thresholds
//! (`Jurisdiction.deMinimis`, `deMinimisThresholds`) and business service
//! providers (`businessServiceProviders`, linked to their ITA office and
//! jurisdiction).
//!
//! A fuzzy screening match is a lead, not a decision: the score says how
//! few edits separate the name asked for from an entry's name or one of its
//! alternative names, and a match calls for checking the official list the
//! entry's `sourceListUrl` names.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::context::{operation, sources};
use super::ita::{
    aggregations, bounds, iso2_codes, list, sources_used, text, total, ItaAggregation,
    OfficeLocation, SourceUsed,
};
use super::jurisdiction::Jurisdiction;
use crate::countries;
use crate::error::{Error, GraphqlResult};
use crate::sources::ita::de_minimis::as_number;
use crate::sources::ita::screening::{ScreeningAddress, ScreeningId};
use crate::sources::ita::{self, Endpoint, SearchParams};

fn jurisdiction_of(text: Option<&str>) -> Option<Jurisdiction> {
    text.and_then(ita::model::country_code)
        .as_deref()
        .and_then(countries::by_iso2)
        .map(Jurisdiction::Known)
}

/// What kind of party a screening list entry is.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreeningEntryType {
    /// A person.
    Individual,
    /// A company, organisation or other body.
    Entity,
    /// A ship.
    Vessel,
    /// An aircraft.
    Aircraft,
}

impl ScreeningEntryType {
    /// As the API writes it.
    fn wire(self) -> &'static str {
        match self {
            Self::Individual => "Individual",
            Self::Entity => "Entity",
            Self::Vessel => "Vessel",
            Self::Aircraft => "Aircraft",
        }
    }
}

/// Most distinct values a list argument (`sources`, `types`, `categories`,
/// `itaOffices`) may hold: the screening list consolidates about a dozen
/// lists and the providers' categories and offices are a few dozen, so
/// more is no real filter, only a longer request.
pub const MAX_LIST_VALUES: usize = 50;

/// `values` without repeats (compared ignoring case; the first spelling
/// stays), refused when more than [`MAX_LIST_VALUES`] remain.
fn distinct(name: &str, values: Vec<String>) -> Result<Vec<String>, Error> {
    let mut seen = std::collections::HashSet::new();
    let values: Vec<String> = values
        .into_iter()
        .filter(|value| seen.insert(value.to_lowercase()))
        .collect();
    if values.len() > MAX_LIST_VALUES {
        return Err(Error::bad_input(format!(
            "{name} lists {} distinct values, more than the {MAX_LIST_VALUES} allowed: ask in several operations",
            values.len()
        )));
    }
    Ok(values)
}

/// Source list codes, upper case ("SDN", "EL", "561").
fn source_codes(values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let codes: Vec<String> = distinct(
        "sources",
        list("sources", values)?
            .into_iter()
            .map(|code| code.to_ascii_uppercase())
            .collect(),
    )?;
    if let Some(bad) = codes.iter().find(|code| {
        code.len() > 12
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        return Err(Error::bad_input(format!(
            "sources: {bad:?} is not a source list code (e.g. \"SDN\", \"EL\", \"DPL\"; screeningListSources lists them)"
        )));
    }
    Ok(codes)
}

/// Office names go out as one comma list: a name with a comma in it would
/// be read as two.
fn office_names(values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let names = distinct("itaOffices", list("itaOffices", values)?)?;
    if let Some(bad) = names.iter().find(|name| name.contains(',')) {
        return Err(Error::bad_input(format!(
            "itaOffices: {bad:?} holds a comma, and ITA reads the list at commas: give the office's post (e.g. \"Mexico City\")"
        )));
    }
    Ok(names)
}

/// Provider categories go out as one comma list too: a category with a
/// comma in it would be read as two filters.
fn category_names(values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let names = distinct("categories", list("categories", values)?)?;
    if let Some(bad) = names.iter().find(|name| name.contains(',')) {
        return Err(Error::bad_input(format!(
            "categories: {bad:?} holds a comma, and ITA reads the list at commas: give each category without one (e.g. \"Legal Services\")"
        )));
    }
    Ok(names)
}

fn types(values: Option<Vec<ScreeningEntryType>>) -> Result<Vec<String>, Error> {
    match values {
        Some(values) if values.is_empty() => Err(Error::bad_input(
            "types is empty: leave it out to match every type",
        )),
        Some(values) => distinct(
            "types",
            values.iter().map(|t| t.wire().to_owned()).collect(),
        ),
        None => Ok(Vec::new()),
    }
}

/// An address of a listed party.
pub struct ScreeningListAddress(ScreeningAddress);

/// An address of a party on the screening list.
#[Object]
impl ScreeningListAddress {
    /// The street address, as the list writes it.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The city.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// The state or province.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    /// The postal code.
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    /// The country, as a jurisdiction of the graph.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(self.0.country.as_deref())
    }
    /// The country as ISO alpha-2 (a name from the list is resolved).
    async fn country_code(&self) -> Option<String> {
        self.0.country.as_deref().and_then(ita::model::country_code)
    }
}

/// An identity document or registration of a listed party.
pub struct ScreeningListId(ScreeningId);

/// A document or registration number of a party on the screening list,
/// with its country and dates.
#[Object]
impl ScreeningListId {
    /// The kind of document ("Passport", "Tax ID No.", "Registration ID").
    #[graphql(name = "type")]
    async fn kind(&self) -> Option<&str> {
        self.0.kind.as_deref()
    }
    /// The number.
    async fn number(&self) -> Option<&str> {
        self.0.number.as_deref()
    }
    /// The issuing country, as a jurisdiction of the graph.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(self.0.country.as_deref())
    }
    /// The issuing country as ISO alpha-2.
    async fn country_code(&self) -> Option<String> {
        self.0.country.as_deref().and_then(ita::model::country_code)
    }
    /// When it was issued, as the list writes the date.
    async fn issue_date(&self) -> Option<&str> {
        self.0.issue_date.as_deref()
    }
    /// When it expires, as the list writes the date.
    async fn expiration_date(&self) -> Option<&str> {
        self.0.expiration_date.as_deref()
    }
}

/// An entry of the screening list, and whether it was found fuzzily.
pub struct ScreeningListEntry {
    entry: Arc<ita::ScreeningEntry>,
    fuzzy: bool,
}

/// A party on one of the U.S. export screening lists (Commerce, State,
/// Treasury) that the Consolidated Screening List brings together.
#[Object]
impl ScreeningListEntry {
    /// The entry's id in the consolidated list.
    async fn id(&self) -> Option<&str> {
        self.entry.id.as_deref()
    }
    /// The listed name.
    async fn name(&self) -> Option<&str> {
        self.entry.name.as_deref()
    }
    /// Other names the party is known by (aliases, transliterations).
    async fn alt_names(&self) -> &[String] {
        &self.entry.alt_names
    }
    /// Individual, Entity, Vessel or Aircraft, as the list writes it.
    #[graphql(name = "type")]
    async fn kind(&self) -> Option<&str> {
        self.entry.kind.as_deref()
    }
    /// The source list's full name.
    async fn source(&self) -> Option<&str> {
        self.entry.source.as_deref()
    }
    /// The source list's code, as the `sources` filter takes it ("SDN").
    async fn source_code(&self) -> Option<String> {
        self.entry.source_code()
    }
    /// The sanctions programs the listing falls under.
    async fn programs(&self) -> &[String] {
        &self.entry.programs
    }
    /// The party's addresses, each with its country.
    async fn addresses(&self) -> Vec<ScreeningListAddress> {
        self.entry
            .addresses
            .iter()
            .cloned()
            .map(ScreeningListAddress)
            .collect()
    }
    /// The party's documents and registrations, with their dates.
    async fn ids(&self) -> Vec<ScreeningListId> {
        self.entry
            .ids
            .iter()
            .cloned()
            .map(ScreeningListId)
            .collect()
    }
    /// The list's remarks on the entry.
    async fn remarks(&self) -> Option<&str> {
        self.entry.remarks.as_deref()
    }
    /// The entry's number in its source list.
    async fn entity_number(&self) -> Option<&str> {
        self.entry.entity_number.as_deref()
    }
    /// The entry's own country, where the list gives one.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(self.entry.country.as_deref())
    }
    /// Every jurisdiction the entry names: its country, its addresses',
    /// its ids', its nationalities and citizenships.
    async fn jurisdictions(&self) -> Vec<Jurisdiction> {
        self.entry
            .iso2_codes()
            .iter()
            .filter_map(|code| countries::by_iso2(code))
            .map(Jurisdiction::Known)
            .collect()
    }
    /// Where the source list is described.
    async fn source_information_url(&self) -> Option<&str> {
        self.entry.source_information_url.as_deref()
    }
    /// The official source list: check a match there.
    async fn source_list_url(&self) -> Option<&str> {
        self.entry.source_list_url.as_deref()
    }
    /// The match score of a fuzzy name search (100: the same name; 95:
    /// the same words; lower: edits apart, down to 75), over the entry's
    /// name and alternative names. Null unless the search was fuzzy. A
    /// score is not a decision: check the official source list.
    async fn score(&self) -> Option<f64> {
        self.entry.score.filter(|_| self.fuzzy)
    }
    /// The seed-era API: the person's title.
    async fn title(&self) -> Option<&str> {
        self.entry.title.as_deref()
    }
    /// The seed-era API: nationalities, as the list writes them.
    async fn nationalities(&self) -> &[String] {
        &self.entry.nationalities
    }
    /// The seed-era API: citizenships, as the list writes them.
    async fn citizenships(&self) -> &[String] {
        &self.entry.citizenships
    }
    /// The seed-era API: dates of birth, as the list writes them.
    async fn dates_of_birth(&self) -> &[String] {
        &self.entry.dates_of_birth
    }
    /// The seed-era API: places of birth.
    async fn places_of_birth(&self) -> &[String] {
        &self.entry.places_of_birth
    }
    /// The seed-era API: when the listing took effect.
    async fn start_date(&self) -> Option<&str> {
        self.entry.start_date.as_deref()
    }
    /// The seed-era API: when the listing ends.
    async fn end_date(&self) -> Option<&str> {
        self.entry.end_date.as_deref()
    }
    /// The seed-era API: the Federal Register notice of the listing.
    async fn federal_register_notice(&self) -> Option<&str> {
        self.entry.federal_register_notice.as_deref()
    }
    /// The seed-era API: the license requirement (Entity List).
    async fn license_requirement(&self) -> Option<&str> {
        self.entry.license_requirement.as_deref()
    }
    /// The seed-era API: the license review policy (Entity List).
    async fn license_policy(&self) -> Option<&str> {
        self.entry.license_policy.as_deref()
    }
}

/// A page of screening list entries.
#[derive(SimpleObject)]
pub struct ScreeningListPage {
    /// The entries of this page, best match first when fuzzy.
    pub items: Vec<ScreeningListEntry>,
    /// Matches in all, as the list counts them.
    pub total_count: Option<i64>,
    /// How many of the matches paging can reach: data.trade.gov serves a
    /// search's first 1,050 only (offset at most 1,000, 50 a request).
    pub reachable_count: Option<i64>,
    /// Whether the search has more matches than paging can reach: narrow
    /// it (a name, sources, types, countries) to see the rest.
    pub beyond_reach: bool,
    /// The lists behind this page, as the API names them.
    pub sources_used: Vec<SourceUsed>,
}

/// One of the lists the screening list consolidates.
#[derive(SimpleObject)]
pub struct ScreeningListSource {
    /// The code the `sources` filter takes ("SDN", "EL").
    pub code: String,
    /// The list's full name, when the API gives it.
    pub name: Option<String>,
    /// When the list was last updated, when the API says.
    pub last_updated: Option<String>,
}

/// One country's de minimis thresholds.
pub struct DeMinimisThreshold(pub Arc<ita::DeMinimis>);

/// What a shipment to a country may be worth before duties
/// (`deMinimisValue`) and taxes (`vatAmount`) are charged on it, in the
/// currencies given.
#[Object]
impl DeMinimisThreshold {
    /// The record's id.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The country, as a jurisdiction of the graph.
    async fn country(&self) -> Option<Jurisdiction> {
        self.0
            .iso2()
            .as_deref()
            .and_then(countries::by_iso2)
            .map(Jurisdiction::Known)
    }
    /// ISO alpha-2.
    async fn country_code(&self) -> Option<String> {
        self.0.iso2()
    }
    /// The country's name as ITA writes it.
    async fn country_name(&self) -> Option<&str> {
        self.0.country_name.as_deref()
    }
    /// The value below which no duty is charged.
    async fn de_minimis_value(&self) -> Option<f64> {
        as_number(self.0.de_minimis_value.as_deref())
    }
    /// The currency of `deMinimisValue` (ISO 4217).
    async fn de_minimis_currency(&self) -> Option<&str> {
        self.0.de_minimis_currency.as_deref()
    }
    /// The value below which no VAT or sales tax is charged.
    async fn vat_amount(&self) -> Option<f64> {
        as_number(self.0.vat_amount.as_deref())
    }
    /// The currency of `vatAmount` (ISO 4217).
    async fn vat_currency(&self) -> Option<&str> {
        self.0.vat_currency.as_deref()
    }
    /// ITA's comment (exceptions, goods excluded).
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
}

/// A page of de minimis thresholds.
#[derive(SimpleObject)]
pub struct DeMinimisPage {
    /// The countries of this page.
    pub items: Vec<DeMinimisThreshold>,
    /// Countries in all, as ITA counts them.
    pub total_count: Option<i64>,
}

/// A company an ITA office lists for U.S. exporters.
pub struct BusinessServiceProvider(pub Arc<ita::BusinessServiceProvider>);

/// A business service provider: a lawyer, forwarder, consultant or other
/// firm that an ITA office abroad lists, with its contacts and the office.
#[Object]
impl BusinessServiceProvider {
    /// The record's id.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// What it offers ("Legal Services", "Logistics"...).
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    /// The listing office's name, as the record gives it (a post).
    async fn ita_office_name(&self) -> Option<&str> {
        self.0.ita_office.as_deref()
    }
    /// The ITA office that lists it, when the record's office name matches
    /// one of the offices in its country (all providers of an operation
    /// share one office search).
    async fn ita_office(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<OfficeLocation>>> {
        let (Some(name), Some(code)) = (self.0.ita_office.as_deref(), self.0.iso2()) else {
            return Some(Ok(None));
        };
        let Some(country) = countries::by_iso2(&code) else {
            return Some(Ok(None));
        };
        let offices = Jurisdiction::Known(country)
            .ita_records::<ita::OfficeLocation>(
                ctx,
                SearchParams::default(),
                Some(super::cost_rules::OFFICES_PER_COUNTRY as i32),
            )
            .await;
        Some(offices.map(|offices| {
            let wanted = name.trim().to_lowercase();
            let same = |text: &Option<String>| {
                text.as_deref()
                    .is_some_and(|text| text.trim().to_lowercase() == wanted)
            };
            let first_part = wanted
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            offices
                .iter()
                .find(|office| same(&office.office_name))
                .or_else(|| offices.iter().find(|office| same(&office.post)))
                .or_else(|| {
                    offices.iter().find(|office| {
                        office
                            .post
                            .as_deref()
                            .is_some_and(|post| post.trim().to_lowercase() == first_part)
                    })
                })
                .cloned()
                .map(OfficeLocation)
        }))
    }
    /// The country it serves, from its office's or address's country.
    async fn jurisdiction(&self) -> Option<Jurisdiction> {
        self.0
            .iso2()
            .as_deref()
            .and_then(countries::by_iso2)
            .map(Jurisdiction::Known)
    }
    /// The e-mail of its ITA contact.
    async fn ita_contact_email(&self) -> Option<&str> {
        self.0.ita_contact_email.as_deref()
    }
    /// The company's name.
    async fn company_name(&self) -> Option<&str> {
        self.0.company_name.as_deref()
    }
    /// The company's address.
    async fn company_address(&self) -> Option<&str> {
        self.0.company_address.as_deref()
    }
    /// What the company does.
    async fn company_description(&self) -> Option<&str> {
        self.0.company_description.as_deref()
    }
    /// The company's e-mail.
    async fn company_email(&self) -> Option<&str> {
        self.0.company_email.as_deref()
    }
    /// The company's phone.
    async fn company_phone(&self) -> Option<&str> {
        self.0.company_phone.as_deref()
    }
    /// The company's web site.
    async fn company_website(&self) -> Option<&str> {
        self.0.company_website.as_deref()
    }
    /// Whom to contact there.
    async fn contact_name(&self) -> Option<&str> {
        self.0.contact_name.as_deref()
    }
    /// The contact's title.
    async fn contact_title(&self) -> Option<&str> {
        self.0.contact_title.as_deref()
    }
}

/// A page of business service providers.
#[derive(SimpleObject)]
pub struct BusinessServiceProviderPage {
    /// The providers of this page.
    pub items: Vec<BusinessServiceProvider>,
    /// Matches in all, as ITA counts them.
    pub total_count: Option<i64>,
    /// The sources behind this page, with when each was last updated.
    pub sources_used: Vec<SourceUsed>,
    /// Counts of all matches by facet (ITA's aggregations).
    pub aggregations: Vec<ItaAggregation>,
}

/// Refuses, before any request, what the configured ITA API cannot honour.
fn checked(
    ctx: &Context<'_>,
    endpoint: Endpoint,
    params: SearchParams,
) -> async_graphql::Result<SearchParams> {
    params.check(endpoint, sources(ctx)?.ita.api()).graphql()?;
    Ok(params)
}

/// data.trade.gov's screening list, de minimis and provider queries.
#[derive(Default)]
pub struct ItaCurrentQueries;

#[Object]
impl ItaCurrentQueries {
    /// The Consolidated Screening List: parties on the U.S. export
    /// screening lists. `name` searches names and alternative names;
    /// `fuzzyName: true` matches them within a few edits and scores each
    /// match (a lead to check against the official list, not a decision).
    /// data.trade.gov serves a search's first 1,050 matches only (50 a
    /// request, offsets up to 1,000): a page beyond is refused with
    /// `UPSTREAM_WINDOW_EXCEEDED`, and `beyondReach` says when matches lie
    /// past it. The seed-era v2 API takes one of `types` and none of
    /// `city`, `state`, `postalCode`, `fullAddress`. `limit` defaults to
    /// 20, at most 1000; each aliased search costs its own requests.
    #[allow(clippy::too_many_arguments)]
    async fn screening_list(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A name to screen: matched against names and alternative names.")]
        name: Option<String>,
        #[graphql(
            desc = "Match `name` within a few edits (misspellings, transliterations) and score each match."
        )]
        fuzzy_name: Option<bool>,
        #[graphql(
            desc = "Source lists by code (\"SDN\", \"EL\", \"DPL\"; `screeningListSources` lists them); any of them matches."
        )]
        sources: Option<Vec<String>>,
        #[graphql(desc = "Kinds of party; any of them matches.")] types: Option<
            Vec<ScreeningEntryType>,
        >,
        #[graphql(
            desc = "Countries of the entries' addresses or ids, as ISO2, ISO3 or names; any of them matches."
        )]
        countries: Option<Vec<String>>,
        #[graphql(desc = "Words of the entries' street addresses.")] address: Option<String>,
        #[graphql(desc = "The entries' address city.")] city: Option<String>,
        #[graphql(desc = "The entries' address state or province.")] state: Option<String>,
        #[graphql(desc = "The entries' address postal code.")] postal_code: Option<String>,
        #[graphql(
            desc = "Words of the entries' whole address (street, city, state, code, country)."
        )]
        full_address: Option<String>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<ScreeningListPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let fuzzy = fuzzy_name.unwrap_or(false);
            let params = SearchParams {
                name: text("name", name).graphql()?,
                fuzzy_name: fuzzy,
                sources: source_codes(sources).graphql()?,
                types: self::types(types).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                address: text("address", address).graphql()?,
                city: text("city", city).graphql()?,
                state: text("state", state).graphql()?,
                postal_code: text("postalCode", postal_code).graphql()?,
                full_address: text("fullAddress", full_address).graphql()?,
                ..SearchParams::default()
            };
            let params = checked(ctx, Endpoint::ScreeningList, params)?;
            let client = &super::context::sources(ctx)?.ita;
            let page = client
                .search::<ita::ScreeningEntry>(
                    Endpoint::ScreeningList,
                    &params,
                    u64::from(limit),
                    u64::from(offset),
                    &operation(ctx)?.usage,
                    |_| true,
                )
                .await
                .graphql()?;
            let reach = Endpoint::ScreeningList.window(client.api()).reach();
            let reachable = match (page.total, reach) {
                (Some(total), Some(reach)) => Some(total.min(reach)),
                (total, _) => total,
            };
            Ok(ScreeningListPage {
                beyond_reach: matches!((page.total, reach), (Some(t), Some(r)) if t > r),
                items: page
                    .items
                    .into_iter()
                    .map(|entry| ScreeningListEntry { entry, fuzzy })
                    .collect(),
                total_count: total(page.total),
                reachable_count: total(reachable),
                sources_used: sources_used(page.sources_used),
            })
        };
        Some(page.await)
    }

    /// The lists the screening list consolidates, with the codes the
    /// `sources` filter takes (data.trade.gov's
    /// `/consolidated_screening_list/v1/sources`; the v2 API had none).
    async fn screening_list_sources(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Vec<ScreeningListSource>>> {
        let list = async {
            let found = sources(ctx)?
                .ita
                .screening_sources(&operation(ctx)?.usage)
                .await
                .graphql()?;
            Ok(found
                .iter()
                .map(|source| ScreeningListSource {
                    code: source.code.clone(),
                    name: source.name.clone(),
                    last_updated: source.last_updated.clone(),
                })
                .collect())
        };
        Some(list.await)
    }

    /// Every country's de minimis thresholds (data.trade.gov's
    /// `/de_minimis/v1/list`; the v2 API had none). `limit` defaults to 20,
    /// at most 1000, paged upstream in requests of 100.
    async fn de_minimis_thresholds(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DeMinimisPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let params = checked(ctx, Endpoint::DeMinimisList, SearchParams::default())?;
            let page = sources(ctx)?
                .ita
                .search::<ita::DeMinimis>(
                    Endpoint::DeMinimisList,
                    &params,
                    u64::from(limit),
                    u64::from(offset),
                    &operation(ctx)?.usage,
                    |_| true,
                )
                .await
                .graphql()?;
            Ok(DeMinimisPage {
                items: page.items.into_iter().map(DeMinimisThreshold).collect(),
                total_count: total(page.total),
            })
        };
        Some(page.await)
    }

    /// Business service providers that ITA's offices list. `query`
    /// searches the records' text; `categories` and `itaOffices` (office
    /// names as the records give them) filter. `limit` defaults to 20, at
    /// most 1000, paged upstream in requests of 100.
    async fn business_service_providers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Categories (e.g. \"Legal Services\"); any of them matches.")]
        categories: Option<Vec<String>>,
        #[graphql(
            desc = "ITA offices by name, as the records give them (a post, e.g. \"Mexico City\"); any of them matches."
        )]
        ita_offices: Option<Vec<String>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<BusinessServiceProviderPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let params = SearchParams {
                q: text("query", query).graphql()?,
                categories: category_names(categories).graphql()?,
                ita_offices: office_names(ita_offices).graphql()?,
                ..SearchParams::default()
            };
            let params = checked(ctx, Endpoint::BusinessServiceProviders, params)?;
            let page = sources(ctx)?
                .ita
                .search::<ita::BusinessServiceProvider>(
                    Endpoint::BusinessServiceProviders,
                    &params,
                    u64::from(limit),
                    u64::from(offset),
                    &operation(ctx)?.usage,
                    |_| true,
                )
                .await
                .graphql()?;
            Ok(BusinessServiceProviderPage {
                items: page
                    .items
                    .into_iter()
                    .map(BusinessServiceProvider)
                    .collect(),
                total_count: total(page.total),
                sources_used: sources_used(page.sources_used),
                aggregations: aggregations(page.aggregations),
            })
        };
        Some(page.await)
    }
}

impl Jurisdiction {
    /// The screening search a jurisdiction's entries share, from the
    /// field's arguments (the cost model groups by it too).
    pub(super) fn screening_params(
        sources: Option<Vec<String>>,
        types: Option<Vec<ScreeningEntryType>>,
    ) -> Result<SearchParams, Error> {
        Ok(SearchParams {
            sources: source_codes(sources)?,
            types: self::types(types)?,
            ..SearchParams::default()
        })
    }

    /// This jurisdiction's screening list entries (those with an address or
    /// id here), batched with every other jurisdiction of the operation.
    pub(super) async fn screening_entries(
        &self,
        ctx: &Context<'_>,
        sources: Option<Vec<String>>,
        types: Option<Vec<ScreeningEntryType>>,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<ScreeningListEntry>> {
        let params = Self::screening_params(sources, types).graphql()?;
        let entries = self
            .ita_records::<ita::ScreeningEntry>(ctx, params, limit)
            .await?;
        Ok(entries
            .into_iter()
            .map(|entry| ScreeningListEntry {
                entry,
                fuzzy: false,
            })
            .collect())
    }

    /// This jurisdiction's de minimis thresholds: every jurisdiction of the
    /// operation in one `/de_minimis/v1/search?country_codes=` request per
    /// hundred.
    pub(super) async fn de_minimis_threshold(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DeMinimisThreshold>> {
        let found = self
            .ita_records::<ita::DeMinimis>(ctx, SearchParams::default(), Some(1))
            .await?;
        Ok(found.into_iter().next().map(DeMinimisThreshold))
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// Lists the screening list consolidates (about a dozen today).
    const SCREENING_SOURCES: u64 = 50;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing {
            parent,
            field,
            arguments,
            ..
        } = *pricing;
        let asks = |source, kind| pricing.asks(source, kind);
        match (parent, field) {
            ("ScreeningListEntry", "addresses" | "ids" | "jurisdictions") => {
                rule.list_bound = Some(SMALL_LISTS);
            }
            // One search of as many requests as its window needs within the
            // screening list's caps (50 a request, offsets up to 1,000; the
            // seed-era API's 100 are fewer). A window beyond reach is
            // refused before any request: it costs none.
            ("Query", "screeningList") => {
                let limit = limit(arguments, ITA_MAX_LIMIT);
                let offset = arguments.int("offset").unwrap_or(0).max(0) as u64;
                rule.page_limit = Some(limit);
                // (Beyond the current API's reach the seed-era API still
                // pages on: its pages are counted.)
                // `limit: 0` is one request, for the total.
                let pages = window_plan(SCREENING_WINDOW, offset, limit, "")
                    .map_or_else(
                        |_| pages(limit, SCREENING_WINDOW.page) + 1,
                        |planned| planned.len() as u64,
                    )
                    .max(1);
                rule.demand = asks(Source::Ita, DemandKind::Fixed { pages });
            }
            ("Query", "screeningListSources") => {
                rule.list_bound = Some(SCREENING_SOURCES);
                rule.demand = asks(Source::Ita, DemandKind::Fixed { pages: 1 });
            }
            // The providers' offices: the loader of
            // `Jurisdiction.officeLocations`, and its group.
            ("BusinessServiceProvider", "itaOffice") => {
                rule.demand = per_country(
                    Endpoint::OfficeLocations,
                    Ok(SearchParams::default()),
                    OFFICES_PER_COUNTRY,
                    ITA_PAGE,
                    false,
                );
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
