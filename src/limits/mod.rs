//! What an operation may cost, checked before any upstream is asked.
//!
//! The gateway runs on the public internet in front of real API keys, so
//! every operation passes, in this order, each refusal a GraphQL error with a
//! stable `extensions.code` and no upstream request:
//!
//! 1. [`document`]: the raw text (size, bracket nesting, tokens), before the
//!    parser, whose recursion a few KB of nested lists can overflow;
//! 2. parsing;
//! 3. [`shape`]: fields, aliases and depth after fragment expansion, counted
//!    once per fragment (linear in the text), and directives per field;
//! 4. [`cost`]: the answer's largest possible size (every list multiplies its
//!    children by the most items it can return) against a maximum, and
//!    [`demand`]: the upstream requests per source the operation can need,
//!    against a per-source maximum.
//!
//! [`OperationGuard`] runs them all. During execution, [`result_size`] caps
//! the result as it is built, and the
//! upstream path refuses requests past the per-source maximum (a backstop for
//! what estimation cannot see, such as an upstream that ignores a filter).
//! Field-specific knowledge (which list holds how many items, which field asks
//! which upstream) lives with the fields, in `graph::cost_rules`.

pub(crate) mod arguments;
pub mod cost;
pub(crate) mod demand;
pub mod document;
pub(crate) mod result_size;
pub mod shape;

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, ServerError, Variables};

use crate::source::Source;

pub use cost::{
    selected_operation, Analysis, Arguments, FieldRule, FieldRules, SchemaIndex, UNRULED_LIST_BOUND,
};
pub use demand::{shared_pages_worst_case, Demand, DemandKind, DemandLimits};
pub use document::DocumentLimits;
pub use result_size::{count_error_message, weigh_response_json, ResultSize, ResultSizeExtension};
pub use shape::ShapeLimits;

/// Every limit an operation is held to; one value per gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationLimits {
    pub document: DocumentLimits,
    pub shape: ShapeLimits,
    /// Highest cost (the answer's largest possible number of values).
    pub max_cost: u64,
    /// Most values a result may hold while it is built.
    pub max_result_values: u64,
    /// Most upstream requests per source one operation may make.
    pub demand: DemandLimits,
    /// Longest string argument, in bytes.
    pub max_argument_bytes: usize,
}

impl Default for OperationLimits {
    fn default() -> Self {
        Self {
            document: DocumentLimits::default(),
            shape: ShapeLimits::default(),
            max_cost: DEFAULT_MAX_COST,
            max_result_values: DEFAULT_MAX_RESULT_VALUES,
            demand: DemandLimits::default(),
            max_argument_bytes: arguments::DEFAULT_MAX_ARGUMENT_BYTES,
        }
    }
}

/// The README's largest example (two reporters' imports from every partner
/// by HS chapter: up to 60,600 rows of seven values) costs about 424,000,
/// its country profile about 90,000 (five interventions may each name every
/// HS subheading), GraphiQL's introspection a few hundred. Three nested pages
/// of interventions and their jurisdictions cost about 10^11.
pub const DEFAULT_MAX_COST: u64 = 1_000_000;

/// Values a result may hold while it is built: about 100 MB in memory at
/// most, the largest answer the default cost allows.
pub const DEFAULT_MAX_RESULT_VALUES: u64 = 1_000_000;

/// The checks before execution, with what they need to know: the limits,
/// the schema's types and the graph's field rules. A cheap `Clone` handle.
#[derive(Clone)]
pub struct OperationGuard {
    limits: OperationLimits,
    schema: Arc<SchemaIndex>,
    rules: Arc<dyn FieldRules>,
}

impl OperationGuard {
    pub fn new(limits: OperationLimits, schema: SchemaIndex, rules: Arc<dyn FieldRules>) -> Self {
        Self {
            limits,
            schema: Arc::new(schema),
            rules,
        }
    }

    pub fn limits(&self) -> &OperationLimits {
        &self.limits
    }

    /// The schema's types, as the cost reads them.
    pub fn schema(&self) -> &SchemaIndex {
        &self.schema
    }

    /// [`Self::schema`], to keep beyond a borrow (a subscription's events).
    pub fn schema_handle(&self) -> Arc<SchemaIndex> {
        self.schema.clone()
    }

    /// Step 1: the raw text, before anything parses it.
    pub fn check_text(&self, text: &str) -> Result<(), Refusal> {
        document::check(text, &self.limits.document).map(|_| ())
    }

    /// Step 3: the parsed document's size after fragment expansion.
    pub fn check_shape(&self, document: &ExecutableDocument) -> Result<(), Refusal> {
        shape::check(document, &self.limits.shape).map(|_| ())
    }

    /// Step 4: the cost and upstream demand of the operation `document`
    /// runs with `variables`.
    pub fn analyze(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<Analysis, Refusal> {
        arguments::check(document, variables, self.limits.max_argument_bytes)?;
        cost::analyze(
            document,
            operation_name,
            variables,
            &self.schema,
            &*self.rules,
            self.limits.max_cost,
            &self.limits.demand,
        )
    }
}

/// Why an operation was refused before or while it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalCode {
    DocumentTooLarge,
    DocumentTooDeep,
    DocumentTooManyTokens,
    OperationTooLarge,
    OperationTooDeep,
    FragmentCycle,
    OperationTooCostly,
    UpstreamDemandTooHigh,
    ResultTooLarge,
    /// As many subscriptions are open as the process or the connection may
    /// have.
    TooManySubscriptions,
    /// A string argument longer than `--max-argument-bytes`.
    ArgumentTooLong,
}

impl RefusalCode {
    /// The stable `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentTooLarge => crate::error_codes::DOCUMENT_TOO_LARGE,
            Self::DocumentTooDeep => crate::error_codes::DOCUMENT_TOO_DEEP,
            Self::DocumentTooManyTokens => crate::error_codes::DOCUMENT_TOO_MANY_TOKENS,
            Self::OperationTooLarge => crate::error_codes::OPERATION_TOO_LARGE,
            Self::OperationTooDeep => crate::error_codes::OPERATION_TOO_DEEP,
            Self::FragmentCycle => crate::error_codes::FRAGMENT_CYCLE,
            Self::OperationTooCostly => crate::error_codes::OPERATION_TOO_COSTLY,
            Self::UpstreamDemandTooHigh => crate::error_codes::UPSTREAM_DEMAND_TOO_HIGH,
            Self::ResultTooLarge => crate::error_codes::RESULT_TOO_LARGE,
            Self::TooManySubscriptions => crate::error_codes::TOO_MANY_SUBSCRIPTIONS,
            Self::ArgumentTooLong => crate::error_codes::ARGUMENT_TOO_LONG,
        }
    }
}

/// An operation refused by a limit: a request error (no data).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
    /// The upstream a demand refusal is about.
    pub source: Option<Source>,
    /// What was measured and what is allowed, for clients to act on.
    pub measured: Option<(u64, u64)>,
    /// `extensions.cost` of an operation refused for its cost or its
    /// demand: the estimate it was refused on, per source, as a successful
    /// answer carries it, so that the client sees which source to ask less of.
    pub cost: Option<serde_json::Value>,
    /// `extensions.upstream` of a refused operation that sent something
    /// before its estimate (the reference lists the estimate read).
    pub upstream: Option<serde_json::Value>,
}

impl Refusal {
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            source: None,
            measured: None,
            cost: None,
            upstream: None,
        }
    }

    /// As a GraphQL error with `extensions.code` (and `source`, `estimate`
    /// and `limit` where they apply).
    pub fn to_server_error(&self) -> ServerError {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", self.code.as_str());
        if let Some(source) = self.source {
            extensions.set("source", source.name());
        }
        if let Some((measured, limit)) = self.measured {
            extensions.set("estimate", measured);
            extensions.set("limit", limit);
        }
        let mut error = ServerError::new(self.message.clone(), None);
        error.extensions = Some(extensions);
        error
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}
