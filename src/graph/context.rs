//! What resolvers reach through the async-graphql context: the process-wide
//! [`Sources`] and the per-operation [`OperationContext`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::Context;

use super::batch::{self, Batch, BatchLoader, PendingBatches};
use crate::countries::ComtradeDialect;
use crate::sources::comtrade::{ComtradeClient, ComtradeLoader, TradeFlowKey};
use crate::sources::gta::{GtaClient, GtaLoader, JurisdictionInterventionsKey};
use crate::sources::ita::{
    CountryKey, CountryRecord, ItaClient, ItaLoader, OfficeLocation, TradeEvent, TradeLead,
};
use crate::sources::UpstreamUsage;

/// The configured upstream clients, shared by every operation.
#[derive(Clone, Debug)]
pub struct Sources {
    pub gta: GtaClient,
    pub comtrade: ComtradeClient,
    pub ita: ItaClient,
    /// Whether loaders batch keys (on, except to measure the baseline).
    pub batching: bool,
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
    pub comtrade: BatchLoader<TradeFlowKey, ComtradeLoader>,
    pub ita_leads: BatchLoader<CountryKey<TradeLead>, ItaLoader>,
    pub ita_offices: BatchLoader<CountryKey<OfficeLocation>, ItaLoader>,
    pub ita_events: BatchLoader<CountryKey<TradeEvent>, ItaLoader>,
    driven: Arc<AtomicBool>,
}

impl OperationContext {
    pub fn new(sources: &Sources) -> Self {
        let usage = UpstreamUsage::default();
        let driven = Arc::new(AtomicBool::new(false));
        // Without batching (a benchmark baseline), every load is its own call.
        let batching = sources.batching;
        let ita = || ItaLoader::new(sources.ita.clone(), usage.clone());
        Self {
            gta: BatchLoader::new(
                GtaLoader::new(sources.gta.clone(), usage.clone()),
                batching,
                driven.clone(),
            ),
            comtrade: BatchLoader::new(
                ComtradeLoader::new(sources.comtrade.clone(), usage.clone()),
                batching,
                driven.clone(),
            ),
            ita_leads: BatchLoader::new(ita(), batching, driven.clone()),
            ita_offices: BatchLoader::new(ita(), batching, driven.clone()),
            ita_events: BatchLoader::new(ita(), batching, driven.clone()),
            usage,
            driven,
        }
    }

    /// Runs `operation` (the schema executing a request that carries this
    /// context), sending the loaders' batches whenever it waits for them.
    pub async fn run<F: Future>(&self, operation: F) -> F::Output {
        batch::drive(self, operation).await
    }
}

impl PendingBatches for OperationContext {
    fn start_driving(&self) {
        self.driven.store(true, Ordering::Release);
    }

    fn take_batches(&self) -> Vec<Batch> {
        [
            self.gta.take_batch(),
            self.comtrade.take_batch(),
            self.ita_leads.take_batch(),
            self.ita_offices.take_batch(),
            self.ita_events.take_batch(),
        ]
        .into_iter()
        .flatten()
        .collect()
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
