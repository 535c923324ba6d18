//! What resolvers reach through the async-graphql context: the process-wide
//! [`Sources`] and the per-operation [`OperationContext`].

use async_graphql::dataloader::DataLoader;
use async_graphql::Context;

use crate::countries::ComtradeDialect;
use crate::sources::comtrade::{ComtradeClient, ComtradeLoader};
use crate::sources::gta::{GtaClient, GtaLoader};
use crate::sources::ita::{ItaClient, ItaLoader};
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
/// which batch only within the operation.
pub struct OperationContext {
    pub usage: UpstreamUsage,
    pub gta: DataLoader<GtaLoader>,
    pub comtrade: DataLoader<ComtradeLoader>,
    pub ita: DataLoader<ItaLoader>,
}

impl OperationContext {
    pub fn new(sources: &Sources) -> Self {
        let usage = UpstreamUsage::default();
        // Without batching (a benchmark baseline), every key is its own batch.
        let most = |batch: usize| if sources.batching { batch } else { 1 };
        Self {
            gta: DataLoader::new(
                GtaLoader::new(sources.gta.clone(), usage.clone()),
                tokio::spawn,
            )
            .max_batch_size(most(1000)),
            comtrade: DataLoader::new(
                ComtradeLoader::new(sources.comtrade.clone(), usage.clone()),
                tokio::spawn,
            )
            // A Comtrade field asks for one key per (reporter, partner,
            // period): a 200-jurisdiction, 12-period query registers 2,400
            // keys, which takes longer than the default 1 ms window, and keys
            // that miss it cost extra requests (`cargo bench --bench batching`
            // measured 3 requests instead of 1 at 100 x 12 on v1). 5 ms keeps
            // every benchmark shape at the lower bound; every query that
            // touches Comtrade pays it, cached or not (BENCHMARKS.md).
            .delay(std::time::Duration::from_millis(5))
            .max_batch_size(most(100_000)),
            ita: DataLoader::new(
                ItaLoader::new(sources.ita.clone(), usage.clone()),
                tokio::spawn,
            )
            .max_batch_size(most(1000)),
            usage,
        }
    }
}

pub(crate) fn sources<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Sources> {
    ctx.data::<Sources>()
}

pub(crate) fn operation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a OperationContext> {
    ctx.data::<OperationContext>()
}
