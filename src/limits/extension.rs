//! The limits as an async-graphql extension, so that every way an operation
//! reaches the schema is held to them: the document guard and the analysis
//! run where async-graphql parses, the result cap where it resolves, and the
//! computed cost is reported in `extensions.cost`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextResolve, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, Value, Variables};

use super::cost::{analyze, Analysis, FieldRules, SchemaIndex};
use super::{document, shape, OperationLimits, Refusal, RefusalCode};
use crate::sources::Source;

/// Installs the limits on a schema (`SchemaBuilder::extension`).
#[derive(Clone)]
pub struct OperationLimitsExtension {
    limits: OperationLimits,
    schema: Arc<SchemaIndex>,
    rules: Arc<dyn FieldRules>,
}

impl OperationLimitsExtension {
    pub fn new(limits: OperationLimits, schema: SchemaIndex, rules: Arc<dyn FieldRules>) -> Self {
        Self {
            limits,
            schema: Arc::new(schema),
            rules,
        }
    }
}

impl ExtensionFactory for OperationLimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerOperation {
            shared: self.clone(),
            operation_name: Mutex::new(None),
            analysis: Mutex::new(None),
        })
    }
}

/// How much of its result an operation has built, shared between the
/// extension (which counts) and whatever drives the operation (which stops
/// it when the cap is crossed). A cheap `Clone` handle, one per operation.
#[derive(Clone, Debug, Default)]
pub struct ResultSize {
    inner: Arc<ResultSizeInner>,
}

#[derive(Debug, Default)]
struct ResultSizeInner {
    values: AtomicU64,
    /// Set once, when the cap is crossed.
    exceeded: OnceLock<Refusal>,
}

impl ResultSize {
    /// Counts `weight` more values; past `max`, records the refusal.
    fn add(&self, weight: u64, max: u64) -> Result<(), Refusal> {
        let values = self.inner.values.fetch_add(weight, Ordering::Relaxed) + weight;
        if values <= max {
            return Ok(());
        }
        let refusal = self.inner.exceeded.get_or_init(|| {
            let mut refusal = Refusal::new(
                RefusalCode::ResultTooLarge,
                format!(
                    "the result grew past {max} values and the operation was stopped; ask for smaller pages or fewer fields"
                ),
            );
            refusal.measured = Some((values, max));
            refusal
        });
        Err(refusal.clone())
    }

    /// The refusal, once the cap has been crossed.
    pub fn exceeded(&self) -> Option<&Refusal> {
        self.inner.exceeded.get()
    }

    /// Values counted so far.
    pub fn values(&self) -> u64 {
        self.inner.values.load(Ordering::Relaxed)
    }
}

struct PerOperation {
    shared: OperationLimitsExtension,
    operation_name: Mutex<Option<String>>,
    analysis: Mutex<Option<Analysis>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerOperation {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .operation_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = &self.shared.limits;
        document::check(query, &limits.document).map_err(|refusal| refusal.to_server_error())?;
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(with_parse_code)?;
        shape::check(&document, &limits.shape).map_err(|refusal| refusal.to_server_error())?;
        let operation_name = self
            .operation_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let analysis = analyze(
            &document,
            operation_name.as_deref(),
            variables,
            &self.shared.schema,
            &*self.shared.rules,
            limits.max_cost,
            &limits.demand,
        )
        .map_err(|refusal| refusal.to_server_error())?;
        *self.analysis.lock().unwrap_or_else(PoisonError::into_inner) = Some(analysis);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let analysis = self
            .analysis
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(analysis) = analysis {
            response.extensions.insert(
                "cost".into(),
                cost_extension(&analysis, &self.shared.limits),
            );
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let result_size = ctx.data_opt::<ResultSize>();
        if let Some(refusal) = result_size.and_then(ResultSize::exceeded) {
            // Stopped: nothing more is built.
            return Err(refusal.to_server_error());
        }
        let value = next.run(ctx, info).await?;
        if let (Some(result_size), Some(value)) = (result_size, &value) {
            result_size
                .add(weight(value), self.shared.limits.max_result_values)
                .map_err(|refusal| refusal.to_server_error())?;
        }
        Ok(value)
    }
}

/// The values one resolved field adds to the result. An object's or a list
/// of objects' members are fields (and items) of their own, counted when
/// they resolve; text counts a value per 64 bytes, since long descriptions
/// are where the bytes are.
fn weight(value: &Value) -> u64 {
    match value {
        Value::String(text) => 1 + text.len() as u64 / 64,
        Value::List(items) => {
            1 + items
                .iter()
                .map(|item| match item {
                    Value::Object(_) | Value::List(_) => 0,
                    scalar => weight(scalar),
                })
                .sum::<u64>()
        }
        _ => 1,
    }
}

/// `extensions.cost`: what the operation could cost, and the limits.
fn cost_extension(analysis: &Analysis, limits: &OperationLimits) -> Value {
    let mut estimate = async_graphql::indexmap::IndexMap::new();
    for source in Source::ALL {
        estimate.insert(
            async_graphql::Name::new(source.name()),
            Value::from(analysis.requests(source)),
        );
    }
    let mut cost = async_graphql::indexmap::IndexMap::new();
    cost.insert(async_graphql::Name::new("cost"), Value::from(analysis.cost));
    cost.insert(
        async_graphql::Name::new("maxCost"),
        Value::from(limits.max_cost),
    );
    cost.insert(
        async_graphql::Name::new("upstreamEstimate"),
        Value::Object(estimate),
    );
    Value::Object(cost)
}

/// async-graphql's parse-stage errors, given a stable code: its recursion
/// limit (selection sets and spreads nested past 32) or a syntax error.
fn with_parse_code(mut error: ServerError) -> ServerError {
    if error.extensions.is_none() {
        let code = if error.message.contains("recursion depth") {
            RefusalCode::OperationTooDeep.as_str()
        } else {
            "GRAPHQL_PARSE_FAILED"
        };
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
    }
    error
}

/// The error a stopped operation answers with.
pub fn result_too_large(result_size: &ResultSize) -> Option<ServerError> {
    result_size.exceeded().map(Refusal::to_server_error)
}
