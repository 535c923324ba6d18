//! trade-graph as an Apollo Federation v2 subgraph: `_service { sdl }` and
//! `_entities`, with these keys:
//!
//! - `Jurisdiction @key(fields: "iso3") @key(fields: "id")`: resolved from
//!   the crosswalk, no upstream;
//! - `Intervention @key(fields: "id")`: every intervention a gateway asks
//!   for in one operation is one GTA search (`intervention_id: [..]`);
//! - `EnvironmentalIssue`, `EnvironmentalSolution`, `EnvironmentalRegulation`,
//!   `EnvironmentalProvider @key(fields: "id")`: one toolkit search per kind.
//!
//! ITA leads, offices and events and Comtrade rows have no id an upstream can
//! be asked by (ITA searches have no id filter; Comtrade rows have none), so
//! they are not entities.

use async_graphql::{Context, Object};

use super::context::operation;
use super::intervention::Intervention;
use super::ita_datasets::{
    EnvironmentalIssue, EnvironmentalProvider, EnvironmentalRegulation, EnvironmentalSolution,
};
use super::jurisdiction::Jurisdiction;
use crate::countries::{self, GtaId};
use crate::error::GraphqlResult;
use crate::sources::ita::datasets::{EnvirotechKind, EnvirotechRecord};
use crate::sources::ita::links::{LinkKey, LinkedBy};

/// The entity resolvers `_entities` dispatches to.
#[derive(Default)]
pub struct EntityQueries;

/// One toolkit record by its id, batched per kind.
async fn toolkit_record(
    ctx: &Context<'_>,
    kind: EnvirotechKind,
    id: i32,
) -> async_graphql::Result<Option<std::sync::Arc<EnvirotechRecord>>> {
    let Ok(id) = u32::try_from(id) else {
        return Ok(None);
    };
    let records = operation(ctx)?
        .ita_links
        .load_one(LinkKey {
            kind,
            by: LinkedBy::Id,
            id,
        })
        .await
        .graphql()?
        .unwrap_or_default();
    Ok(records.into_iter().next())
}

#[Object]
impl EntityQueries {
    #[graphql(entity)]
    async fn find_jurisdiction_by_iso3(&self, iso3: String) -> Option<Jurisdiction> {
        countries::by_iso3(&iso3).map(Jurisdiction::Known)
    }

    #[graphql(entity)]
    async fn find_jurisdiction_by_id(&self, id: i32) -> Option<Jurisdiction> {
        u16::try_from(id)
            .ok()
            .and_then(|id| countries::by_gta_id(GtaId(id)))
            .map(Jurisdiction::Known)
    }

    #[graphql(entity)]
    async fn find_intervention_by_id(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<Intervention>> {
        let Ok(id) = u32::try_from(id) else {
            return Ok(None);
        };
        Ok(operation(ctx)?
            .gta_by_id
            .load_one(id)
            .await
            .graphql()?
            .map(Intervention::new))
    }

    #[graphql(entity)]
    async fn find_environmental_issue_by_id(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<EnvironmentalIssue>> {
        let record = toolkit_record(ctx, EnvirotechKind::Issues, id).await?;
        Ok(record.map(EnvironmentalIssue))
    }

    #[graphql(entity)]
    async fn find_environmental_solution_by_id(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<EnvironmentalSolution>> {
        let record = toolkit_record(ctx, EnvirotechKind::Solutions, id).await?;
        Ok(record.map(EnvironmentalSolution))
    }

    #[graphql(entity)]
    async fn find_environmental_regulation_by_id(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<EnvironmentalRegulation>> {
        let record = toolkit_record(ctx, EnvirotechKind::Regulations, id).await?;
        Ok(record.map(EnvironmentalRegulation))
    }

    #[graphql(entity)]
    async fn find_environmental_provider_by_id(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<EnvironmentalProvider>> {
        let record = toolkit_record(ctx, EnvirotechKind::Providers, id).await?;
        Ok(record.map(EnvironmentalProvider))
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// What `_entities`' representations ask of the upstreams, read the way
    /// the entity resolvers read them (`graph::federation`).
    struct Entities {
        /// Distinct intervention ids the GTA search is sent (an `id` that is
        /// not a non-negative `Int` is answered `null` without a request).
        intervention_ids: u64,
        /// Toolkit kinds represented: one ITA search each.
        toolkit_kinds: u64,
        /// The jurisdictions represented, distinct, by ISO code (both, when a
        /// representation's `iso3` and `id` name different ones: the estimate
        /// then covers whichever resolver answers).
        jurisdictions: Vec<String>,
    }

    impl Entities {
        fn read(representations: Option<&Value>) -> Self {
            let items: &[Value] = match representations {
                Some(Value::List(items)) => items,
                Some(single) => std::slice::from_ref(single),
                None => &[],
            };
            let mut ids = std::collections::BTreeSet::new();
            let mut kinds = std::collections::BTreeSet::new();
            let mut jurisdictions = std::collections::BTreeSet::new();
            for item in items {
                let Value::Object(fields) = item else {
                    continue;
                };
                let typename = match fields.get("__typename") {
                    Some(Value::String(name)) => name.as_str(),
                    _ => continue,
                };
                let id = match fields.get("id") {
                    Some(Value::Number(number)) => number
                        .as_i64()
                        .and_then(|id| i32::try_from(id).ok())
                        .and_then(|id| u32::try_from(id).ok()),
                    _ => None,
                };
                match typename {
                    "Intervention" => {
                        if let Some(id) = id {
                            ids.insert(id);
                        }
                    }
                    "EnvironmentalIssue"
                    | "EnvironmentalSolution"
                    | "EnvironmentalRegulation"
                    | "EnvironmentalProvider"
                        if id.is_some() =>
                    {
                        kinds.insert(typename);
                    }
                    "Jurisdiction" => {
                        if let Some(Value::String(iso3)) = fields.get("iso3") {
                            if let Some(country) = countries::by_iso3(iso3) {
                                jurisdictions.insert(country.iso3.to_owned());
                            }
                        }
                        if let Some(country) = id
                            .and_then(|id| u16::try_from(id).ok())
                            .and_then(|id| countries::by_gta_id(countries::GtaId(id)))
                        {
                            jurisdictions.insert(country.iso3.to_owned());
                        }
                    }
                    _ => {}
                }
            }
            Self {
                intervention_ids: ids.len() as u64,
                toolkit_kinds: kinds.len() as u64,
                jurisdictions: jurisdictions.into_iter().collect(),
            }
        }
    }

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing {
            parent,
            field,
            arguments,
            ..
        } = *pricing;
        match (parent, field) {
            // Federation: one entity per representation. What is sent is
            // read from the representations themselves, as the entity
            // resolvers read them: interventions are one GTA search of
            // their distinct ids, paged (`InterventionsById`); toolkit
            // records one ITA search per kind; jurisdictions come from the
            // crosswalk and are named to the fields below, which batch by
            // distinct jurisdiction.
            ("Query", "_entities") => {
                rule.list_bound = Some(arguments.len("representations").unwrap_or(1).max(1));
                let entities = Entities::read(arguments.get("representations"));
                rule.known_items = Some(entities.jurisdictions);
                rule.demand = (entities.intervention_ids > 0).then(|| {
                    demand(
                        Source::Gta,
                        parent,
                        field,
                        arguments,
                        DemandKind::Fixed {
                            pages: by_id_requests(entities.intervention_ids),
                        },
                    )
                });
                // A field has one demand: the toolkit's searches are a
                // second field's worth, asked for under the same list.
                if entities.toolkit_kinds > 0 {
                    rule.extra_demand = Some(Demand {
                        source: Source::Ita,
                        group: format!("Query._entities toolkit({})", arguments.canonical()),
                        kind: DemandKind::Fixed {
                            pages: entities.toolkit_kinds
                                * pages(crate::sources::ita::links::MAX_LINKED, ITA_PAGE),
                        },
                    });
                }
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
