//! trade-graph: one GraphQL graph over three public trade APIs.
//!
//! A client asks about a jurisdiction and gets, in one round trip, the trade
//! policy measures it took or suffered (Global Trade Alert), what it reports
//! trading (UN Comtrade) and the US government's export help for it (ITA).
//! Jurisdiction nodes are the join point; per-operation loaders batch
//! upstream calls within each upstream's rules.
//!
//! # Layout
//!
//! - [`config`]: flags and environment (clap), one section per source.
//! - [`server`]: the axum router (`/graphql`, GraphiQL at `/`, `/healthz`,
//!   `/metrics`), GraphQL-over-HTTP content negotiation, the connection loop
//!   (connections bounded in number and by requests in flight, a total body
//!   deadline, shutdown deadline), client identity for budget shares, one
//!   subscription per id on a WebSocket.
//! - [`operation`]: the whole-response cache in front of execution (a
//!   repeated operation answered from its first answer's bytes, for the
//!   shortest lifetime of the upstream answers it was built from, dropped
//!   on subscription news), with a second level shared through Redis.
//! - [`memory`]: what a decoded value really holds, measured by a counting
//!   wrapper around the allocator (cache entries are weighed by it).
//! - [`metrics`]: the Prometheus metrics of upstream traffic.
//! - [`error`]: the one error enum; every variant has a stable
//!   `extensions.code` and names its source.
//! - [`countries`]: the crosswalk between GTA ids, ISO codes and Comtrade
//!   reporter codes (partner codes apart, every code's years and whom a
//!   former code covered), the jurisdictions Comtrade reports beyond GTA's
//!   list, the names people type, the named groups and the EU as a bloc.
//! - [`sources`]: one module per upstream (requests, records, batching,
//!   and its `definition`: credentials, usage limits, its own reading of
//!   refusals; ITA also the four seed-era data sets and the toolkit's
//!   links, and data.trade.gov's screening list, de minimis thresholds and
//!   business service providers, paged within each endpoint's window;
//!   Comtrade also its classifications' reference lists, the
//!   commodities, loaded once a day, and the plan of every measure's
//!   affected trade in an operation), [`sources::definition`], the one registration of sources and
//!   the composition of each one's pipeline, and [`sources::http`], the
//!   only code that talks to an upstream, composing the stages it shares:
//!   [`sources::cache`] (response cache, coalescing, stale copies),
//!   [`sources::breaker`] (circuit breaker; a probe's permit gives its slot
//!   back when cancelled), [`sources::hold`] (an upstream's `Retry-After`
//!   holding the source for every operation), [`sources::pacing`] (rate
//!   limits, budget reservations, per-client shares), [`sources::retry`]
//!   (which failures, how long to wait, retry budget), [`sources::scrub`]
//!   (API keys out of upstream text and answers, in every encoding),
//!   per-operation usage; answers are read within a size limit and one
//!   budget for all answers being read at once.
//! - [`limits`]: what an operation may cost, checked before any upstream
//!   is asked (document guard, expansion, argument sizes, cost, upstream
//!   demand, Comtrade's from the planner itself) and while
//!   it runs (result size).
//! - [`graph`]: GraphQL types and resolvers; the schema, a federation v2
//!   subgraph (`_service`, `_entities` through the batched loaders); the
//!   second join, by product (`Commodity`, `Intervention.affectedTrade`,
//!   `Jurisdiction.tradeProfile`), through the commodity reference and the
//!   loaders.
//! - [`subscriptions`]: feeds of new interventions and trade leads, one
//!   upstream poll per interval per set of jurisdictions, shared by every
//!   subscriber of it.
//! - [`sample`]: sample mode, an in-process simulator of the upstream APIs
//!   serving generated data (and a part of Comtrade's real HS list, along
//!   which its flows add up), used by `cargo run` without keys and by tests.

pub mod config;
pub mod countries;
pub mod error;
pub mod error_codes;
pub mod graph;
pub mod limits;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod operation;
pub mod sample;
pub mod server;
pub mod source;
pub mod sources;
pub mod subscriptions;
pub mod telemetry;
