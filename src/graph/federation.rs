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
