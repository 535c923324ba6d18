//! Products, the graph's second join: `Commodity` nodes from Comtrade's
//! classification reference lists (HS by default), `commodity` and
//! `commodities`, and the links from a commodity to its flows and to the
//! GTA interventions that name it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};

use super::context::{operation, sources};
use super::intervention::{
    intervention_query, page_bounds, InterventionFilter, InterventionOrder, InterventionPage,
    MAX_JURISDICTION_LIMIT,
};
use super::trade_flow::{
    flow_arguments, load_flows, reporter_codes, Frequency, PlannedWith, TradeFlow,
    TradeFlowDirection, TradeType,
};
use crate::error::{Error, GraphqlResult};
use crate::sources::comtrade::commodities::{
    normalize_code, CommodityList, CommodityRecord, CommoditySearch,
};
use crate::sources::UpstreamUsage;

pub use crate::sources::comtrade::commodities::DEFAULT_CLASSIFICATION;

/// Largest `limit` of `commodities`.
pub const MAX_COMMODITY_LIMIT: i32 = 1000;

/// The reference lists loaded before an operation's estimate, which read
/// them (`lists_for_estimate`): the operation's fields answer from the same
/// lists, and a list that could not be loaded is not asked for again. What
/// loading them cost is counted in the operation's `extensions.upstream`
/// once (or in its refusal's). A cheap `Clone` handle.
#[derive(Clone, Default)]
pub struct EstimateLists(Arc<HashMap<String, EstimateList>>);

/// One classification's list (or why it could not be loaded).
struct EstimateList {
    list: Result<Arc<CommodityList>, Error>,
    usage: UpstreamUsage,
    counted: AtomicBool,
}

tokio::task_local! {
    /// The lists of the operation being estimated, for the cost rules.
    static ESTIMATING: EstimateLists;
}

impl EstimateLists {
    /// The lists (or errors) of each classification, loaded with `usage`.
    pub fn new(
        loaded: impl IntoIterator<Item = (String, Result<Arc<CommodityList>, Error>, UpstreamUsage)>,
    ) -> Self {
        Self(Arc::new(
            loaded
                .into_iter()
                .map(|(classification, list, usage)| {
                    (
                        classification.trim().to_ascii_uppercase(),
                        EstimateList {
                            list,
                            usage,
                            counted: AtomicBool::new(false),
                        },
                    )
                })
                .collect(),
        ))
    }

    /// Counts what loading the lists sent in `usage`, the operation's, once:
    /// when it starts, so that an operation none of whose fields reads a
    /// list (one that does not validate, one stopped before) still says
    /// what it cost.
    pub fn count_in(&self, usage: &UpstreamUsage) {
        for loaded in self.0.values() {
            if !loaded.counted.swap(true, Ordering::Relaxed) {
                usage.absorb(&loaded.usage);
            }
        }
    }

    fn get(&self, classification: &str) -> Option<&EstimateList> {
        self.0.get(classification)
    }

    /// What loading the lists cost, together.
    pub fn usage(&self) -> UpstreamUsage {
        let usage = UpstreamUsage::default();
        for list in self.0.values() {
            usage.absorb(&list.usage);
        }
        usage
    }

    /// Runs `estimate` with these lists readable by the cost rules
    /// ([`Self::state`]).
    pub fn estimating<R>(&self, estimate: impl FnOnce() -> R) -> R {
        ESTIMATING.sync_scope(self.clone(), estimate)
    }

    /// What the operation being estimated knows of `classification`'s
    /// list: `None` outside [`Self::estimating`] or when it was not loaded.
    pub fn state(
        classification: &str,
    ) -> Option<crate::sources::comtrade::commodity_cost::ListState> {
        use crate::sources::comtrade::commodity_cost::ListState;
        ESTIMATING
            .try_with(|lists| {
                lists.get(classification).map(|loaded| match &loaded.list {
                    Ok(list) => ListState::Loaded(list.clone()),
                    Err(_) => ListState::Failed,
                })
            })
            .ok()
            .flatten()
    }
}

/// The reference list of `classification`, loaded once a day for every
/// operation (one Comtrade request when it is not in memory), through the
/// operation's batch.
pub(super) async fn commodity_list(
    ctx: &Context<'_>,
    classification: &str,
) -> async_graphql::Result<Arc<CommodityList>> {
    let classification = classification.trim().to_ascii_uppercase();
    if let Some(loaded) = ctx
        .data_opt::<EstimateLists>()
        .and_then(|lists| lists.get(&classification))
    {
        if !loaded.counted.swap(true, Ordering::Relaxed) {
            operation(ctx)?.usage.absorb(&loaded.usage);
        }
        return loaded.list.clone().graphql();
    }
    operation(ctx)?
        .references
        .load_one(classification.clone())
        .await
        .graphql()?
        .ok_or_else(|| Error::bad_input(format!("no reference list for {classification}")))
        .and_then(|list| list)
        .graphql()
}

/// Says beside the field's data what of the upstream's list was left out
/// (unreadable or inconsistent rows), when anything was: a search or a
/// code missing from the answer is then not taken for one Comtrade lacks.
fn say_left_out(ctx: &Context<'_>, list: &CommodityList) {
    if let Some(left_out) = list.left_out() {
        super::context::report_beside(
            ctx,
            Error::UpstreamBadResponse {
                upstream: crate::source::Source::Comtrade,
                path: "results".into(),
                detail: left_out.to_owned(),
            },
        );
    }
}

/// The node of `code` in the HS list, if the list has it.
pub(super) async fn hs_commodity(
    ctx: &Context<'_>,
    code: &str,
) -> async_graphql::Result<Option<Commodity>> {
    let list = commodity_list(ctx, DEFAULT_CLASSIFICATION).await?;
    Ok(Commodity::find(&list, code))
}

/// A code of a classification: an HS chapter, heading or subheading (or a
/// SITC, BEC or EBOPS code), as Comtrade's reference list has it.
#[derive(Clone)]
pub struct Commodity {
    list: Arc<CommodityList>,
    position: usize,
}

impl Commodity {
    /// The node of `code` in `list`.
    pub(super) fn find(list: &Arc<CommodityList>, code: &str) -> Option<Self> {
        let position = list.position(code)?;
        Some(Self {
            list: list.clone(),
            position,
        })
    }

    fn of(list: &Arc<CommodityList>, record: &CommodityRecord) -> Option<Self> {
        Self::find(list, &record.code)
    }

    pub(super) fn record(&self) -> &CommodityRecord {
        &self.list.records()[self.position]
    }
}

/// A code of a classification (HS by default): an HS chapter ("87"),
/// heading ("8704") or subheading ("870431"), or the total ("TOTAL"), as
/// Comtrade's reference list has it, with the flows Comtrade publishes in
/// it and the GTA interventions that name it.
#[Object]
impl Commodity {
    /// The code: "TOTAL", "87", "8704", "870431".
    async fn code(&self) -> &str {
        &self.record().code
    }
    /// The classification the code belongs to ("HS": the combined list of
    /// every HS vintage, as Comtrade reports).
    async fn classification(&self) -> &str {
        &self.record().classification
    }
    /// What the code covers, readable on its own: a subheading whose text
    /// repeats its heading only in part ("Horses :-- Other") comes after its
    /// heading's description ("Horses, asses, mules and hinnies; live -
    /// Horses: Other").
    async fn description(&self) -> &str {
        &self.record().description
    }
    /// Comtrade's own text, without the code in front.
    async fn comtrade_text(&self) -> &str {
        &self.record().text
    }
    /// 0 for the total; for HS 2 (chapter), 4 (heading) or 6 (subheading).
    async fn level(&self) -> i32 {
        i32::from(self.record().level)
    }
    /// Whether no code is below it.
    async fn is_leaf(&self) -> bool {
        self.record().is_leaf
    }
    /// The unit Comtrade reports quantities in for this code ("kg", "u" for
    /// units, "l", "m²"); null above subheadings.
    async fn quantity_unit(&self) -> Option<&str> {
        self.record().quantity_unit.as_deref()
    }
    /// The code above it (a heading's chapter, a chapter's total); null for
    /// the total.
    async fn parent(&self) -> Option<Commodity> {
        let parent = self.list.parent(self.record())?;
        Commodity::of(&self.list, parent)
    }
    /// The codes directly below it, in code order.
    async fn children(&self) -> Vec<Commodity> {
        self.list
            .children(&self.record().code)
            .into_iter()
            .filter_map(|child| Commodity::of(&self.list, child))
            .collect()
    }
    /// The flows Comtrade's reporters publish in this commodity (the code
    /// asked in its classification). Arguments as on `Query.tradeFlows`;
    /// partners default to World. All fields of an operation with the same
    /// arguments are planned together.
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
        #[graphql(desc = "Periods: years (\"2022\"), or months (\"202203\") for monthly data.")]
        periods: Vec<String>,
        #[graphql(
            desc = "Export, import, re-export or re-import (default: exports, imports, re-exports and re-imports)."
        )]
        flow: Option<TradeFlowDirection>,
        #[graphql(desc = "Annual or monthly data (default: annual).")] frequency: Option<Frequency>,
    ) -> Option<async_graphql::Result<Vec<TradeFlow>>> {
        let flows = async {
            let dialect = sources(ctx)?.comtrade_dialect();
            let record = self.record();
            let arguments = flow_arguments(
                dialect,
                partners.as_deref(),
                &periods,
                flow,
                Some(std::slice::from_ref(&record.code)),
                frequency,
                Some(&record.classification),
                // EBOPS codes are services: Comtrade's type S.
                Some(if record.classification.starts_with("EB") {
                    TradeType::Services
                } else {
                    TradeType::Goods
                }),
            )
            .graphql()?;
            let reporters = reporter_codes(dialect, &reporters).graphql()?;
            load_flows(ctx, &reporters, &arguments, PlannedWith::Arguments).await
        };
        Some(flows.await)
    }
    /// The GTA interventions that name this commodity among their affected
    /// products (GTA's `affected_products` filter with the HS subheadings at
    /// or below it; HS only). Filters and order as on `Query.interventions`,
    /// `affectedProducts` aside.
    async fn interventions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GTA's filters, typed, besides the products (set by the commodity).")]
        filter: Option<InterventionFilter>,
        #[graphql(desc = "The order of the results (default: newest announcement first).")]
        order_by: Option<Vec<InterventionOrder>>,
        #[graphql(desc = "Most items to return (default 20, at most 1000).")] limit: Option<i32>,
        #[graphql(desc = "Items to skip before the first returned (0: from the start).")]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<InterventionPage>> {
        let page = async {
            let (limit, offset) = page_bounds(limit, offset, MAX_JURISDICTION_LIMIT).graphql()?;
            if filter.as_ref().is_some_and(|f| {
                f.affected_products.is_some() || f.keep_affected_products.is_some()
            }) {
                return Err(Error::bad_input(
                    "filter.affectedProducts is set by the commodity itself here; use the top-level interventions query to filter by other products",
                ))
                .graphql();
            }
            let products = self.hs_subheadings().graphql()?;
            let mut query =
                intervention_query(filter.as_ref(), None, order_by.as_deref()).graphql()?;
            query.request_data.affected_products = Some(products);
            let gta = &sources(ctx)?.gta;
            gta.check(&query).graphql()?;
            let page = gta
                .fetch(
                    &query,
                    u64::from(limit),
                    u64::from(offset),
                    &operation(ctx)?.usage,
                )
                .await
                .graphql()?;
            Ok(InterventionPage::from(page).found_by(&query))
        };
        Some(page.await)
    }
}

/// Most HS subheadings one `Commodity.interventions` sends GTA: a chapter
/// (chapter 84 has the most, a few hundred across vintages).
const MOST_PRODUCT_CODES: usize = 1000;

impl Commodity {
    /// The HS subheadings at or below this code, as GTA's product filter
    /// takes them.
    fn hs_subheadings(&self) -> Result<Vec<u32>, Error> {
        let record = self.record();
        let hs = record.classification == "HS"
            || (record.classification.len() == 2 && record.classification.starts_with('H'));
        if !hs {
            return Err(Error::bad_input(format!(
                "GTA names products by HS code: {} {} is not one",
                record.classification, record.code
            )));
        }
        let codes: Vec<u32> = self
            .list
            .leaves(&record.code)
            .iter()
            .filter(|leaf| leaf.level == 6)
            .filter_map(|leaf| leaf.code.parse().ok())
            .collect();
        if codes.is_empty() {
            return Err(Error::bad_input(format!(
                "{} has no HS subheadings below it",
                record.code
            )));
        }
        if codes.len() > MOST_PRODUCT_CODES {
            return Err(Error::bad_input(format!(
                "{} covers {} subheadings, more than the {MOST_PRODUCT_CODES} one GTA search takes: ask for a chapter, heading or subheading",
                record.code,
                codes.len()
            )));
        }
        Ok(codes)
    }
}

/// A page of commodities.
#[derive(SimpleObject)]
pub struct CommodityPage {
    /// The codes of this page, in code order.
    pub items: Vec<Commodity>,
    /// How many codes match in all.
    pub total_count: i64,
}

/// The commodity queries.
#[derive(Default)]
pub struct CommodityQueries;

#[Object]
impl CommodityQueries {
    /// One code of a classification ("870431", "8704", "87", "TOTAL"; dots
    /// are read as tariff schedules write them, "8704.31"), or null when the
    /// list has no such code. The list is Comtrade's reference file, loaded
    /// once a day.
    async fn commodity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code, e.g. \"870431\".")] code: String,
        #[graphql(
            desc = "The classification (default HS, the combined HS list; also H0..H6, SITC S1..S4, BEC, EBOPS where Comtrade publishes a list)."
        )]
        classification: Option<String>,
    ) -> Option<async_graphql::Result<Option<Commodity>>> {
        let found = async {
            // Nothing to look up is a question to fix, not a code the list
            // lacks (which is null).
            let written = code.trim();
            if !crate::sources::comtrade::commodities::is_code(written)
                && !crate::sources::comtrade::commodities::is_code(&normalize_code(written))
            {
                return Err(Error::bad_input(format!(
                    "code {code:?} is not a commodity code: letters and digits (\"870431\", \"8704.31\", EBOPS's \"10.1.1\", \"TOTAL\")"
                )))
                .graphql();
            }
            let list = commodity_list(
                ctx,
                classification.as_deref().unwrap_or(DEFAULT_CLASSIFICATION),
            )
            .await?;
            say_left_out(ctx, &list);
            Ok(Commodity::find(&list, &code))
        };
        Some(found.await)
    }

    /// Searches a classification's codes: `search` matches words of the
    /// description (any case, accents folded, a word's beginning: "horse"
    /// finds "Horses") and, written in digits, code prefixes ("8704"); every
    /// word must match. `codes` keeps exactly those codes, `level` one level
    /// (2 chapters, 4 headings, 6 subheadings). In code order.
    #[allow(clippy::too_many_arguments)]
    async fn commodities(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Words of the description and code prefixes, e.g. \"horses\", \"8704\", \"frozen fish 03\"; not a pattern: a search without letters or digits is refused."
        )]
        search: Option<String>,
        #[graphql(desc = "Exactly these codes.")] codes: Option<Vec<String>>,
        #[graphql(
            desc = "Only codes of this level: 2, 4 or 6 for HS (0 the total); a level the classification does not have is refused."
        )]
        level: Option<i32>,
        #[graphql(desc = "The classification (default HS).")] classification: Option<String>,
        #[graphql(desc = "Most items to return (default 20, at most 1000).")] limit: Option<i32>,
        #[graphql(desc = "Items to skip before the first returned (0: from the start).")]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<CommodityPage>> {
        let page = async {
            let (limit, offset) = page_bounds(limit, offset, MAX_COMMODITY_LIMIT).graphql()?;
            if search.as_deref().is_some_and(|text| text.trim().is_empty()) {
                return Err(Error::bad_input(
                    "search is empty: leave it out to list every code",
                ))
                .graphql();
            }
            // A search of punctuation or symbols alone (".*", "%", an emoji)
            // has no word to match: refused like an empty one, rather than
            // matching every code as if no search were given. The search is
            // words and code prefixes, never a pattern.
            if search.as_deref().is_some_and(|text| !has_searchable(text)) {
                return Err(Error::bad_input(format!(
                    "search {:?} has no letters or digits to match: it takes words of the description and code prefixes (not patterns or wildcards); leave it out to list every code",
                    search.as_deref().unwrap_or_default()
                )))
                .graphql();
            }
            if codes.as_ref().is_some_and(Vec::is_empty) {
                return Err(Error::bad_input(
                    "codes is an empty list: leave it out to not filter by it",
                ))
                .graphql();
            }
            let asked_level = level;
            let level = level
                .map(|level| {
                    u8::try_from(level).map_err(|_| {
                        Error::bad_input(format!(
                            "level {level} is not a level: HS has 0 (the total), 2 (chapters), 4 (headings) and 6 (subheadings)"
                        ))
                    })
                })
                .transpose()
                .graphql()?;
            let list = commodity_list(
                ctx,
                classification.as_deref().unwrap_or(DEFAULT_CLASSIFICATION),
            )
            .await?;
            say_left_out(ctx, &list);
            // A level the list has no code of would answer an empty page
            // that looks like "no match": refused, naming the levels there are.
            if let Some(level) = level {
                let levels = list.levels();
                if !levels.contains(&level) {
                    return Err(Error::bad_input(format!(
                        "level {} is not a level of {}: its levels are {}",
                        asked_level.unwrap_or_default(),
                        list.classification(),
                        levels
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                    .graphql();
                }
            }
            let matches = list.search(
                &CommoditySearch {
                    search,
                    codes,
                    level,
                },
                limit as usize,
                offset as usize,
            );
            Ok(CommodityPage {
                total_count: matches.total as i64,
                items: matches
                    .items
                    .into_iter()
                    .filter_map(|record| Commodity::of(&list, record))
                    .collect(),
            })
        };
        Some(page.await)
    }
}

/// Whether a search has something to match: a letter or digit.
fn has_searchable(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
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
            page_limit,
            ..
        } = *pricing;
        let asks = |source, kind| pricing.asks(source, kind);
        match (parent, field) {
            ("Query", "commodity") => {
                rule.demand = Some(estimate::reference_list(
                    arguments.text("classification").as_deref(),
                ));
                rule.known_items = Some(commodity_cost::named(&rules.lists, arguments));
            }
            ("Query", "commodities") => {
                let limit = limit(arguments, MAX_COMMODITY_LIMIT);
                rule.page_limit = Some(limit);
                rule.demand = Some(estimate::reference_list(
                    arguments.text("classification").as_deref(),
                ));
                rule.known_items = Some(commodity_cost::page(&rules.lists, arguments, limit));
            }
            ("CommodityPage", "items") => {
                rule.list_bound = page_limit;
                rule.known_items = arguments.known_parents().map(<[String]>::to_vec);
            }
            ("Commodity", "children") => {
                let (items, most) = commodity_cost::children(&rules.lists, arguments);
                rule.list_bound = Some(most);
                rule.known_items = items;
            }
            ("Commodity", "parent") => {
                rule.known_items = commodity_cost::parent(&rules.lists, arguments);
            }
            // The products' nodes: the HS list.
            ("AffectedProduct" | "AffectedTradeProduct" | "ProfileProduct", "commodity") => {
                rule.demand = Some(estimate::reference_list(None));
                rule.known_items = Some(commodity_cost::any_of(DEFAULT_CLASSIFICATION));
            }
            ("Commodity", "tradeFlows") => {
                let reporters = arguments.len("reporters").unwrap_or(1).max(1);
                let (rows, requests) = rules.flows(arguments);
                rule.list_bound = Some(rows.saturating_mul(reporters));
                // The commodities of fields with the same arguments are one
                // plan (`ComtradeLoader` merges shapes that differ only in
                // their codes): the reporters' plan once per chunk of codes
                // the dialect takes in one request.
                let per_commodity = rules.named_reporters_requests(arguments, reporters, requests);
                let codes_per_request = estimate::codes_per_request(rules.comtrade);
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
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
