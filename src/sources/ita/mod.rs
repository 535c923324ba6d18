//! The US International Trade Administration (ITA): trade leads, office
//! locations and trade events.
//!
//! The API in a paragraph (seeds 000-002): three search endpoints, each
//! answering `{total, offset, sources_used, results, aggregations}`. Trade
//! leads take `q` (title and description), `industries`, `countries` (ISO
//! alpha-2, comma-separated), `size`, `offset`; office locations take `q`
//! (post or office name), `city`, `countries`, `state`, `size` (at most 100,
//! default 10) and `offset`; trade events take `q` and `countries`. The seeds'
//! api.trade.gov v2 serves `/v2/<endpoint>/search` with an `api_key` query
//! parameter; today's data.trade.gov serves `/<endpoint>/v1/search` with a
//! `subscription-key` header. Records vary by the source feed behind them.
//!
//! [`model`] decodes records, [`client`] searches and pages (within
//! [`window`]'s caps), [`loader`] batches countries into one search per
//! endpoint. data.trade.gov's further data sets: [`screening`] (the
//! Consolidated Screening List), [`de_minimis`] (thresholds by country)
//! and [`providers`] (business service providers).

pub mod client;
pub mod datasets;
pub mod de_minimis;
pub mod links;
pub mod loader;
pub mod model;
pub mod providers;
pub mod screening;
pub mod window;

pub use client::{
    DateRange as ItaDateRange, Endpoint, Filter, ItaApi, ItaClient, ItaPage, SearchParams,
};
pub use de_minimis::DeMinimis;
pub use loader::{office_country, CountryKey, CountryRecord, ItaLoader};
pub use model::{OfficeLocation, TradeEvent, TradeLead};
pub use providers::BusinessServiceProvider;
pub use screening::ScreeningEntry;

/// ITA as the gateway runs it: its key as v2's `api_key` parameter or the
/// current API's `subscription-key` header, no documented usage limit (an
/// operator may set `--ita-budget`) and no pacing.
pub fn definition(
    settings: &crate::sources::settings::UpstreamSettings,
    api: ItaApi,
    key: Option<crate::sources::http::Secret>,
) -> crate::sources::definition::SourceDefinition {
    crate::sources::definition::SourceDefinition {
        source: crate::source::Source::Ita,
        api: api.name(),
        credential: ItaClient::credential(key, api),
        serves_keyless: false,
        example_url: "https://data.trade.gov",
        timeout: settings.timeout,
        interval: std::time::Duration::ZERO,
        budget: settings.budget,
        refusals: None,
    }
}
