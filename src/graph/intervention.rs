//! GTA interventions in the graph: the `interventions` search, the
//! `InterventionFilter` input (every filter of GTA's data endpoint, typed), and
//! the `Intervention` type, which links back to `Jurisdiction` nodes.

use std::sync::Arc;

use crate::sources::gta::model::AffectedFlowKind;

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};

use super::context::{operation, report_beside, sources};
use super::jurisdiction::Jurisdiction;
use super::vocabulary::{
    AffectedFlow, EligibleFirms, GtaEvaluation, ImplementationLevel, InterventionType, MastChapter,
};
use crate::countries;
use crate::error::{Error, GraphqlResult};
use crate::sources::gta::{self, DateRange, InterventionQuery, RequestData, Sorting};

pub use super::paging::page_bounds;
/// Largest `limit` of the top-level search (paged upstream in requests of 1000).
pub const MAX_SEARCH_LIMIT: i32 = 10_000;
/// Largest `limit` per jurisdiction on `Jurisdiction.interventions*`.
pub const MAX_JURISDICTION_LIMIT: i32 = 1000;

/// A date range; either end may be left out for "any date".
#[derive(InputObject, Clone, Debug, Default)]
pub struct DateRangeInput {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
}

/// Filters of GTA's data endpoint. Jurisdictions are given as GTA ids, ISO
/// codes or names; coded values as enums. Each `keep*` flag turns its filter
/// from "only these" (true, GTA's default) into "all but these" (false) and
/// needs its filter set.
#[derive(InputObject, Clone, Debug, Default)]
pub struct InterventionFilter {
    /// GTA evaluations to include (`gta_evaluation`).
    pub gta_evaluation: Option<Vec<GtaEvaluation>>,
    /// Affected trade flows (`affected_flow`).
    pub affected_flow: Option<Vec<AffectedFlow>>,
    /// Affected jurisdictions (`affected`).
    pub affected: Option<Vec<String>>,
    /// Whether `affected` keeps (true, the default) or excludes (false) the jurisdictions it names.
    pub keep_affected: Option<bool>,
    /// Implementing jurisdictions (`implementer`).
    pub implementer: Option<Vec<String>>,
    /// Whether `implementer` keeps (true, the default) or excludes (false) the jurisdictions it names.
    pub keep_implementer: Option<bool>,
    /// Intervention types (`intervention_types`).
    pub intervention_types: Option<Vec<InterventionType>>,
    /// Whether `interventionTypes` keeps (true) or excludes (false) the types it names.
    pub keep_intervention_types: Option<bool>,
    /// MAST chapters (`mast_chapters`).
    pub mast_chapters: Option<Vec<MastChapter>>,
    /// Whether `mastChapters` keeps (true) or excludes (false) the chapters it names.
    pub keep_mast_chapters: Option<bool>,
    /// Levels of government (`implementation_level`).
    pub implementation_level: Option<Vec<ImplementationLevel>>,
    /// Whether `implementationLevel` keeps (true) or excludes (false) the levels it names.
    pub keep_implementation_level: Option<bool>,
    /// Eligible firms (`eligible_firms`).
    pub eligible_firms: Option<Vec<EligibleFirms>>,
    /// Whether `eligibleFirms` keeps (true) or excludes (false) the values it names.
    pub keep_eligible_firms: Option<bool>,
    /// When the intervention was announced (`announcement_period`).
    pub announcement_period: Option<DateRangeInput>,
    /// When it was implemented (`implementation_period`).
    pub implementation_period: Option<DateRangeInput>,
    /// Keep interventions without an implementation date (default true).
    pub keep_implementation_na: Option<bool>,
    /// When it was revoked (`revocation_period`).
    pub revocation_period: Option<DateRangeInput>,
    /// Keep interventions without a revocation date (default true).
    pub keep_revocation_na: Option<bool>,
    /// When it was published in GTA (`submission_period`).
    pub submission_period: Option<DateRangeInput>,
    /// A day on which the intervention was in force, `YYYY-MM-DD` (`in_force_on_date`).
    pub in_force_on_date: Option<String>,
    /// Whether `inForceOnDate` keeps (true) the interventions in force on that day or excludes (false) them.
    pub keep_in_force_on_date: Option<bool>,
    /// CPC sector codes (`affected_sectors`), e.g. 341.
    pub affected_sectors: Option<Vec<i32>>,
    /// Whether `affectedSectors` keeps (true) or excludes (false) the sectors it names.
    pub keep_affected_sectors: Option<bool>,
    /// HS product codes (`affected_products`), e.g. 292149.
    pub affected_products: Option<Vec<i32>>,
    /// Whether `affectedProducts` keeps (true) or excludes (false) the products it names.
    pub keep_affected_products: Option<bool>,
    /// Intervention ids (`intervention_id`).
    pub intervention_ids: Option<Vec<i32>>,
    /// Whether `interventionIds` keeps (true) or excludes (false) the ids it names.
    pub keep_intervention_ids: Option<bool>,
    /// Drop interventions published after this day of their year, `YYYY-MM-DD`;
    /// the year is ignored (`lag_adjustment`).
    pub lag_adjustment: Option<String>,
    /// Full-text search in titles and descriptions (GTA v2 API only).
    pub query: Option<String>,
    /// When the intervention was last updated (GTA v2 API only).
    pub update_period: Option<DateRangeInput>,
}

impl InterventionFilter {
    /// The GTA `request_data` for this filter, or a clear error; no upstream
    /// is asked before this succeeds.
    pub fn to_request_data(&self) -> Result<RequestData, Error> {
        Ok(RequestData {
            gta_evaluation: ids("gtaEvaluation", &self.gta_evaluation, |v| v.gta_id())?,
            affected_flow: ids("affectedFlow", &self.affected_flow, |v| v.gta_id())?,
            affected: jurisdictions("affected", &self.affected)?,
            keep_affected: keep("keepAffected", self.keep_affected, &self.affected)?,
            implementer: jurisdictions("implementer", &self.implementer)?,
            keep_implementer: keep("keepImplementer", self.keep_implementer, &self.implementer)?,
            intervention_types: ids("interventionTypes", &self.intervention_types, |v| {
                v.gta_id()
            })?,
            keep_intervention_types: keep(
                "keepInterventionTypes",
                self.keep_intervention_types,
                &self.intervention_types,
            )?,
            mast_chapters: ids("mastChapters", &self.mast_chapters, |v| v.gta_id())?,
            keep_mast_chapters: keep(
                "keepMastChapters",
                self.keep_mast_chapters,
                &self.mast_chapters,
            )?,
            implementation_level: ids("implementationLevel", &self.implementation_level, |v| {
                v.gta_id()
            })?,
            keep_implementation_level: keep(
                "keepImplementationLevel",
                self.keep_implementation_level,
                &self.implementation_level,
            )?,
            eligible_firms: ids("eligibleFirms", &self.eligible_firms, |v| v.gta_id())?,
            keep_eligible_firms: keep(
                "keepEligibleFirms",
                self.keep_eligible_firms,
                &self.eligible_firms,
            )?,
            announcement_period: range("announcementPeriod", &self.announcement_period)?,
            implementation_period: range("implementationPeriod", &self.implementation_period)?,
            keep_implementation_na: self.keep_implementation_na,
            revocation_period: range("revocationPeriod", &self.revocation_period)?,
            keep_revocation_na: self.keep_revocation_na,
            submission_period: range("submissionPeriod", &self.submission_period)?,
            in_force_on_date: self
                .in_force_on_date
                .as_deref()
                .map(|day| date("inForceOnDate", day))
                .transpose()?,
            keep_in_force_on_date: keep(
                "keepInForceOnDate",
                self.keep_in_force_on_date,
                &self.in_force_on_date,
            )?,
            affected_sectors: codes("affectedSectors", &self.affected_sectors, 999)?,
            keep_affected_sectors: keep(
                "keepAffectedSectors",
                self.keep_affected_sectors,
                &self.affected_sectors,
            )?,
            affected_products: codes("affectedProducts", &self.affected_products, 999_999)?,
            keep_affected_products: keep(
                "keepAffectedProducts",
                self.keep_affected_products,
                &self.affected_products,
            )?,
            intervention_id: codes("interventionIds", &self.intervention_ids, u32::MAX)?,
            keep_intervention_id: keep(
                "keepInterventionIds",
                self.keep_intervention_ids,
                &self.intervention_ids,
            )?,
            lag_adjustment: self
                .lag_adjustment
                .as_deref()
                .map(|day| date("lagAdjustment", day))
                .transpose()?,
            query: match self.query.as_deref().map(str::trim) {
                Some("") => {
                    return Err(Error::bad_input(
                        "query is empty: leave it out to search everything",
                    ))
                }
                other => other.map(str::to_owned),
            },
            update_period: range("updatePeriod", &self.update_period)?,
        })
    }
}

fn non_empty<'a, T>(field: &str, list: &'a Option<Vec<T>>) -> Result<Option<&'a [T]>, Error> {
    match list {
        Some(list) if list.is_empty() => Err(Error::bad_input(format!(
            "{field} is an empty list: leave it out to not filter by it"
        ))),
        Some(list) => Ok(Some(list)),
        None => Ok(None),
    }
}

fn ids<T: Copy>(
    field: &str,
    list: &Option<Vec<T>>,
    id: impl Fn(T) -> u16,
) -> Result<Option<Vec<u16>>, Error> {
    Ok(non_empty(field, list)?.map(|values| {
        let mut ids: Vec<u16> = values.iter().map(|value| id(*value)).collect();
        ids.dedup();
        ids
    }))
}

/// Jurisdictions for GTA's `implementer`/`affected`: any country spelling,
/// or the EU as a bloc (GTA's 1049: the measures the EU itself takes, which
/// GTA records apart from its members').
pub(super) fn jurisdictions(
    field: &str,
    list: &Option<Vec<String>>,
) -> Result<Option<Vec<u16>>, Error> {
    non_empty(field, list)?
        .map(|given| {
            let mut ids: Vec<u16> = Vec::with_capacity(given.len());
            for text in given {
                let id = match countries::bloc(text) {
                    Some(bloc) => bloc.gta_id,
                    None => {
                        let country = countries::resolve_all(std::slice::from_ref(text))
                            .map_err(|unknown| Error::bad_input(format!("{field}: {unknown}")))?[0];
                        if !country.in_gta() {
                            return Err(Error::bad_input(format!(
                                "{field}: {} is not a GTA jurisdiction ({}); GTA records no measures for it",
                                country.name, country.note
                            )));
                        }
                        country.id.0
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(ids)
        })
        .transpose()
}

fn codes(field: &str, list: &Option<Vec<i32>>, max: u32) -> Result<Option<Vec<u32>>, Error> {
    non_empty(field, list)?
        .map(|given| {
            given
                .iter()
                .map(|code| {
                    u32::try_from(*code)
                        .ok()
                        .filter(|code| *code <= max)
                        .ok_or_else(|| {
                            Error::bad_input(format!(
                                "{field}: {code} is not a valid code (0..={max})"
                            ))
                        })
                })
                .collect()
        })
        .transpose()
}

fn keep<T>(field: &str, keep: Option<bool>, filter: &Option<T>) -> Result<Option<bool>, Error> {
    if keep.is_some() && filter.is_none() {
        let filter_name = field.trim_start_matches("keep");
        return Err(Error::bad_input(format!(
            "{field} needs its filter ({}{}) to be set",
            filter_name[..1].to_lowercase(),
            &filter_name[1..]
        )));
    }
    Ok(keep)
}

fn range(field: &str, range: &Option<DateRangeInput>) -> Result<Option<DateRange>, Error> {
    let Some(range) = range else { return Ok(None) };
    let from = range.from.as_deref().map(|d| date(field, d)).transpose()?;
    let to = range.to.as_deref().map(|d| date(field, d)).transpose()?;
    if let (Some(from), Some(to)) = (&from, &to) {
        if from > to {
            return Err(Error::bad_input(format!(
                "{field}: from {from} is after to {to}"
            )));
        }
    }
    Ok(Some(DateRange(from, to)))
}

/// Checks a `YYYY-MM-DD` day (calendar-valid) and returns it as GTA takes it.
pub fn date(field: &str, text: &str) -> Result<String, Error> {
    let invalid = || {
        Error::bad_input(format!(
            "{field}: {text:?} is not a date in the form YYYY-MM-DD"
        ))
    };
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(invalid());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(invalid());
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(invalid());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if day == 0 || day > days_in_month {
        return Err(invalid());
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// A field interventions can be sorted by.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterventionSortField {
    /// When the intervention was announced.
    DateAnnounced,
    /// When GTA published its record.
    DatePublished,
    /// When it came into force.
    DateImplemented,
    /// When it was removed.
    DateRemoved,
    /// GTA's intervention id.
    InterventionId,
    /// When GTA last updated its record (GTA v2).
    LastUpdated,
}

impl InterventionSortField {
    fn key(self) -> gta::SortKey {
        match self {
            Self::DateAnnounced => gta::SortKey::DateAnnounced,
            Self::DatePublished => gta::SortKey::DatePublished,
            Self::DateImplemented => gta::SortKey::DateImplemented,
            Self::DateRemoved => gta::SortKey::DateRemoved,
            Self::InterventionId => gta::SortKey::InterventionId,
            Self::LastUpdated => gta::SortKey::LastUpdated,
        }
    }
}

/// Which way a sort key orders.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortDirection {
    /// Smallest (earliest) first.
    Asc,
    /// Largest (latest) first.
    Desc,
}

/// One key of an order, with its direction.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct InterventionOrder {
    /// The field to sort by.
    pub field: InterventionSortField,
    /// Which way (default: descending, newest first).
    #[graphql(default_with = "SortDirection::Desc")]
    pub direction: SortDirection,
}

/// Builds the upstream query of a search from its GraphQL arguments.
pub fn intervention_query(
    filter: Option<&InterventionFilter>,
    sort: Option<&[String]>,
    order_by: Option<&[InterventionOrder]>,
) -> Result<InterventionQuery, Error> {
    let request_data = filter
        .map(InterventionFilter::to_request_data)
        .transpose()?
        .unwrap_or_default();
    let sorting = match (sort, order_by) {
        (Some(_), Some(_)) => {
            return Err(Error::bad_input(
                "give orderBy or sort (deprecated), not both",
            ))
        }
        (Some(sort), None) => Sorting::parse(sort),
        (None, Some(order)) => Sorting::from_keys(
            order
                .iter()
                .map(|clause| (clause.field.key(), clause.direction == SortDirection::Desc))
                .collect(),
        ),
        (None, None) => Ok(Sorting::newest_first()),
    }
    .map_err(Error::BadInput)?;
    Ok(InterventionQuery {
        request_data,
        sorting,
    })
}

/// A page of interventions.
pub struct InterventionPage {
    pub records: Vec<Intervention>,
    pub total_count: Option<i64>,
    /// Records GTA sent that could not be read, said beside `items`.
    pub unreadable: Vec<String>,
}

/// A page of interventions.
#[Object]
impl InterventionPage {
    /// The records of this page.
    async fn items(&self, ctx: &Context<'_>) -> &Vec<Intervention> {
        if !self.unreadable.is_empty() {
            // The readable records are answered; the others are named.
            report_beside(ctx, gta::model::unreadable_records(&self.unreadable));
        }
        &self.records
    }
    /// How many interventions match in all. Null when GTA did not say: its v1
    /// API returns no count, so it is known only when the results ran out
    /// within the pages fetched.
    async fn total_count(&self) -> Option<i64> {
        self.total_count
    }
}

impl InterventionPage {
    /// The page of a search by `query`: a filter on one affected flow is
    /// GTA's filing of every record it returns.
    pub fn found_by(mut self, query: &gta::InterventionQuery) -> Self {
        let flow = match query.request_data.affected_flow.as_deref() {
            Some([1]) => Some(AffectedFlowKind::Inward),
            Some([2]) => Some(AffectedFlowKind::Outward),
            Some([3]) => Some(AffectedFlowKind::OutwardSubsidy),
            _ => None,
        };
        for record in &mut self.records {
            record.1 = flow;
        }
        self
    }
}

impl From<gta::InterventionPage> for InterventionPage {
    fn from(page: gta::InterventionPage) -> Self {
        Self {
            records: page
                .interventions
                .into_iter()
                .map(Intervention::new)
                .collect(),
            total_count: page.total.and_then(|total| i64::try_from(total).ok()),
            unreadable: page.unreadable,
        }
    }
}

/// A trade policy intervention recorded by Global Trade Alert.
pub struct Intervention(
    pub Arc<gta::Intervention>,
    /// The flow the search that found it filtered on (`affectedFlow` with
    /// one value): GTA's own filing of the record, which `affectedTrade`
    /// follows before the flow its type suggests.
    pub Option<AffectedFlowKind>,
);

impl Intervention {
    /// The node of a record found without a flow filter.
    pub fn new(record: Arc<gta::Intervention>) -> Self {
        Self(record, None)
    }
}

/// A versioned text (description or source) with its edit history.
#[derive(SimpleObject)]
pub struct DatedText {
    /// The text.
    pub text: String,
    /// "new", "changed"... (GTA v2).
    pub status: Option<String>,
    /// When this entry was last modified (GTA v2).
    pub modified: Option<String>,
}

/// A CPC sector an intervention affects.
#[derive(SimpleObject)]
pub struct AffectedSector {
    /// The CPC code, e.g. 341.
    pub cpc_code: i64,
    /// The CPC description (current GTA API).
    pub name: Option<String>,
}

/// A product an intervention affects.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AffectedProduct {
    /// The six-digit HS code, zero-padded ("010121").
    pub hs_code: String,
    /// The HS description (current GTA API, full access).
    pub name: Option<String>,
    /// Tariff level before the intervention (full GTA access only).
    pub prior_level: Option<String>,
    /// Tariff level after the intervention (full GTA access only).
    pub new_level: Option<String>,
    /// The unit of the tariff line's rates.
    pub unit: Option<String>,
    /// When the change took effect for this product (current GTA API).
    pub date_implemented: Option<String>,
    /// When the intervention was removed (YYYY-MM-DD); null while in force.
    pub date_removed: Option<String>,
}

#[ComplexObject]
impl AffectedProduct {
    /// The HS chapter (first two digits).
    async fn hs_chapter(&self) -> &str {
        self.hs_code.get(..2).unwrap_or(&self.hs_code)
    }
    /// The product as a node of Comtrade's HS list: its description,
    /// heading and chapter, its flows and the other measures that name it.
    /// Null when the list lacks the code.
    async fn commodity(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<super::commodity::Commodity>>> {
        Some(super::commodity::hs_commodity(ctx, &self.hs_code).await)
    }
}

fn joined(texts: &[gta::model::DatedText]) -> Option<String> {
    (!texts.is_empty()).then(|| {
        texts
            .iter()
            .map(|entry| entry.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    })
}

fn dated(texts: &[gta::model::DatedText]) -> Vec<DatedText> {
    texts
        .iter()
        .map(|entry| DatedText {
            text: entry.text.clone(),
            status: entry.status.clone(),
            modified: entry.modified.clone(),
        })
        .collect()
}

/// A trade policy intervention recorded by Global Trade Alert: a tariff,
/// subsidy, export ban, anti-dumping duty or other measure, with who
/// implemented it, whom it affects, its dates, products and GTA's evaluation.
#[Object]
impl Intervention {
    /// GTA's intervention id.
    async fn id(&self) -> i64 {
        i64::from(self.0.id)
    }
    /// The title of the state act the intervention belongs to.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The description as GTA writes it (HTML), all entries joined.
    async fn description(&self) -> Option<String> {
        joined(&self.0.description)
    }
    /// The description's entries with their edit dates (GTA v2).
    async fn description_entries(&self) -> Vec<DatedText> {
        dated(&self.0.description)
    }
    /// The sources GTA cites, all entries joined.
    async fn sources(&self) -> Option<String> {
        joined(&self.0.sources)
    }
    /// The sources' entries with their edit dates (GTA v2).
    async fn source_entries(&self) -> Vec<DatedText> {
        dated(&self.0.sources)
    }
    /// Whether the sources are official.
    async fn is_official_source(&self) -> Option<bool> {
        self.0.is_official_source
    }
    /// "Red" (harmful), "Amber" (likely harmful) or "Green" (liberalising).
    async fn evaluation(&self) -> Option<&str> {
        self.0.evaluation.as_deref()
    }
    /// GTA's intervention type label, e.g. "Import tariff".
    async fn intervention_type(&self) -> Option<&str> {
        self.0.intervention_type.as_deref()
    }
    /// `evaluation` as the value the `gtaEvaluation` filter takes (`RED`),
    /// so a client can search for more like it; null for a label this
    /// gateway does not know yet (`evaluation` still has it).
    async fn evaluation_code(&self) -> Option<GtaEvaluation> {
        GtaEvaluation::from_label(self.0.evaluation.as_deref()?)
    }
    /// `interventionType` as the value the `interventionTypes` filter takes
    /// (`IMPORT_TARIFF`); null for a label this gateway does not know yet.
    async fn intervention_type_code(&self) -> Option<InterventionType> {
        InterventionType::from_label(self.0.intervention_type.as_deref()?)
    }
    /// `mastChapter` as the value the `mastChapters` filter takes; null for
    /// a label this gateway does not know yet.
    async fn mast_chapter_code(&self) -> Option<MastChapter> {
        MastChapter::from_label(self.0.mast_chapter.as_deref()?)
    }
    /// `implementationLevel` as the value the `implementationLevel` filter
    /// takes; null for a label this gateway does not know yet.
    async fn implementation_level_code(&self) -> Option<ImplementationLevel> {
        ImplementationLevel::from_label(self.0.implementation_level.as_deref()?)
    }
    /// `eligibleFirm` as the value the `eligibleFirms` filter takes; null
    /// for a label this gateway does not know yet.
    async fn eligible_firm_code(&self) -> Option<EligibleFirms> {
        EligibleFirms::from_label(self.0.eligible_firm.as_deref()?)
    }
    /// The UNCTAD MAST chapter of the measure (e.g. "D: Contingent trade-protective measures").
    async fn mast_chapter(&self) -> Option<&str> {
        self.0.mast_chapter.as_deref()
    }
    /// The MAST subchapter of the measure.
    async fn mast_subchapter(&self) -> Option<&str> {
        self.0.mast_subchapter.as_deref()
    }
    /// The level of government that implemented it (national, subnational, supranational...).
    async fn implementation_level(&self) -> Option<&str> {
        self.0.implementation_level.as_deref()
    }
    /// Which firms the intervention applies to (GTA's eligible firms: all, SMEs, a named firm...).
    async fn eligible_firm(&self) -> Option<&str> {
        self.0.eligible_firm.as_deref()
    }
    /// The jurisdictions that implemented it.
    async fn implementing_jurisdictions(&self) -> Vec<Jurisdiction> {
        self.0
            .implementers
            .iter()
            .map(Jurisdiction::from_gta)
            .collect()
    }
    /// Groups the implementers acted as, e.g. "European Union".
    async fn implementing_groups(&self) -> Vec<&str> {
        self.0
            .implementer_groups
            .iter()
            .map(|group| group.name.as_str())
            .collect()
    }
    /// The jurisdictions whose commercial interests it affects.
    async fn affected_jurisdictions(&self) -> Vec<Jurisdiction> {
        self.0.affected.iter().map(Jurisdiction::from_gta).collect()
    }
    /// Whether GTA inferred the affected jurisdictions from trade data (v2).
    async fn inferred_jurisdictions(&self) -> Option<&str> {
        self.0.inferred_jurisdictions.as_deref()
    }
    /// The CPC sectors it affects.
    async fn affected_sectors(&self) -> Vec<AffectedSector> {
        self.0
            .affected_sectors
            .iter()
            .map(|sector| AffectedSector {
                cpc_code: i64::from(sector.cpc_code),
                name: sector.name.clone(),
            })
            .collect()
    }
    /// The products the intervention affects, as HS codes with their tariff lines where GTA gives them.
    // Entries GTA sent without a readable HS code are left out, and named
    // in an error (UPSTREAM_BAD_RESPONSE) beside the products that were
    // read (docs/products.md).
    async fn affected_products(&self, ctx: &Context<'_>) -> Vec<AffectedProduct> {
        let unreadable = &self.0.affected_products.unreadable;
        if !unreadable.is_empty() {
            let error = crate::error::Error::UpstreamBadResponse {
                upstream: crate::source::Source::Gta,
                path: format!("results[id={}].affected_products", self.0.id),
                detail: format!(
                    "{} entr{} without a readable HS code, left out: {}",
                    unreadable.len(),
                    if unreadable.len() == 1 { "y" } else { "ies" },
                    crate::sources::gta::model::cut_list(unreadable)
                ),
            };
            report_beside(ctx, error);
        }
        self.0
            .affected_products
            .iter()
            .map(|product| AffectedProduct {
                // GTA writes HS6 codes as numbers (10121 is 010121); a
                // number of another length (a heading 8704, a national line)
                // is shown as GTA gave it, not padded into another code.
                hs_code: if (10_000..=999_999).contains(&product.hs_code) {
                    format!("{:06}", product.hs_code)
                } else {
                    product.hs_code.to_string()
                },
                name: product.name.clone(),
                prior_level: product.prior_level.clone(),
                new_level: product.new_level.clone(),
                unit: product.unit.clone(),
                date_implemented: product.date_implemented.clone(),
                date_removed: product.date_removed.clone(),
            })
            .collect()
    }
    /// `YYYY-MM-DD`.
    async fn date_announced(&self) -> Option<&str> {
        self.0.date_announced.as_deref()
    }
    /// When GTA published its record of the intervention (YYYY-MM-DD).
    async fn date_published(&self) -> Option<&str> {
        self.0.date_published.as_deref()
    }
    /// When the intervention came into force (YYYY-MM-DD); null if it never did.
    async fn date_implemented(&self) -> Option<&str> {
        self.0.date_implemented.as_deref()
    }
    /// When the intervention was removed (YYYY-MM-DD); null while in force.
    async fn date_removed(&self) -> Option<&str> {
        self.0.date_removed.as_deref()
    }
    /// Whether the intervention is in force today, as GTA says.
    async fn is_in_force(&self) -> Option<bool> {
        self.0.is_in_force
    }
    /// When GTA last changed the record (v2).
    async fn last_updated(&self) -> Option<&str> {
        self.0.last_updated.as_deref()
    }
    /// The trade the intervention hits, from UN Comtrade by GTA's own
    /// method: for an inward measure the implementers' imports from the
    /// affected jurisdictions of the affected HS6 products, for an outward
    /// one their exports to them, in `year` (default: the year before the
    /// announcement, or the latest the implementers have published). The
    /// flow is derived from the intervention type unless `flow` names it;
    /// an outward subsidy is not summed (`method` says why). Every
    /// `affectedTrade` of an operation is one Comtrade plan: one request per
    /// (implementer, year, flow) at most, fewer where they can share.
    async fn affected_trade(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The year to sum (default: the year before the announcement, falling back to the latest the implementers have published)."
        )]
        year: Option<i32>,
        #[graphql(
            desc = "The flow the measure affects (default: GTA's own filing when the search that found it filtered on one affectedFlow, else derived from the intervention type, as GTA's records do not carry it)."
        )]
        flow: Option<AffectedFlow>,
    ) -> Option<async_graphql::Result<super::affected_trade::AffectedTrade>> {
        Some(super::affected_trade::affected_trade(ctx, &self.0, self.1, year, flow).await)
    }
    /// The intervention's page on globaltradealert.org.
    async fn url(&self) -> Option<&str> {
        self.0.intervention_url.as_deref()
    }
    /// GTA's id of the state act the intervention belongs to (one act may hold several interventions).
    async fn state_act_id(&self) -> Option<i64> {
        self.0.state_act_id.map(i64::from)
    }
    /// The state act's page on globaltradealert.org.
    async fn state_act_url(&self) -> Option<&str> {
        self.0.state_act_url.as_deref()
    }
}

/// The top-level intervention queries.
#[derive(Default)]
pub struct InterventionQueries;

#[Object]
impl InterventionQueries {
    /// Searches GTA's interventions, in the order `orderBy` gives (default
    /// newest announcement first). `limit` (default 20, at most 10000) is
    /// paged upstream in requests of 1000. Null, with an error naming the
    /// source, when GTA fails; other root fields keep their data.
    async fn interventions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GTA's filters, typed: implementers, affected jurisdictions, types, evaluations, periods and the rest; all given must match."
        )]
        filter: Option<InterventionFilter>,
        #[graphql(
            deprecation = "use orderBy, which takes typed keys and directions",
            desc = "Sort keys as GTA writes them: a field name, `-` first for descending (e.g. \"-date_announced\"). Deprecated: use orderBy."
        )]
        sort: Option<Vec<String>>,
        #[graphql(
            desc = "The order of the results: keys with their directions, the first deciding first (default: newest announcement first). Ties are broken by intervention id, so that pages never overlap."
        )]
        order_by: Option<Vec<InterventionOrder>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<InterventionPage>> {
        let search = async {
            let (limit, offset) = page_bounds(limit, offset, MAX_SEARCH_LIMIT).graphql()?;
            let query = intervention_query(filter.as_ref(), sort.as_deref(), order_by.as_deref())
                .graphql()?;
            let gta = &sources(ctx)?.gta;
            let usage = &operation(ctx)?.usage;
            let page = gta
                .fetch(&query, u64::from(limit), u64::from(offset), usage)
                .await
                .graphql()?;
            Ok(InterventionPage::from(page).found_by(&query))
        };
        Some(search.await)
    }

    /// One intervention by its GTA id, or null.
    async fn intervention(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GTA's intervention id.")] id: i32,
    ) -> Option<async_graphql::Result<Intervention>> {
        self.find_intervention(ctx, id).await.transpose()
    }
}

impl InterventionQueries {
    async fn find_intervention(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<Intervention>> {
        let id = u32::try_from(id)
            .map_err(|_| Error::bad_input(format!("id must not be negative, got {id}")))
            .graphql()?;
        let query = InterventionQuery {
            request_data: RequestData {
                intervention_id: Some(vec![id]),
                ..RequestData::default()
            },
            sorting: Sorting::newest_first(),
        };
        let page = sources(ctx)?
            .gta
            .fetch(&query, 1, 0, &operation(ctx)?.usage)
            .await
            .graphql()?;
        // The record asked for (an upstream that ignored the filter must
        // not answer another one in its place).
        match page.interventions.into_iter().find(|found| found.id == id) {
            Some(intervention) => Ok(Some(Intervention::new(intervention))),
            // The record was sent but could not be read: said, not null.
            None if !page.unreadable.is_empty() => {
                Err(gta::model::unreadable_records(&page.unreadable)).graphql()
            }
            None => Ok(None),
        }
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// CPC groups (three digits): the most sectors one intervention can name.
    const CPC_SECTORS: u64 = 400;
    /// Dated description and source entries of one intervention.
    const DATED_ENTRIES: u64 = 50;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing {
            rules,
            parent,
            field,
            arguments,
            ..
        } = *pricing;
        let asks = |source, kind| pricing.asks(source, kind);
        match (parent, field) {
            ("Query", "interventions") => {
                let limit = limit(arguments, MAX_SEARCH_LIMIT);
                rule.page_limit = Some(limit);
                rule.demand = asks(
                    Source::Gta,
                    DemandKind::Fixed {
                        pages: pages(limit, u64::from(GTA_PAGE)),
                    },
                );
            }
            ("Query", "intervention") => {
                rule.demand = asks(Source::Gta, DemandKind::Fixed { pages: 1 });
            }
            ("Intervention", "implementingJurisdictions" | "affectedJurisdictions") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            ("Intervention", "affectedProducts") => rule.list_bound = Some(HS_SUBHEADINGS),
            ("Intervention", "affectedSectors") => rule.list_bound = Some(CPC_SECTORS),
            ("Intervention", "descriptionEntries" | "sourceEntries") => {
                rule.list_bound = Some(DATED_ENTRIES);
            }
            // Every affectedTrade of the operation is one plan, kept within
            // the allowance the loader is given: at most so many requests a
            // measure, and the allowance for all of them.
            ("Intervention", "affectedTrade") => {
                rule.demand = Some(Demand {
                    source: Source::Comtrade,
                    group: "Intervention.affectedTrade".to_owned(),
                    kind: DemandKind::Capped {
                        per_parent: coverage::REQUESTS_PER_QUESTION,
                        cap: coverage::allowance(rules.comtrade_max),
                    },
                });
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(date("d", "2024-02-29").unwrap(), "2024-02-29");
        assert!(date("d", "2023-02-29").is_err());
        assert!(date("d", "2023-13-01").is_err());
        assert!(date("d", "23-01-01").is_err());
        assert!(date("d", "yesterday").is_err());
    }

    #[test]
    fn keep_flags_need_their_filter() {
        let filter = InterventionFilter {
            keep_affected: Some(false),
            ..InterventionFilter::default()
        };
        let error = filter.to_request_data().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("keepAffected needs its filter (affected)"),
            "{error}"
        );
    }

    #[test]
    fn filters_resolve_countries_and_enums_to_gta_ids() {
        let filter = InterventionFilter {
            implementer: Some(vec!["US".into(), "France".into(), "699".into()]),
            intervention_types: Some(vec![InterventionType::ImportTariff]),
            gta_evaluation: Some(vec![GtaEvaluation::Red, GtaEvaluation::Amber]),
            ..InterventionFilter::default()
        };
        let data = filter.to_request_data().unwrap();
        assert_eq!(data.implementer, Some(vec![840, 251, 699]));
        assert_eq!(data.intervention_types, Some(vec![47]));
        assert_eq!(data.gta_evaluation, Some(vec![1, 2]));
        let unknown = InterventionFilter {
            affected: Some(vec!["Atlantis".into()]),
            ..InterventionFilter::default()
        };
        assert!(unknown
            .to_request_data()
            .unwrap_err()
            .to_string()
            .contains("Atlantis"));
    }
}
