//! Batches `Jurisdiction.interventionsImplemented` / `interventionsAffecting`
//! across the jurisdictions of one operation.
//!
//! All keys of a batch that share a role and a query become one GTA
//! request whose `implementer` (or `affected`) filter lists every jurisdiction,
//! with room for each one's page. The answer is in the query's order, so each
//! jurisdiction's own interventions are its own answer's order; a jurisdiction
//! whose page the shared answer could not fill (others took the room) gets one
//! follow-up request of its own. A jurisdiction asked for alone is a single
//! request with the page's own offset and limit.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures::future::try_join_all;

use super::client::{GtaClient, InterventionPage};
use super::model::Intervention;
use super::query::{InterventionQuery, MAX_LIMIT_PER_REQUEST};
use crate::countries::GtaId;
use crate::error::Error;
use crate::sources::UpstreamUsage;

/// How many times the sum of the batch's pages the shared request asks for.
const SHARED_ROOM_FACTOR: u64 = 4;
/// The smallest shared request: small pages still get a useful answer.
const MIN_SHARED_LIMIT: u64 = 100;

/// Which side of an intervention a jurisdiction is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JurisdictionRole {
    /// The jurisdiction implemented it (`implementer` filter).
    Implementer,
    /// The jurisdiction is affected by it (`affected` filter).
    Affected,
}

/// One jurisdiction's page of interventions under a shared query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JurisdictionInterventionsKey {
    pub jurisdiction: GtaId,
    pub role: JurisdictionRole,
    pub query: Arc<InterventionQuery>,
    pub limit: u32,
    pub offset: u32,
}

// Hashes everything but the query: keys are hashed several times per
// operation, and hashing the query's two dozen filters was a few percent of a
// cached operation's CPU. Equal keys still hash equal; keys that differ only
// in their query share a hash and are told apart by `Eq`.
impl Hash for JurisdictionInterventionsKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.jurisdiction, self.role, self.limit, self.offset).hash(state);
    }
}

/// The per-operation GTA loader (`graph::batch` collects its keys).
pub struct GtaLoader {
    client: GtaClient,
    usage: UpstreamUsage,
}

impl GtaLoader {
    pub fn new(client: GtaClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }

    /// Answers every key that shares `role`, `query`, `limit` and `offset`.
    async fn load_group(
        &self,
        role: JurisdictionRole,
        query: &InterventionQuery,
        limit: u32,
        offset: u32,
        jurisdictions: &[GtaId],
    ) -> Result<Vec<(GtaId, InterventionPage)>, Error> {
        if let [only] = jurisdictions {
            let page = self.page_alone(role, query, limit, offset, *only).await?;
            return Ok(vec![(*only, page)]);
        }

        let wanted = u64::from(offset) + u64::from(limit);
        // Room for every page several times over: jurisdictions are rarely
        // even (EU members share every EU-wide measure), and a larger answer
        // is cheaper than a follow-up request.
        let shared_limit = (wanted * jurisdictions.len() as u64 * SHARED_ROOM_FACTOR)
            .clamp(MIN_SHARED_LIMIT, u64::from(MAX_LIMIT_PER_REQUEST));
        let shared = self
            .client
            .fetch(
                &with_jurisdictions(query, role, jurisdictions),
                shared_limit,
                0,
                &self.usage,
            )
            .await?;
        let exhausted =
            ((shared.interventions.len() + shared.unreadable.len()) as u64) < shared_limit;
        let unreadable = shared.unreadable.clone();

        // Routed in one pass over the answer (each intervention's own list
        // of jurisdictions, which can name most of the world), not one pass
        // per jurisdiction: this runs on every cache-served operation.
        // GTA ids are small numbers: a table indexed by id is the cheapest
        // lookup (a hash map's hashing was most of this loop's time).
        let mut position: Vec<Option<usize>> = Vec::new();
        for (index, jurisdiction) in jurisdictions.iter().enumerate() {
            let id = usize::from(jurisdiction.0);
            if position.len() <= id {
                position.resize(id + 1, None);
            }
            position[id] = Some(index);
        }
        let mut routed: Vec<Vec<Arc<Intervention>>> = vec![Vec::new(); jurisdictions.len()];
        for intervention in &shared.interventions {
            let named = match role {
                JurisdictionRole::Implementer => &intervention.implementers,
                JurisdictionRole::Affected => &intervention.affected,
            };
            for jurisdiction in named {
                if let Some(&Some(index)) = position.get(usize::from(jurisdiction.id)) {
                    let own = &mut routed[index];
                    // A jurisdiction named twice gets the intervention once.
                    if !own
                        .last()
                        .is_some_and(|last| Arc::ptr_eq(last, intervention))
                    {
                        own.push(intervention.clone());
                    }
                }
            }
        }

        let mut answered = Vec::with_capacity(jurisdictions.len());
        let mut follow_ups = Vec::new();
        for (&jurisdiction, own) in jurisdictions.iter().zip(routed) {
            if exhausted || own.len() as u64 >= wanted {
                let total = exhausted.then_some(own.len() as u64);
                let interventions = own
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect();
                answered.push((
                    jurisdiction,
                    InterventionPage {
                        interventions,
                        total,
                        // Whose they were is not known: each page of the
                        // batch says it may lack them.
                        unreadable: unreadable.clone(),
                    },
                ));
            } else {
                follow_ups.push(jurisdiction);
            }
        }
        let filled = try_join_all(follow_ups.into_iter().map(|jurisdiction| async move {
            let page = self
                .page_alone(role, query, limit, offset, jurisdiction)
                .await?;
            Ok::<_, Error>((jurisdiction, page))
        }))
        .await?;
        answered.extend(filled);
        Ok(answered)
    }
}

impl GtaLoader {
    /// One jurisdiction's page, asked for on its own.
    async fn page_alone(
        &self,
        role: JurisdictionRole,
        query: &InterventionQuery,
        limit: u32,
        offset: u32,
        jurisdiction: GtaId,
    ) -> Result<InterventionPage, Error> {
        self.client
            .fetch(
                &with_jurisdictions(query, role, &[jurisdiction]),
                u64::from(limit),
                u64::from(offset),
                &self.usage,
            )
            .await
    }
}

/// `query` with the role's jurisdiction filter set to `jurisdictions`.
fn with_jurisdictions(
    query: &InterventionQuery,
    role: JurisdictionRole,
    jurisdictions: &[GtaId],
) -> InterventionQuery {
    let mut query = query.clone();
    let ids = Some(jurisdictions.iter().map(|id| id.0).collect());
    match role {
        JurisdictionRole::Implementer => query.request_data.implementer = ids,
        JurisdictionRole::Affected => query.request_data.affected = ids,
    }
    query
}

impl Loader<JurisdictionInterventionsKey> for GtaLoader {
    type Value = InterventionPage;
    type Error = Error;

    async fn load(
        &self,
        keys: &[JurisdictionInterventionsKey],
    ) -> Result<HashMap<JurisdictionInterventionsKey, InterventionPage>, Error> {
        type GroupKey<'a> = (JurisdictionRole, &'a InterventionQuery, u32, u32);
        let mut groups: HashMap<GroupKey<'_>, Vec<GtaId>> = HashMap::new();
        for key in keys {
            let jurisdictions = groups
                .entry((key.role, &*key.query, key.limit, key.offset))
                .or_default();
            if !jurisdictions.contains(&key.jurisdiction) {
                jurisdictions.push(key.jurisdiction);
            }
        }
        // Keys come in the order resolvers asked; sorted, the same set of
        // jurisdictions is the same upstream request, which the cache answers.
        for jurisdictions in groups.values_mut() {
            jurisdictions.sort();
        }
        let answers = try_join_all(groups.into_iter().map(
            |((role, query, limit, offset), jurisdictions)| async move {
                let pages = self
                    .load_group(role, query, limit, offset, &jurisdictions)
                    .await?;
                Ok::<_, Error>(pages.into_iter().map(move |(jurisdiction, page)| {
                    (
                        JurisdictionInterventionsKey {
                            jurisdiction,
                            role,
                            query: Arc::new(query.clone()),
                            limit,
                            offset,
                        },
                        page,
                    )
                }))
            },
        ))
        .await?;
        Ok(answers.into_iter().flatten().collect())
    }
}

/// Interventions by id, for federation's `_entities`: every intervention
/// a gateway asks for in one operation goes into one search
/// (`intervention_id: [..]`).
pub struct InterventionsById {
    client: GtaClient,
    usage: UpstreamUsage,
}

impl InterventionsById {
    pub fn new(client: GtaClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }
}

impl Loader<u32> for InterventionsById {
    type Value = Arc<Intervention>;
    type Error = Error;

    async fn load(&self, ids: &[u32]) -> Result<HashMap<u32, Self::Value>, Error> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let query = InterventionQuery {
            request_data: super::query::RequestData {
                intervention_id: Some(ids.clone()),
                ..super::query::RequestData::default()
            },
            sorting: super::query::Sorting::newest_first(),
        };
        let page = self
            .client
            .fetch(&query, ids.len() as u64, 0, &self.usage)
            .await?;
        Ok(page
            .interventions
            .into_iter()
            .map(|intervention| (intervention.id, intervention))
            .collect())
    }
}
