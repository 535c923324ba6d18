//! UN Comtrade flows in the graph: `tradeFlows`, `Jurisdiction.tradeFlows`,
//! `dataAvailability`, and the `TradeFlow` type, whose reporter and partner
//! link back to jurisdiction nodes through the crosswalk.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::context::{operation, sources};
use super::jurisdiction::Jurisdiction;
use crate::countries::{self, AreaRole, ComtradeDialect, Country, ReporterCode};
use crate::error::{Error, GraphqlResult};
use crate::sources::comtrade::model::AvailabilityRecord;
use crate::sources::comtrade::reporters::ReporterArea;
use crate::sources::comtrade::{
    self as comtrade, FlowShape, PartnerCode, Period, TradeFlowKey, TradeFlowRecord,
};

/// Most reporters one field may ask for; the request budget bounds the
/// rest (partners and periods: [`comtrade::ask`]).
const MAX_REPORTERS: usize = 300;

pub use crate::sources::comtrade::ask::{period_count, FlowArguments};

/// A trade-flow field's arguments as GraphQL gives them, checked
/// ([`FlowArguments::parse`], with the graph's defaults).
#[allow(clippy::too_many_arguments)]
pub fn flow_arguments(
    dialect: ComtradeDialect,
    partners: Option<&[String]>,
    periods: &[String],
    flow: Option<TradeFlowDirection>,
    commodities: Option<&[String]>,
    frequency: Option<Frequency>,
    classification: Option<&str>,
    trade_type: Option<TradeType>,
) -> Result<FlowArguments, Error> {
    FlowArguments::parse(
        dialect,
        partners,
        periods,
        flow.map(Into::into),
        commodities,
        frequency.unwrap_or_default().into(),
        classification,
        trade_type.unwrap_or_default().into(),
    )
}

/// The requests the planner makes for a trade-flow field asked on
/// `reporters` with `arguments` (as the cost step sees them;
/// [`comtrade::ask::planned_requests`]). `None` when the arguments do not
/// parse (the field then fails without a request).
pub(crate) fn planned_requests(
    dialect: ComtradeDialect,
    reporters: &[&'static Country],
    arguments: &crate::limits::cost::Arguments,
) -> Option<u64> {
    let flows = parsed_flow_arguments(dialect, arguments)?;
    Some(comtrade::ask::planned_requests(dialect, reporters, &flows))
}

/// What codes changing within a trade-flow field's periods can add, for
/// parents the estimate cannot name ([`comtrade::ask::code_changes`]);
/// `None` when the arguments do not parse.
pub(crate) fn code_changes(
    dialect: ComtradeDialect,
    arguments: &crate::limits::cost::Arguments,
) -> Option<(u64, u64)> {
    let flows = parsed_flow_arguments(dialect, arguments)?;
    Some(comtrade::ask::code_changes(dialect, &flows))
}

/// Direction of a trade flow, from the reporter's side. Without `flow`, a
/// field asks for IMPORT, EXPORT, RE_IMPORT and RE_EXPORT (the flows both
/// Comtrade API generations publish); the finer v1 flows are asked for by
/// name, and refused on the legacy API.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::sources::comtrade::FlowCode")]
pub enum TradeFlowDirection {
    /// Imports (Comtrade flow M).
    Import,
    /// Exports (Comtrade flow X).
    Export,
    /// Re-exports (Comtrade flow RX).
    ReExport,
    /// Re-imports (Comtrade flow RM).
    ReImport,
    /// v1 only (DX): exports of goods produced in the reporter.
    DomesticExport,
    /// v1 only (FM): imports of foreign goods (general trade system).
    ForeignImport,
    /// v1 only (MIP): imports of goods for inward processing.
    ImportForInwardProcessing,
    /// v1 only (MOP): imports of goods after outward processing.
    ImportAfterOutwardProcessing,
    /// v1 only (XIP): exports of goods after inward processing.
    ExportAfterInwardProcessing,
    /// v1 only (XOP): exports of goods for outward processing.
    ExportForOutwardProcessing,
}

/// Annual or monthly data.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Frequency {
    /// Yearly data.
    #[default]
    Annual,
    /// Monthly data.
    Monthly,
}

/// Goods (merchandise) or services trade.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TradeType {
    /// Trade in goods (Comtrade type C).
    #[default]
    Goods,
    /// Trade in services (Comtrade type S).
    Services,
}

impl From<Frequency> for comtrade::Frequency {
    fn from(frequency: Frequency) -> Self {
        match frequency {
            Frequency::Annual => Self::Annual,
            Frequency::Monthly => Self::Monthly,
        }
    }
}

impl From<TradeType> for comtrade::TradeType {
    fn from(trade_type: TradeType) -> Self {
        match trade_type {
            TradeType::Goods => Self::Goods,
            TradeType::Services => Self::Services,
        }
    }
}

/// The jurisdiction node for a Comtrade reporter code: the one Comtrade
/// publishes under its own code, else the first folded into it.
fn reporter_jurisdiction(dialect: ComtradeDialect, code: u16) -> Option<Jurisdiction> {
    countries::by_comtrade_area(dialect, ReporterCode(code)).map(Jurisdiction::Known)
}

/// The jurisdiction node for a Comtrade partner code (partner lists differ
/// from reporter lists: 630 is Puerto Rico on v1).
fn partner_jurisdiction(dialect: ComtradeDialect, code: u16) -> Option<Jurisdiction> {
    countries::by_comtrade_partner(dialect, ReporterCode(code)).map(Jurisdiction::Known)
}

/// "Comtrade area 278 (Dem. Rep. of Germany (...1990)) is a predecessor
/// area: part of Germany (DEU) in 1989; the rest is 280 (...)".
fn predecessor_area(code: u16, period: &str) -> Option<String> {
    let year: u16 = period.get(..4)?.parse().ok()?;
    let area = countries::former_code(ReporterCode(code))?;
    let others = countries::other_parts(ReporterCode(code), year);
    let [iso3] = area.covers else { return None };
    if others.is_empty() {
        return None;
    }
    let whole = countries::by_iso3(iso3).map_or((*iso3).to_owned(), |country| {
        format!("{} ({iso3})", country.name)
    });
    let rest: Vec<String> = others
        .iter()
        .map(|other| format!("{} ({})", other.code, other.name))
        .collect();
    Some(format!(
        "Comtrade area {code} ({}) is a predecessor area: only part of {whole} in {year}; the rest is {}",
        area.name,
        rest.join(" and ")
    ))
}

/// One reported trade flow: what `reporter` says it imported from or
/// exported to `partner` in `period`. Values are the reporter's own; v1 rows
/// are totals over customs procedures and modes of transport.
pub struct TradeFlow {
    record: Arc<TradeFlowRecord>,
    reporter: Option<Jurisdiction>,
    dialect: ComtradeDialect,
    /// What the field asked (its classification names the commodity's list).
    shape: Arc<FlowShape>,
}

/// One reported trade flow from UN Comtrade: what the reporter says it
/// imported from or exported to its partner in a period, for one commodity.
/// Values are the reporter's own; v1 rows are totals over customs procedures
/// and modes of transport.
#[Object]
impl TradeFlow {
    /// The jurisdiction the reporter code stands for, the same whatever the
    /// field asked (842 is the USA, also when Puerto Rico was asked: it
    /// reports within 842, and `reporterJurisdictions` lists it); null when
    /// the code is a former area that covered several jurisdictions (58
    /// Belgium-Luxembourg, 891 Serbia and Montenegro, 810 USSR), which is no
    /// single one's trade: `reporterJurisdictions` lists them.
    async fn reporter(&self) -> Option<&Jurisdiction> {
        if countries::is_union_code(ReporterCode(self.record.reporter_code)) {
            return None;
        }
        self.reporter.as_ref()
    }
    /// The partner jurisdiction; null for World, for areas that are not
    /// jurisdictions (see `partnerCode` and `partnerName`) and for former
    /// areas that covered several (`partnerJurisdictions` lists them).
    async fn partner(&self) -> Option<Jurisdiction> {
        (self.record.partner_code != 0
            && !countries::is_union_code(ReporterCode(self.record.partner_code)))
        .then(|| partner_jurisdiction(self.dialect, self.record.partner_code))
        .flatten()
    }
    /// Every jurisdiction whose trade the reporter code stands for: one for
    /// most rows; Belgium and Luxembourg for 58 (until 1998), Serbia and
    /// Montenegro for 891 (1992-2006), the USA, Puerto Rico and the US
    /// Virgin Islands for 842. A row is listed once, under `reporter`, however
    /// many of these were asked for.
    async fn reporter_jurisdictions(&self) -> Vec<Jurisdiction> {
        let covered = countries::area_jurisdictions(
            self.dialect,
            AreaRole::Reporter,
            ReporterCode(self.record.reporter_code),
        );
        if covered.is_empty() {
            return self.reporter.iter().cloned().collect();
        }
        covered.into_iter().map(Jurisdiction::Known).collect()
    }
    /// Every jurisdiction the partner code stands for (58: Belgium and
    /// Luxembourg until 1998; 251: France and Monaco, counted within it;
    /// 842 since 1981: the USA and the US Virgin Islands); empty for World
    /// and areas that are no jurisdiction.
    async fn partner_jurisdictions(&self) -> Vec<Jurisdiction> {
        if self.record.partner_code == 0 {
            return Vec::new();
        }
        let code = ReporterCode(self.record.partner_code);
        let mut covered = countries::area_jurisdictions(self.dialect, AreaRole::Partner, code);
        // A jurisdiction with no partner code of its own that year whose
        // trade the code counts as a reporter (the US Virgin Islands within
        // 842 since 1981, when its own 850 ended).
        if let Some(year) = self
            .record
            .period
            .get(..4)
            .and_then(|year| year.parse::<u16>().ok())
        {
            for country in countries::all().iter().chain(countries::beyond_gta()) {
                if country.comtrade(self.dialect).code() == Some(code)
                    && !covered.iter().any(|seen| seen.id == country.id)
                    && country
                        .comtrade_codes_in(self.dialect, AreaRole::Partner, year)
                        .is_err()
                {
                    covered.push(country);
                }
            }
        }
        covered.into_iter().map(Jurisdiction::Known).collect()
    }
    /// When the reporter code is a former area that covered only part of
    /// today's jurisdiction, what it was and which other codes covered the
    /// rest that year (Germany in 1989: 278 "Dem. Rep. of Germany" beside
    /// 280 "Fed. Rep. of Germany"); a field asked for such a jurisdiction
    /// returns one row per part. Null for every other code.
    async fn reporter_predecessor_area(&self) -> Option<String> {
        predecessor_area(self.record.reporter_code, &self.record.period)
    }
    /// As `reporterPredecessorArea`, for the partner code (partner Germany
    /// in 1989 is 280 and 278, one row each).
    async fn partner_predecessor_area(&self) -> Option<String> {
        predecessor_area(self.record.partner_code, &self.record.period)
    }
    /// Comtrade's reporter code (842 for the USA).
    async fn reporter_code(&self) -> i32 {
        i32::from(self.record.reporter_code)
    }
    /// Comtrade's partner code; 0 is World.
    async fn partner_code(&self) -> i32 {
        i32::from(self.record.partner_code)
    }
    /// The partner as Comtrade names it ("World", "Other Asia, nes").
    async fn partner_name(&self) -> Option<&str> {
        self.record.partner_name.as_deref()
    }
    /// "2022" (annual) or "202201" (monthly).
    async fn period(&self) -> &str {
        &self.record.period
    }
    /// The direction of the flow: import, export, re-import or re-export.
    async fn flow(&self) -> TradeFlowDirection {
        self.record.flow.into()
    }
    /// The commodity code ("TOTAL", "27", "2709").
    async fn commodity_code(&self) -> &str {
        &self.record.commodity_code
    }
    /// The commodity's description.
    async fn commodity(&self) -> Option<&str> {
        self.record.commodity.as_deref()
    }
    /// The commodity as a node of the classification asked for (HS by
    /// default): its description, level, parent and children, its GTA
    /// interventions. Null when the list has no such code. The list is
    /// Comtrade's reference file, loaded once a day.
    async fn commodity_node(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<super::commodity::Commodity>>> {
        let node = async {
            let list = super::commodity::commodity_list(ctx, &self.shape.classification).await?;
            // A services total goes out as v1's 200; the row says TOTAL.
            Ok(super::commodity::Commodity::find(
                &list,
                &self.record.commodity_code,
            ))
        };
        Some(node.await)
    }
    /// The classification the reporter used ("H4", "H6", "S3").
    async fn classification(&self) -> Option<&str> {
        self.record.classification.as_deref()
    }
    /// Digits of the commodity code (0 for TOTAL).
    async fn aggregation_level(&self) -> Option<i32> {
        self.record.aggregation_level.map(i32::from)
    }
    /// Whether the commodity code has no finer codes below it.
    async fn is_leaf(&self) -> Option<bool> {
        self.record.is_leaf
    }
    /// Trade value in US dollars (legacy `TradeValue`, v1 `primaryValue`).
    async fn value(&self) -> Option<f64> {
        self.record.value_usd
    }
    /// CIF value in US dollars (imports, v1).
    async fn cif_value(&self) -> Option<f64> {
        self.record.cif_value_usd
    }
    /// FOB value in US dollars (exports, v1).
    async fn fob_value(&self) -> Option<f64> {
        self.record.fob_value_usd
    }
    /// Net weight in kilograms; null when not reported (Comtrade also writes
    /// 0 for unreported weights in some rows).
    async fn net_weight_kg(&self) -> Option<f64> {
        self.record.net_weight_kg
    }
    /// The gross weight in kilograms, where reported.
    async fn gross_weight_kg(&self) -> Option<f64> {
        self.record.gross_weight_kg
    }
    /// Quantity in `quantityUnit`.
    async fn quantity(&self) -> Option<f64> {
        self.record.quantity
    }
    /// The unit of the quantity, as Comtrade abbreviates it (e.g. "kg").
    async fn quantity_unit(&self) -> Option<&str> {
        self.record.quantity_unit.as_deref()
    }
    /// Whether Comtrade estimated part of the record.
    async fn is_estimated(&self) -> bool {
        self.record.is_estimated
    }
}

/// An area in Comtrade's reporter list (legacy `reporterAreas.json`, v1
/// `Reporters.json`): the codes a trade flow's `reporters` takes, as
/// Comtrade publishes them.
#[derive(SimpleObject)]
#[graphql(name = "ComtradeReporter")]
pub struct ReporterListEntry {
    /// Comtrade's reporter code (`r` on the legacy API, `reporterCode` on
    /// v1).
    pub code: i32,
    /// Comtrade's name for the area ("Belgium-Luxembourg (...1998)").
    pub name: String,
    /// ISO 3166 alpha-3 as Comtrade writes it; null on the legacy API,
    /// whose list has none.
    pub iso3: Option<String>,
    /// Whether the code stands for a group of areas; null on the legacy
    /// API, whose list does not say.
    pub is_group: Option<bool>,
    /// The last year a former area's code covers; null for an area that
    /// still reports (and on the legacy API, whose list does not say).
    pub last_year: Option<i32>,
    /// The jurisdiction the code stands for, when it stands for one the
    /// graph knows (a group, or a former area split since, stands for none).
    pub jurisdiction: Option<Jurisdiction>,
}

/// Which periods a reporter has published.
#[derive(SimpleObject)]
pub struct DataAvailability {
    /// The reporting jurisdiction.
    pub reporter: Option<Jurisdiction>,
    /// Comtrade's code of the reporter.
    pub reporter_code: i32,
    /// The period: a year ("2022") or a month ("202203").
    pub period: String,
    /// The commodity classification of the data (e.g. "H6" for HS 2022).
    pub classification: Option<String>,
    /// Rows in the published data set.
    pub total_records: Option<i64>,
    /// Whether the reporter reported in this classification (not converted by Comtrade).
    pub is_original_classification: Option<bool>,
    /// Whether the data has partner detail (not only the world total).
    pub is_partner_detail: Option<bool>,
    /// When the data set was released or last updated.
    pub updated: Option<String>,
}

/// A trade-flow field's arguments, as the cost step sees them, checked as
/// the resolver checks them.
fn parsed_flow_arguments(
    dialect: ComtradeDialect,
    arguments: &crate::limits::cost::Arguments,
) -> Option<FlowArguments> {
    use async_graphql::InputType;
    fn parsed<T: InputType>(arguments: &crate::limits::cost::Arguments, name: &str) -> Option<T> {
        arguments
            .get(name)
            .and_then(|value| T::parse(Some(value.clone())).ok())
    }
    let partners = arguments.strings("partners");
    let commodities = arguments.strings("commodities");
    flow_arguments(
        dialect,
        partners.as_deref(),
        &arguments.strings("periods")?,
        parsed(arguments, "flow"),
        commodities.as_deref(),
        parsed(arguments, "frequency"),
        arguments.text("classification").as_deref(),
        parsed(arguments, "tradeType"),
    )
    .ok()
}

/// How a field's keys are planned with the other keys of the operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PlannedWith {
    /// With every key of the same shape (the same codes and kind of flow).
    Shape,
    /// With the keys of fields of the same arguments, whatever their codes:
    /// `Commodity.tradeFlows` of a page of commodities, as its estimate
    /// counts it (see [`TradeFlowKey::asked_with`]).
    Arguments,
}

/// Loads and orders the flows of `reporters` (jurisdiction nodes with their
/// Comtrade codes).
pub(super) async fn load_flows(
    ctx: &Context<'_>,
    reporters: &[AskedReporter],
    arguments: &FlowArguments,
    planned_with: PlannedWith,
) -> async_graphql::Result<Vec<TradeFlow>> {
    let dialect = sources(ctx)?.comtrade_dialect();
    let mut keyed: Vec<(&Jurisdiction, Vec<TradeFlowKey>)> = reporters
        .iter()
        .map(|asked| {
            let widened = if asked.pinned {
                None
            } else {
                asked.jurisdiction.country()
            };
            arguments
                .keys(dialect, asked.code, widened)
                .map(|keys| (&asked.jurisdiction, keys))
        })
        .collect::<Result<_, _>>()
        .graphql()?;
    if planned_with == PlannedWith::Arguments {
        let mut triples: Vec<_> = keyed
            .iter()
            .flat_map(|(_, keys)| keys.iter())
            .map(|key| (key.reporter, key.partner, key.period.clone()))
            .collect();
        triples.sort();
        triples.dedup();
        let triples: Arc<[_]> = triples.into();
        for key in keyed.iter_mut().flat_map(|(_, keys)| keys.iter_mut()) {
            key.asked_with = Some(triples.clone());
        }
    }
    let loaded = operation(ctx)?
        .comtrade
        .load_many(keyed.iter().flat_map(|(_, keys)| keys.iter().cloned()))
        .await
        .graphql()?;
    let mut flows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (jurisdiction, keys) in &keyed {
        for key in keys {
            for record in loaded.get(key).into_iter().flatten() {
                // A row appears once however many asked for it: "all"
                // partners and a named partner, overlapping commodity codes
                // ("27" and "AG2"), or two jurisdictions one code stood for
                // (Belgium and Luxembourg in 1995 are both 58) deliver the
                // same row; `reporterJurisdictions` names whom it covers.
                if seen.insert(record.identity()) {
                    flows.push(TradeFlow {
                        record: record.clone(),
                        reporter: row_reporter(dialect, record.reporter_code, jurisdiction),
                        dialect,
                        shape: arguments.shape.clone(),
                    });
                }
            }
        }
    }
    Ok(flows)
}

/// The jurisdiction a row's reporter code stands for, whatever was asked:
/// the USA for 842 (whether the field named the USA, Puerto Rico or the US
/// Virgin Islands, which report within it: `reporterJurisdictions` lists
/// them), Switzerland for 757, Germany for its former parts 280 and 278.
/// Only a code with no jurisdiction of the crosswalk (the EU's 97) takes
/// the node it was asked as. Codes that stood for several (58, 891, 810)
/// are null in `TradeFlow.reporter` whatever this gives.
fn row_reporter(dialect: ComtradeDialect, code: u16, asked: &Jurisdiction) -> Option<Jurisdiction> {
    reporter_jurisdiction(dialect, code)
        .or_else(|| {
            countries::former_code(ReporterCode(code))
                .and_then(|area| match area.covers {
                    [iso3] => countries::by_iso3(iso3),
                    _ => None,
                })
                .map(Jurisdiction::Known)
        })
        .or_else(|| Some(asked.clone()))
}

/// A reporter a field asked for: the code sent, the node asked, and whether
/// the code was given as itself (a Comtrade code, the EU), so goes out as
/// that code only, or as a jurisdiction, whose code follows the calendar.
pub(super) struct AskedReporter {
    pub code: ReporterCode,
    pub jurisdiction: Jurisdiction,
    pub pinned: bool,
}

impl Jurisdiction {
    /// The Comtrade reporter code this jurisdiction's flows are asked under.
    fn reporter_code(&self, dialect: ComtradeDialect) -> Option<ReporterCode> {
        match self {
            Jurisdiction::Known(country) => country.comtrade(dialect).code(),
            // The EU's node (`jurisdiction(iso3: "EUN")`) asks for the EU's
            // own trade, 97, as `tradeFlows(reporters: ["EU"])` does.
            Jurisdiction::Unlisted { id, .. } if *id == countries::EUROPEAN_UNION.gta_id => {
                Some(ReporterCode(countries::EUROPEAN_UNION.comtrade_reporter))
            }
            Jurisdiction::Unlisted { .. } => None,
        }
    }

    /// This jurisdiction's flows (empty when Comtrade has no reporter for it).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn load_trade_flows(
        &self,
        ctx: &Context<'_>,
        partners: Option<Vec<String>>,
        periods: Vec<String>,
        flow: Option<TradeFlowDirection>,
        commodities: Option<Vec<String>>,
        frequency: Option<Frequency>,
        classification: Option<String>,
        trade_type: Option<TradeType>,
    ) -> async_graphql::Result<Vec<TradeFlow>> {
        let dialect = sources(ctx)?.comtrade_dialect();
        let arguments = flow_arguments(
            dialect,
            partners.as_deref(),
            &periods,
            flow,
            commodities.as_deref(),
            frequency,
            classification.as_deref(),
            trade_type,
        )
        .graphql()?;
        let Some(code) = self.reporter_code(dialect) else {
            return Ok(Vec::new());
        };
        let asked = AskedReporter {
            code,
            jurisdiction: self.clone(),
            pinned: self.country().is_none(),
        };
        load_flows(ctx, &[asked], &arguments, PlannedWith::Shape).await
    }
}

/// The top-level Comtrade queries.
#[derive(Default)]
pub struct TradeFlowQueries;

#[Object]
impl TradeFlowQueries {
    /// Trade flows as Comtrade's reporters publish them. `reporters` and
    /// `partners` take any country spelling (partners also "World", the
    /// default, and "all"); `periods` are years ("2022") or, monthly, months
    /// ("202201"); the legacy API also takes "now" and "recent". `flow`
    /// defaults to every direction, `commodities` to ["TOTAL"] (also "AG2",
    /// "27", "ALL"...), `classification` to HS (EB02 for services). Values are
    /// totals over customs procedures and modes of transport. All reporters,
    /// partners and periods of an operation are planned together into the
    /// fewest requests Comtrade accepts; null, with an error naming the
    /// source, when Comtrade fails.
    #[allow(clippy::too_many_arguments)]
    async fn trade_flows(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Reporting jurisdictions, as ISO3, ISO2, names or Comtrade codes (a Comtrade code is that code only; a name or ISO code follows the jurisdiction's codes over the years)."
        )]
        reporters: Vec<String>,
        #[graphql(
            desc = "Partner jurisdictions as ISO3, ISO2, names or Comtrade codes (\"World\" or 0 for the total; a Comtrade code, also an area such as 837 Bunkers, is that code only); default: the world total."
        )]
        partners: Option<Vec<String>>,
        #[graphql(
            desc = "Periods: years (\"2022\"), months (\"202203\") for monthly data, or ranges (\"2018-2022\")."
        )]
        periods: Vec<String>,
        #[graphql(
            desc = "Export, import, re-export or re-import (default: exports, imports, re-exports and re-imports)."
        )]
        flow: Option<TradeFlowDirection>,
        #[graphql(
            desc = "Commodity codes of the classification (\"TOTAL\", an HS chapter \"27\", heading \"2709\", \"AG2\" for every chapter); default: TOTAL."
        )]
        commodities: Option<Vec<String>>,
        #[graphql(desc = "Annual or monthly data (default: annual).")] frequency: Option<Frequency>,
        #[graphql(
            desc = "Commodity classification, Comtrade's code (default: HS; e.g. \"H6\" for HS 2022, \"S4\" for SITC 4, \"EB\" for services)."
        )]
        classification: Option<String>,
        #[graphql(desc = "Goods or services (default: goods).")] trade_type: Option<TradeType>,
    ) -> Option<async_graphql::Result<Vec<TradeFlow>>> {
        let flows = async {
            let dialect = sources(ctx)?.comtrade_dialect();
            let arguments = flow_arguments(
                dialect,
                partners.as_deref(),
                &periods,
                flow,
                commodities.as_deref(),
                frequency,
                classification.as_deref(),
                trade_type,
            )
            .graphql()?;
            let reporters = reporter_codes(dialect, &reporters).graphql()?;
            load_flows(ctx, &reporters, &arguments, PlannedWith::Shape).await
        };
        Some(flows.await)
    }

    /// Which periods reporters have published (legacy `/api/refs/da/view`,
    /// v1 `getDa`). Without reporters: all; without periods: recent ones.
    async fn data_availability(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Reporting jurisdictions, as ISO3, ISO2, names or Comtrade codes; default: every reporter."
        )]
        reporters: Option<Vec<String>>,
        #[graphql(desc = "Periods (\"2022\", \"202203\"); default: every period.")] periods: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Annual or monthly data (default: annual).")] frequency: Option<Frequency>,
        #[graphql(
            desc = "Commodity classification, Comtrade's code (default: HS; e.g. \"H6\" for HS 2022, \"S4\" for SITC 4, \"EB\" for services)."
        )]
        classification: Option<String>,
        #[graphql(desc = "Goods or services (default: goods).")] trade_type: Option<TradeType>,
    ) -> Option<async_graphql::Result<Vec<DataAvailability>>> {
        let availability = async {
            let client = &sources(ctx)?.comtrade;
            let dialect = client.dialect();
            let frequency: comtrade::Frequency = frequency.unwrap_or_default().into();
            let trade_type: comtrade::TradeType = trade_type.unwrap_or_default().into();
            let shape = FlowShape::new(
                dialect,
                trade_type,
                frequency,
                classification.as_deref(),
                None,
                &[],
            )
            .graphql()?;
            let reporters =
                reporter_codes(dialect, reporters.as_deref().unwrap_or_default()).graphql()?;
            let periods = periods
                .unwrap_or_default()
                .iter()
                .map(|period| Period::parse(period, frequency, dialect))
                .collect::<Result<Vec<_>, _>>()
                .graphql()?;
            let codes: Vec<ReporterCode> = reporters.iter().map(|asked| asked.code).collect();
            let records = client
                .availability(
                    trade_type,
                    frequency,
                    &shape.classification,
                    &codes,
                    &periods,
                    &operation(ctx)?.usage,
                )
                .await
                .graphql()?;
            Ok(records
                .into_iter()
                .map(|record| availability(dialect, record))
                .collect())
        };
        Some(availability.await)
    }

    /// Comtrade's reporter list: every area that reports trade, with the
    /// code a trade flow's `reporters` takes (legacy `reporterAreas.json`,
    /// v1 `Reporters.json`; the legacy list's `all` wildcard is not an
    /// area and is left out). One keyless request, kept as long as
    /// Comtrade's answers are.
    async fn comtrade_reporters(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Vec<ReporterListEntry>>> {
        let reporters = async {
            let client = &sources(ctx)?.comtrade;
            let dialect = client.dialect();
            let areas = client.reporters(&operation(ctx)?.usage).await.graphql()?;
            Ok(areas.iter().map(|area| reporter(dialect, area)).collect())
        };
        Some(reporters.await)
    }
}

fn reporter(dialect: ComtradeDialect, area: &ReporterArea) -> ReporterListEntry {
    ReporterListEntry {
        code: i32::from(area.code),
        name: area.name.clone(),
        iso3: area.iso3.clone(),
        is_group: area.is_group,
        last_year: area.last_year.map(i32::from),
        jurisdiction: (area.is_group != Some(true))
            .then(|| reporter_jurisdiction(dialect, area.code))
            .flatten(),
    }
}

fn availability(dialect: ComtradeDialect, record: AvailabilityRecord) -> DataAvailability {
    DataAvailability {
        reporter: reporter_jurisdiction(dialect, record.reporter_code),
        reporter_code: i32::from(record.reporter_code),
        period: record.period,
        classification: record.classification,
        total_records: record
            .total_records
            .and_then(|total| i64::try_from(total).ok()),
        is_original_classification: record.is_original,
        is_partner_detail: record.is_partner_detail,
        updated: record.updated,
    }
}

/// Resolves reporter arguments to Comtrade codes, one entry per code (a
/// folded jurisdiction shares its reporter's), in the order given. A number
/// that is a Comtrade code (not the jurisdiction's GTA id) is that code
/// only ("280" is West Germany's area, never widened to 278 beside it).
pub(super) fn reporter_codes(
    dialect: ComtradeDialect,
    given: &[String],
) -> Result<Vec<AskedReporter>, Error> {
    if given.len() > MAX_REPORTERS {
        return Err(Error::bad_input(format!(
            "at most {MAX_REPORTERS} reporters per field, got {}",
            given.len()
        )));
    }
    if given.iter().any(|g| PartnerCode::means_all(g)) {
        return Err(Error::bad_input(
            "reporters: \"all\" is not offered (Comtrade refuses such results as too large); name the reporters, or use jurisdictions(group: ...)",
        ));
    }
    let mut reporters: Vec<AskedReporter> = Vec::new();
    for text in given {
        let asked = match countries::bloc(text) {
            // The EU's own trade (Comtrade 97), linked to GTA's EU (1049).
            Some(bloc) => AskedReporter {
                code: ReporterCode(bloc.comtrade_reporter),
                jurisdiction: Jurisdiction::bloc(bloc),
                pinned: true,
            },
            None => {
                let country = countries::resolve_all(std::slice::from_ref(text))?[0];
                match comtrade_code_given(dialect, text, country) {
                    Some(code) => AskedReporter {
                        code,
                        jurisdiction: Jurisdiction::Known(country),
                        pinned: true,
                    },
                    None => AskedReporter {
                        code: reporter_of(dialect, country)?,
                        jurisdiction: Jurisdiction::Known(country),
                        pinned: false,
                    },
                }
            }
        };
        if !reporters.iter().any(|seen| seen.code == asked.code) {
            reporters.push(asked);
        }
    }
    Ok(reporters)
}

/// The Comtrade reporter code `text` is, when it is a number that names
/// `country` as a Comtrade code of the dialect (its own, or a former area
/// of it) rather than as its GTA id.
fn comtrade_code_given(
    dialect: ComtradeDialect,
    text: &str,
    country: &Country,
) -> Option<ReporterCode> {
    let number: u16 = text.trim().parse().ok()?;
    if country.id.0 == number {
        return None;
    }
    let code = ReporterCode(number);
    let own = country.comtrade(dialect).code() == Some(code);
    let former =
        countries::former_code(code).is_some_and(|area| area.covers.contains(&country.iso3));
    (own || former).then_some(code)
}

fn reporter_of(dialect: ComtradeDialect, country: &'static Country) -> Result<ReporterCode, Error> {
    country.comtrade(dialect).code().ok_or_else(|| {
        Error::bad_input(format!(
            "{} has no Comtrade reporter ({}); Comtrade publishes no flows for it",
            country.name,
            if country.note.is_empty() {
                "not in Comtrade's reporter list"
            } else {
                country.note
            }
        ))
    })
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

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
            // A Comtrade code covers at most the fifteen republics of the
            // USSR (810); `countries::AREA_YEARS` lists them.
            ("TradeFlow", "reporterJurisdictions" | "partnerJurisdictions") => {
                rule.list_bound = Some(
                    countries::AREA_YEARS
                        .iter()
                        .map(|area| area.covers.len().max(3) as u64)
                        .max()
                        .unwrap_or(3),
                );
            }
            ("Query", "tradeFlows") => {
                let reporters = arguments.len("reporters").unwrap_or(1).max(1);
                let (rows, requests) = rules.flows(arguments);
                rule.list_bound = Some(rows.saturating_mul(reporters));
                // The flows' commodities are of the classification asked.
                rule.known_items = Some(commodity_cost::any_of(
                    &commodity_cost::classification_of(arguments),
                ));
                // The reporters are named: the estimate is the plan.
                let pages = rules.named_reporters_requests(arguments, reporters, requests);
                rule.demand = asks(Source::Comtrade, DemandKind::Fixed { pages });
            }
            // The list of the classification the flows were asked in (the
            // trade-flow fields say it).
            ("TradeFlow", "commodityNode") => {
                let classification = commodity_cost::parents_of(arguments).map_or_else(
                    || DEFAULT_CLASSIFICATION.to_owned(),
                    |parents| parents.classification,
                );
                rule.demand = Some(estimate::reference_list(Some(&classification)));
                rule.known_items = Some(commodity_cost::any_of(&classification));
            }
            ("Query", "comtradeReporters") => {
                rule.list_bound = Some(crate::sources::comtrade::reporters::MAX_REPORTERS as u64);
                rule.demand = asks(Source::Comtrade, DemandKind::Fixed { pages: 1 });
            }
            ("Query", "dataAvailability") => {
                let reporters = arguments
                    .len("reporters")
                    .unwrap_or(countries::all().len() as u64);
                let periods = arguments.len("periods").unwrap_or(5).max(1);
                rule.list_bound = Some(reporters.saturating_mul(periods).saturating_mul(FLOWS));
                rule.demand = asks(Source::Comtrade, DemandKind::Fixed { pages: 1 });
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
