//! What resolvers reach through the async-graphql context: the process-wide
//! [`Sources`] and the per-operation [`OperationContext`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::dataloader::Loader;
use async_graphql::Context;

use super::batch::{self, Batch, BatchLoader, PendingBatches};
use crate::countries::ComtradeDialect;
use crate::error::Error;
use crate::limits::{DemandLimits, Refusal, RefusalCode, ResultSize};
use crate::sources::comtrade::{ComtradeClient, ComtradeLoader, TradeFlowKey};
use crate::sources::gta::{GtaClient, GtaLoader, InterventionsById, JurisdictionInterventionsKey};
use crate::sources::ita::datasets::{MarketResearch, TradeArticle};
use crate::sources::ita::links::{LinkKey, LinkLoader};
use crate::sources::ita::{
    CountryKey, CountryRecord, ItaClient, ItaLoader, OfficeLocation, TradeEvent, TradeLead,
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
    /// How much of the result is built; the limits extension counts into it.
    pub result_size: ResultSize,
    loaders: Arc<Loaders>,
    /// When loads still waiting are cut off (`None`: a subscription's
    /// events, whose requests each keep to their own timeout).
    deadline: Option<tokio::time::Instant>,
}

/// An operation's batch loaders, each built on the operation's first load
/// from it: most operations touch two or three of the nine, and building
/// all of them up front was a measurable share of a cached operation.
struct Loaders {
    sources: Sources,
    usage: UpstreamUsage,
    /// Set once [`OperationContext::run`] drives the operation.
    driven: Arc<AtomicBool>,
    gta: OnceLock<BatchLoader<JurisdictionInterventionsKey, GtaLoader>>,
    gta_by_id: OnceLock<BatchLoader<u32, InterventionsById>>,
    comtrade: OnceLock<BatchLoader<TradeFlowKey, ComtradeLoader>>,
    ita_leads: OnceLock<BatchLoader<CountryKey<TradeLead>, ItaLoader>>,
    ita_offices: OnceLock<BatchLoader<CountryKey<OfficeLocation>, ItaLoader>>,
    ita_events: OnceLock<BatchLoader<CountryKey<TradeEvent>, ItaLoader>>,
    ita_market_research: OnceLock<BatchLoader<CountryKey<MarketResearch>, ItaLoader>>,
    ita_articles: OnceLock<BatchLoader<CountryKey<TradeArticle>, ItaLoader>>,
    ita_links: OnceLock<BatchLoader<LinkKey, LinkLoader>>,
}

impl Loaders {
    /// The loader in `cell`, built from `make` (given the upstream clients
    /// and the operation's accounting) on first use.
    fn get<'a, K, L>(
        &'a self,
        cell: &'a OnceLock<BatchLoader<K, L>>,
        source: Source,
        make: impl FnOnce(&Sources, UpstreamUsage) -> L,
    ) -> &'a BatchLoader<K, L>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        L: Loader<K, Error = Error>,
    {
        cell.get_or_init(|| {
            BatchLoader::new(
                make(&self.sources, self.usage.clone()),
                source,
                // Without batching (a benchmark baseline), every load is
                // its own call.
                self.sources.batching,
                self.driven.clone(),
                self.sources.operation_timeout,
            )
        })
    }

    /// What every loader built so far has waiting.
    fn take_batches(&self) -> Vec<Batch> {
        fn take<K, L>(cell: &OnceLock<BatchLoader<K, L>>) -> Option<Batch>
        where
            K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
            L: Loader<K, Error = Error>,
        {
            cell.get()?.take_batch()
        }
        [
            take(&self.gta),
            take(&self.gta_by_id),
            take(&self.comtrade),
            take(&self.ita_leads),
            take(&self.ita_offices),
            take(&self.ita_events),
            take(&self.ita_market_research),
            take(&self.ita_articles),
            take(&self.ita_links),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
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
        Self {
            loaders: Arc::new(Loaders {
                sources: sources.clone(),
                usage: usage.clone(),
                driven: Arc::default(),
                gta: OnceLock::new(),
                gta_by_id: OnceLock::new(),
                comtrade: OnceLock::new(),
                ita_leads: OnceLock::new(),
                ita_offices: OnceLock::new(),
                ita_events: OnceLock::new(),
                ita_market_research: OnceLock::new(),
                ita_articles: OnceLock::new(),
                ita_links: OnceLock::new(),
            }),
            usage,
            result_size: ResultSize::default(),
            deadline,
        }
    }

    /// Pages of interventions per jurisdiction.
    pub fn gta(&self) -> &BatchLoader<JurisdictionInterventionsKey, GtaLoader> {
        let loaders = &*self.loaders;
        loaders.get(&loaders.gta, Source::Gta, |sources, usage| {
            GtaLoader::new(sources.gta.clone(), usage)
        })
    }

    /// Interventions by id, for federation's `_entities`.
    pub fn gta_by_id(&self) -> &BatchLoader<u32, InterventionsById> {
        let loaders = &*self.loaders;
        loaders.get(&loaders.gta_by_id, Source::Gta, |sources, usage| {
            InterventionsById::new(sources.gta.clone(), usage)
        })
    }

    /// Trade flows per reporter, partner, period and commodity.
    pub fn comtrade(&self) -> &BatchLoader<TradeFlowKey, ComtradeLoader> {
        let loaders = &*self.loaders;
        loaders.get(&loaders.comtrade, Source::Comtrade, |sources, usage| {
            ComtradeLoader::new(sources.comtrade.clone(), usage)
        })
    }

    /// ITA's toolkit records linked from one another.
    pub fn ita_links(&self) -> &BatchLoader<LinkKey, LinkLoader> {
        let loaders = &*self.loaders;
        loaders.get(&loaders.ita_links, Source::Ita, |sources, usage| {
            LinkLoader::new(sources.ita.clone(), usage)
        })
    }

    /// The loader of one ITA endpoint's records per country.
    fn ita<'a, R>(
        &'a self,
        cell: &'a OnceLock<BatchLoader<CountryKey<R>, ItaLoader>>,
    ) -> &'a BatchLoader<CountryKey<R>, ItaLoader>
    where
        R: CountryRecord,
        ItaLoader: Loader<CountryKey<R>, Error = Error>,
    {
        self.loaders.get(cell, Source::Ita, |sources, usage| {
            ItaLoader::new(sources.ita.clone(), usage)
        })
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
        self.loaders.driven.store(true, Ordering::Release);
    }

    fn take_batches(&self) -> Vec<Batch> {
        self.loaders.take_batches()
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
        operation.ita(&operation.loaders.ita_leads)
    }
}

impl ItaBatches for OfficeLocation {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        operation.ita(&operation.loaders.ita_offices)
    }
}

impl ItaBatches for MarketResearch {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        operation.ita(&operation.loaders.ita_market_research)
    }
}

impl ItaBatches for TradeArticle {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        operation.ita(&operation.loaders.ita_articles)
    }
}

impl ItaBatches for TradeEvent {
    fn loader(operation: &OperationContext) -> &BatchLoader<CountryKey<Self>, ItaLoader> {
        operation.ita(&operation.loaders.ita_events)
    }
}

pub(crate) fn sources<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Sources> {
    ctx.data::<Sources>()
}

pub(crate) fn operation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a OperationContext> {
    ctx.data::<OperationContext>()
}
