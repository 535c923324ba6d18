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
        Self {
            gta: DataLoader::new(
                GtaLoader::new(sources.gta.clone(), usage.clone()),
                tokio::spawn,
            ),
            comtrade: DataLoader::new(
                ComtradeLoader::new(sources.comtrade.clone(), usage.clone()),
                tokio::spawn,
            )
            // A Comtrade field asks for one key per (reporter, partner,
            // period); let one batch hold every key of a large query. The
            // default 1 ms window is enough for keys registered in one
            // resolver pass, and each millisecond of it is paid by every
            // query, cached or not.
            .max_batch_size(100_000),
            ita: DataLoader::new(
                ItaLoader::new(sources.ita.clone(), usage.clone()),
                tokio::spawn,
            ),
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
