//! The one error type of the gateway.
//!
//! Every variant that comes from an upstream names its source, so a client can
//! tell which part of the graph failed, and maps to a stable
//! `extensions.code`. Messages never carry an API key: upstream text is scrubbed
//! in `sources::http` before it reaches a variant.

use std::time::Duration;

use async_graphql::ErrorExtensions;

use crate::error_codes as codes;
use crate::source::Source;

/// Everything that can go wrong answering a field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// The operation's arguments are wrong; no upstream was asked.
    #[error("{0}")]
    BadInput(String),
    /// The upstream did not answer within the configured timeout.
    #[error("{upstream} did not answer within {}", humantime::format_duration(*after))]
    UpstreamTimeout { upstream: Source, after: Duration },
    /// The upstream could not be reached, or answered with a server error.
    #[error("{upstream} is unavailable{}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), retry_after.map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    UpstreamUnavailable {
        upstream: Source,
        status: Option<u16>,
        /// When to try again: the upstream's `Retry-After`, or how long the
        /// circuit breaker stays open.
        retry_after: Option<u64>,
    },
    /// The upstream refused the configured credentials.
    #[error("{upstream} refused the gateway's credentials (HTTP {status}); check the {upstream} API key in the configuration")]
    UpstreamUnauthorized { upstream: Source, status: u16 },
    /// The upstream refused the request itself (a bad parameter it checks and we
    /// could not check first).
    #[error("{upstream} rejected the request (HTTP {status}): {message}")]
    UpstreamRejected {
        upstream: Source,
        status: u16,
        message: String,
    },
    /// A usage limit stops the request: the upstream refused it (HTTP 409
    /// or 429), or the gateway held it back (its pacing of the upstream, or
    /// a `Retry-After` the upstream gave earlier); `message` says which.
    #[error("{upstream} cannot be asked now: a usage limit, the upstream's or the gateway's pacing of it{}{}", retry_after.map(|s| format!("; retry after {s} s")).unwrap_or_default(), message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    UpstreamRateLimited {
        upstream: Source,
        retry_after: Option<u64>,
        message: Option<String>,
    },
    /// The upstream's own validation refused the query (Comtrade's
    /// `validation.status`: 5002 too complex, 5003 result too large, 5004
    /// invalid parameter).
    #[error("{upstream} refused the query ({status}): {message}")]
    UpstreamValidation {
        upstream: Source,
        status: i64,
        message: String,
    },
    /// The operation needs more upstream requests than the source's budget has
    /// left in its window; nothing was sent. `retry_after` is `None` when it
    /// needs more than the whole budget (or the client's whole share):
    /// waiting would not help.
    #[error("{upstream} request budget exhausted: this operation needs {needed} requests but {}", budget_left(*remaining, *limit, *window, *retry_after))]
    UpstreamBudgetExhausted {
        upstream: Source,
        needed: u32,
        remaining: u32,
        limit: u32,
        window: Duration,
        retry_after: Option<u64>,
    },
    /// The upstream truncated an answer that cannot be split further.
    /// `matched` is what the upstream said matched, when it says (the
    /// legacy API does; v1 only caps its answer).
    #[error("{upstream} truncated its answer at {received} rows{} and the request cannot be split further; {remedy}", match matched { Some(matched) => format!(" of {matched} that matched"), None => format!(" (at least {received} matched)") })]
    UpstreamTruncated {
        upstream: Source,
        received: u64,
        matched: Option<u64>,
        /// How to get the rest.
        remedy: &'static str,
    },
    /// The operation's deadline passed while this field waited on the upstream.
    #[error("{upstream} had not answered when the operation's deadline of {} passed", humantime::format_duration(*after))]
    DeadlineExceeded { upstream: Source, after: Duration },
    /// The operation reached its maximum of requests to this upstream (the
    /// estimate before it ran could not see them all, e.g. an upstream that
    /// ignored a filter and kept answering pages); nothing more is sent.
    #[error("this operation reached its maximum of {limit} {upstream} requests; ask for fewer jurisdictions or smaller pages")]
    UpstreamDemandExceeded { upstream: Source, limit: u64 },
    /// A measure's affected trade did not fit the operation's Comtrade
    /// allowance for affected trade: answered incomplete, with this error
    /// beside it so that a client reading only `errors` sees it.
    #[error("the affected trade of one operation may send Comtrade at most {allowance} requests (four fifths of --comtrade-max-requests) and this measure's did not fit: it is answered incomplete (see incompleteReasons); ask for fewer measures at once")]
    AffectedTradeAllowanceSpent { allowance: u64 },
    /// The data set exists only in the seed-era API: the configured one
    /// retired it.
    #[error("{upstream}'s {} is not served by the configured API: retired {}; {} (the seeds' API serves it: --{upstream}-api v2)", retired.dataset, retired.since, retired.successor)]
    DatasetRetired {
        upstream: Source,
        retired: Retirement,
    },
    /// The records asked for lie beyond what the upstream lets any request
    /// reach (data.trade.gov's screening list: `size` at most 50, `offset`
    /// at most 1,000); nothing was sent.
    #[error("{upstream}'s {what} serves only the first {reach} matches of a search (size at most {page}, offset at most {max_offset}); records {} to {} were asked for: narrow the search with more filters rather than paging further", offset + 1, offset + limit)]
    BeyondUpstreamWindow {
        upstream: Source,
        what: &'static str,
        offset: u64,
        limit: u64,
        reach: u64,
        page: u64,
        max_offset: u64,
    },
    /// The endpoint exists only in the other generation of the upstream's
    /// API than the configured one; nothing was sent.
    #[error("{upstream}'s {what} is served only by the {only} {upstream} API; this gateway speaks {configured} (set --{upstream}-api {only})")]
    NotInConfiguredApi {
        upstream: Source,
        what: &'static str,
        only: &'static str,
        configured: &'static str,
    },
    /// The upstream answered with a body we cannot read (its shape
    /// changed, or it is no answer at all: too large, a redirect); `path`
    /// says where in the body, when somewhere in it.
    #[error("{}", bad_response_message(upstream, path, detail))]
    UpstreamBadResponse {
        upstream: Source,
        path: String,
        detail: String,
    },
}

/// A data set the configured upstream no longer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retirement {
    pub dataset: &'static str,
    /// When and how it went, in words ("2018-10-01").
    pub since: &'static str,
    /// What serves its purpose now, if anything.
    pub successor: &'static str,
}

impl Error {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput(_) => codes::BAD_USER_INPUT,
            Self::UpstreamTimeout { .. } => codes::UPSTREAM_TIMEOUT,
            Self::UpstreamUnavailable { .. } => codes::UPSTREAM_UNAVAILABLE,
            Self::UpstreamUnauthorized { .. } => codes::UPSTREAM_UNAUTHORIZED,
            Self::UpstreamRejected { .. } => codes::UPSTREAM_REJECTED,
            Self::UpstreamRateLimited { .. } => codes::UPSTREAM_RATE_LIMITED,
            Self::UpstreamValidation { status: 5002, .. } => codes::UPSTREAM_QUERY_TOO_COMPLEX,
            Self::UpstreamValidation { status: 5003, .. } => codes::UPSTREAM_RESULT_TOO_LARGE,
            Self::UpstreamValidation { status: 5004, .. } => codes::UPSTREAM_INVALID_PARAMETER,
            Self::UpstreamValidation { .. } => codes::UPSTREAM_REJECTED,
            Self::UpstreamBudgetExhausted { .. } => codes::UPSTREAM_BUDGET_EXHAUSTED,
            Self::UpstreamTruncated { .. } => codes::UPSTREAM_RESULT_TRUNCATED,
            Self::UpstreamBadResponse { .. } => codes::UPSTREAM_BAD_RESPONSE,
            Self::DeadlineExceeded { .. } => codes::UPSTREAM_TIMEOUT,
            Self::UpstreamDemandExceeded { .. } | Self::AffectedTradeAllowanceSpent { .. } => {
                codes::UPSTREAM_DEMAND_TOO_HIGH
            }
            Self::DatasetRetired { .. } => codes::UPSTREAM_DATASET_RETIRED,
            Self::BeyondUpstreamWindow { .. } => codes::UPSTREAM_WINDOW_EXCEEDED,
            Self::NotInConfiguredApi { .. } => codes::UPSTREAM_API_LACKS_ENDPOINT,
        }
    }

    /// The upstream this error came from, if any.
    pub fn upstream(&self) -> Option<Source> {
        match self {
            Self::BadInput(_) => None,
            Self::AffectedTradeAllowanceSpent { .. } => Some(Source::Comtrade),
            Self::UpstreamTimeout { upstream, .. }
            | Self::UpstreamUnavailable { upstream, .. }
            | Self::UpstreamUnauthorized { upstream, .. }
            | Self::UpstreamRejected { upstream, .. }
            | Self::UpstreamRateLimited { upstream, .. }
            | Self::UpstreamValidation { upstream, .. }
            | Self::UpstreamBudgetExhausted { upstream, .. }
            | Self::UpstreamTruncated { upstream, .. }
            | Self::UpstreamBadResponse { upstream, .. }
            | Self::DeadlineExceeded { upstream, .. }
            | Self::UpstreamDemandExceeded { upstream, .. }
            | Self::DatasetRetired { upstream, .. }
            | Self::BeyondUpstreamWindow { upstream, .. }
            | Self::NotInConfiguredApi { upstream, .. } => Some(*upstream),
        }
    }

    /// When the client may try again, in seconds, where the error says.
    /// An upstream that is unavailable or refuses for its rate always says
    /// something: its own wait, the breaker's, or a second when nothing
    /// told (a connection reset, a body cut off mid-transfer, a 500 without
    /// `Retry-After`), so that a client can back off by the field alone.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::UpstreamRateLimited { retry_after, .. }
            | Self::UpstreamUnavailable { retry_after, .. } => Some(retry_after.unwrap_or(1)),
            Self::UpstreamBudgetExhausted { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Shorthand for a [`Error::BadInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }
}

/// The end of a budget refusal's message: what is left and when to retry,
/// or that the whole budget is too small.
fn budget_left(remaining: u32, limit: u32, window: Duration, retry_after: Option<u64>) -> String {
    let window = humantime::format_duration(window);
    match retry_after {
        Some(seconds) => {
            format!("only {remaining} of {limit} per {window} remain; retry in {seconds} s")
        }
        None => format!(
            "at most {limit} per {window} are this client's to spend (its share of the budget): ask for less (fewer jurisdictions, years or codes), as waiting would not help"
        ),
    }
}

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let message = self.to_string();
        // Written into the result beside the field's null: counted against
        // the result cap of the operation being built, if one is.
        crate::limits::count_error_message(&message);
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(upstream) = self.upstream() {
                ext.set("source", upstream.name());
            }
            if let Some(seconds) = self.retry_after() {
                ext.set("retryAfterSeconds", seconds);
            }
            match self {
                Self::UpstreamUnavailable {
                    status: Some(status),
                    ..
                }
                | Self::UpstreamUnauthorized { status, .. }
                | Self::UpstreamRejected { status, .. } => ext.set("status", *status),
                Self::UpstreamValidation { status, .. } => ext.set("upstreamStatus", *status),
                Self::UpstreamBadResponse { path, .. } => ext.set("path", path.as_str()),
                Self::UpstreamDemandExceeded { limit, .. } => ext.set("limit", *limit),
                Self::AffectedTradeAllowanceSpent { allowance } => ext.set("limit", *allowance),
                Self::BeyondUpstreamWindow { reach, .. } => ext.set("reach", *reach),
                Self::NotInConfiguredApi { only, .. } => ext.set("api", *only),
                _ => {}
            }
        })
    }
}

/// Turns a gateway result into a GraphQL result that keeps `extensions.code`.
///
/// async-graphql converts any `Display` error with `?`, which would drop the
/// extensions; resolvers call `.graphql()?` instead.
pub trait GraphqlResult<T> {
    fn graphql(self) -> async_graphql::Result<T>;
}

impl<T> GraphqlResult<T> for Result<T, Error> {
    fn graphql(self) -> async_graphql::Result<T> {
        self.map_err(|error| error.extend())
    }
}

impl From<crate::countries::UnknownCountry> for Error {
    fn from(error: crate::countries::UnknownCountry) -> Self {
        Self::BadInput(error.to_string())
    }
}

/// `UpstreamBadResponse`'s message: where in the body, when the body was
/// read as far as a place in it.
fn bad_response_message(upstream: &Source, path: &str, detail: &str) -> String {
    if path.is_empty() {
        format!("{upstream} gave an answer the gateway cannot use: {detail}")
    } else {
        format!("{upstream} answered in an unexpected shape at `{path}`: {detail}")
    }
}
