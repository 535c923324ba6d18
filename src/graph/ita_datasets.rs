//! Seed 000's four other ITA data sets in the graph: `exportPrograms`,
//! `marketResearch`, `tradeArticles` and the environmental toolkit
//! (`environmentalIssues`, `...Solutions`, `...Regulations`, `...Providers`,
//! linked to each other by their ids through one batched search per kind).
//! Reports and articles link to jurisdictions by their ISO2 countries, and
//! `Jurisdiction.marketResearch` / `.tradeArticles` batch like leads. Only
//! the seed-era API serves them: on the current one every field fails with
//! `UPSTREAM_DATASET_RETIRED`, saying since when.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, OutputType, SimpleObject};

use super::context::{operation, sources};
use super::ita::{
    aggregations, bounds, date_range, iso2_codes, list, sources_used, text, total, ItaAggregation,
    ItaDateRangeInput, SourceUsed,
};
use super::jurisdiction::Jurisdiction;
use crate::countries;
use crate::error::{Error, GraphqlResult};
use crate::sources::ita::datasets::{self as records, EnvirotechKind, EnvirotechRecord, Languages};
use crate::sources::ita::links::{LinkKey, LinkedBy};
use crate::sources::ita::{Endpoint, ItaPage, SearchParams};

/// Where a program helps an exporter: ITA's four export phases.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportPhase {
    /// Learning about exporting.
    Learn,
    /// Ready to export.
    Ready,
    /// Already exporting.
    Exporting,
    /// Expanding to more markets.
    Expand,
}

impl ExportPhase {
    fn wire(self) -> &'static str {
        match self {
            Self::Learn => "learn",
            Self::Ready => "ready",
            Self::Exporting => "exporting",
            Self::Expand => "expand",
        }
    }
}

fn jurisdictions(codes: Vec<String>) -> Vec<Jurisdiction> {
    codes
        .iter()
        .filter_map(|code| countries::by_iso2(code))
        .map(Jurisdiction::Known)
        .collect()
}

/// One ITA program for exporters.
pub struct ExportProgram(Arc<records::ExportProgram>);

/// A U.S. government program that helps exporters (financing, counselling,
/// promotion), from ITA's export programs data set.
#[Object]
impl ExportProgram {
    /// The documented API's id (the published file has none).
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The title.
    async fn title(&self) -> Option<&str> {
        self.0.program_title.as_deref()
    }
    /// A summary.
    #[graphql(name = "abstract")]
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Learn, Ready, Exporting, Expand, as the program lists them.
    async fn export_phases(&self) -> &[String] {
        &self.0.export_phase
    }
    /// The topics it is about.
    async fn topics(&self) -> &[String] {
        &self.0.topics
    }
    /// The e-mail address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// The name of the person to contact.
    async fn contact_name(&self) -> Option<&str> {
        self.0.contact_name.as_deref()
    }
    /// The office's name.
    async fn office_name(&self) -> Option<&str> {
        self.0
            .office_name
            .as_deref()
            .filter(|name| !name.is_empty())
    }
    /// The phone number, international format where known.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// The full description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The program's web site.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
}

/// A report of the Market Research Library.
pub struct MarketResearchReport(pub Arc<records::MarketResearch>);

/// A market research report from ITA's market research library, about a
/// country or an industry.
#[Object]
impl MarketResearchReport {
    /// The record's id at its source.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// The full description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The countries the report covers.
    async fn countries(&self) -> Vec<Jurisdiction> {
        jurisdictions(self.0.iso2_codes())
    }
    /// ISO alpha-2, as the library lists them.
    async fn country_codes(&self) -> Vec<String> {
        self.0.iso2_codes()
    }
    /// When the record expires (YYYY-MM-DD).
    async fn expiration_date(&self) -> Option<&str> {
        self.0.expiration_date.as_deref()
    }
    /// The library's industry names.
    async fn industries(&self) -> Vec<String> {
        self.0.source_industries()
    }
    /// ITA's taxonomy names.
    async fn ita_industries(&self) -> Vec<String> {
        self.0.taxonomy_industries()
    }
    /// Market Research Report, Best Market Research or Country Commercial Guide.
    async fn report_type(&self) -> Option<&str> {
        self.0.report_type.as_deref()
    }
    /// Its page on the web.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
}

/// A trade information article.
pub struct TradeArticle(pub Arc<records::TradeArticle>);

/// An article from ITA's trade articles (export guides, country commercial
/// guides and news), with its topics, regions and dates.
#[Object]
impl TradeArticle {
    /// The record's id at its source.
    async fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }
    /// The title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// A short title.
    async fn short_title(&self) -> Option<&str> {
        self.0.short_title.as_deref().filter(|t| !t.is_empty())
    }
    /// A summary.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref().filter(|t| !t.is_empty())
    }
    /// The text, HTML stripped by ITA.
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }
    /// When the article was created (YYYY-MM-DD).
    async fn creation_date(&self) -> Option<&str> {
        self.0.creation_date.as_deref()
    }
    /// v2 `release_date`, v1 `pub_date`.
    async fn release_date(&self) -> Option<&str> {
        self.0.release_date.as_deref()
    }
    /// When the article was last updated (YYYY-MM-DD).
    async fn update_date(&self) -> Option<&str> {
        self.0.update_date.as_deref()
    }
    /// When the record expires (YYYY-MM-DD).
    async fn expiration_date(&self) -> Option<&str> {
        self.0.expiration_date.as_deref()
    }
    /// Whether the article stays current (null when ITA left it blank).
    async fn evergreen(&self) -> Option<bool> {
        self.0.evergreen
    }
    /// Keywords describing it.
    async fn keywords(&self) -> &[String] {
        &self.0.keyword
    }
    /// The countries it is about, by name.
    async fn countries(&self) -> Vec<Jurisdiction> {
        jurisdictions(self.0.iso2_codes())
    }
    /// The countries it is about, as ISO alpha-2 codes.
    async fn country_codes(&self) -> Vec<String> {
        self.0.iso2_codes()
    }
    /// The export phases it is meant for.
    async fn export_phases(&self) -> &[String] {
        &self.0.export_phases
    }
    /// The industries it concerns, as the source names them.
    async fn industries(&self) -> &[String] {
        &self.0.industries
    }
    /// The topics it is about.
    async fn topics(&self) -> &[String] {
        &self.0.topics
    }
    /// The sub-topics it is about.
    async fn sub_topics(&self) -> &[String] {
        &self.0.sub_topics
    }
    /// The geographic regions it is about.
    async fn geo_regions(&self) -> &[String] {
        &self.0.geo_regions
    }
    /// The geographic sub-regions it is about.
    async fn geo_subregions(&self) -> &[String] {
        &self.0.geo_subregions
    }
    /// The trade regions it concerns.
    async fn trade_regions(&self) -> &[String] {
        &self.0.trade_regions
    }
    /// The trade programs it is about.
    async fn trade_programs(&self) -> &[String] {
        &self.0.trade_programs
    }
    /// The trade initiatives it is about.
    async fn trade_initiatives(&self) -> &[String] {
        &self.0.trade_initiatives
    }
    /// v1's content types (Webinar, Article...).
    async fn content_types(&self) -> &[String] {
        &self.0.content_type
    }
    /// The agencies it comes from.
    async fn source_agencies(&self) -> &[String] {
        &self.0.source_agencies
    }
    /// The business units it comes from.
    async fn source_business_units(&self) -> &[String] {
        &self.0.source_business_units
    }
    /// The offices it comes from.
    async fn source_offices(&self) -> &[String] {
        &self.0.source_offices
    }
    /// The title search engines show.
    async fn seo_title(&self) -> Option<&str> {
        self.0.seo_metadata_title.as_deref()
    }
    /// The description search engines show.
    async fn seo_description(&self) -> Option<&str> {
        self.0.seo_metadata_description.as_deref()
    }
    /// Keywords for search engines.
    async fn seo_keywords(&self) -> Option<&str> {
        self.0.seo_metadata_keyword.as_deref()
    }
    /// Its page on the web.
    async fn url(&self) -> Option<&str> {
        self.0.trade_url.as_deref()
    }
    /// Files attached to the lead.
    async fn file_urls(&self) -> &[String] {
        &self.0.file_url
    }
    /// Images of the record.
    async fn image_urls(&self) -> &[String] {
        &self.0.image_url
    }
    /// Pages the record was taken from.
    async fn html_source_urls(&self) -> &[String] {
        &self.0.url_html_source
    }
    /// Feeds the record was taken from.
    async fn xml_source_urls(&self) -> &[String] {
        &self.0.url_xml_source
    }
}

/// A text in the toolkit's five languages.
#[derive(SimpleObject)]
pub struct LocalizedText {
    /// The text in English.
    pub english: Option<String>,
    /// The text in Chinese.
    pub chinese: Option<String>,
    /// The text in French.
    pub french: Option<String>,
    /// The text in Portuguese.
    pub portuguese: Option<String>,
    /// The text in Spanish.
    pub spanish: Option<String>,
}

impl From<Languages> for LocalizedText {
    fn from(languages: Languages) -> Self {
        Self {
            english: languages.english,
            chinese: languages.chinese,
            french: languages.french,
            portuguese: languages.portuguese,
            spanish: languages.spanish,
        }
    }
}

/// The records of `kind` linked to `id` by `by`, batched with every other
/// link of the operation.
async fn linked(
    ctx: &Context<'_>,
    kind: EnvirotechKind,
    by: LinkedBy,
    id: Option<u32>,
) -> async_graphql::Result<Vec<Arc<EnvirotechRecord>>> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    Ok(operation(ctx)?
        .ita_links
        .load_one(LinkKey { kind, by, id })
        .await
        .graphql()?
        .unwrap_or_default())
}

/// The records of `kind` with these ids, in one batched search.
async fn by_ids(
    ctx: &Context<'_>,
    kind: EnvirotechKind,
    ids: impl IntoIterator<Item = u32>,
) -> async_graphql::Result<Vec<Arc<EnvirotechRecord>>> {
    let keys: Vec<LinkKey> = ids
        .into_iter()
        .map(|id| LinkKey {
            kind,
            by: LinkedBy::Id,
            id,
        })
        .collect();
    let loaded = operation(ctx)?
        .ita_links
        .load_many(keys.iter().copied())
        .await
        .graphql()?;
    Ok(keys
        .iter()
        .flat_map(|key| loaded.get(key).cloned().unwrap_or_default())
        .collect())
}

/// An environmental issue, with the regulations and solutions that address it.
pub struct EnvironmentalIssue(pub Arc<EnvirotechRecord>);

/// An environmental issue from ITA's Environmental Solutions Toolkit, linked
/// to the solutions that address it and the regulations about it.
#[Object]
impl EnvironmentalIssue {
    /// The toolkit's id (`source_id`).
    async fn id(&self) -> Option<u32> {
        self.0.source_id
    }
    /// The English name.
    async fn name(&self) -> Option<&str> {
        self.0.name_english.as_deref()
    }
    /// The name in the toolkit's five languages.
    async fn names(&self) -> LocalizedText {
        self.0.names().into()
    }
    /// When the record was created.
    async fn created_at(&self) -> Option<&str> {
        self.0.source_created_at.as_deref()
    }
    /// When the record was last updated.
    async fn updated_at(&self) -> Option<&str> {
        self.0.source_updated_at.as_deref()
    }
    /// The English abstract.
    #[graphql(name = "abstract")]
    async fn summary(&self) -> Option<&str> {
        self.0.abstract_english.as_deref()
    }
    /// Short summaries, in the languages given.
    async fn abstracts(&self) -> LocalizedText {
        self.0.abstracts().into()
    }
    /// The environmental regulations it is linked to.
    async fn regulations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalRegulation>> {
        let records = linked(
            ctx,
            EnvirotechKind::Regulations,
            LinkedBy::Issue,
            self.0.source_id,
        );
        Ok(records
            .await?
            .into_iter()
            .map(EnvironmentalRegulation)
            .collect())
    }
    /// The environmental solutions it is linked to.
    async fn solutions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalSolution>> {
        let records = linked(
            ctx,
            EnvirotechKind::Solutions,
            LinkedBy::Issue,
            self.0.source_id,
        );
        Ok(records
            .await?
            .into_iter()
            .map(EnvironmentalSolution)
            .collect())
    }
    /// Analyses of the issue (EPA regulatory impact analyses...).
    async fn analysis_links(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalLink>> {
        let records = linked(
            ctx,
            EnvirotechKind::AnalysisLinks,
            LinkedBy::Issue,
            self.0.source_id,
        );
        Ok(records.await?.into_iter().map(EnvironmentalLink).collect())
    }
    /// Links to background reading about the issue.
    async fn background_links(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalLink>> {
        let records = linked(
            ctx,
            EnvirotechKind::BackgroundLinks,
            LinkedBy::Issue,
            self.0.source_id,
        );
        Ok(records.await?.into_iter().map(EnvironmentalLink).collect())
    }
}

/// An environmental solution (a technology), the issues and regulations
/// it answers and the providers that offer it.
pub struct EnvironmentalSolution(pub Arc<EnvirotechRecord>);

/// An environmental technology or service from ITA's Environmental Solutions
/// Toolkit, linked to the issues it addresses and the regulations it serves.
#[Object]
impl EnvironmentalSolution {
    /// The toolkit's id (`source_id`).
    async fn id(&self) -> Option<u32> {
        self.0.source_id
    }
    /// The English name.
    async fn name(&self) -> Option<&str> {
        self.0.name_english.as_deref()
    }
    /// The name in the toolkit's five languages.
    async fn names(&self) -> LocalizedText {
        self.0.names().into()
    }
    /// When the record was created.
    async fn created_at(&self) -> Option<&str> {
        self.0.source_created_at.as_deref()
    }
    /// When the record was last updated.
    async fn updated_at(&self) -> Option<&str> {
        self.0.source_updated_at.as_deref()
    }
    /// The environmental issues it is linked to.
    async fn issues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EnvironmentalIssue>> {
        let records = linked(
            ctx,
            EnvirotechKind::Issues,
            LinkedBy::Solution,
            self.0.source_id,
        );
        Ok(records.await?.into_iter().map(EnvironmentalIssue).collect())
    }
    /// The environmental regulations it is linked to.
    async fn regulations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalRegulation>> {
        let records = linked(
            ctx,
            EnvirotechKind::Regulations,
            LinkedBy::Solution,
            self.0.source_id,
        );
        Ok(records
            .await?
            .into_iter()
            .map(EnvironmentalRegulation)
            .collect())
    }
    /// Providers of the solution, each with its page for it.
    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderOffer>> {
        let offers = linked(
            ctx,
            EnvirotechKind::ProviderSolutions,
            LinkedBy::Solution,
            self.0.source_id,
        )
        .await?;
        let providers = by_ids(
            ctx,
            EnvirotechKind::Providers,
            offers.iter().filter_map(|offer| offer.provider_id),
        )
        .await?;
        Ok(offers
            .iter()
            .filter_map(|offer| {
                let provider = providers
                    .iter()
                    .find(|p| p.source_id.is_some() && p.source_id == offer.provider_id)?;
                Some(ProviderOffer {
                    provider: EnvironmentalProvider(provider.clone()),
                    url: offer.url.clone(),
                })
            })
            .collect())
    }
}

/// A provider offering a solution, and its page for it.
#[derive(SimpleObject)]
pub struct ProviderOffer {
    /// Who offers it.
    pub provider: EnvironmentalProvider,
    /// Its page on the web.
    pub url: Option<String>,
}

/// A regulation, the issues it concerns and the solutions that meet it.
pub struct EnvironmentalRegulation(pub Arc<EnvirotechRecord>);

/// A regulation from ITA's Environmental Solutions Toolkit, linked to the
/// issues it governs and the solutions that meet it.
#[Object]
impl EnvironmentalRegulation {
    /// The toolkit's id (`source_id`).
    async fn id(&self) -> Option<u32> {
        self.0.source_id
    }
    /// The English name.
    async fn name(&self) -> Option<&str> {
        self.0.name_english.as_deref()
    }
    /// The name in the toolkit's five languages.
    async fn names(&self) -> LocalizedText {
        self.0.names().into()
    }
    /// When the record was created.
    async fn created_at(&self) -> Option<&str> {
        self.0.source_created_at.as_deref()
    }
    /// When the record was last updated.
    async fn updated_at(&self) -> Option<&str> {
        self.0.source_updated_at.as_deref()
    }
    /// Its page on the web.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// The environmental issues it is linked to.
    async fn issues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EnvironmentalIssue>> {
        let records = linked(
            ctx,
            EnvirotechKind::Issues,
            LinkedBy::Regulation,
            self.0.source_id,
        );
        Ok(records.await?.into_iter().map(EnvironmentalIssue).collect())
    }
    /// The environmental solutions it is linked to.
    async fn solutions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalSolution>> {
        let records = linked(
            ctx,
            EnvirotechKind::Solutions,
            LinkedBy::Regulation,
            self.0.source_id,
        );
        Ok(records
            .await?
            .into_iter()
            .map(EnvironmentalSolution)
            .collect())
    }
}

/// A U.S. company that provides environmental solutions.
pub struct EnvironmentalProvider(pub Arc<EnvirotechRecord>);

/// A U.S. provider of environmental solutions, from ITA's Environmental
/// Solutions Toolkit.
#[Object]
impl EnvironmentalProvider {
    /// The toolkit's id (`source_id`).
    async fn id(&self) -> Option<u32> {
        self.0.source_id
    }
    /// The name.
    async fn name(&self) -> Option<&str> {
        self.0.name_english.as_deref()
    }
    /// When the record was created.
    async fn created_at(&self) -> Option<&str> {
        self.0.source_created_at.as_deref()
    }
    /// When the record was last updated.
    async fn updated_at(&self) -> Option<&str> {
        self.0.source_updated_at.as_deref()
    }
    /// The solutions it provides.
    async fn solutions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EnvironmentalSolution>> {
        let offers = linked(
            ctx,
            EnvirotechKind::ProviderSolutions,
            LinkedBy::Provider,
            self.0.source_id,
        )
        .await?;
        let solutions = by_ids(
            ctx,
            EnvirotechKind::Solutions,
            offers.iter().filter_map(|offer| offer.solution_id),
        )
        .await?;
        Ok(solutions.into_iter().map(EnvironmentalSolution).collect())
    }
}

/// An analysis or background document about issues.
pub struct EnvironmentalLink(Arc<EnvirotechRecord>);

/// A background link about an environmental issue, from ITA's
/// Environmental Solutions Toolkit.
#[Object]
impl EnvironmentalLink {
    /// The toolkit's id (`source_id`).
    async fn id(&self) -> Option<u32> {
        self.0.source_id
    }
    /// The English name.
    async fn name(&self) -> Option<&str> {
        self.0.name_english.as_deref()
    }
    /// The name in the toolkit's five languages.
    async fn names(&self) -> LocalizedText {
        self.0.names().into()
    }
    /// When the record was created.
    async fn created_at(&self) -> Option<&str> {
        self.0.source_created_at.as_deref()
    }
    /// When the record was last updated.
    async fn updated_at(&self) -> Option<&str> {
        self.0.source_updated_at.as_deref()
    }
    /// Its page on the web.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// The environmental issues it is linked to.
    async fn issues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EnvironmentalIssue>> {
        let records = by_ids(
            ctx,
            EnvirotechKind::Issues,
            self.0.issue_ids.iter().copied(),
        )
        .await?;
        Ok(records.into_iter().map(EnvironmentalIssue).collect())
    }
}

/// A page of a seed-era data set.
#[derive(SimpleObject)]
#[graphql(concrete(name = "ExportProgramPage", params(ExportProgram)))]
#[graphql(concrete(name = "MarketResearchPage", params(MarketResearchReport)))]
#[graphql(concrete(name = "TradeArticlePage", params(TradeArticle)))]
#[graphql(concrete(name = "EnvironmentalIssuePage", params(EnvironmentalIssue)))]
#[graphql(concrete(name = "EnvironmentalSolutionPage", params(EnvironmentalSolution)))]
#[graphql(concrete(name = "EnvironmentalRegulationPage", params(EnvironmentalRegulation)))]
#[graphql(concrete(name = "EnvironmentalProviderPage", params(EnvironmentalProvider)))]
pub struct DatasetPage<T: OutputType> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Matches in all, as ITA counts them.
    pub total_count: Option<i64>,
    /// The sources behind this page, with when each was last updated.
    pub sources_used: Vec<SourceUsed>,
    /// Counts of all matches by facet (ITA's aggregations).
    pub aggregations: Vec<ItaAggregation>,
}

/// Searches one data set, refusing first what the configured API cannot
/// serve (the current API: the data set is retired).
async fn search<R, T>(
    ctx: &Context<'_>,
    endpoint: Endpoint,
    params: SearchParams,
    limit: Option<i32>,
    offset: Option<i32>,
    wrap: impl Fn(Arc<R>) -> T,
) -> async_graphql::Result<DatasetPage<T>>
where
    R: serde::de::DeserializeOwned
        + crate::sources::ita::model::Identifiable
        + Send
        + Sync
        + 'static,
    T: OutputType,
{
    let (limit, offset) = bounds(limit, offset).graphql()?;
    let client = &sources(ctx)?.ita;
    params.check(endpoint, client.api()).graphql()?;
    let page: ItaPage<Arc<R>> = client
        .search::<R>(
            endpoint,
            &params,
            u64::from(limit),
            u64::from(offset),
            &operation(ctx)?.usage,
            |_| true,
        )
        .await
        .graphql()?;
    Ok(DatasetPage {
        items: page.items.into_iter().map(wrap).collect(),
        total_count: total(page.total),
        sources_used: sources_used(page.sources_used),
        aggregations: aggregations(page.aggregations),
    })
}

/// Envirotech ids as the API takes them.
fn ids(name: &str, values: Option<Vec<i32>>) -> Result<Vec<String>, Error> {
    match values {
        Some(values) if values.is_empty() => Err(Error::bad_input(format!(
            "{name} is empty: leave it out to not filter by it"
        ))),
        Some(values) => values
            .into_iter()
            .map(|id| {
                u32::try_from(id)
                    .map(|id| id.to_string())
                    .map_err(|_| Error::bad_input(format!("{name}: {id} is not a toolkit id")))
            })
            .collect(),
        None => Ok(Vec::new()),
    }
}

/// The toolkit filters every endpoint takes.
fn toolkit_params(
    query: Option<String>,
    ids_given: Option<Vec<i32>>,
    issue_ids: Option<Vec<i32>>,
    solution_ids: Option<Vec<i32>>,
    regulation_ids: Option<Vec<i32>>,
) -> Result<SearchParams, Error> {
    Ok(SearchParams {
        q: text("query", query)?,
        source_ids: ids("ids", ids_given)?,
        issue_ids: ids("issueIds", issue_ids)?,
        solution_ids: ids("solutionIds", solution_ids)?,
        regulation_ids: ids("regulationIds", regulation_ids)?,
        ..SearchParams::default()
    })
}

/// The top-level queries of the four seed-era data sets.
#[derive(Default)]
pub struct ItaDatasetQueries;

#[Object]
impl ItaDatasetQueries {
    /// ITA programs for exporters (seed-era API only): `query` full text,
    /// `title` and `abstract` words, `exportPhases` any of the four.
    #[allow(clippy::too_many_arguments)]
    async fn export_programs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Text the programs' titles must contain.")] title: Option<String>,
        #[graphql(name = "abstract", desc = "Text the programs' summaries must contain.")] summary: Option<String>,
        #[graphql(
            desc = "Export phases (e.g. \"Learn\", \"Plan\", \"Act\"); any of them matches."
        )]
        export_phases: Option<Vec<ExportPhase>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<ExportProgram>>> {
        let page = async {
            let params = SearchParams {
                q: text("query", query).graphql()?,
                program_title: text("title", title).graphql()?,
                abstract_text: text("abstract", summary).graphql()?,
                export_phases: export_phases
                    .unwrap_or_default()
                    .into_iter()
                    .map(|phase| phase.wire().to_owned())
                    .collect(),
                ..SearchParams::default()
            };
            search(
                ctx,
                Endpoint::ExportPrograms,
                params,
                limit,
                offset,
                ExportProgram,
            )
            .await
        };
        Some(page.await)
    }

    /// The Market Research Library (seed-era API only; retired 2018):
    /// `countries` any spelling, `industries` the library's names,
    /// `expirationDate` a range.
    #[allow(clippy::too_many_arguments)]
    async fn market_research(
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
        #[graphql(desc = "A range of expiration dates (`from`, `to`, YYYY-MM-DD).")]
        expiration_date: Option<ItaDateRangeInput>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<MarketResearchReport>>> {
        let page = async {
            let params = SearchParams {
                q: text("query", query).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                industries: list("industries", industries).graphql()?,
                expiration_date: date_range("expirationDate", expiration_date).graphql()?,
                ..SearchParams::default()
            };
            search(
                ctx,
                Endpoint::MarketResearch,
                params,
                limit,
                offset,
                MarketResearchReport,
            )
            .await
        };
        Some(page.await)
    }

    /// Trade information articles (seed-era API only; retired 2016): every
    /// list filter of the v2 API and its three date ranges.
    #[allow(clippy::too_many_arguments)]
    async fn trade_articles(
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
            desc = "Export phases (e.g. \"Learn\", \"Plan\", \"Act\"); any of them matches."
        )]
        export_phases: Option<Vec<String>>,
        #[graphql(desc = "Article topics; any of them matches.")] topics: Option<Vec<String>>,
        #[graphql(desc = "Article sub-topics; any of them matches.")] sub_topics: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Geographic regions; any of them matches.")] geo_regions: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Geographic sub-regions; any of them matches.")] geo_subregions: Option<
            Vec<String>,
        >,
        #[graphql(desc = "ITA trade regions (e.g. \"NAFTA\"); any of them matches.")] trade_regions: Option<Vec<String>>,
        #[graphql(desc = "Trade programs the articles are about; any of them matches.")]
        trade_programs: Option<Vec<String>>,
        #[graphql(desc = "Trade initiatives the articles are about; any of them matches.")]
        trade_initiatives: Option<Vec<String>>,
        #[graphql(desc = "A range of creation dates (`from`, `to`, YYYY-MM-DD).")]
        creation_date: Option<ItaDateRangeInput>,
        #[graphql(desc = "A range of release dates (`from`, `to`, YYYY-MM-DD).")]
        release_date: Option<ItaDateRangeInput>,
        #[graphql(desc = "A range of expiration dates (`from`, `to`, YYYY-MM-DD).")]
        expiration_date: Option<ItaDateRangeInput>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<TradeArticle>>> {
        let page = async {
            let params = SearchParams {
                q: text("query", query).graphql()?,
                countries: iso2_codes(countries.as_deref()).graphql()?,
                industries: list("industries", industries).graphql()?,
                export_phases: list("exportPhases", export_phases).graphql()?,
                topics: list("topics", topics).graphql()?,
                sub_topics: list("subTopics", sub_topics).graphql()?,
                geo_regions: list("geoRegions", geo_regions).graphql()?,
                geo_subregions: list("geoSubregions", geo_subregions).graphql()?,
                trade_regions: list("tradeRegions", trade_regions).graphql()?,
                trade_programs: list("tradePrograms", trade_programs).graphql()?,
                trade_initiatives: list("tradeInitiatives", trade_initiatives).graphql()?,
                creation_date: date_range("creationDate", creation_date).graphql()?,
                release_date: date_range("releaseDate", release_date).graphql()?,
                expiration_date: date_range("expirationDate", expiration_date).graphql()?,
                ..SearchParams::default()
            };
            search(
                ctx,
                Endpoint::TradeArticles,
                params,
                limit,
                offset,
                TradeArticle,
            )
            .await
        };
        Some(page.await)
    }

    /// The environmental toolkit's issues (seed-era API only; retired 2017).
    #[allow(clippy::too_many_arguments)]
    async fn environmental_issues(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Ids; any of them matches.")] ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental solutions the records are linked to; any of them matches."
        )]
        solution_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental regulations the records are linked to; any of them matches."
        )]
        regulation_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<EnvironmentalIssue>>> {
        let page = async {
            let params =
                toolkit_params(query, ids, None, solution_ids, regulation_ids).graphql()?;
            let endpoint = Endpoint::Envirotech(EnvirotechKind::Issues);
            search(ctx, endpoint, params, limit, offset, EnvironmentalIssue).await
        };
        Some(page.await)
    }

    /// The environmental toolkit's solutions.
    #[allow(clippy::too_many_arguments)]
    async fn environmental_solutions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Ids; any of them matches.")] ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental issues the records are linked to; any of them matches."
        )]
        issue_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental regulations the records are linked to; any of them matches."
        )]
        regulation_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<EnvironmentalSolution>>> {
        let page = async {
            let params = toolkit_params(query, ids, issue_ids, None, regulation_ids).graphql()?;
            let endpoint = Endpoint::Envirotech(EnvirotechKind::Solutions);
            search(ctx, endpoint, params, limit, offset, EnvironmentalSolution).await
        };
        Some(page.await)
    }

    /// The environmental toolkit's regulations.
    #[allow(clippy::too_many_arguments)]
    async fn environmental_regulations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Ids; any of them matches.")] ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental issues the records are linked to; any of them matches."
        )]
        issue_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Ids of environmental solutions the records are linked to; any of them matches."
        )]
        solution_ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<EnvironmentalRegulation>>> {
        let page = async {
            let params = toolkit_params(query, ids, issue_ids, solution_ids, None).graphql()?;
            let endpoint = Endpoint::Envirotech(EnvirotechKind::Regulations);
            search(
                ctx,
                endpoint,
                params,
                limit,
                offset,
                EnvironmentalRegulation,
            )
            .await
        };
        Some(page.await)
    }

    /// The environmental toolkit's providers.
    async fn environmental_providers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(desc = "Ids; any of them matches.")] ids: Option<Vec<i32>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<DatasetPage<EnvironmentalProvider>>> {
        let page = async {
            let params = toolkit_params(query, ids, None, None, None).graphql()?;
            let endpoint = Endpoint::Envirotech(EnvirotechKind::Providers);
            search(ctx, endpoint, params, limit, offset, EnvironmentalProvider).await
        };
        Some(page.await)
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// Records one toolkit record links to at most: the production toolkit had
    /// 12 issues, 12 regulations and 99 solutions (a handful per issue), and
    /// 554 provider-solution links (a solution's providers are the most).
    const TOOLKIT_LINKS: u64 = 25;
    const TOOLKIT_PROVIDERS: u64 = 60;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing { parent, field, .. } = *pricing;
        let asks = |source, kind| pricing.asks(source, kind);
        match (parent, field) {
            // The toolkit's links: one search per kind and operation (two
            // for providers, through their provider-solution links).
            (
                "EnvironmentalIssue"
                | "EnvironmentalSolution"
                | "EnvironmentalRegulation"
                | "EnvironmentalProvider"
                | "EnvironmentalLink",
                "regulations" | "solutions" | "analysisLinks" | "backgroundLinks" | "issues"
                | "providers",
            ) => {
                rule.list_bound = Some(if field == "providers" {
                    TOOLKIT_PROVIDERS
                } else {
                    TOOLKIT_LINKS
                });
                let pages = if matches!(
                    (parent, field),
                    ("EnvironmentalSolution", "providers") | ("EnvironmentalProvider", "solutions")
                ) {
                    2
                } else {
                    1
                };
                rule.demand = asks(Source::Ita, DemandKind::Fixed { pages });
            }
            ("MarketResearchReport" | "TradeArticle", "countries") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
