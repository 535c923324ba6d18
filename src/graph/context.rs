//! What resolvers reach through the async-graphql context: the process-wide
//! [`Sources`] and the per-operation [`OperationContext`].

use async_graphql::dataloader::DataLoader;
use async_graphql::Context;

use crate::countries::ComtradeDialect;
use crate::sources::gta::{GtaClient, GtaLoader};
use crate::sources::UpstreamUsage;

/// The configured upstream clients, shared by every operation.
#[derive(Clone, Debug)]
pub struct Sources {
    pub gta: GtaClient,
    /// Which Comtrade reporter list `Jurisdiction.comtradeReporterCode` follows.
    pub comtrade_dialect: ComtradeDialect,
}

/// State of one GraphQL operation: its upstream accounting and its loaders,
/// which batch only within the operation.
pub struct OperationContext {
    pub usage: UpstreamUsage,
    pub gta: DataLoader<GtaLoader>,
}

impl OperationContext {
    pub fn new(sources: &Sources) -> Self {
        let usage = UpstreamUsage::default();
        Self {
            gta: DataLoader::new(
                GtaLoader::new(sources.gta.clone(), usage.clone()),
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
