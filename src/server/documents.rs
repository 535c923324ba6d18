//! Parsed GraphQL documents, kept by query text.
//!
//! Clients send the same few operations over and over, and parsing is the
//! largest single cost of a cache-served operation after resolving (`perf`
//! put async-graphql's pest parser at 9% of the warm flagship's CPU). A
//! parsed document is reused for the same text; validation still runs on
//! every request, against the variables it comes with.

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use moka::future::Cache;

/// How much query text the cache keeps: the documents themselves are a small
/// multiple of their text.
const MAX_QUERY_TEXT_BYTES: u64 = 4 * 1024 * 1024;

/// Parsed documents by query text (bounded; least useful go first).
#[derive(Clone)]
pub(crate) struct ParsedDocuments {
    by_text: Cache<String, ExecutableDocument>,
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

    /// Gives `request` its parsed document: a kept one, or parsed now and
    /// kept. A document that does not parse is left for the schema to report.
    pub(crate) async fn attach(&self, request: &mut Request) {
        if let Some(document) = self.by_text.get(&request.query).await {
            request.set_parsed_query(document);
            return;
        }
        if let Ok(document) = request.parsed_query() {
            let document = document.clone();
            self.by_text.insert(request.query.clone(), document).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_query_text_is_parsed_once_and_bad_documents_are_not_kept() {
        let documents = ParsedDocuments::new();
        let mut first = Request::new("{ jurisdiction(iso3: \"DEU\") { name } }");
        documents.attach(&mut first).await;
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);

        let mut again = Request::new("{ jurisdiction(iso3: \"DEU\") { name } }");
        documents.attach(&mut again).await;
        assert!(again.parsed_query().is_ok());
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);

        let mut broken = Request::new("{ jurisdiction(");
        documents.attach(&mut broken).await;
        documents.by_text.run_pending_tasks().await;
        assert_eq!(documents.by_text.entry_count(), 1);
    }
}
