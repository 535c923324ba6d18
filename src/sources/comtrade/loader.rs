//! The per-operation Comtrade loader: every trade-flow key of a batch
//! is planned together (see [`super::planner`]), the plan is sent, and
//! the rows are routed back to the keys that asked for them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures::future::try_join_all;

use super::client::ComtradeClient;
use super::model::TradeFlowRecord;
use super::planner::{plan, PlannedRequest};
use super::query::{FlowShape, PartnerCode, Period, TradeFlowKey, Triple};
use crate::error::Error;
use crate::sources::UpstreamUsage;

/// One per operation; `graph::batch` collects its keys.
pub struct ComtradeLoader {
    client: ComtradeClient,
    usage: UpstreamUsage,
}

impl ComtradeLoader {
    pub fn new(client: ComtradeClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }

    /// The plan for `keys` (all of `shape`, or of shapes that differ only
    /// in their plain codes when `shape` is their union).
    fn plan_shape(&self, shape: &FlowShape, keys: &[&TradeFlowKey]) -> Vec<PlannedRequest> {
        let mut triples: Vec<_> = keys
            .iter()
            .map(|key| (key.reporter, key.partner, key.period.clone()))
            .collect();
        triples.sort();
        triples.dedup();
        plan(
            &triples,
            &shape.commodities,
            &super::client::limits_for(self.client.dialect(), shape),
        )
    }

    /// Sends the reserved plan `requests` for `keys` and routes the rows
    /// back: a key gets the rows of its reporter, partner and
    /// period, and, when `merged`, of its own codes only.
    async fn load_shape(
        &self,
        shape: &Arc<FlowShape>,
        keys: &[&TradeFlowKey],
        merged: bool,
        requests: &[PlannedRequest],
    ) -> Result<Vec<(TradeFlowKey, Vec<Arc<TradeFlowRecord>>)>, Error> {
        let answers = self
            .client
            .fetch_reserved_plan(requests, shape, &self.usage)
            .await?;
        let mut routed: Vec<(TradeFlowKey, Vec<Arc<TradeFlowRecord>>)> = keys
            .iter()
            .map(|key| ((*key).clone(), Vec::new()))
            .collect();
        // A record can only belong to keys of its own reporter: looking those
        // up keeps routing linear (2,400 keys and their rows at 200
        // jurisdictions x 12 periods would otherwise be millions of checks).
        let mut by_reporter: HashMap<u16, Vec<usize>> = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            by_reporter.entry(key.reporter.0).or_default().push(index);
        }
        for (request, records) in answers {
            for record in &records {
                let Some(candidates) = by_reporter.get(&record.reporter_code) else {
                    continue;
                };
                for &index in candidates {
                    let (key, rows) = &mut routed[index];
                    let partner_matches = match key.partner {
                        PartnerCode::All => true,
                        PartnerCode::Area(code) => code == record.partner_code,
                    };
                    // `now` and `recent` go out on requests of their own
                    // (see `plan`), so every row of such a request answers
                    // them: which period that is, is the API's to say.
                    let period_matches = match &key.period {
                        Period::Exact(_) => key.period.matches(&record.period),
                        Period::Latest | Period::Recent => request.periods == [key.period.clone()],
                    };
                    let code_matches = !merged
                        || key
                            .shape
                            .commodities
                            .iter()
                            .any(|code| same_code(code, &record.commodity_code));
                    if partner_matches
                        && period_matches
                        && code_matches
                        && request.covers(key.reporter, key.partner, &key.period)
                    {
                        rows.push(record.clone());
                    }
                }
            }
        }
        Ok(routed)
    }
}

impl Loader<TradeFlowKey> for ComtradeLoader {
    type Value = Vec<Arc<TradeFlowRecord>>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[TradeFlowKey],
    ) -> Result<HashMap<TradeFlowKey, Self::Value>, Error> {
        // Keys of fields planned by their arguments (`asked_with`) are
        // grouped by those arguments; the rest by their shape.
        let mut by_arguments: BTreeMap<(FlowShape, Arc<[Triple]>), Vec<&TradeFlowKey>> =
            BTreeMap::new();
        let mut by_shape: BTreeMap<Arc<FlowShape>, Vec<&TradeFlowKey>> = BTreeMap::new();
        for key in keys {
            match &key.asked_with {
                Some(triples) if mergeable(&key.shape) => by_arguments
                    .entry((without_codes(&key.shape), triples.clone()))
                    .or_default()
                    .push(key),
                _ => by_shape.entry(key.shape.clone()).or_default().push(key),
            }
        }
        // Shapes that differ only in their plain codes, asked for the same
        // reporters, partners and periods (aliases of one field with
        // different codes, `Commodity.tradeFlows` under `children`), are one
        // plan: their codes packed to the dialect's limit a request. Only
        // the same triples are merged, so a merged plan is never more
        // requests than the shapes' plans apart (the planner chunks codes
        // independently of the rest), which the cost estimate counts on.
        // A code asked by fields of different arguments is planned with
        // each (the estimate counts each field's plan): planning it once
        // for the union of their triples would split it from both.
        let mut merged: BTreeMap<(FlowShape, Vec<Triple>), Vec<&TradeFlowKey>> = BTreeMap::new();
        for ((base, triples), keys) in by_arguments {
            merged
                .entry((base, triples.to_vec()))
                .or_default()
                .extend(keys);
        }
        let mut alone: Vec<(Arc<FlowShape>, Vec<&TradeFlowKey>)> = Vec::new();
        for (shape, shape_keys) in by_shape {
            if !mergeable(&shape) {
                alone.push((shape, shape_keys));
                continue;
            }
            let mut triples: Vec<_> = shape_keys
                .iter()
                .map(|key| (key.reporter, key.partner, key.period.clone()))
                .collect();
            triples.sort();
            triples.dedup();
            merged
                .entry((without_codes(&shape), triples))
                .or_default()
                .extend(shape_keys);
        }
        let mut work: Vec<(Arc<FlowShape>, Vec<&TradeFlowKey>, bool)> = alone
            .into_iter()
            .map(|(shape, keys)| (shape, keys, false))
            .collect();
        for ((base, _), keys) in merged {
            let mut codes: Vec<String> = keys
                .iter()
                .flat_map(|key| key.shape.commodities.iter().cloned())
                .collect();
            codes.sort();
            codes.dedup();
            let several = keys.iter().any(|key| key.shape.commodities != codes);
            let shape = Arc::new(FlowShape {
                commodities: codes,
                ..base
            });
            work.push((shape, keys, several));
        }
        // Every shape's plan, reserved as one: all of them fit the budget
        // and the client's share, or none is sent.
        let plans: Vec<Vec<PlannedRequest>> = work
            .iter()
            .map(|(shape, keys, _)| self.plan_shape(shape, keys))
            .collect();
        let reserving: Vec<(&[PlannedRequest], &FlowShape)> = plans
            .iter()
            .zip(&work)
            .map(|(requests, (shape, _, _))| (requests.as_slice(), shape.as_ref()))
            .collect();
        self.client.reserve_plans(&reserving, &self.usage).await?;
        let answers = try_join_all(work.iter().zip(&plans).map(
            |((shape, keys, merged), requests)| self.load_shape(shape, keys, *merged, requests),
        ))
        .await?;
        Ok(answers.into_iter().flatten().collect())
    }
}

/// `shape` with no codes: what shapes merged by their codes share.
fn without_codes(shape: &FlowShape) -> FlowShape {
    FlowShape {
        commodities: Vec::new(),
        ..shape.clone()
    }
}

/// Whether a shape's codes are plain codes, whose rows carry the code asked
/// (not `ALL` or the legacy `AG2`-style aggregates, which answer many).
fn mergeable(shape: &FlowShape) -> bool {
    !shape.commodities.is_empty()
        && shape.commodities.iter().all(|code| {
            let upper = code.to_ascii_uppercase();
            upper != "ALL" && !upper.starts_with("AG")
        })
}

/// Whether a row's code is the code asked: Comtrade may write a code as a
/// number ("1" for chapter "01").
fn same_code(asked: &str, row: &str) -> bool {
    asked.eq_ignore_ascii_case(row)
        || (asked.bytes().all(|b| b.is_ascii_digit())
            && row.bytes().all(|b| b.is_ascii_digit())
            && asked.trim_start_matches('0') == row.trim_start_matches('0')
            && asked.len() >= row.len())
}

/// The classifications' reference lists an operation needs, loaded through
/// the batch like every other upstream answer (each list once; the client
/// keeps it for a day).
pub struct ReferenceLoader {
    client: ComtradeClient,
    usage: UpstreamUsage,
}

impl ReferenceLoader {
    pub fn new(client: ComtradeClient, usage: UpstreamUsage) -> Self {
        Self { client, usage }
    }
}

/// Each classification's list, or its own error: a classification that
/// has no list (a typo, a list that 404s) fails only the fields that asked
/// for it, and the others of the operation answer.
impl Loader<String> for ReferenceLoader {
    type Value = Result<Arc<super::commodities::CommodityList>, Error>;
    type Error = Error;

    async fn load(
        &self,
        classifications: &[String],
    ) -> Result<HashMap<String, Self::Value>, Error> {
        let lists = futures::future::join_all(
            classifications
                .iter()
                .map(|classification| self.client.commodities(classification, &self.usage)),
        )
        .await;
        Ok(classifications.iter().cloned().zip(lists).collect())
    }
}
