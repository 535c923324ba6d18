//! Sends GTA data requests through the shared HTTP path and pages past GTA's
//! 1000-records-per-request cap.

use crate::sources::http::{Credential, Secret};
use std::sync::Arc;

use super::model::{decode_data_response, Intervention};
use super::query::{DataRequestBody, InterventionQuery, MAX_LIMIT_PER_REQUEST};
use crate::error::Error;
use crate::sources::http::{Upstream, UpstreamRequest};
use crate::sources::UpstreamUsage;

/// Which generation of the GTA API the upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum GtaApi {
    /// Seed 003: `POST /api/v1/data/`, bare array answers.
    V1,
    /// Current: `POST /api/v2/gta/data/`, adds `query`.
    V2,
}

impl GtaApi {
    /// The data endpoint's path.
    pub fn data_path(self) -> &'static str {
        match self {
            Self::V1 => "/api/v1/data/",
            Self::V2 => "/api/v2/gta/data/",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// One page of interventions, as the graph shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterventionPage {
    pub interventions: Vec<Arc<Intervention>>,
    /// How many interventions match in all, when known: GTA's v1 answers carry
    /// no count, so it is known only from an envelope's `count` or when the
    /// answer ran out before the page did.
    pub total: Option<u64>,
    /// Records GTA sent that could not be read (where and why); the page
    /// holds the others.
    pub unreadable: Vec<String>,
}

/// The GTA client: a cheap `Clone` handle.
#[derive(Clone, Debug)]
pub struct GtaClient {
    upstream: Upstream,
    api: GtaApi,
}

impl GtaClient {
    /// How GTA takes its key: `Authorization: APIKey <key>` (seed 003).
    pub fn credential(key: Option<Secret>) -> Credential {
        key.map_or(Credential::None, |key| Credential::Header {
            name: "Authorization",
            prefix: "APIKey ",
            key,
        })
    }

    pub fn new(upstream: Upstream, api: GtaApi) -> Self {
        Self { upstream, api }
    }

    /// Refuses what this API generation does not know, before any request.
    pub fn check(&self, query: &InterventionQuery) -> Result<(), Error> {
        if self.api == GtaApi::V1 {
            let v2_only = query.request_data.v2_only_filters();
            if !v2_only.is_empty() {
                return Err(Error::bad_input(format!(
                    "the GTA filter(s) {} exist only in the GTA v2 API; this gateway speaks v1 (set --gta-api v2)",
                    v2_only.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Fetches `limit` interventions from `offset`, in requests of at most
    /// 1000, stopping early when GTA runs out. Pages are fetched one after the
    /// other: most searches end within the first, and a sequence never spends
    /// requests past the end.
    pub async fn fetch(
        &self,
        query: &InterventionQuery,
        limit: u64,
        offset: u64,
        usage: &UpstreamUsage,
    ) -> Result<InterventionPage, Error> {
        self.check(query)?;
        let mut page = InterventionPage::default();
        let mut next_offset = offset;
        let mut remaining = limit;
        while remaining > 0 {
            let request_limit = remaining.min(u64::from(MAX_LIMIT_PER_REQUEST)) as u32;
            let response = self
                .request(query, request_limit, next_offset, usage)
                .await?;
            // An upstream that answers more than it was asked for (it
            // ignored `limit`) is taken at its word only as far as the
            // limit: the page never holds more than the client asked, and
            // the count of what is left never wraps.
            let taken = response
                .interventions
                .iter()
                .take(request_limit as usize)
                .cloned();
            // Unreadable records were sent all the same: they count
            // towards what GTA answered (else a page with one would look
            // like the end of the results).
            let received = (response.interventions.len() + response.unreadable.len())
                .min(request_limit as usize) as u64;
            if response.count.is_some() {
                page.total = response.count;
            }
            page.interventions.extend(taken);
            page.unreadable.extend(response.unreadable.iter().cloned());
            if received < u64::from(request_limit) {
                if page.total.is_none() && (received > 0 || next_offset == 0) {
                    page.total = Some(next_offset + received);
                }
                break;
            }
            remaining -= received;
            next_offset += received;
        }
        Ok(page)
    }

    /// The first `limit` interventions `query` matches, in one request sent
    /// now whatever the cache holds: a subscription's poll for what is new.
    pub async fn newest(
        &self,
        query: &InterventionQuery,
        limit: u32,
        usage: &UpstreamUsage,
    ) -> Result<Vec<Arc<Intervention>>, Error> {
        self.check(query)?;
        let request = self.data_request(query, limit.min(MAX_LIMIT_PER_REQUEST), 0);
        let response = self
            .upstream
            .request_fresh(&request, usage, decode_data_response)
            .await?;
        Ok(response.interventions.clone())
    }

    /// One request to the data endpoint.
    async fn request(
        &self,
        query: &InterventionQuery,
        limit: u32,
        offset: u64,
        usage: &UpstreamUsage,
    ) -> Result<Arc<super::model::DataResponse>, Error> {
        let request = self.data_request(query, limit, offset);
        self.upstream
            .request(&request, usage, decode_data_response)
            .await
    }

    fn data_request(&self, query: &InterventionQuery, limit: u32, offset: u64) -> UpstreamRequest {
        let body = DataRequestBody {
            limit,
            offset,
            sorting: query.sorting.wire(),
            show_full_names: true,
            request_data: query.request_data.for_wire(),
        };
        UpstreamRequest::post_json(self.api.data_path(), &body)
    }
}
