//! Batches the environmental toolkit's links: every issue, solution,
//! regulation or provider of an operation asking for its linked records of
//! one kind goes into one search (`solutions/search?issue_ids=23,24`), and
//! the records are routed back by the id that links them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures::future::try_join_all;

use super::client::{Endpoint, ItaClient, SearchParams};
use super::datasets::{EnvirotechKind, EnvirotechRecord};
use crate::error::Error;
use crate::sources::UpstreamUsage;

/// Most linked records one batch returns (the whole toolkit has 554
/// provider-solution links).
pub(crate) const MAX_LINKED: u64 = 1000;

/// How a record links to the id asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkedBy {
    /// The record itself (`source_ids`).
    Id,
    Issue,
    Solution,
    Regulation,
    Provider,
}

/// The records of `kind` linked to `id` by `by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    pub kind: EnvirotechKind,
    pub by: LinkedBy,
    pub id: u32,
}

impl LinkedBy {
    /// Whether `record` is linked to `id` this way.
    fn links(self, record: &EnvirotechRecord, id: u32) -> bool {
        match self {
            Self::Id => record.source_id == Some(id),
            Self::Issue => record.issue_ids.contains(&id),
            Self::Solution => record.solution_ids.contains(&id) || record.solution_id == Some(id),
            Self::Regulation => record.regulation_ids.contains(&id),
            Self::Provider => record.provider_id == Some(id),
        }
    }

    /// The search filter that asks for records linked to `ids`.
    fn params(self, ids: &[u32]) -> SearchParams {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        let mut params = SearchParams::default();
        match self {
            Self::Id => params.source_ids = ids,
            Self::Issue => params.issue_ids = ids,
            Self::Solution => params.solution_ids = ids,
            Self::Regulation => params.regulation_ids = ids,
            Self::Provider => params.provider_ids = ids,
        }
        params
    }
}

/// The per-operation loader of toolkit links.
pub struct LinkLoader {
    client: ItaClient,
    usage: UpstreamUsage,
}

impl LinkLoader {
    pub fn new(client: ItaClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }
}

impl Loader<LinkKey> for LinkLoader {
    type Value = Vec<Arc<EnvirotechRecord>>;
    type Error = Error;

    async fn load(&self, keys: &[LinkKey]) -> Result<HashMap<LinkKey, Self::Value>, Error> {
        let mut groups: BTreeMap<(EnvirotechKind, LinkedBy), Vec<u32>> = BTreeMap::new();
        for key in keys {
            let ids = groups.entry((key.kind, key.by)).or_default();
            if !ids.contains(&key.id) {
                ids.push(key.id);
            }
        }
        let answers = try_join_all(groups.into_iter().map(|((kind, by), mut ids)| async move {
            // Sorted, the same batch is the same request, which the cache answers.
            ids.sort_unstable();
            let page = self
                .client
                .search::<EnvirotechRecord>(
                    Endpoint::Envirotech(kind),
                    &by.params(&ids),
                    MAX_LINKED,
                    0,
                    &self.usage,
                    |_| true,
                )
                .await?;
            Ok::<_, Error>(
                ids.into_iter()
                    .map(|id| {
                        let linked = page
                            .items
                            .iter()
                            .filter(|record| by.links(record, id))
                            .cloned()
                            .collect();
                        (LinkKey { kind, by, id }, linked)
                    })
                    .collect::<Vec<_>>(),
            )
        }))
        .await?;
        Ok(answers.into_iter().flatten().collect())
    }
}
