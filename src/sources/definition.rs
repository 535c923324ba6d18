//! What a source tells the gateway about itself, and the one place that
//! turns it into the source's upstream pipeline.
//!
//! Each source module writes its own `definition` (how it takes its key,
//! its usage limits, how it reads its own refusals); [`define`] is the one
//! registration that lists them, and [`SourceDefinition::upstream`] composes
//! the stages every source shares. A request runs through them in this
//! order (each named by the method of `sources::http::Upstream` that runs
//! it):
//!
//! 1. `request`: the local cache, then coalescing with an identical
//!    request in flight ([`super::cache`]), then the replicas' cache in
//!    Redis (`sources::shared_cache`);
//! 2. `fetch`, once per attempt while retries last ([`super::retry`]):
//!    the `Retry-After` hold (`sources::hold`), then the circuit breaker
//!    ([`super::breaker`]);
//! 3. `attempt`: a place among the attempts in flight, in all and the
//!    client's share (`sources::in_flight`);
//! 4. `prepare_attempt`: the request on the wire, its URL, credential and
//!    the upstream's length limits (`sources::wire`), then its turn: the
//!    operation's request maximum, the budget and the client's share of
//!    it, pacing ([`super::admission`]) and any hold that arrived while it
//!    waited (`sources::turn`);
//! 5. `send_attempt`: the exchange under the source's timeout (never past
//!    the operation's deadline), its answer read within the answer limit
//!    and the reading budget (`sources::answer`), the status read (the
//!    source's own refusals first); its outcome told to the breaker
//!    whatever became of the operation;
//! 6. `decoded`: room to decode, the keys scrubbed out
//!    (`sources::scrub`), then the source's decoder; the answer kept in the
//!    caches.
//!
//! Each stage is its own module with its own tests; `sources::http` holds
//! only their composition (and end-to-end tests of it).
//!
//! Adding a source is its own module plus one line in [`define`].

use std::sync::Arc;
use std::time::Duration;

use super::admission::Admission;
use super::breaker::BreakerPolicy;
use super::cache::ResponseCache;
use super::http::{Credential, HttpClient, RefusalRule, Secret, Upstream};
use super::pacing::{Budget, Pacer, INTERVAL_SLACK};
use super::retry::RetryPolicy;
use super::settings::UpstreamSettings;
use super::shared_admission::SharedAdmission;
use super::{comtrade, gta, ita, Source};
use crate::metrics::Metrics;

/// One source's own rules, as its module states them.
#[derive(Debug)]
pub struct SourceDefinition {
    pub source: Source,
    /// The API generation in use ("v2", "legacy"...), for the startup line.
    pub api: &'static str,
    /// How the key travels (header or query parameter, and its name).
    pub credential: Credential,
    /// Whether the upstream serves anything without a key (Comtrade's
    /// preview and guest access do; GTA and ITA refuse).
    pub serves_keyless: bool,
    /// A live base URL, for the message when only a key is configured.
    pub example_url: &'static str,
    /// How long one request may take.
    pub timeout: Duration,
    /// Least time between two requests, across all operations (zero: none).
    pub interval: Duration,
    /// The usage limit every user of the gateway shares, if the upstream
    /// (or the operator) sets one.
    pub budget: Option<Budget>,
    /// The source's own reading of its error answers, before the generic one.
    pub refusals: Option<RefusalRule>,
}

/// The API generation each source speaks, as configured.
#[derive(Clone, Copy, Debug)]
pub struct UpstreamApis {
    pub gta: gta::GtaApi,
    pub comtrade: crate::countries::ComtradeDialect,
    pub ita: ita::ItaApi,
}

/// The definition of `source`, from its module, with its settings, for the
/// key it will send (the configured one, or the simulator's in sample
/// mode).
pub fn define(
    source: Source,
    settings: &UpstreamSettings,
    apis: UpstreamApis,
    key: Option<Secret>,
) -> SourceDefinition {
    match source {
        Source::Gta => gta::definition(settings, apis.gta, key),
        Source::Comtrade => comtrade::definition(settings, apis.comtrade, key),
        Source::Ita => ita::definition(settings, apis.ita, key),
    }
}

/// What every source's pipeline shares, and the policies configuration
/// sets for each.
pub struct SharedStages {
    pub client: HttpClient,
    pub cache: ResponseCache,
    /// The cache replicas share, when `--redis-url` is set.
    pub shared_cache: Option<super::shared_cache::SharedCache>,
    /// Redis, for the admission decisions replicas share.
    pub redis: Option<super::redis_link::RedisLink>,
    pub metrics: Metrics,
    /// Replicas sharing the upstreams' rules (`--replicas`): without Redis,
    /// each keeps to its share.
    pub replicas: u32,
}

impl SourceDefinition {
    /// The source's pipeline, sending to `base_url`, retrying and breaking
    /// as its `settings` say.
    pub fn upstream(
        self,
        base_url: &str,
        settings: &UpstreamSettings,
        shared: &SharedStages,
    ) -> Upstream {
        let retries: RetryPolicy = settings.retry;
        let breaker: BreakerPolicy = settings.breaker;
        let client_share = settings.client_share;
        let admission = (!self.interval.is_zero() || self.budget.is_some())
            .then(|| self.admission(shared, client_share));
        let mut upstream = Upstream::new(
            self.source,
            shared.client.clone(),
            base_url,
            self.credential,
            self.timeout,
        )
        .with_cache(shared.cache.clone())
        .with_metrics(shared.metrics.clone())
        .with_breaker(breaker)
        .with_retries(retries);
        if let Some(admission) = admission {
            upstream = upstream.with_admission(admission);
        }
        if let Some(rule) = self.refusals {
            upstream = upstream.with_refusals(rule);
        }
        if let Some(shared) = &shared.shared_cache {
            upstream = upstream.with_shared_cache(shared.clone());
        }
        if let Some(link) = &shared.redis {
            upstream = upstream.with_shared_hold(link.clone());
        }
        upstream
    }

    /// The source's admission: its own pacer, or (with Redis) the decision
    /// replicas share, with this replica's share of the limits to keep to
    /// while Redis is away.
    fn admission(&self, shared: &SharedStages, client_share: f64) -> Admission {
        let Some(link) = &shared.redis else {
            return Admission::Local(Arc::new(Pacer::with_client_share(
                self.source,
                self.interval,
                self.budget,
                client_share,
            )));
        };
        let replicas = shared.replicas;
        let local_budget = self.budget.map(|budget| Budget {
            // Rounded down: together the shares never pass the budget.
            limit: budget.limit / replicas,
            window: budget.window,
        });
        // The local share's pacing is SharedAdmission's grid of turns, not
        // this pacer's: it keeps only the budget's share.
        let local =
            Pacer::with_client_share(self.source, Duration::ZERO, local_budget, client_share);
        Admission::Shared(SharedAdmission::new(
            self.source,
            link.clone(),
            self.interval + INTERVAL_SLACK,
            self.budget,
            client_share,
            replicas,
            local,
            Some(shared.metrics.clone()),
        ))
    }

    /// Pacing and budget in words ("one request per 1s, budget 500 per
    /// 1day"), empty when the source has neither.
    pub fn usage_limits(&self) -> String {
        let mut parts = Vec::new();
        if !self.interval.is_zero() {
            parts.push(format!(
                "one request per {}",
                humantime::format_duration(self.interval)
            ));
        }
        if let Some(budget) = self.budget {
            parts.push(format!(
                "budget {} per {}",
                budget.limit,
                humantime::format_duration(budget.window)
            ));
        }
        parts.join(", ")
    }
}

/// A budget the operator configured for a source without a documented one
/// (`--gta-budget`, `--ita-budget`): the window defaults to an hour.
pub fn configured_budget(limit: Option<u32>, window: Option<Duration>) -> Option<Budget> {
    limit.map(|limit| Budget {
        limit,
        window: window.unwrap_or(Duration::from_secs(3600)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use clap::Parser;

    #[test]
    fn every_source_defines_itself_and_only_comtrade_is_paced_by_default() {
        let config = Config::sample();
        for source in Source::ALL {
            let definition = define(
                source,
                &config.upstream_settings(source, true),
                config.upstream_apis(),
                Some(Secret::new("k")),
            );
            assert_eq!(definition.source, source);
            assert_eq!(
                definition.usage_limits().is_empty(),
                source != Source::Comtrade,
                "{source}: {}",
                definition.usage_limits()
            );
        }
        let comtrade = define(
            Source::Comtrade,
            &config.upstream_settings(Source::Comtrade, true),
            config.upstream_apis(),
            Some(Secret::new("k")),
        );
        assert_eq!(
            comtrade.usage_limits(),
            "one request per 1s, budget 500 per 1day"
        );
        assert!(
            comtrade.refusals.is_some(),
            "Comtrade reads its own quota refusals"
        );
    }

    #[test]
    fn an_operator_can_budget_any_source() {
        let config = Config::parse_from([
            "trade-graph",
            "--gta-budget",
            "1000",
            "--ita-budget",
            "50",
            "--ita-budget-window",
            "1m",
        ]);
        let gta = define(
            Source::Gta,
            &config.upstream_settings(Source::Gta, false),
            config.upstream_apis(),
            None,
        );
        assert_eq!(gta.usage_limits(), "budget 1000 per 1h");
        let ita = define(
            Source::Ita,
            &config.upstream_settings(Source::Ita, false),
            config.upstream_apis(),
            None,
        );
        assert_eq!(ita.usage_limits(), "budget 50 per 1m");
    }
}
