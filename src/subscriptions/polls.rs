//! What each feed asks its upstream: the newest interventions of a set of
//! jurisdictions (GTA, by descending intervention id, which GTA assigns in
//! the order it publishes), and the first page of trade leads for a set of
//! countries (ITA has no order to ask for, so a lead is new when the feed
//! has not seen it before).

use std::sync::Arc;

use futures::future::BoxFuture;

use super::feed::Poller;
use super::FEED_CLIENT;
use crate::error::Error;
use crate::sources::gta::{self, GtaClient, InterventionQuery, RequestData, SortKey, Sorting};
use crate::sources::ita::{Endpoint, ItaClient, SearchParams, TradeLead};
use crate::sources::pacing::ClientId;
use crate::sources::UpstreamUsage;

/// Interventions one GTA poll asks for: more than GTA publishes for any
/// set of jurisdictions between two polls.
const INTERVENTIONS_PER_POLL: u32 = 100;

/// A poll's accounting: the feeds' own budget share, no request maximum.
fn poll_usage() -> UpstreamUsage {
    UpstreamUsage::default().for_client(ClientId(FEED_CLIENT.to_owned()))
}

/// Interventions implemented by any of `implementers` and affecting any of
/// `affected` (GTA ids, sorted, no repeats; empty: any jurisdiction). Both
/// empty: every new intervention.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct InterventionsKey {
    implementers: Vec<u16>,
    affected: Vec<u16>,
}

impl InterventionsKey {
    /// The key of `implementers` and `affected` in any order, with repeats:
    /// subscribers who name the same jurisdictions share a poll.
    pub fn new(mut implementers: Vec<u16>, mut affected: Vec<u16>) -> Self {
        for ids in [&mut implementers, &mut affected] {
            ids.sort_unstable();
            ids.dedup();
        }
        Self {
            implementers,
            affected,
        }
    }

    fn query(&self) -> InterventionQuery {
        let listed = |ids: &Vec<u16>| (!ids.is_empty()).then(|| ids.clone());
        InterventionQuery {
            request_data: RequestData {
                implementer: listed(&self.implementers),
                affected: listed(&self.affected),
                ..RequestData::default()
            },
            sorting: Sorting(vec![(SortKey::InterventionId, true)]),
        }
    }
}

/// Polls GTA for the newest interventions of a key.
pub struct NewInterventions {
    gta: GtaClient,
}

impl NewInterventions {
    pub fn new(gta: GtaClient) -> Self {
        Self { gta }
    }
}

impl Poller for NewInterventions {
    type Key = InterventionsKey;
    type Record = gta::Intervention;

    fn poll(
        &self,
        key: &InterventionsKey,
    ) -> BoxFuture<'static, Result<Vec<Arc<gta::Intervention>>, Error>> {
        let gta = self.gta.clone();
        let query = key.query();
        Box::pin(async move {
            gta.newest(&query, INTERVENTIONS_PER_POLL, &poll_usage())
                .await
        })
    }

    fn identity(record: &gta::Intervention) -> String {
        record.id.to_string()
    }
}

/// Trade leads in any of a set of countries (ISO alpha-2, sorted, no
/// repeats).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LeadsKey {
    countries: Vec<String>,
}

impl LeadsKey {
    pub fn new(mut countries: Vec<String>) -> Self {
        countries.sort_unstable();
        countries.dedup();
        Self { countries }
    }
}

/// Polls ITA for the first page of a key's trade leads.
pub struct NewTradeLeads {
    ita: ItaClient,
}

impl NewTradeLeads {
    pub fn new(ita: ItaClient) -> Self {
        Self { ita }
    }
}

impl Poller for NewTradeLeads {
    type Key = LeadsKey;
    type Record = TradeLead;

    fn poll(&self, key: &LeadsKey) -> BoxFuture<'static, Result<Vec<Arc<TradeLead>>, Error>> {
        let ita = self.ita.clone();
        let params = SearchParams {
            countries: key.countries.clone(),
            ..SearchParams::default()
        };
        Box::pin(async move {
            ita.newest(Endpoint::TradeLeads, &params, &poll_usage())
                .await
        })
    }

    /// ITA's id; Canada's leads have none, and are told apart by what
    /// they say.
    fn identity(lead: &TradeLead) -> String {
        match &lead.id {
            Some(id) => id.clone(),
            None => format!(
                "{}|{}|{}|{}",
                lead.source.as_deref().unwrap_or_default(),
                lead.title.as_deref().unwrap_or_default(),
                lead.publish_date.as_deref().unwrap_or_default(),
                lead.iso2().unwrap_or_default(),
            ),
        }
    }
}
