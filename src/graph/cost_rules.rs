//! What the cost model needs to know about this graph's fields: how many
//! items each list can hold, and which upstream each field asks and how its
//! requests batch. The walk itself is in `limits::cost`; a test holds every
//! list of objects in the schema to having a rule here.

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Value, Variables};

use crate::countries;
use crate::countries::ComtradeDialect;
use crate::limits::{Arguments, Demand, DemandKind, FieldRule, FieldRules};
use crate::source::Source;
use crate::sources::comtrade::estimate::{self, FLOWS, HS_SUBHEADINGS};
use crate::sources::gta::query::MAX_LIMIT_PER_REQUEST as GTA_PAGE;
use crate::sources::ita::client::MAX_SIZE as ITA_PAGE;
use crate::sources::ita::screening::CURRENT_WINDOW as SCREENING_WINDOW;
use crate::sources::ita::window::plan as window_plan;
use crate::sources::ita::{Endpoint, SearchParams};

use super::commodity::{DEFAULT_CLASSIFICATION, MAX_COMMODITY_LIMIT};
use super::intervention::{MAX_JURISDICTION_LIMIT, MAX_SEARCH_LIMIT};
use super::ita::MAX_LIMIT as ITA_MAX_LIMIT;
use super::jurisdiction::Jurisdiction;
use super::paging::DEFAULT_LIMIT;
use super::trade_flow::{code_changes, planned_requests};
use super::trade_profile::{planned_profile_requests, profile_packing, MAX_PROFILE_LIMIT};
use crate::sources::comtrade::commodity_cost::{self, ListState, LoadedLists};
use crate::sources::comtrade::coverage;

/// CPC groups (three digits): the most sectors one intervention can name.
const CPC_SECTORS: u64 = 400;
/// Dated description and source entries of one intervention.
const DATED_ENTRIES: u64 = 50;
/// Venues, contacts and feeds of one ITA record or page.
const SMALL_LISTS: u64 = 20;
/// Records one toolkit record links to at most: the production toolkit had
/// 12 issues, 12 regulations and 99 solutions (a handful per issue), and
/// 554 provider-solution links (a solution's providers are the most).
const TOOLKIT_LINKS: u64 = 25;
const TOOLKIT_PROVIDERS: u64 = 60;
/// Offices ITA lists in one country at most (its largest posts have a
/// handful): a country's offices are asked up to this many, one page, so
/// the loader's own search of a country is the one page the estimate counts.
pub(crate) const OFFICES_PER_COUNTRY: u64 = 100;

/// Lists the screening list consolidates (about a dozen today).
const SCREENING_SOURCES: u64 = 50;

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
    comtrade: ComtradeDialect,
    /// The operation's Comtrade maximum, of which the affected trade may
    /// spend a share ([`coverage::allowance`]).
    comtrade_max: u64,
    /// The reference lists the estimate can read.
    lists: LoadedLists,
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
    fn reporters_per_request(&self, arguments: &Arguments) -> u64 {
        estimate::reporters_per_request(self.comtrade, &Self::flow_ask(arguments).ask())
    }

    /// Rows one reporter's flows can hold, and the Comtrade requests one
    /// batch of reporters needs besides packing the reporters.
    fn flows(&self, arguments: &Arguments) -> (u64, u64) {
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
fn named_jurisdictions(arguments: &Arguments) -> Option<Vec<String>> {
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
fn limit(arguments: &Arguments, max: i32) -> u64 {
    arguments
        .int("limit")
        .unwrap_or(i64::from(DEFAULT_LIMIT))
        .clamp(0, i64::from(max)) as u64
}

fn demand(
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
fn parse<T: async_graphql::InputType>(arguments: &Arguments, name: &str) -> Option<T> {
    T::parse(arguments.get(name).cloned()).ok()
}

/// The demand of a per-country ITA field: grouped by the search the loader
/// batches under (endpoint, parameters as the resolver builds them, limit),
/// so that fields sharing a loader group (`officeLocations` and the
/// providers' `itaOffice`; aliases whose arguments differ only in spelling)
/// share an estimate too: the loader's worst case is for its group's
/// countries together. Arguments the resolver refuses send nothing.
fn per_country(
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

fn pages(items: u64, page: u64) -> u64 {
    items.div_ceil(page).max(1)
}

/// GTA requests `InterventionsById` sends for `ids` distinct ids: one
/// search of them all, asking for as many as there are, in requests of
/// `GTA_PAGE` (`GtaClient::fetch`).
pub(crate) fn by_id_requests(ids: u64) -> u64 {
    ids.div_ceil(u64::from(GTA_PAGE))
}

/// What `_entities`' representations ask of the upstreams, read the way
/// the entity resolvers read them (`graph::federation`).
struct Entities {
    /// Distinct intervention ids the GTA search is sent (an `id` that is
    /// not a non-negative `Int` is answered `null` without a request).
    intervention_ids: u64,
    /// Toolkit kinds represented: one ITA search each.
    toolkit_kinds: u64,
    /// The jurisdictions represented, distinct, by ISO code (both, when a
    /// representation's `iso3` and `id` name different ones: the estimate
    /// then covers whichever resolver answers).
    jurisdictions: Vec<String>,
}

impl Entities {
    fn read(representations: Option<&Value>) -> Self {
        let items: &[Value] = match representations {
            Some(Value::List(items)) => items,
            Some(single) => std::slice::from_ref(single),
            None => &[],
        };
        let mut ids = std::collections::BTreeSet::new();
        let mut kinds = std::collections::BTreeSet::new();
        let mut jurisdictions = std::collections::BTreeSet::new();
        for item in items {
            let Value::Object(fields) = item else {
                continue;
            };
            let typename = match fields.get("__typename") {
                Some(Value::String(name)) => name.as_str(),
                _ => continue,
            };
            let id = match fields.get("id") {
                Some(Value::Number(number)) => number
                    .as_i64()
                    .and_then(|id| i32::try_from(id).ok())
                    .and_then(|id| u32::try_from(id).ok()),
                _ => None,
            };
            match typename {
                "Intervention" => {
                    if let Some(id) = id {
                        ids.insert(id);
                    }
                }
                "EnvironmentalIssue"
                | "EnvironmentalSolution"
                | "EnvironmentalRegulation"
                | "EnvironmentalProvider"
                    if id.is_some() =>
                {
                    kinds.insert(typename);
                }
                "Jurisdiction" => {
                    if let Some(Value::String(iso3)) = fields.get("iso3") {
                        if let Some(country) = countries::by_iso3(iso3) {
                            jurisdictions.insert(country.iso3.to_owned());
                        }
                    }
                    if let Some(country) = id
                        .and_then(|id| u16::try_from(id).ok())
                        .and_then(|id| countries::by_gta_id(countries::GtaId(id)))
                    {
                        jurisdictions.insert(country.iso3.to_owned());
                    }
                }
                _ => {}
            }
        }
        Self {
            intervention_ids: ids.len() as u64,
            toolkit_kinds: kinds.len() as u64,
            jurisdictions: jurisdictions.into_iter().collect(),
        }
    }
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
        let asks = |source, kind| Some(demand(source, parent, field, arguments, kind));
        match (parent, field) {
            ("Query", "jurisdiction") => {
                rule.known_items = named_jurisdictions(arguments);
            }
            ("Query", "jurisdictions") => {
                rule.known_items = named_jurisdictions(arguments);
                let listed = arguments.len("ids").unwrap_or(0) + arguments.len("iso3").unwrap_or(0);
                let group = arguments
                    .text("group")
                    .and_then(|name| countries::group(&name))
                    .map(|group| group.members.len() as u64);
                rule.list_bound = Some(match (listed, group) {
                    (0, Some(members)) => members,
                    (0, None) => countries::all().len() as u64,
                    (listed, _) => listed,
                });
            }
            ("Query", "jurisdictionGroups") => {
                rule.list_bound = Some(countries::groups().len() as u64);
            }
            ("JurisdictionGroup", "members") => {
                rule.list_bound = countries::groups()
                    .iter()
                    .map(|group| group.members.len() as u64)
                    .max();
            }
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
            ("Jurisdiction", "interventionsImplemented" | "interventionsAffecting") => {
                let limit = limit(arguments, MAX_JURISDICTION_LIMIT);
                rule.page_limit = Some(limit);
                let kind = DemandKind::SharedWithFollowUps {
                    alone: pages(limit, u64::from(GTA_PAGE)),
                };
                // Parents named above (`jurisdictions(iso3:)`, `_entities`'
                // representations): the loader's worst case for as many
                // distinct jurisdictions, in a group of that set (the worst
                // cases of two sets add up to at least their union's).
                rule.demand = match arguments.known_parents() {
                    Some(named) => {
                        let distinct: std::collections::BTreeSet<&String> = named.iter().collect();
                        Some(Demand {
                            source: Source::Gta,
                            group: format!(
                                "{parent}.{field}({})@{}",
                                arguments.canonical(),
                                named.join(",")
                            ),
                            kind: DemandKind::Fixed {
                                pages: kind.estimate(distinct.len() as u64),
                            },
                        })
                    }
                    None => asks(Source::Gta, kind),
                };
            }
            ("Intervention", "implementingJurisdictions" | "affectedJurisdictions") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
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
            ("Intervention", "affectedProducts") => rule.list_bound = Some(HS_SUBHEADINGS),
            ("Intervention", "affectedSectors") => rule.list_bound = Some(CPC_SECTORS),
            ("Intervention", "descriptionEntries" | "sourceEntries") => {
                rule.list_bound = Some(DATED_ENTRIES);
            }
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
            ("ItaAggregation", "buckets") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            (_, "assignedZipCodes" | "apoAddress") => rule.list_bound = Some(SMALL_LISTS),
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
            ("Jurisdiction", "screeningListEntries") => {
                let limit = limit(arguments, ITA_MAX_LIMIT);
                rule.list_bound = Some(limit);
                let params = Jurisdiction::screening_params(
                    parse(arguments, "sources"),
                    parse(arguments, "types"),
                );
                rule.demand = per_country(
                    Endpoint::ScreeningList,
                    params,
                    limit,
                    SCREENING_WINDOW.page,
                    false,
                );
            }
            // One row per country, a hundred countries a request.
            ("Jurisdiction", "deMinimis") => {
                rule.demand = per_country(
                    Endpoint::DeMinimis,
                    Ok(SearchParams::default()),
                    1,
                    ITA_PAGE,
                    true,
                );
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
            ("Query", "tradeFlows") => {
                let reporters = arguments.len("reporters").unwrap_or(1).max(1);
                let (rows, requests) = self.flows(arguments);
                rule.list_bound = Some(rows.saturating_mul(reporters));
                // The flows' commodities are of the classification asked.
                rule.known_items = Some(commodity_cost::any_of(
                    &commodity_cost::classification_of(arguments),
                ));
                // The reporters are named: the estimate is the plan.
                let planned = arguments
                    .strings("reporters")
                    .and_then(|given| countries::resolve_all(&given).ok())
                    .and_then(|reporters| planned_requests(self.comtrade, &reporters, arguments));
                let pages = planned.unwrap_or_else(|| {
                    // Reporters the estimate cannot resolve (a bloc): the
                    // packing arithmetic, and what code changes can add.
                    let (changing, alone) =
                        code_changes(self.comtrade, arguments).unwrap_or((0, 0));
                    (reporters.div_ceil(self.reporters_per_request(arguments)) * requests)
                        .saturating_add(reporters.min(changing).saturating_mul(alone))
                });
                rule.demand = asks(Source::Comtrade, DemandKind::Fixed { pages });
            }
            ("Jurisdiction", "tradeFlows") => {
                let (rows, requests) = self.flows(arguments);
                rule.list_bound = Some(rows);
                rule.known_items = Some(commodity_cost::any_of(
                    &commodity_cost::classification_of(arguments),
                ));
                // Parents named above (`jurisdictions(group: "G7")`): the
                // estimate is their plan, codes changing with the years
                // included; else the packing arithmetic.
                let named = arguments
                    .known_parents()
                    .and_then(|iso3| countries::resolve_all(iso3).ok());
                let planned = named.as_ref().and_then(|reporters| {
                    planned_requests(self.comtrade, reporters, arguments)
                        .map(|pages| (pages, reporters.len()))
                });
                rule.demand = match planned {
                    Some((pages, _)) => Some(Demand {
                        source: Source::Comtrade,
                        // One group per parent set: the plans of two sets
                        // add up to at least the plan of their union.
                        group: format!(
                            "{parent}.{field}({})@{}",
                            arguments.canonical(),
                            arguments.known_parents().unwrap_or_default().join(",")
                        ),
                        kind: DemandKind::Fixed { pages },
                    }),
                    None => {
                        // Codes that change within the periods can split
                        // the packing, for parents not named here.
                        let (changing, alone) =
                            code_changes(self.comtrade, arguments).unwrap_or((0, 0));
                        asks(
                            Source::Comtrade,
                            DemandKind::Packed {
                                per_request: self.reporters_per_request(arguments),
                                times: requests,
                                changing,
                                alone,
                            },
                        )
                    }
                };
            }
            ("Query", "commodity") => {
                rule.demand = Some(estimate::reference_list(
                    arguments.text("classification").as_deref(),
                ));
                rule.known_items = Some(commodity_cost::named(&self.lists, arguments));
            }
            ("Query", "commodities") => {
                let limit = limit(arguments, MAX_COMMODITY_LIMIT);
                rule.page_limit = Some(limit);
                rule.demand = Some(estimate::reference_list(
                    arguments.text("classification").as_deref(),
                ));
                rule.known_items = Some(commodity_cost::page(&self.lists, arguments, limit));
            }
            ("CommodityPage", "items") => {
                rule.list_bound = page_limit;
                rule.known_items = arguments.known_parents().map(<[String]>::to_vec);
            }
            ("Commodity", "children") => {
                let (items, most) = commodity_cost::children(&self.lists, arguments);
                rule.list_bound = Some(most);
                rule.known_items = items;
            }
            ("Commodity", "parent") => {
                rule.known_items = commodity_cost::parent(&self.lists, arguments);
            }
            // The products' nodes: the HS list.
            ("AffectedProduct" | "AffectedTradeProduct" | "ProfileProduct", "commodity") => {
                rule.demand = Some(estimate::reference_list(None));
                rule.known_items = Some(commodity_cost::any_of(DEFAULT_CLASSIFICATION));
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
            ("Commodity", "tradeFlows") => {
                let reporters = arguments.len("reporters").unwrap_or(1).max(1);
                let (rows, requests) = self.flows(arguments);
                rule.list_bound = Some(rows.saturating_mul(reporters));
                // The commodities of fields with the same arguments are one
                // plan (`ComtradeLoader` merges shapes that differ only in
                // their codes): the reporters' plan once per chunk of codes
                // the dialect takes in one request.
                let planned = arguments
                    .strings("reporters")
                    .and_then(|given| countries::resolve_all(&given).ok())
                    .and_then(|reporters| planned_requests(self.comtrade, &reporters, arguments));
                let per_commodity = planned.unwrap_or_else(|| {
                    let (changing, alone) =
                        code_changes(self.comtrade, arguments).unwrap_or((0, 0));
                    (reporters.div_ceil(self.reporters_per_request(arguments)) * requests)
                        .saturating_add(reporters.min(changing).saturating_mul(alone))
                });
                let codes_per_request = estimate::codes_per_request(self.comtrade);
                let kind = DemandKind::Packed {
                    per_request: codes_per_request,
                    times: per_commodity,
                    changing: 0,
                    alone: 0,
                };
                rule.demand = match commodity_cost::parents_of(arguments) {
                    // The commodities above say their classification, and
                    // their count when their codes are known (a drill-down
                    // from named codes, the list in memory). Each
                    // classification's flows are planned apart; fields with
                    // the same arguments and classification are one plan.
                    Some(parents) => {
                        rule.demand_parents = parents.exact;
                        rule.known_items = Some(commodity_cost::any_of(&parents.classification));
                        Some(Demand {
                            source: Source::Comtrade,
                            group: format!(
                                "{parent}.{field}({})@{}",
                                arguments.canonical(),
                                parents.classification
                            ),
                            kind,
                        })
                    }
                    None => asks(Source::Comtrade, kind),
                };
            }
            ("Commodity", "interventions") => {
                let limit = limit(arguments, MAX_JURISDICTION_LIMIT);
                rule.page_limit = Some(limit);
                rule.demand = asks(
                    Source::Gta,
                    DemandKind::Packed {
                        per_request: 1,
                        times: pages(limit, u64::from(GTA_PAGE)),
                        changing: 0,
                        alone: 0,
                    },
                );
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
                        cap: coverage::allowance(self.comtrade_max),
                    },
                });
            }
            ("AffectedTrade", "jurisdictions") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            ("AffectedTrade", "products") => rule.list_bound = Some(HS_SUBHEADINGS),
            ("TradeProfile", "partners" | "products") => {
                rule.list_bound = Some(
                    arguments
                        .int("limit")
                        .unwrap_or(i64::from(MAX_PROFILE_LIMIT))
                        .clamp(0, i64::from(MAX_PROFILE_LIMIT)) as u64,
                );
            }
            ("Jurisdiction", "tradeProfile") => {
                // Parents named above: their two plans; else the packing
                // arithmetic of the two shapes.
                let named = arguments
                    .known_parents()
                    .and_then(|iso3| countries::resolve_all(iso3).ok());
                let planned = named.as_ref().and_then(|reporters| {
                    planned_profile_requests(self.comtrade, reporters, arguments)
                });
                rule.demand = match planned {
                    Some(pages) => Some(Demand {
                        source: Source::Comtrade,
                        group: format!(
                            "{parent}.{field}({})@{}",
                            arguments.canonical(),
                            arguments.known_parents().unwrap_or_default().join(",")
                        ),
                        kind: DemandKind::Fixed { pages },
                    }),
                    None => {
                        let (per_request, times, changing, alone) =
                            profile_packing(self.comtrade, arguments).unwrap_or((1, 0, 0, 0));
                        asks(
                            Source::Comtrade,
                            DemandKind::Packed {
                                per_request,
                                times,
                                changing,
                                alone,
                            },
                        )
                    }
                };
            }
            ("Query", "dataAvailability") => {
                let reporters = arguments
                    .len("reporters")
                    .unwrap_or(countries::all().len() as u64);
                let periods = arguments.len("periods").unwrap_or(5).max(1);
                rule.list_bound = Some(reporters.saturating_mul(periods).saturating_mul(FLOWS));
                rule.demand = asks(Source::Comtrade, DemandKind::Fixed { pages: 1 });
            }
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
            // Federation: one entity per representation. What is sent is
            // read from the representations themselves, as the entity
            // resolvers read them: interventions are one GTA search of
            // their distinct ids, paged (`InterventionsById`); toolkit
            // records one ITA search per kind; jurisdictions come from the
            // crosswalk and are named to the fields below, which batch by
            // distinct jurisdiction.
            ("Query", "_entities") => {
                rule.list_bound = Some(arguments.len("representations").unwrap_or(1).max(1));
                let entities = Entities::read(arguments.get("representations"));
                rule.known_items = Some(entities.jurisdictions);
                rule.demand = (entities.intervention_ids > 0).then(|| {
                    demand(
                        Source::Gta,
                        parent,
                        field,
                        arguments,
                        DemandKind::Fixed {
                            pages: by_id_requests(entities.intervention_ids),
                        },
                    )
                });
                // A field has one demand: the toolkit's searches are a
                // second field's worth, asked for under the same list.
                if entities.toolkit_kinds > 0 {
                    rule.extra_demand = Some(Demand {
                        source: Source::Ita,
                        group: format!("Query._entities toolkit({})", arguments.canonical()),
                        kind: DemandKind::Fixed {
                            pages: entities.toolkit_kinds
                                * pages(crate::sources::ita::links::MAX_LINKED, ITA_PAGE),
                        },
                    });
                }
            }
            ("MarketResearchReport" | "TradeArticle", "countries") => {
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
            (
                "Jurisdiction",
                "tradeLeads" | "tradeEvents" | "officeLocations" | "marketResearch"
                | "tradeArticles",
            ) => {
                let (endpoint, per_parent, params) = match field {
                    "officeLocations" => (
                        Endpoint::OfficeLocations,
                        OFFICES_PER_COUNTRY,
                        Ok(SearchParams::default()),
                    ),
                    _ => {
                        let endpoint = match field {
                            "tradeLeads" => Endpoint::TradeLeads,
                            "tradeEvents" => Endpoint::TradeEvents,
                            "marketResearch" => Endpoint::MarketResearch,
                            _ => Endpoint::TradeArticles,
                        };
                        let industries = if arguments.get("industries").is_some() {
                            parse(arguments, "industries")
                        } else {
                            None
                        };
                        let params =
                            Jurisdiction::ita_params(parse(arguments, "query"), industries);
                        (endpoint, limit(arguments, ITA_MAX_LIMIT), params)
                    }
                };
                rule.list_bound = Some(per_parent);
                rule.demand = per_country(endpoint, params, per_parent, ITA_PAGE, false);
            }
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
