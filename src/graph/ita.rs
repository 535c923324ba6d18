//! ITA in the graph: `tradeLeads`, `officeLocations`, `tradeEvents` and
//! their `Jurisdiction` fields. Every lead, office and event venue links back
//! to its jurisdiction through the crosswalk (ITA speaks ISO alpha-2).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::context::{operation, sources, ItaBatches};
use super::jurisdiction::Jurisdiction;
use crate::countries;
use crate::error::{Error, GraphqlResult};
use crate::sources::ita::model::{
    plain_text, Contact as ContactRecord, SourceUsed as SourceUsedRecord, Venue as VenueRecord,
};
use crate::sources::ita::{self, office_country, CountryKey, CountryRecord, ItaPage, SearchParams};

use super::paging::page_bounds;
/// Most results per field; ITA's 100 per request is paged transparently.
pub const MAX_LIMIT: i32 = 1000;

fn jurisdiction_of(iso2: Option<&str>) -> Option<Jurisdiction> {
    iso2.and_then(countries::by_iso2).map(Jurisdiction::Known)
}

/// A data feed behind an answer and when ITA last refreshed it.
#[derive(SimpleObject)]
pub struct SourceUsed {
    /// Where the record comes from.
    pub source: String,
    /// When the source was last updated.
    pub last_updated: Option<String>,
    /// When ITA last imported the source.
    pub last_imported: Option<String>,
}

pub(super) fn sources_used(used: Vec<SourceUsedRecord>) -> Vec<SourceUsed> {
    used.into_iter()
        .map(|s| SourceUsed {
            source: s.source,
            last_updated: s.source_last_updated,
            last_imported: s.last_imported,
        })
        .collect()
}

/// A procurement opportunity abroad.
pub struct TradeLead(pub Arc<ita::TradeLead>);

/// A business opportunity abroad (a tender, a project, a procurement) from
/// ITA's trade leads, with its dates, contacts and where it comes from.
#[Object]
impl TradeLead {
    /// ITA's id; null for leads from Canada, which have none.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// The description as the feed gives it (may contain HTML).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The description as plain text.
    async fn description_text(&self) -> Option<String> {
        self.0.description.as_deref().map(plain_text)
    }
    /// The feed: CANADA, UK, AUSTRALIA, FBO, MCA, STATE, USTDA...
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// The country of the opportunity.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(self.0.iso2().as_deref())
    }
    /// ISO alpha-2, as ITA gives it (v2 `country`, current `country_code`).
    async fn country_code(&self) -> Option<String> {
        self.0.iso2()
    }
    /// Current API: when the tender opens and closes.
    async fn tender_start_date(&self) -> Option<&str> {
        self.0.tender_start_date.as_deref()
    }
    /// When tenders close (YYYY-MM-DD).
    async fn tender_end_date(&self) -> Option<&str> {
        self.0.tender_end_date.as_deref()
    }
    /// Current API: the contract period.
    async fn contract_start_date(&self) -> Option<&str> {
        self.0.contract_start_date.as_deref()
    }
    /// When the contract ends (YYYY-MM-DD).
    async fn contract_end_date(&self) -> Option<&str> {
        self.0.contract_end_date.as_deref()
    }
    /// The feed's industries (a string in some feeds, a list in others).
    async fn industries(&self) -> &[String] {
        &self.0.industry
    }
    /// ITA's own industry taxonomy.
    async fn ita_industries(&self) -> &[String] {
        &self.0.ita_industries
    }
    /// The lead's categories, as the source names them.
    async fn categories(&self) -> &[String] {
        &self.0.categories
    }
    /// When the lead was published (YYYY-MM-DD).
    async fn publish_date(&self) -> Option<&str> {
        self.0.publish_date.as_deref()
    }
    /// When the lead was last amended (YYYY-MM-DD).
    async fn publish_date_amended(&self) -> Option<&str> {
        self.0.publish_date_amended.as_deref()
    }
    /// When it starts (YYYY-MM-DD).
    async fn start_date(&self) -> Option<&str> {
        self.0.start_date.as_deref()
    }
    /// Closing date.
    async fn end_date(&self) -> Option<&str> {
        self.0.end_date.as_deref()
    }
    /// The lead's status, as the source writes it.
    async fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }
    /// Every link the feed gives (`url` and `urls`).
    async fn urls(&self) -> Vec<String> {
        self.0.all_urls()
    }
    /// Whom to contact about it.
    async fn contact(&self) -> Option<&str> {
        self.0.contact.as_deref()
    }
    /// The lead's reference number at its source.
    async fn reference_number(&self) -> Option<&str> {
        self.0.reference_number.as_deref()
    }
    /// The contract's number at its source.
    async fn contract_number(&self) -> Option<&str> {
        self.0.contract_number.as_deref()
    }
    /// The project's number at its source.
    async fn project_number(&self) -> Option<&str> {
        self.0.project_number.as_deref()
    }
    /// The kind of notice (e.g. "Tender", "Contract award").
    async fn notice_type(&self) -> Option<&str> {
        self.0.notice_type.as_deref()
    }
    /// The buying organization (`procurement_organization`, or Australia's `agency`).
    async fn procurement_organization(&self) -> Option<&str> {
        self.0
            .procurement_organization
            .as_deref()
            .or(self.0.agency.as_deref())
    }
    /// Where exactly, beyond the city.
    async fn specific_location(&self) -> Option<&str> {
        self.0.specific_location.as_deref()
    }
    /// Who funds the project.
    async fn funding_source(&self) -> Option<&str> {
        self.0.funding_source.as_deref()
    }
    /// As the feed writes it (text, currency included where given).
    async fn contract_value(&self) -> Option<&str> {
        self.0.contract_value.as_deref()
    }
    /// The lowest contract value, as the source writes it.
    async fn min_contract_value(&self) -> Option<&str> {
        self.0.min_contract_value.as_deref()
    }
    /// The highest contract value, as the source writes it.
    async fn max_contract_value(&self) -> Option<&str> {
        self.0.max_contract_value.as_deref()
    }
    /// The project's size, as the source writes it.
    async fn project_size(&self) -> Option<&str> {
        self.0.project_size.as_deref()
    }
}

/// Domestic export assistance center or post abroad.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostType {
    /// A U.S. Export Assistance Center in the United States.
    Domestic,
    /// A U.S. Commercial Service post abroad.
    International,
}

/// An ITA office.
pub struct OfficeLocation(pub Arc<ita::OfficeLocation>);

/// An ITA office: a U.S. Commercial Service post abroad or a U.S. Export
/// Assistance Center at home, with its address and contacts.
#[Object]
impl OfficeLocation {
    /// The record's id at its source.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The post's name.
    async fn post(&self) -> Option<&str> {
        self.0.post.as_deref()
    }
    /// The office's name.
    async fn office_name(&self) -> Option<&str> {
        self.0.office_name.as_deref()
    }
    /// The office's country; when ITA gives none, the one its office name or
    /// post names, if that is unambiguous; otherwise null.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(office_country(&self.0).as_deref())
    }
    /// ISO alpha-2 as ITA gives it (v2 `country`, current `country_code`;
    /// may be null).
    async fn country_code(&self) -> Option<String> {
        self.0
            .country_code
            .as_deref()
            .or(self.0.country.as_deref())
            .filter(|code| code.trim().len() == 2)
            .map(|code| code.trim().to_ascii_uppercase())
    }
    /// Current API: the country's name as ITA writes it.
    async fn country_name(&self) -> Option<&str> {
        self.0
            .country
            .as_deref()
            .filter(|_| self.0.country_code.is_some())
    }
    /// Current API: APO/FPO address lines.
    async fn apo_address(&self) -> &[String] {
        &self.0.apo_address
    }
    /// The office's web site.
    async fn website_url(&self) -> Option<&str> {
        self.0.website_url.as_deref()
    }
    /// Current API: the ZIP codes a domestic office serves.
    async fn assigned_zip_codes(&self) -> &[String] {
        &self.0.assigned_zip_codes
    }
    /// U.S. state, for domestic offices.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    /// The city.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// Address lines.
    async fn address(&self) -> &[String] {
        &self.0.address
    }
    /// The e-mail address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// The phone number, international format where known.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref().filter(|p| !p.is_empty())
    }
    /// The fax number.
    async fn fax(&self) -> Option<&str> {
        self.0.fax.as_deref().filter(|f| !f.is_empty())
    }
    /// How to address mail to the office.
    async fn mail_instructions(&self) -> Option<&str> {
        self.0.mail_instructions.as_deref()
    }
    /// Whether the office is a post abroad or a center in the United States.
    async fn post_type(&self) -> Option<PostType> {
        match self
            .0
            .post_type
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("D" | "DOMESTIC") => Some(PostType::Domestic),
            Some("F" | "I" | "INTERNATIONAL" | "FOREIGN") => Some(PostType::International),
            _ => None,
        }
    }
}

/// Where an event takes place.
pub struct Venue(VenueRecord);

/// Where a trade event takes place.
#[Object]
impl Venue {
    /// The name.
    async fn name(&self) -> Option<&str> {
        self.0.venue.as_deref()
    }
    /// The street address, line by line.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The city.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// The US state, as a two-letter code.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    /// The country, as ISO alpha-2 where the source gives it.
    async fn country(&self) -> Option<Jurisdiction> {
        jurisdiction_of(
            self.0
                .country
                .as_deref()
                .and_then(ita::model::country_code)
                .as_deref(),
        )
    }
    /// ISO alpha-2 (a country name from the feed is resolved).
    async fn country_code(&self) -> Option<String> {
        self.0.country.as_deref().and_then(ita::model::country_code)
    }
}

/// An event contact.
#[derive(SimpleObject)]
pub struct Contact {
    /// The whole name (the current API gives only this).
    pub name: Option<String>,
    /// The contact's first name.
    pub first_name: Option<String>,
    /// The contact's last name.
    pub last_name: Option<String>,
    /// The title.
    pub title: Option<String>,
    /// The post or city the office serves from.
    pub post: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// The phone number, international format where known.
    pub phone: Option<String>,
}

impl From<ContactRecord> for Contact {
    fn from(contact: ContactRecord) -> Self {
        Self {
            name: contact.name.or_else(|| {
                let parts: Vec<&str> =
                    [contact.first_name.as_deref(), contact.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .filter(|part| !part.trim().is_empty())
                        .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }),
            first_name: contact.first_name,
            last_name: contact.last_name,
            title: contact.person_title,
            post: contact.post,
            email: contact.email,
            phone: contact.phone,
        }
    }
}

/// A trade event: show, mission, conference or webinar.
pub struct TradeEvent(pub Arc<ita::TradeEvent>);

/// An ITA trade event: a trade show, mission or webinar, with its dates,
/// venues, cost and registration.
#[Object]
impl TradeEvent {
    /// The record's id at its source.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The name.
    async fn name(&self) -> Option<&str> {
        self.0.event_name.as_deref()
    }
    /// The kind of event ("Trade Show", "Trade Mission", "Webinar").
    async fn event_type(&self) -> Option<&str> {
        self.0.event_type.as_deref()
    }
    /// The full description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The description as plain text, without markup.
    async fn description_text(&self) -> Option<String> {
        self.0.description.as_deref().map(plain_text)
    }
    /// The organizer feed: ITA, SBA, USTDA, EXIM, DL.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// When it starts (YYYY-MM-DD).
    async fn start_date(&self) -> Option<&str> {
        self.0.start_date.as_deref()
    }
    /// When it ends (YYYY-MM-DD).
    async fn end_date(&self) -> Option<&str> {
        self.0.end_date.as_deref()
    }
    /// When it starts, as the source writes the time.
    async fn start_time(&self) -> Option<&str> {
        self.0.start_time.as_deref()
    }
    /// When it ends, as the source writes the time.
    async fn end_time(&self) -> Option<&str> {
        self.0.end_time.as_deref()
    }
    /// The time zone of the times.
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// As the feed gives it: a number ("250.0"), text ("Free") or null.
    async fn cost(&self) -> Option<&str> {
        self.0.cost.as_deref()
    }
    /// The currency of the cost.
    async fn cost_currency(&self) -> Option<&str> {
        self.0.cost_currency.as_deref()
    }
    /// Where to register.
    async fn registration_link(&self) -> Option<&str> {
        self.0.registration_link.as_deref()
    }
    /// The title of the registration page.
    async fn registration_title(&self) -> Option<&str> {
        self.0.registration_title.as_deref()
    }
    /// Its page on the web.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// The industries it concerns, as the source names them.
    async fn industries(&self) -> &[String] {
        &self.0.industries
    }
    /// The industries it concerns, in ITA's own taxonomy.
    async fn ita_industries(&self) -> &[String] {
        &self.0.ita_industries
    }
    /// Where it takes place.
    async fn venues(&self) -> Vec<Venue> {
        self.0.venues.iter().cloned().map(Venue).collect()
    }
    /// Whom to contact about it.
    async fn contacts(&self) -> Vec<Contact> {
        self.0
            .all_contacts()
            .into_iter()
            .map(Contact::from)
            .collect()
    }
}

/// How many of all matches have each value of a facet (country, source,
/// industry, state, event type...): what frontends build filters from.
#[derive(SimpleObject)]
pub struct ItaAggregation {
    /// The facet as ITA names it: `countries`, `sources`, `industries`,
    /// `states`, `event_types`, `trade_regions`, `world_regions`...
    pub facet: String,
    /// The facet's values with their counts.
    pub buckets: Vec<ItaBucket>,
}

/// One value of a facet and how many matches have it.
#[derive(SimpleObject)]
pub struct ItaBucket {
    /// The facet's value.
    pub value: String,
    /// How many matches have this value.
    pub count: i64,
}

pub(super) fn aggregations(facets: Vec<ita::model::Aggregation>) -> Vec<ItaAggregation> {
    facets
        .into_iter()
        .map(|facet| ItaAggregation {
            facet: facet.facet,
            buckets: facet
                .buckets
                .into_iter()
                .map(|bucket| ItaBucket {
                    value: bucket.value,
                    count: i64::try_from(bucket.count).unwrap_or(i64::MAX),
                })
                .collect(),
        })
        .collect()
}

/// A page of trade leads.
#[derive(SimpleObject)]
pub struct TradeLeadPage {
    /// The records of this page.
    pub items: Vec<TradeLead>,
    /// Matches in all, as ITA counts them.
    pub total_count: Option<i64>,
    /// The sources behind this page, with when each was last updated.
    pub sources_used: Vec<SourceUsed>,
    /// Counts of all matches by facet.
    pub aggregations: Vec<ItaAggregation>,
}

/// A page of office locations.
#[derive(SimpleObject)]
pub struct OfficeLocationPage {
    /// The records of this page.
    pub items: Vec<OfficeLocation>,
    /// Matches in all, beyond this page, as the source counts them.
    pub total_count: Option<i64>,
    /// The sources behind this page, with when each was last updated.
    pub sources_used: Vec<SourceUsed>,
    /// Counts of all matches by facet (ITA's aggregations).
    pub aggregations: Vec<ItaAggregation>,
}

/// A page of trade events.
#[derive(SimpleObject)]
pub struct TradeEventPage {
    /// The records of this page.
    pub items: Vec<TradeEvent>,
    /// Matches in all, beyond this page, as the source counts them.
    pub total_count: Option<i64>,
    /// The sources behind this page, with when each was last updated.
    pub sources_used: Vec<SourceUsed>,
    /// Counts of all matches by facet (ITA's aggregations).
    pub aggregations: Vec<ItaAggregation>,
}

/// Checks paging arguments against ITA's field limit.
pub(super) fn bounds(limit: Option<i32>, offset: Option<i32>) -> Result<(u32, u32), Error> {
    page_bounds(limit, offset, MAX_LIMIT)
}

/// Country arguments as ITA's ISO alpha-2 codes.
pub(super) fn iso2_codes(given: Option<&[String]>) -> Result<Vec<String>, Error> {
    match given {
        None => Ok(Vec::new()),
        Some([]) => Err(Error::bad_input(
            "countries is empty: leave it out to search every country",
        )),
        Some(list) => Ok(countries::resolve_all(list)
            .map_err(|unknown| Error::bad_input(format!("countries: {unknown}")))?
            .into_iter()
            .map(|country| country.iso2.to_owned())
            .collect()),
    }
}

pub(super) fn text(name: &str, value: Option<String>) -> Result<Option<String>, Error> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Err(Error::bad_input(format!(
            "{name} is empty: leave it out to not filter by it"
        ))),
        other => Ok(other),
    }
}

pub(super) fn list(name: &str, values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    match values {
        Some(values) if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) => {
            Err(Error::bad_input(format!(
                "{name} must list non-empty values: leave it out to not filter by it"
            )))
        }
        Some(values) => Ok(values.into_iter().map(|v| v.trim().to_owned()).collect()),
        None => Ok(Vec::new()),
    }
}

async fn search<R: CountryRecord>(
    ctx: &Context<'_>,
    params: SearchParams,
    limit: u32,
    offset: u32,
) -> async_graphql::Result<ItaPage<Arc<R>>> {
    // No records wanted and no filter: the current API's `/count` answers
    // the total and facets in one request that carries no records (a
    // search would return none and, asked for none, is not sent).
    if limit == 0 && params == SearchParams::default() {
        let client = &sources(ctx)?.ita;
        if let Some((total, aggregations)) = client
            .count(R::ENDPOINT, &operation(ctx)?.usage)
            .await
            .graphql()?
        {
            return Ok(ItaPage {
                items: Vec::new(),
                total,
                sources_used: Vec::new(),
                aggregations,
            });
        }
    }
    let page = sources(ctx)?
        .ita
        .search::<R>(
            R::ENDPOINT,
            &params,
            u64::from(limit),
            u64::from(offset),
            &operation(ctx)?.usage,
            |_| true,
        )
        .await
        .graphql()?;
    Ok(page)
}

pub(super) fn total(total: Option<u64>) -> Option<i64> {
    total.and_then(|t| i64::try_from(t).ok())
}

/// A date range argument of an ITA search: `YYYY-MM-DD` ends, either open.
#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct ItaDateRangeInput {
    /// The earliest date (YYYY-MM-DD), inclusive.
    pub from: Option<String>,
    /// The latest date (YYYY-MM-DD), inclusive.
    pub to: Option<String>,
}

pub(super) fn date_range(
    name: &str,
    range: Option<ItaDateRangeInput>,
) -> Result<Option<ita::ItaDateRange>, Error> {
    let Some(range) = range else {
        return Ok(None);
    };
    let date = |end: &str, value: Option<String>| -> Result<Option<String>, Error> {
        value
            .map(|text| {
                let text = text.trim().to_owned();
                let valid = text.len() == 10
                    && text.chars().enumerate().all(|(i, c)| {
                        if i == 4 || i == 7 {
                            c == '-'
                        } else {
                            c.is_ascii_digit()
                        }
                    })
                    && ("01"..="12").contains(&&text[5..7])
                    && ("01"..="31").contains(&&text[8..10]);
                if valid {
                    Ok(text)
                } else {
                    Err(Error::bad_input(format!(
                        "{name}.{end}: {text:?} is not a date YYYY-MM-DD"
                    )))
                }
            })
            .transpose()
    };
    let from = date("from", range.from)?;
    let to = date("to", range.to)?;
    if from.is_none() && to.is_none() {
        return Err(Error::bad_input(format!(
            "{name}: give from, to or both (leave {name} out to not filter by it)"
        )));
    }
    if let (Some(from), Some(to)) = (&from, &to) {
        if from > to {
            return Err(Error::bad_input(format!(
                "{name}: from {from} is after to {to}"
            )));
        }
    }
    Ok(Some(ita::ItaDateRange { from, to }))
}

/// U.S. postal abbreviations, upper case.
fn states(values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let states: Vec<String> = list("states", values)?
        .into_iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if let Some(bad) = states
        .iter()
        .find(|s| s.len() != 2 || !s.chars().all(|c| c.is_ascii_alphabetic()))
    {
        return Err(Error::bad_input(format!(
            "states: {bad:?} is not a U.S. postal abbreviation (e.g. \"CA\")"
        )));
    }
    Ok(states)
}

/// Refuses, before any request, what the configured ITA API cannot honour.
fn checked(
    ctx: &Context<'_>,
    endpoint: ita::Endpoint,
    params: SearchParams,
) -> async_graphql::Result<SearchParams> {
    params.check(endpoint, sources(ctx)?.ita.api()).graphql()?;
    Ok(params)
}

/// The top-level ITA queries.
#[derive(Default)]
pub struct ItaQueries;

#[Object]
impl ItaQueries {
    /// Trade leads. `query` searches titles and descriptions; `countries`
    /// take any country spelling. The seeds' v2 API also filters by
    /// `industries`, `sources` (feeds), `publishDate`, `endDate`,
    /// `publishDateAmended`, `tradeRegions` and `worldRegions`; the current
    /// API by `tenderStartDate` and `contractStartDate`. A filter the
    /// configured API lacks is refused, naming the one that has it. `limit`
    /// (default 20, at most 1000) is paged upstream in requests of 100.
    #[allow(clippy::too_many_arguments)]
    async fn trade_leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Countries, as ISO2, ISO3 or names (\"BR\", \"BRA\", \"Brazil\"); any of them matches."
        )]
        countries: Option<Vec<String>>,
        #[graphql(
            desc = "Industries, as ITA names them (e.g. \"Aerospace and Defense\"); any of them matches."
        )]
        industries: Option<Vec<String>>,
        #[graphql(
            desc = "Sources of the records, as ITA names them (e.g. \"DGMARKET\", \"SBA\"); any of them matches."
        )]
        sources: Option<Vec<String>>,
        #[graphql(desc = "A range of publication dates (`from`, `to`, YYYY-MM-DD).")] publish_date: Option<ItaDateRangeInput>,
        #[graphql(desc = "A range of end dates (`from`, `to`, YYYY-MM-DD).")] end_date: Option<
            ItaDateRangeInput,
        >,
        #[graphql(
            desc = "A range of dates the leads were last amended (`from`, `to`, YYYY-MM-DD)."
        )]
        publish_date_amended: Option<ItaDateRangeInput>,
        #[graphql(desc = "ITA trade regions (e.g. \"NAFTA\"); any of them matches.")] trade_regions: Option<Vec<String>>,
        #[graphql(
            desc = "World regions as ITA names them (e.g. \"South America\"); any of them matches."
        )]
        world_regions: Option<Vec<String>>,
        #[graphql(desc = "A range of tender start dates (`from`, `to`, YYYY-MM-DD).")]
        tender_start_date: Option<ItaDateRangeInput>,
        #[graphql(desc = "A range of contract start dates (`from`, `to`, YYYY-MM-DD).")]
        contract_start_date: Option<ItaDateRangeInput>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<TradeLeadPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let params = SearchParams {
                q: text("query", query).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                industries: list("industries", industries).graphql()?,
                sources: list("sources", sources).graphql()?,
                publish_date: date_range("publishDate", publish_date).graphql()?,
                end_date: date_range("endDate", end_date).graphql()?,
                publish_date_amended: date_range("publishDateAmended", publish_date_amended)
                    .graphql()?,
                trade_regions: list("tradeRegions", trade_regions).graphql()?,
                world_regions: list("worldRegions", world_regions).graphql()?,
                tender_start_date: date_range("tenderStartDate", tender_start_date).graphql()?,
                contract_start_date: date_range("contractStartDate", contract_start_date)
                    .graphql()?,
                ..SearchParams::default()
            };
            let params = checked(ctx, ita::Endpoint::TradeLeads, params)?;
            let page = search::<ita::TradeLead>(ctx, params, limit, offset).await?;
            Ok(TradeLeadPage {
                items: page.items.into_iter().map(TradeLead).collect(),
                total_count: total(page.total),
                sources_used: sources_used(page.sources_used),
                aggregations: aggregations(page.aggregations),
            })
        };
        Some(page.await)
    }

    /// ITA offices. `query` searches post and office names; `states` are
    /// U.S. postal codes for domestic centers (the v2 API takes one). The v2
    /// API also filters by `city`; the current API by `zipCodes` (the ZIP
    /// codes an office serves). `state` is the v2 spelling of `states`.
    #[allow(clippy::too_many_arguments)]
    async fn office_locations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "A city the offices are in.")] city: Option<String>,
        #[graphql(
            desc = "Countries, as ISO2, ISO3 or names (\"BR\", \"BRA\", \"Brazil\"); any of them matches."
        )]
        countries: Option<Vec<String>>,
        #[graphql(
            deprecation = "use states",
            desc = "A US state, as a two-letter code (\"CA\"); deprecated: use `states`."
        )]
        state: Option<String>,
        #[graphql(desc = "US states, as two-letter codes (\"CA\"); any of them matches.")]
        states: Option<Vec<String>>,
        #[graphql(desc = "US ZIP codes; any of them matches.")] zip_codes: Option<Vec<String>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<OfficeLocationPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let states = match (state, states) {
                (Some(_), Some(_)) => {
                    return Err(Error::bad_input("give state or states, not both")).graphql()
                }
                (Some(state), None) => self::states(Some(vec![state])).graphql()?,
                (None, states) => self::states(states).graphql()?,
            };
            let params = SearchParams {
                q: text("query", query).graphql()?,
                city: text("city", city).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                states,
                zip_codes: list("zipCodes", zip_codes).graphql()?,
                ..SearchParams::default()
            };
            let params = checked(ctx, ita::Endpoint::OfficeLocations, params)?;
            let page = search::<ita::OfficeLocation>(ctx, params, limit, offset).await?;
            Ok(OfficeLocationPage {
                items: page.items.into_iter().map(OfficeLocation).collect(),
                total_count: total(page.total),
                sources_used: sources_used(page.sources_used),
                aggregations: aggregations(page.aggregations),
            })
        };
        Some(page.await)
    }

    /// Trade events. `query` searches names and descriptions; `countries`
    /// match any of an event's venues; `industries`, `sources` and
    /// `startDate` in both APIs; the v2 API also `endDate`, `tradeRegions`
    /// and `worldRegions`, the current API `eventTypes` and `states`.
    #[allow(clippy::too_many_arguments)]
    async fn trade_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Countries, as ISO2, ISO3 or names (\"BR\", \"BRA\", \"Brazil\"); any of them matches."
        )]
        countries: Option<Vec<String>>,
        #[graphql(
            desc = "Industries, as ITA names them (e.g. \"Aerospace and Defense\"); any of them matches."
        )]
        industries: Option<Vec<String>>,
        #[graphql(
            desc = "Sources of the records, as ITA names them (e.g. \"DGMARKET\", \"SBA\"); any of them matches."
        )]
        sources: Option<Vec<String>>,
        #[graphql(desc = "A range of start dates (`from`, `to`, YYYY-MM-DD).")] start_date: Option<
            ItaDateRangeInput,
        >,
        #[graphql(desc = "A range of end dates (`from`, `to`, YYYY-MM-DD).")] end_date: Option<
            ItaDateRangeInput,
        >,
        #[graphql(desc = "ITA trade regions (e.g. \"NAFTA\"); any of them matches.")] trade_regions: Option<Vec<String>>,
        #[graphql(
            desc = "World regions as ITA names them (e.g. \"South America\"); any of them matches."
        )]
        world_regions: Option<Vec<String>>,
        #[graphql(
            desc = "Event types (e.g. \"Trade Mission\", \"Trade Show\"); any of them matches."
        )]
        event_types: Option<Vec<String>>,
        #[graphql(desc = "US states, as two-letter codes (\"CA\"); any of them matches.")]
        states: Option<Vec<String>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<TradeEventPage>> {
        let page = async {
            let (limit, offset) = bounds(limit, offset).graphql()?;
            let params = SearchParams {
                q: text("query", query).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                industries: list("industries", industries).graphql()?,
                sources: list("sources", sources).graphql()?,
                start_date: date_range("startDate", start_date).graphql()?,
                end_date: date_range("endDate", end_date).graphql()?,
                trade_regions: list("tradeRegions", trade_regions).graphql()?,
                world_regions: list("worldRegions", world_regions).graphql()?,
                event_types: list("eventTypes", event_types).graphql()?,
                states: self::states(states).graphql()?,
                ..SearchParams::default()
            };
            let params = checked(ctx, ita::Endpoint::TradeEvents, params)?;
            let page = search::<ita::TradeEvent>(ctx, params, limit, offset).await?;
            Ok(TradeEventPage {
                items: page.items.into_iter().map(TradeEvent).collect(),
                total_count: total(page.total),
                sources_used: sources_used(page.sources_used),
                aggregations: aggregations(page.aggregations),
            })
        };
        Some(page.await)
    }
}

impl Jurisdiction {
    /// This jurisdiction's records from one ITA endpoint, batched with every
    /// other jurisdiction of the operation.
    pub(super) async fn ita_records<R: ItaBatches>(
        &self,
        ctx: &Context<'_>,
        params: SearchParams,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<Arc<R>>> {
        let (limit, _) = bounds(limit, None).graphql()?;
        let params = checked(ctx, R::ENDPOINT, params)?;
        let Some(iso2) = self.iso2_code() else {
            return Ok(Vec::new());
        };
        let key = CountryKey::<R>::new(iso2, Arc::new(params), limit);
        Ok(R::loader(operation(ctx)?)
            .load_one(key)
            .await
            .graphql()?
            .unwrap_or_default())
    }

    /// Checked ITA parameters for a jurisdiction's leads or events.
    pub(super) fn ita_params(
        query: Option<String>,
        industries: Option<Vec<String>>,
    ) -> Result<SearchParams, Error> {
        Ok(SearchParams {
            q: text("query", query)?,
            industries: list("industries", industries)?,
            ..SearchParams::default()
        })
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

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
            ("ItaAggregation", "buckets") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            (
                "Query",
                "tradeLeads"
                | "officeLocations"
                | "tradeEvents"
                | "exportPrograms"
                | "marketResearch"
                | "tradeArticles"
                | "environmentalIssues"
                | "environmentalSolutions"
                | "environmentalRegulations"
                | "environmentalProviders"
                | "deMinimisThresholds"
                | "businessServiceProviders",
            ) => {
                let limit = limit(arguments, ITA_MAX_LIMIT);
                rule.page_limit = Some(limit);
                rule.demand = asks(
                    Source::Ita,
                    DemandKind::Fixed {
                        pages: pages(limit, ITA_PAGE),
                    },
                );
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
