//! What the cost model needs to know about this graph's fields: how many
//! items each list can hold, and which upstream each field asks and how its
//! requests batch. The walk itself is in `limits::cost`.
//!
//! Each module of the graph prices its own types' fields, beside them: its
//! `cost::price` (in `jurisdiction.rs`, `intervention.rs`, `trade_flow.rs`,
//! `commodity.rs`...) says the rule of each field it declares, reading the
//! helpers and limits gathered in [`prelude`]; the upstreams' arithmetic is
//! theirs (`sources::comtrade::estimate`, the planner, ITA's windows).
//! [`GraphCostRules`] asks each module in turn, then prices the shapes every
//! source shares (pages, small lists). A test holds every list of objects
//! in the schema to having a rule.

pub(super) use std::sync::Arc;

pub(super) use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
pub(super) use async_graphql::{Value, Variables};

pub(super) use crate::countries;
pub(super) use crate::countries::ComtradeDialect;
pub(super) use crate::limits::{Arguments, Demand, DemandKind, FieldRule, FieldRules};
pub(super) use crate::source::Source;
pub(super) use crate::sources::comtrade::estimate::{self, FLOWS, HS_SUBHEADINGS};
pub(super) use crate::sources::gta::query::MAX_LIMIT_PER_REQUEST as GTA_PAGE;
pub(super) use crate::sources::ita::client::MAX_SIZE as ITA_PAGE;
pub(super) use crate::sources::ita::screening::CURRENT_WINDOW as SCREENING_WINDOW;
pub(super) use crate::sources::ita::window::plan as window_plan;
pub(super) use crate::sources::ita::{Endpoint, SearchParams};

pub(super) use super::commodity::{DEFAULT_CLASSIFICATION, MAX_COMMODITY_LIMIT};
pub(super) use super::intervention::{MAX_JURISDICTION_LIMIT, MAX_SEARCH_LIMIT};
pub(super) use super::ita::MAX_LIMIT as ITA_MAX_LIMIT;
pub(super) use super::jurisdiction::Jurisdiction;
pub(super) use super::paging::DEFAULT_LIMIT;
pub(super) use super::trade_flow::{code_changes, planned_requests};
pub(super) use super::trade_profile::{
    planned_profile_requests, profile_packing, MAX_PROFILE_LIMIT,
};
pub(super) use crate::sources::comtrade::commodity_cost::{self, ListState, LoadedLists};
pub(super) use crate::sources::comtrade::coverage;

/// A field being priced: the rules it is priced under, where it is, its
/// arguments and the page limit of the page it is in.
#[derive(Clone, Copy)]
pub(super) struct Pricing<'a> {
    pub rules: &'a GraphCostRules,
    pub parent: &'a str,
    pub field: &'a str,
    pub arguments: &'a Arguments,
    pub page_limit: Option<u64>,
}

impl Pricing<'_> {
    /// The field's demand of `source`, grouped by where it is and its
    /// arguments.
    pub(super) fn asks(&self, source: Source, kind: DemandKind) -> Option<Demand> {
        Some(demand(
            source,
            self.parent,
            self.field,
            self.arguments,
            kind,
        ))
    }
}

/// What each module's `cost` rules read: the cost step's types, the
/// upstreams' page sizes and limits, and the helpers below.
pub(super) mod prelude {
    pub(in crate::graph) use super::*;
}

/// Venues, contacts and feeds of one ITA record or page.
pub(super) const SMALL_LISTS: u64 = 20;
/// Offices ITA lists in one country at most (its largest posts have a
/// handful): a country's offices are asked up to this many, one page, so
/// the loader's own search of a country is the one page the estimate counts.
pub(crate) const OFFICES_PER_COUNTRY: u64 = 100;

/// The classifications whose reference lists the estimate of `document`
/// reads: those of `commodity` and `commodities` fields, when the document
/// asks for more than the nodes themselves (`children`, `parent`,
/// `tradeFlows`, whose estimates follow the codes reached). Loading them
/// before the estimate (one keyless request each, kept a day) lets these be
/// estimated as the plan they are. Every operation of the document is
/// read; at most four lists (the others are estimated without theirs).
pub fn lists_for_estimate(document: &ExecutableDocument, variables: &Variables) -> Vec<String> {
    fn walk<'a>(
        document: &'a ExecutableDocument,
        set: &'a SelectionSet,
        visit: &mut dyn FnMut(&'a Field),
        depth: usize,
    ) {
        // Fragments can cycle in a document validation has not seen yet.
        if depth > 64 {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    visit(&field.node);
                    walk(document, &field.node.selection_set.node, visit, depth + 1);
                }
                Selection::InlineFragment(inline) => {
                    walk(document, &inline.node.selection_set.node, visit, depth + 1);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        walk(
                            document,
                            &fragment.node.selection_set.node,
                            visit,
                            depth + 1,
                        );
                    }
                }
            }
        }
    }
    let mut drills = false;
    let mut lists = Vec::new();
    for (_, operation) in document.operations.iter() {
        walk(
            document,
            &operation.node.selection_set.node,
            &mut |field| match field.name.node.as_str() {
                // The fields whose estimate reads the list.
                "children" | "parent" | "tradeFlows" => drills = true,
                "commodity" | "commodities" => {
                    let classification = field
                        .get_argument("classification")
                        .and_then(|value| {
                            value
                                .node
                                .clone()
                                .into_const_with(|name| {
                                    Ok::<_, std::convert::Infallible>(
                                        variables.get(&name).cloned().unwrap_or(Value::Null),
                                    )
                                })
                                .ok()
                        })
                        .and_then(|value| match value {
                            Value::String(text) => Some(text.trim().to_ascii_uppercase()),
                            _ => None,
                        })
                        .unwrap_or_else(|| super::commodity::DEFAULT_CLASSIFICATION.to_owned());
                    if !lists.contains(&classification) {
                        lists.push(classification);
                    }
                }
                _ => {}
            },
            0,
        );
    }
    if !drills {
        return Vec::new();
    }
    lists.truncate(4);
    lists
}

/// The graph's rules, for the Comtrade dialect in use.
pub struct GraphCostRules {
    pub(super) comtrade: ComtradeDialect,
    /// The operation's Comtrade maximum, of which the affected trade may
    /// spend a share ([`coverage::allowance`]).
    pub(super) comtrade_max: u64,
    /// The reference lists the estimate can read.
    pub(super) lists: LoadedLists,
}

impl GraphCostRules {
    pub fn new(comtrade: ComtradeDialect) -> Self {
        Self {
            comtrade,
            comtrade_max: crate::limits::DemandLimits::default().comtrade,
            lists: Arc::new(|_| ListState::Unknown),
        }
    }

    /// These rules, reading the reference lists `lists` knows.
    pub fn with_loaded_lists(self, lists: LoadedLists) -> Self {
        Self { lists, ..self }
    }

    /// These rules for an operation whose Comtrade maximum is `max`.
    pub fn with_comtrade_max(self, max: u64) -> Self {
        Self {
            comtrade_max: max,
            ..self
        }
    }

    /// What a trade-flow field's `arguments` ask, for Comtrade's packing
    /// arithmetic ([`estimate`]).
    fn flow_ask(arguments: &Arguments) -> OwnedFlowAsk {
        OwnedFlowAsk {
            partners: arguments.strings("partners"),
            // Ranges ("2004-2007") count as the periods they stand for.
            periods: arguments
                .strings("periods")
                .map_or(1, |given| super::trade_flow::period_count(&given))
                .max(1),
            monthly: arguments.text("frequency").as_deref() == Some("MONTHLY"),
            commodities: arguments.strings("commodities"),
            one_flow: arguments.get("flow").is_some(),
        }
    }

    /// Reporters one request of a trade-flow field carries.
    pub(super) fn reporters_per_request(&self, arguments: &Arguments) -> u64 {
        estimate::reporters_per_request(self.comtrade, &Self::flow_ask(arguments).ask())
    }

    /// The Comtrade requests of a trade-flow field that names its
    /// `reporters` (a count) in its arguments: the planner's plan of them
    /// when they resolve; else (a bloc) the packing arithmetic of `requests`
    /// a set of reporters, and what codes changing within the periods add.
    pub(super) fn named_reporters_requests(
        &self,
        arguments: &Arguments,
        reporters: u64,
        requests: u64,
    ) -> u64 {
        arguments
            .strings("reporters")
            .and_then(|given| countries::resolve_all(&given).ok())
            .and_then(|named| planned_requests(self.comtrade, &named, arguments))
            .unwrap_or_else(|| {
                let (changing, alone) = code_changes(self.comtrade, arguments).unwrap_or((0, 0));
                (reporters.div_ceil(self.reporters_per_request(arguments)) * requests)
                    .saturating_add(reporters.min(changing).saturating_mul(alone))
            })
    }

    /// Rows one reporter's flows can hold, and the Comtrade requests one
    /// batch of reporters needs besides packing the reporters.
    pub(super) fn flows(&self, arguments: &Arguments) -> (u64, u64) {
        estimate::rows_and_requests(self.comtrade, &Self::flow_ask(arguments).ask())
    }
}

/// A trade-flow field's arguments, read once ([`estimate::FlowAsk`]
/// borrows them).
struct OwnedFlowAsk {
    partners: Option<Vec<String>>,
    periods: u64,
    monthly: bool,
    commodities: Option<Vec<String>>,
    one_flow: bool,
}

impl OwnedFlowAsk {
    fn ask(&self) -> estimate::FlowAsk<'_> {
        estimate::FlowAsk {
            partners: self.partners.as_deref(),
            periods: self.periods,
            monthly: self.monthly,
            commodities: self.commodities.as_deref(),
            one_flow: self.one_flow,
        }
    }
}

/// The jurisdictions a `jurisdiction` or `jurisdictions` field names by its
/// arguments (ISO codes, GTA ids, a group, a name), as ISO alpha-3 codes.
pub(super) fn named_jurisdictions(arguments: &Arguments) -> Option<Vec<String>> {
    let mut named: Vec<&'static countries::Country> = Vec::new();
    if let Some(iso3) = arguments.strings("iso3") {
        named.extend(countries::resolve_all(&iso3).ok()?);
    }
    if let Some(text) = arguments.text("name") {
        named.push(countries::lookup(&text)?);
    }
    if let Some(text) = arguments.text("iso2") {
        named.push(countries::by_iso2(&text)?);
    }
    if let Some(Value::List(ids)) = arguments.get("ids") {
        for id in ids {
            let Value::Number(id) = id else { return None };
            let id = u16::try_from(id.as_u64()?).ok()?;
            named.push(countries::by_gta_id(countries::GtaId(id))?);
        }
    }
    if let Some(Value::Number(id)) = arguments.get("id") {
        let id = u16::try_from(id.as_u64()?).ok()?;
        named.push(countries::by_gta_id(countries::GtaId(id))?);
    }
    if let Some(name) = arguments.text("group") {
        named.extend(countries::group(&name)?.countries());
    }
    (!named.is_empty()).then(|| {
        named
            .iter()
            .map(|country| country.iso3.to_owned())
            .collect()
    })
}

/// `limit` clamped the way the resolvers clamp it.
pub(super) fn limit(arguments: &Arguments, max: i32) -> u64 {
    arguments
        .int("limit")
        .unwrap_or(i64::from(DEFAULT_LIMIT))
        .clamp(0, i64::from(max)) as u64
}

pub(super) fn demand(
    source: Source,
    parent: &str,
    field: &str,
    arguments: &Arguments,
    kind: DemandKind,
) -> Demand {
    Demand {
        source,
        group: format!("{parent}.{field}({})", arguments.canonical()),
        kind,
    }
}

/// An argument as the resolver reads it (absent, or not of its type:
/// `None`, which the resolver refuses before any request).
pub(super) fn parse<T: async_graphql::InputType>(arguments: &Arguments, name: &str) -> Option<T> {
    T::parse(arguments.get(name).cloned()).ok()
}

/// The demand of a per-country ITA field: grouped by the search the loader
/// batches under (endpoint, parameters as the resolver builds them, limit),
/// so that fields sharing a loader group (`officeLocations` and the
/// providers' `itaOffice`; aliases whose arguments differ only in spelling)
/// share an estimate too: the loader's worst case is for its group's
/// countries together. Arguments the resolver refuses send nothing.
pub(super) fn per_country(
    endpoint: Endpoint,
    params: Result<SearchParams, crate::error::Error>,
    limit: u64,
    page_size: u64,
    one_per_parent: bool,
) -> Option<Demand> {
    let params = params.ok()?;
    Some(Demand {
        source: Source::Ita,
        group: format!("ITA per country {endpoint:?} {params:?} limit {limit}"),
        kind: DemandKind::SharedPages {
            per_parent: limit,
            page_size,
            whole_list: one_per_parent.then_some(crate::sources::ita::loader::DE_MINIMIS_LIST_ROWS),
        },
    })
}

pub(super) fn pages(items: u64, page: u64) -> u64 {
    items.div_ceil(page).max(1)
}

/// GTA requests `InterventionsById` sends for `ids` distinct ids: one
/// search of them all, asking for as many as there are, in requests of
/// `GTA_PAGE` (`GtaClient::fetch`).
pub(crate) fn by_id_requests(ids: u64) -> u64 {
    ids.div_ceil(u64::from(GTA_PAGE))
}

impl FieldRules for GraphCostRules {
    fn rule(
        &self,
        parent: &str,
        field: &str,
        arguments: &Arguments,
        page_limit: Option<u64>,
    ) -> FieldRule {
        let mut rule = FieldRule::default();
        let pricing = Pricing {
            rules: self,
            parent,
            field,
            arguments,
            page_limit,
        };
        let priced_by_modules = [
            super::jurisdiction::price,
            super::intervention::price,
            super::trade_flow::price,
            super::commodity::price,
            super::affected_trade::price,
            super::trade_profile::price,
            super::ita::price,
            super::ita_current::price,
            super::ita_datasets::price,
            super::federation::price,
        ];
        // Each module prices its own types' fields; what is left are
        // shapes every source shares (pages, small lists).
        if priced_by_modules
            .iter()
            .any(|price| price(&pricing, &mut rule))
        {
            return rule;
        }
        match (parent, field) {
            (
                "InterventionPage"
                | "TradeLeadPage"
                | "OfficeLocationPage"
                | "TradeEventPage"
                | "ExportProgramPage"
                | "MarketResearchPage"
                | "TradeArticlePage"
                | "EnvironmentalIssuePage"
                | "EnvironmentalSolutionPage"
                | "EnvironmentalRegulationPage"
                | "EnvironmentalProviderPage"
                | "ScreeningListPage"
                | "DeMinimisPage"
                | "BusinessServiceProviderPage",
                "items",
            ) => {
                rule.list_bound = page_limit;
            }
            (_, "sourcesUsed" | "venues" | "contacts") => rule.list_bound = Some(SMALL_LISTS),
            // ITA's facets, and the values one facet counts (countries are
            // the most: every jurisdiction).
            (_, "aggregations") => rule.list_bound = Some(SMALL_LISTS),
            (_, "assignedZipCodes" | "apoAddress") => rule.list_bound = Some(SMALL_LISTS),
            _ => {}
        }
        rule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{SchemaIndex, UNRULED_LIST_BOUND};

    /// A new list of objects must say how long it can be: the default is a
    /// guess.
    #[test]
    fn every_list_of_objects_has_a_rule() {
        let index = SchemaIndex::from_sdl(&crate::graph::sdl());
        let rules = GraphCostRules::new(ComtradeDialect::Legacy);
        let lists = index.object_lists();
        assert!(lists.len() > 15, "{lists:?}");
        let arguments = Arguments::default();
        for (parent, field) in lists {
            let rule = rules.rule(parent, field, &arguments, Some(20));
            let bound = rule.list_bound.unwrap_or(UNRULED_LIST_BOUND);
            assert!(
                rule.list_bound.is_some(),
                "{parent}.{field} has no list bound (would be {bound})"
            );
        }
    }
}
