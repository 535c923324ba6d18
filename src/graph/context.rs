//! What resolvers reach through the async-graphql context: the process-wide
//! [`Sources`] and the per-operation [`OperationContext`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;

use super::batch::{self, Batch, BatchLoader, PendingBatches};
use crate::countries::ComtradeDialect;
use crate::limits::{DemandLimits, Refusal, RefusalCode, ResultSize};
use crate::sources::comtrade::coverage::{self, CoverageKey, CoverageLoader};
use crate::sources::comtrade::loader::ReferenceLoader;
use crate::sources::comtrade::{ComtradeClient, ComtradeLoader, TradeFlowKey};
use crate::sources::gta::{GtaClient, GtaLoader, InterventionsById, JurisdictionInterventionsKey};
use crate::sources::ita::datasets::{MarketResearch, TradeArticle};
use crate::sources::ita::links::{LinkKey, LinkLoader};
use crate::sources::ita::{
    CountryKey, CountryRecord, DeMinimis, ItaClient, ItaLoader, OfficeLocation, ScreeningEntry,
    TradeEvent, TradeLead,
};
use crate::sources::pacing::ClientId;
use crate::sources::{Source, UpstreamUsage};

/// The configured upstream clients, shared by every operation.
#[derive(Clone, Debug)]
pub struct Sources {
    pub gta: GtaClient,
    pub comtrade: ComtradeClient,
    pub ita: ItaClient,
    /// Whether loaders batch keys (on, except to measure the baseline).
    pub batching: bool,
    /// How long one operation may wait on upstreams.
    pub operation_timeout: Duration,
    /// Most upstream requests per source one operation may send.
    pub demand: DemandLimits,
}

impl Sources {
    /// Which Comtrade reporter list codes follow.
    pub fn comtrade_dialect(&self) -> ComtradeDialect {
        self.comtrade.dialect()
    }
}

/// State of one GraphQL operation: its upstream accounting and its loaders,
/// which batch only within the operation. Run the operation through
/// [`OperationContext::run`], which sends the loaders' batches.
#[derive(Clone)]
pub struct OperationContext {
    pub usage: UpstreamUsage,
    pub gta: BatchLoader<JurisdictionInterventionsKey, GtaLoader>,
    /// Interventions by id, for federation's `_entities`.
    pub gta_by_id: BatchLoader<u32, InterventionsById>,
    pub comtrade: BatchLoader<TradeFlowKey, ComtradeLoader>,
    /// Classifications' reference lists (the commodities), by classification.
    pub references: BatchLoader<String, ReferenceLoader>,
    /// Every `Intervention.affectedTrade` of the operation, as one plan.
    pub coverage: BatchLoader<CoverageKey, CoverageLoader>,
    pub ita_leads: BatchLoader<CountryKey<TradeLead>, ItaLoader>,
    pub ita_offices: BatchLoader<CountryKey<OfficeLocation>, ItaLoader>,
    pub ita_events: BatchLoader<CountryKey<TradeEvent>, ItaLoader>,
    pub ita_market_research: BatchLoader<CountryKey<MarketResearch>, ItaLoader>,
    pub ita_articles: BatchLoader<CountryKey<TradeArticle>, ItaLoader>,
    pub ita_links: BatchLoader<LinkKey, LinkLoader>,
    pub ita_screening: BatchLoader<CountryKey<ScreeningEntry>, ItaLoader>,
    pub ita_de_minimis: BatchLoader<CountryKey<DeMinimis>, ItaLoader>,
    /// How much of the result is built; the limits extension counts into it.
    pub result_size: ResultSize,
    driven: Arc<AtomicBool>,
    /// When loads still waiting are cut off (`None`: a subscription's
    /// events, whose requests each keep to their own timeout).
    deadline: Option<tokio::time::Instant>,
}

impl OperationContext {
    /// The context of one operation for `client` (whose budget share its
    /// upstream requests spend).
    pub fn new(sources: &Sources, client: ClientId) -> Self {
        let deadline = tokio::time::Instant::now() + sources.operation_timeout;
        let usage = UpstreamUsage::with_limits(sources.demand)
            .for_client(client)
            .with_deadline(deadline);
        Self::with_usage(sources, usage, Some(deadline))
    }

    /// The context of a subscription for `client`: its events resolve one
    /// after the other, each run through [`OperationContext::run`] (so its
    /// loads batch) with the accounting reset ([`UpstreamUsage::reset`]),
    /// and without a deadline: an event waits for its upstream requests,
    /// each held to its own timeout.
    pub fn for_subscription(sources: &Sources, client: ClientId) -> Self {
        let usage = UpstreamUsage::with_limits(sources.demand).for_client(client);
        Self::with_usage(sources, usage, None)
    }

    fn with_usage(
        sources: &Sources,
        usage: UpstreamUsage,
        deadline: Option<tokio::time::Instant>,
    ) -> Self {
        let driven = Arc::new(AtomicBool::new(false));
        // Without batching (a benchmark baseline), every load is its own call.
        let batching = sources.batching;
        let timeout = sources.operation_timeout;
        let ita = || ItaLoader::new(sources.ita.clone(), usage.clone());
        Self {
            gta: BatchLoader::new(
                GtaLoader::new(sources.gta.clone(), usage.clone()),
                Source::Gta,
                batching,
                driven.clone(),
                timeout,
            ),
            gta_by_id: BatchLoader::new(
                InterventionsById::new(sources.gta.clone(), usage.clone()),
                Source::Gta,
                batching,
                driven.clone(),
                timeout,
            ),
            comtrade: BatchLoader::new(
                ComtradeLoader::new(sources.comtrade.clone(), usage.clone()),
                Source::Comtrade,
                batching,
                driven.clone(),
                timeout,
            ),
            references: BatchLoader::new(
                ReferenceLoader::new(sources.comtrade.clone(), usage.clone()),
                Source::Comtrade,
                batching,
                driven.clone(),
                timeout,
            ),
            coverage: BatchLoader::new(
                CoverageLoader::new(
                    sources.comtrade.clone(),
                    usage.clone(),
                    coverage::allowance(sources.demand.comtrade),
                ),
                Source::Comtrade,
                batching,
                driven.clone(),
                timeout,
            ),
            ita_leads: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            ita_offices: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            ita_events: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            ita_market_research: BatchLoader::new(
                ita(),
                Source::Ita,
                batching,
                driven.clone(),
                timeout,
            ),
            ita_articles: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            ita_links: BatchLoader::new(
                LinkLoader::new(sources.ita.clone(), usage.clone()),
                Source::Ita,
                batching,
                driven.clone(),
                timeout,
            ),
            ita_screening: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            ita_de_minimis: BatchLoader::new(ita(), Source::Ita, batching, driven.clone(), timeout),
            usage,
            result_size: ResultSize::default(),
            driven,
            deadline,
        }
    }

    /// Runs `operation` (the schema executing a request that carries this
    /// context and its [`ResultSize`]), sending the loaders' batches
    /// whenever it waits for them. At the deadline, loads still waiting fail
    /// and the operation finishes with the rest; when the result grows past
    /// its cap the operation is stopped and the refusal returned instead.
    pub async fn run<F: Future>(&self, operation: F) -> Result<F::Output, Refusal> {
        match batch::drive(self, operation).await {
            Some(output) => Ok(output),
            None => Err(self.result_size.exceeded().unwrap_or_else(|| {
                Refusal::new(RefusalCode::ResultTooLarge, "the operation was stopped")
            })),
        }
    }
}

impl PendingBatches for OperationContext {
    fn start_driving(&self) {
        self.driven.store(true, Ordering::Release);
    }

    fn take_batches(&self) -> Vec<Batch> {
        [
            self.gta.take_batch(),
            self.gta_by_id.take_batch(),
            self.comtrade.take_batch(),
            self.coverage.take_batch(),
            self.references.take_batch(),
            self.ita_leads.take_batch(),
            self.ita_offices.take_batch(),
            self.ita_events.take_batch(),
            self.ita_market_research.take_batch(),
            self.ita_articles.take_batch(),
            self.ita_links.take_batch(),
            self.ita_screening.take_batch(),
            self.ita_de_minimis.take_batch(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.deadline
    }

    fn abandoned(&self) -> bool {
        self.result_size.exceeded().is_some()
    }
}

/// The operation's loader for one ITA endpoint's records.
pub(crate) trait ItaBatches: CountryRecord + Sized {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader>;
}

impl ItaBatches for TradeLead {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_leads
    }
}

impl ItaBatches for OfficeLocation {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_offices
    }
}

impl ItaBatches for MarketResearch {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_market_research
    }
}

impl ItaBatches for TradeArticle {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_articles
    }
}

impl ItaBatches for ScreeningEntry {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_screening
    }
}

impl ItaBatches for DeMinimis {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_de_minimis
    }
}

impl ItaBatches for TradeEvent {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        &operation.ita_events
    }
}

pub(crate) fn sources<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Sources> {
    ctx.data::<Sources>()
}

pub(crate) fn operation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a OperationContext> {
    ctx.data::<OperationContext>()
}

/// Answers `error` beside the field's data: the field resolves with what
/// could be read, and the response's `errors` says what could not, at the
/// field's path (unreadable records or products, measures past the
/// affected-trade allowance).
pub(crate) fn report_beside(ctx: &Context<'_>, error: crate::error::Error) {
    use async_graphql::ErrorExtensions;
    ctx.add_error(ctx.set_error_path(error.extend().into_server_error(ctx.item.pos)));
}
