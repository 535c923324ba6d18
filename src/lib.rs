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
//! Modules depend downward, never in a circle (`tests/layout.rs` fails on
//! a cycle between top-level modules):
//!
//! - leaves: [`source`] (which upstream: the one type every layer names),
//!   [`error_codes`] (the registry of `extensions.code`), [`countries`],
//!   [`memory`], [`telemetry`];
//! - [`error`], [`metrics`], [`limits`] on the leaves;
//! - [`sources`] on those; `subscriptions` and [`graph`] on [`sources`];
//!   [`operation`] on [`sources`] and [`limits`]; [`sample`] on [`graph`]'s
//!   vocabulary;
//! - [`config`] on [`sources`] (their key types, budgets, policies and
//!   settings), and [`server`], which assembles everything, on top.
//!
//! What each holds:
//!
//! - [`source`]: `Source`, the name of an upstream, depending on nothing.
//! - [`config`]: flags and environment (clap); each source's section
//!   written once (`source_section!`), resolved into each source's
//!   `sources::settings::UpstreamSettings` (the setting for all sources
//!   with the source's overrides).
//! - [`server`]: the axum router (`/graphql`, GraphiQL at `/`, `/healthz`,
//!   `/metrics`), the connection loop (connections bounded in number and by
//!   requests in flight, a total body deadline, shutdown deadline), request
//!   heads bounded, client identity for budget shares; the operation
//!   pipeline apart from any transport (`server::pipeline`: check the
//!   document, run it in a slot, code and count it), which GraphQL over
//!   HTTP (`server::graphql_http`: media types, status codes, batches, HTTP
//!   caching) and WebSocket (`server::websocket`, one subscription per id,
//!   idle sockets closed) both call.
//! - [`operation`]: the whole-response cache in front of execution (a
//!   repeated operation answered from its first answer's bytes, for the
//!   shortest lifetime of the upstream answers it was built from, dropped
//!   on subscription news), with a second level shared through Redis; the
//!   order of a response's fields.
//! - [`memory`]: what a decoded value really holds, measured by a counting
//!   wrapper around the allocator (cache entries are weighed by it).
//! - [`metrics`]: the Prometheus metrics of operations and upstream traffic.
//! - [`error`]: the one error enum; every variant has a stable
//!   `extensions.code` (from [`error_codes`]) and names its source.
//! - [`countries`]: the crosswalk between GTA ids, ISO codes and Comtrade
//!   reporter codes (partner codes apart, every code's years and whom a
//!   former code covered), the jurisdictions Comtrade reports beyond GTA's
//!   list, the names people type, the named groups and the EU as a bloc.
//! - [`sources`]: one folder per upstream (`gta`, `comtrade`, `ita`), each
//!   holding its whole contract: requests and their limits, records,
//!   batching loaders, refusals, budgets, credentials and its
//!   `definition` (ITA also the four seed-era data sets and the toolkit's
//!   links, and data.trade.gov's screening list, de minimis thresholds and
//!   business service providers, paged within each endpoint's window;
//!   Comtrade also its classifications' reference lists, the commodities,
//!   loaded once a day, the plan of every measure's affected trade in an
//!   operation, its reporter list, and its arithmetic for estimates:
//!   `ask`, a trade-flow field's arguments checked, its loader keys and the
//!   planner's count of their requests (and a profile's), `estimate`, the
//!   requests a trade-flow field's arguments need where its reporters are
//!   not named, and `commodity_cost`, the codes a commodity field
//!   reaches). Shared by all: `sources::definition`, the one registration
//!   of sources and the composition of each one's pipeline;
//!   `sources::settings`, what configuration hands each; and
//!   [`sources::http`], the only code that talks to an upstream, composing
//!   the stages it shares: [`sources::cache`] (response cache, coalescing,
//!   stale copies), [`sources::breaker`] (circuit breaker; a probe's permit
//!   gives its slot back when cancelled), [`sources::hold`] (an upstream's
//!   `Retry-After` holding the source for every operation),
//!   [`sources::admission`] with [`sources::pacing`] and
//!   [`sources::shared_admission`] (rate limits, budget reservations,
//!   per-client shares, alone or across replicas through Redis; a request
//!   goes out within the slack of its turn or leaves it),
//!   [`sources::retry`] (which failures, how long to wait, retry budget),
//!   `sources::in_flight` (attempts in flight, in all and by client),
//!   `sources::wire` (the request on the wire: URL, credential, sizes),
//!   `sources::turn` (an attempt's maximum, budget place, pacing turn and
//!   hold), `sources::answer` (the exchange: status, `Retry-After`, the
//!   body read within a size limit and one budget for all answers being
//!   read at once, failures blamed on the upstream or the gateway),
//!   `sources::scrub` (API keys out of upstream text and answers, in every
//!   encoding), per-operation usage. Each stage has its own tests.
//! - [`limits`]: what an operation may cost, checked before any upstream
//!   is asked (document guard, expansion, argument sizes, cost, upstream
//!   demand, Comtrade's from the planner itself; which operation a
//!   document selects, decided once) and while it runs (the result cap,
//!   counted for every operation).
//! - [`graph`]: GraphQL types and resolvers; the schema, a federation v2
//!   subgraph (`_service`, `_entities` through the batched loaders); the
//!   second join, by product (`Commodity`, `Intervention.affectedTrade`,
//!   `Jurisdiction.tradeProfile`), through the commodity reference and the
//!   loaders. Each module prices the fields it declares (its `cost`
//!   module: list bounds and upstream demand), which `graph::cost_rules`
//!   gathers for [`limits`].
//! - `subscriptions`: feeds of new interventions and trade leads, one
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
pub(crate) mod subscriptions;
pub mod telemetry;
