//! UN Comtrade: the import and export flows each reporter publishes.
//!
//! Two dialects, chosen by `--comtrade-api`:
//! - **legacy** (seed 004): `GET /api/get?r=&p=&ps=&px=&rg=&cc=&freq=&type=&max=&fmt=json&head=M&token=`.
//!   `r`, `p` and `ps` take at most five codes each and only one may be `all`;
//!   `cc` at most twenty. One request per second; 100 an hour as guest,
//!   10,000 with a token. Refusals come inside a 200 as
//!   `validation.status.value` 5002 (too complex), 5003 (too large), 5004
//!   (invalid parameter), and HTTP 409 when a usage limit is hit.
//!   `validation.count.value` above the rows returned means truncated by `max`.
//! - **v1** (current): `GET /data/v1/get/{type}/{freq}/{cl}?reporterCode=&partnerCode=&period=&cmdCode=&flowCode=...`
//!   with `Ocp-Apim-Subscription-Key`, or keyless `/public/v1/preview/...`
//!   (500 rows at most). Comma lists, no five-code limit, long URLs refused.
//!   Rows are split by customs procedure and mode of transport unless
//!   filtered; this client always asks for totals (`customsCode=C00`,
//!   `motCode=0`, `partner2Code=0`).
//!
//! [`query`] checks what is asked ([`ask`]: a trade-flow field's
//! arguments, its loader keys and the requests they plan to), [`planner`] packs a batch into requests,
//! [`client`] speaks the dialect, [`loader`] routes rows back, [`model`]
//! decodes both dialects into one record. [`reporters`] reads the
//! reporter list (the codes `r` and `reporterCode` take). [`commodities`] reads the
//! classifications' reference lists (the second join, by product), and
//! [`coverage`] asks the trade measures hit, every measure of an operation
//! in one plan. [`estimate`] and [`commodity_cost`] are its arithmetic for
//! the cost step: requests a trade-flow field's arguments need, and which
//! codes a commodity field reaches.

pub mod ask;
pub mod client;
pub mod commodities;
pub mod commodity_cost;
pub mod coverage;
pub mod estimate;
pub mod loader;
pub mod model;
pub mod planner;
pub mod query;
pub mod reporters;

pub use client::ComtradeClient;
pub use loader::ComtradeLoader;
pub use model::{FlowCode, TradeFlowRecord};
pub use query::{FlowShape, Frequency, PartnerCode, Period, TradeFlowKey, TradeType};

/// Comtrade's documented usage limits: legacy 100 requests an hour as guest
/// and 10,000 with a token (seed 004); v1 500 calls a day on the free
/// subscription and 100 an hour keyless.
pub fn documented_budget(
    dialect: crate::countries::ComtradeDialect,
    keyed: bool,
) -> crate::sources::pacing::Budget {
    use crate::countries::ComtradeDialect;
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
    let (limit, window) = match (dialect, keyed) {
        (ComtradeDialect::Legacy, false) => (100, HOUR),
        (ComtradeDialect::Legacy, true) => (10_000, HOUR),
        (ComtradeDialect::V1, false) => (100, HOUR),
        (ComtradeDialect::V1, true) => (500, 24 * HOUR),
    };
    crate::sources::pacing::Budget { limit, window }
}

/// Comtrade as the gateway runs it: its key as the legacy `token` or v1's
/// subscription header, one request per interval, the documented budget for
/// the dialect and key (or the configured one), and its own reading of
/// quota refusals and validation messages ([`client::refusal`]).
pub fn definition(
    settings: &crate::sources::settings::UpstreamSettings,
    dialect: crate::countries::ComtradeDialect,
    key: Option<crate::sources::http::Secret>,
) -> crate::sources::definition::SourceDefinition {
    crate::sources::definition::SourceDefinition {
        source: crate::source::Source::Comtrade,
        api: match dialect {
            crate::countries::ComtradeDialect::Legacy => "legacy",
            crate::countries::ComtradeDialect::V1 => "v1",
        },
        credential: ComtradeClient::credential(key, dialect),
        serves_keyless: true,
        example_url: "https://comtradeapi.un.org",
        timeout: settings.timeout,
        interval: settings.interval,
        // The operator's, else the one documented for the dialect and key
        // ([`documented_budget`], as the configuration resolves it).
        budget: settings.budget,
        refusals: Some(client::refusal),
    }
}
