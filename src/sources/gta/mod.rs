//! Global Trade Alert (GTA): the trade policy interventions each jurisdiction
//! implemented or was affected by.
//!
//! The API in a paragraph (seed 003 and the publisher's OpenAPI document): one
//! data endpoint, `POST /api/v1/data/` (the seed, "v1") or `/api/v2/gta/data/`
//! (current, "v2"), authenticated by the header `Authorization: APIKey <key>`,
//! takes a JSON body `{limit (0..=1000), offset, sorting, request_data}`.
//! `request_data` holds 29 documented filters (v2 adds `query` and
//! `update_period`); coded filters take GTA's integer ids, while records answer
//! with the labels ("Red", "Import tariff"). v1 answers a bare array; some
//! deployments and v2 wrap it as `{count, next, previous, results}`. Records
//! vary by access level: `affected_products` is a list of HS codes (basic) or of
//! objects with prior and new levels (full); descriptions and sources are a
//! string (v1) or a list of dated entries (v2).
//!
//! [`query`] builds the request body, [`model`] decodes records, [`client`]
//! sends requests (paging past the 1000 cap), [`loader`] batches jurisdictions.

pub mod client;
pub mod loader;
pub mod model;
pub mod query;

pub use client::{GtaApi, GtaClient, InterventionPage};
pub use loader::{GtaLoader, InterventionsById, JurisdictionInterventionsKey, JurisdictionRole};
pub use model::Intervention;
pub use query::{DateRange, InterventionQuery, RequestData, SortKey, Sorting};

/// GTA as the gateway runs it: its key in the `Authorization` header, no
/// documented usage limit (an operator may set `--gta-budget`) and no
/// pacing.
pub fn definition(
    settings: &crate::sources::settings::UpstreamSettings,
    api: GtaApi,
    key: Option<crate::sources::http::Secret>,
) -> crate::sources::definition::SourceDefinition {
    crate::sources::definition::SourceDefinition {
        source: crate::source::Source::Gta,
        api: api.name(),
        credential: GtaClient::credential(key),
        serves_keyless: false,
        example_url: "https://api.globaltradealert.org",
        timeout: settings.timeout,
        interval: std::time::Duration::ZERO,
        budget: settings.budget,
        refusals: None,
    }
}
