//! Parsed GraphQL documents, kept by query text.
//!
//! Clients send the same few operations over and over, and parsing is the
//! largest single cost of a cache-served operation after resolving (`perf`
//! put async-graphql's pest parser at 9% of the warm flagship's CPU). A
//! parsed document is reused for the same text; validation still runs on
//! every request, against the variables it comes with.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use moka::future::Cache;

use crate::limits::{OperationGuard, Refusal};

/// How much query text the cache keeps: the documents themselves are a small
/// multiple of their text.
const MAX_QUERY_TEXT_BYTES: u64 = 4 * 1024 * 1024;

/// Parsed documents by query text (bounded; least useful go first).
#[derive(Clone)]
pub(crate) struct ParsedDocuments {
    by_text: Cache<String, Arc<ExecutableDocument>>,
}

impl ParsedDocuments {
    pub(crate) fn new() -> Self {
        Self {
            by_text: Cache::builder()
                .max_capacity(MAX_QUERY_TEXT_BYTES)
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .build(),
        }
    }

    /// Gives `request` its parsed document, and returns it (what the
    /// response's keys are ordered by): a kept one, or parsed now,
    /// measured after fragment expansion (`limits::shape`, linear) and kept
    /// if within the guard's limits. A document that does not parse is left for the
    /// schema to report; one over the limits is refused here, before
    /// async-graphql's own checks, which expand fragments at every spread.
    pub(crate) async fn attach(
        &self,
        request: &mut Request,
        guard: &OperationGuard,
    ) -> Result<Option<Arc<ExecutableDocument>>, Refusal> {
        if let Some(document) = self.by_text.get(&request.query).await {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return Ok(Some(document));
        }
        if let Ok(document) = request.parsed_query() {
            guard.check_shape(document)?;
            let document = Arc::new(document.clone());
            self.by_text
                .insert(request.query.clone(), document.clone())
                .await;
            return Ok(Some(document));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_query_text_is_parsed_once_and_bad_documents_are_not_kept() {
        let documents = ParsedDocuments::new();
        let limits = OperationGuard::new(
            crate::limits::OperationLimits::default(),
            crate::limits::SchemaIndex::default(),
            std::sync::Arc::new(crate::graph::GraphCostRules::new(
                crate::countries::ComtradeDialect::Legacy,
            )),
        );
        let mut first = Request::new("{ jurisdiction(iso3: \"DEU\") { name } }");
        documents.attach(&mut first, &limits).await.unwrap();
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);

        let mut again = Request::new("{ jurisdiction(iso3: \"DEU\") { name } }");
        documents.attach(&mut again, &limits).await.unwrap();
        assert!(again.parsed_query().is_ok());
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);

        let mut broken = Request::new("{ jurisdiction(");
        documents.attach(&mut broken, &limits).await.unwrap();
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);

        let mut aliased = Request::new(format!(
            "{{ {} }}",
            (0..200)
                .map(|i| format!("a{i}: __typename "))
                .collect::<String>()
        ));
        assert!(documents.attach(&mut aliased, &limits).await.is_err());
        documents.by_text.run_pending_tasks().await;
        assert_eq!(
            documents.by_text.entry_count(),
            1,
            "refused documents are not kept"
        );
    }
}
