//! The root subscription: new GTA interventions and new ITA trade leads,
//! from the polled feeds of `subscriptions`.
//!
//! Each event resolves its selection like an operation of its own: the
//! subscription's upstream accounting and result count start over at every
//! event, so nested fields (an intervention's jurisdictions and their flows)
//! are held to one operation's request maximum and result cap per event.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, Subscription};
use futures::stream::{BoxStream, Stream, StreamExt};

use super::context::operation;
use super::intervention::{jurisdictions, Intervention};
use super::ita::{iso2_codes, TradeLead};
use crate::error::{Error, GraphqlResult};
use crate::subscriptions::{FeedEvent, Feeds, FeedsFull, InterventionsKey, LeadsKey};

/// The root subscription.
#[derive(Default)]
pub struct TradeSubscriptions;

/// News as it is published upstream, found by polling (the gateway's
/// `--subscription-poll-interval`); over WebSocket (`graphql-transport-ws`)
/// on `/graphql`.
#[Subscription(name = "Subscription")]
impl TradeSubscriptions {
    /// Interventions GTA publishes from now on, implemented by any of
    /// `implementers` and affecting any of `affected` (both left out: every
    /// new intervention). What GTA holds when the subscription starts is not
    /// sent; each later poll sends what it had not seen, oldest first. A
    /// failing poll sends one error (code and `source: gta`), and the
    /// subscription carries on.
    async fn new_interventions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Implementing jurisdictions (GTA ids, ISO codes or names); left out: any."
        )]
        implementers: Option<Vec<String>>,
        #[graphql(desc = "Affected jurisdictions (GTA ids, ISO codes or names); left out: any.")]
        affected: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Intervention>>> {
        let implementers = jurisdictions("implementers", &implementers).graphql()?;
        let affected = jurisdictions("affected", &affected).graphql()?;
        let key = InterventionsKey::new(
            implementers.unwrap_or_default(),
            affected.unwrap_or_default(),
        );
        let events = ctx
            .data::<Feeds>()?
            .interventions
            .subscribe(key)
            .map_err(|full| feeds_full(full, "interventions"))?;
        Ok(per_event(ctx, events, Intervention::new))
    }

    /// Trade leads ITA lists from now on in any of `countries`. What ITA
    /// lists when the subscription starts is not sent; each later poll
    /// (the first 100 leads of the countries) sends the leads it had not
    /// seen. A failing poll sends one error (code and `source: ita`), and
    /// the subscription carries on.
    async fn new_trade_leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Countries (ISO codes or names), at least one.")] countries: Vec<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<TradeLead>>> {
        let countries = iso2_codes(Some(&countries)).graphql()?;
        let events = ctx
            .data::<Feeds>()?
            .trade_leads
            .subscribe(LeadsKey::new(countries))
            .map_err(|full| feeds_full(full, "trade leads"))?;
        Ok(per_event(ctx, events, TradeLead))
    }
}

/// A feed's events as the field's items, each starting the subscription's
/// upstream accounting and result count over.
fn per_event<R, T>(
    ctx: &Context<'_>,
    events: BoxStream<'static, FeedEvent<R>>,
    item: fn(Arc<R>) -> T,
) -> impl Stream<Item = async_graphql::Result<T>>
where
    R: Send + Sync + 'static,
    T: Send + 'static,
{
    let operation = operation(ctx).ok().cloned();
    events.map(move |event| {
        if let Some(operation) = &operation {
            operation.usage.reset();
            operation.result_size.reset();
        }
        match event {
            FeedEvent::New(record) => Ok(item(record)),
            FeedEvent::Failed(error) => Err::<T, Error>(error).graphql(),
        }
    })
}

/// A new key when the feed polls as many as it may.
fn feeds_full(full: FeedsFull, feed: &str) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "the gateway already polls {} sets of jurisdictions for new {feed} (--max-subscription-feeds); subscribe to the same jurisdictions as others, or try again later",
        full.max_keys
    ))
    .extend_with(|_, extensions| extensions.set("code", crate::error_codes::TOO_MANY_SUBSCRIPTION_FEEDS))
}
