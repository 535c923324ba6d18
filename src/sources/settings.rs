//! One upstream's settings, as the gateway's configuration resolves them
//! for it: the setting for every source (`--retry-max-attempts`,
//! `--client-share`...) with the source's own override
//! (`--comtrade-retry-max-attempts`...), and its budget as the operator or
//! the upstream's documentation sets it.
//!
//! The sources take their settings from here, never from the command line:
//! configuration depends on the sources (their key types, budgets and
//! policies), not the other way round.

use std::time::Duration;

use super::breaker::BreakerPolicy;
use super::pacing::Budget;
use super::retry::RetryPolicy;

/// What one source's pipeline is built with.
#[derive(Clone, Debug)]
pub struct UpstreamSettings {
    /// How long one request may take.
    pub timeout: Duration,
    /// Least time between two requests, across all operations (zero: none).
    pub interval: Duration,
    /// The requests every user of the gateway may spend per window, if the
    /// upstream (or the operator) sets a budget.
    pub budget: Option<Budget>,
    /// The part of a budget window one client may spend.
    pub client_share: f64,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
}
