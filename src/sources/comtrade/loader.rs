//! The per-operation Comtrade loader: every trade-flow key of a batch
//! is planned together (see [`super::planner`]), the plan is sent, and
//! the rows are routed back to the keys that asked for them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures::future::try_join_all;

use super::client::ComtradeClient;
use super::model::TradeFlowRecord;
use super::planner::plan;
use super::query::{FlowShape, PartnerCode, Period, TradeFlowKey};
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

    async fn load_shape(
        &self,
        shape: &Arc<FlowShape>,
        keys: &[&TradeFlowKey],
    ) -> Result<Vec<(TradeFlowKey, Vec<Arc<TradeFlowRecord>>)>, Error> {
        let triples: Vec<_> = keys
            .iter()
            .map(|key| (key.reporter, key.partner, key.period.clone()))
            .collect();
        let requests = plan(
            &triples,
            &shape.commodities,
            &super::client::limits_for(self.client.dialect(), shape),
        );
        let answers = self
            .client
            .fetch_plan(&requests, shape, &self.usage)
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
            let latest = LatestPeriods::of(&records);
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
                    let period_matches = match &key.period {
                        Period::Exact(_) => key.period.matches(&record.period),
                        Period::Latest => latest.rank(record) < 1,
                        Period::Recent => latest.rank(record) < RECENT_PERIODS,
                    };
                    if partner_matches
                        && period_matches
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

/// How many periods the legacy API's `recent` stands for (seed 004: "the
/// five most recent periods").
const RECENT_PERIODS: usize = 5;

/// Per reporter, the periods one answer holds, latest first: a request
/// that asks `now` and `recent` (or `now` and "2020") together answers them
/// in one list, and `now` is only the latest of them, `recent` the five
/// latest.
struct LatestPeriods<'a> {
    by_reporter: HashMap<u16, Vec<&'a str>>,
}

impl<'a> LatestPeriods<'a> {
    fn of(records: &'a [Arc<TradeFlowRecord>]) -> Self {
        let mut by_reporter: HashMap<u16, Vec<&'a str>> = HashMap::new();
        for record in records {
            by_reporter
                .entry(record.reporter_code)
                .or_default()
                .push(record.period.as_str());
        }
        for periods in by_reporter.values_mut() {
            periods.sort_unstable_by(|a, b| b.cmp(a));
            periods.dedup();
        }
        Self { by_reporter }
    }

    /// 0 for the reporter's latest period in the answer, 1 for the one
    /// before, and so on.
    fn rank(&self, record: &TradeFlowRecord) -> usize {
        self.by_reporter
            .get(&record.reporter_code)
            .and_then(|periods| periods.iter().position(|p| *p == record.period))
            .unwrap_or(usize::MAX)
    }
}

impl Loader<TradeFlowKey> for ComtradeLoader {
    type Value = Vec<Arc<TradeFlowRecord>>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[TradeFlowKey],
    ) -> Result<HashMap<TradeFlowKey, Self::Value>, Error> {
        let mut by_shape: BTreeMap<Arc<FlowShape>, Vec<&TradeFlowKey>> = BTreeMap::new();
        for key in keys {
            by_shape.entry(key.shape.clone()).or_default().push(key);
        }
        let answers = try_join_all(
            by_shape
                .iter()
                .map(|(shape, keys)| self.load_shape(shape, keys)),
        )
        .await?;
        Ok(answers.into_iter().flatten().collect())
    }
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

impl Loader<String> for ReferenceLoader {
    type Value = Arc<super::commodities::CommodityList>;
    type Error = Error;

    async fn load(
        &self,
        classifications: &[String],
    ) -> Result<HashMap<String, Self::Value>, Error> {
        let lists = try_join_all(
            classifications
                .iter()
                .map(|classification| self.client.commodities(classification, &self.usage)),
        )
        .await?;
        Ok(classifications.iter().cloned().zip(lists).collect())
    }
}
