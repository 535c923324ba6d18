//! Subscriptions' data: feeds of new GTA interventions and new ITA trade
//! leads, found by polling the upstream.
//!
//! Neither upstream pushes anything, so "new" means "not there at the
//! previous poll". Each feed polls once per interval per key (a set of
//! jurisdictions), whatever the number of subscribers to that key
//! ([`feed::Feed`]); polls take the ordinary upstream path, so budgets,
//! pacing, the breaker and retries hold for them as for queries, and they
//! spend the budget share of one client, [`FEED_CLIENT`]. The number of keys
//! polled at once is bounded (`--max-subscription-feeds`): it is what the
//! upstreams pay for.

pub mod feed;
mod polls;

use std::time::Duration;

pub use feed::{Feed, FeedEvent, FeedsFull};
pub use polls::{InterventionsKey, LeadsKey, NewInterventions, NewTradeLeads};

use crate::metrics::Metrics;
use crate::source::Source;
use crate::sources::gta::GtaClient;
use crate::sources::ita::ItaClient;

/// Whose budget share the polls spend.
pub const FEED_CLIENT: &str = "subscription-feeds";

/// How subscriptions are served.
#[derive(Clone, Copy, Debug)]
pub struct SubscriptionSettings {
    /// How often each key is polled.
    pub poll_interval: Duration,
    /// Keys polled at once, per feed.
    pub max_feeds: usize,
    /// Subscriptions open at once, in the whole process.
    pub max_subscriptions: usize,
    /// Subscriptions open at once on one WebSocket connection.
    pub max_per_connection: usize,
    /// WebSocket connections open at once.
    pub max_websockets: usize,
}

/// The gateway's feeds: a cheap `Clone` handle, in the schema's data.
#[derive(Clone)]
pub struct Feeds {
    pub interventions: Feed<NewInterventions>,
    pub trade_leads: Feed<NewTradeLeads>,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Feeds({} intervention keys, {} trade lead keys)",
            self.interventions.polled_keys(),
            self.trade_leads.polled_keys()
        )
    }
}

impl Feeds {
    /// Feeds polling `gta` and `ita` as `settings` say, counting their
    /// polls in `metrics` and calling `on_news` with the source whenever a
    /// poll finds records it had not seen.
    pub fn new(
        gta: GtaClient,
        ita: ItaClient,
        settings: SubscriptionSettings,
        metrics: &Metrics,
        on_news: impl Fn(Source) + Clone + Send + Sync + 'static,
    ) -> Self {
        let polled = |feed: &'static str| {
            let metrics = metrics.clone();
            move || metrics.subscription_poll(feed)
        };
        let news = |source: Source| {
            let on_news = on_news.clone();
            move || on_news(source)
        };
        Self {
            interventions: Feed::with_hooks(
                NewInterventions::new(gta),
                settings.poll_interval,
                settings.max_feeds,
                polled("interventions"),
                news(Source::Gta),
            ),
            trade_leads: Feed::with_hooks(
                NewTradeLeads::new(ita),
                settings.poll_interval,
                settings.max_feeds,
                polled("trade_leads"),
                news(Source::Ita),
            ),
        }
    }
}
