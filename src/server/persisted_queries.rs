//! Automatic persisted queries, as Apollo defines them: a client sends only
//! the SHA-256 of its document (`extensions.persistedQuery.sha256Hash`);
//! when the gateway does not know it, it answers `PERSISTED_QUERY_NOT_FOUND`
//! and the client sends the document with its hash once, which registers
//! it. Over GET, hash-only requests make short URLs a CDN can cache.
//!
//! The store is bounded by the documents' size (`--persisted-queries-max-mb`;
//! least recently used first out) and only ever holds documents that passed
//! the document limits and whose hash was checked, so it cannot be filled
//! with what the gateway would refuse, nor poisoned under another
//! document's hash.

use std::sync::Arc;

use moka::future::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Why a request's persisted-query extension cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersistedQueryError {
    /// Hash only, and the gateway does not know it: send the document.
    NotFound,
    /// The document's SHA-256 is not the hash sent with it.
    HashMismatch,
    /// Persisted queries are turned off, or the version is not 1.
    NotSupported(String),
    /// The extension is not `{ version, sha256Hash }`.
    Malformed(&'static str),
}

impl PersistedQueryError {
    /// The message (Apollo's clients match `PersistedQueryNotFound` and
    /// `PersistedQueryNotSupported` by message as well as by code).
    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "PersistedQueryNotFound".into(),
            Self::HashMismatch => {
                "the document's SHA-256 is not extensions.persistedQuery.sha256Hash".into()
            }
            Self::NotSupported(why) => format!("PersistedQueryNotSupported: {why}"),
            Self::Malformed(why) => why.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => crate::error_codes::PERSISTED_QUERY_NOT_FOUND,
            Self::HashMismatch => crate::error_codes::PERSISTED_QUERY_HASH_MISMATCH,
            Self::NotSupported(_) => crate::error_codes::PERSISTED_QUERY_NOT_SUPPORTED,
            Self::Malformed(_) => crate::error_codes::BAD_REQUEST,
        }
    }
}

/// The documents registered by hash; cheap to clone.
#[derive(Clone)]
pub struct PersistedQueries {
    /// `None` when turned off (`--persisted-queries-max-mb 0`).
    store: Option<Cache<String, Arc<str>>>,
}

impl PersistedQueries {
    /// A store holding at most `max_bytes` of documents; `0` turns
    /// persisted queries off.
    pub fn new(max_bytes: u64) -> Self {
        let store = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|hash: &String, document: &Arc<str>| {
                    u32::try_from(hash.len() + document.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { store }
    }

    /// Whether persisted queries are kept (`--persisted-queries-max-mb`
    /// above 0).
    pub fn enabled(&self) -> bool {
        self.store.is_some()
    }

    /// Whether a document is registered under `hash` (as a client sends
    /// it: 64 hex digits).
    pub fn is_registered(&self, hash: &str) -> bool {
        self.store
            .as_ref()
            .is_some_and(|store| store.contains_key(&hash.to_ascii_lowercase()))
    }

    /// Resolves the document of a request with `extensions`: `Ok(None)`
    /// when it has no persisted-query extension (the request's own `query`
    /// stands), `Ok(Some(document))` for a known hash, or an error.
    /// `query`, when sent with a hash, must match it; it is registered by
    /// [`PersistedQueries::register`] once it passed the document limits.
    pub async fn resolve(
        &self,
        query: Option<&str>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<Option<PersistedHash>, PersistedQueryError> {
        let Some(extension) = extensions.and_then(|extensions| extensions.get("persistedQuery"))
        else {
            return Ok(None);
        };
        let Value::Object(extension) = extension else {
            return Err(PersistedQueryError::Malformed(
                "extensions.persistedQuery must be an object",
            ));
        };
        match extension.get("version") {
            Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
            Some(_) => {
                return Err(PersistedQueryError::NotSupported(
                    "only version 1 of extensions.persistedQuery is supported".into(),
                ))
            }
            None => {
                return Err(PersistedQueryError::Malformed(
                    "extensions.persistedQuery needs a version (1)",
                ))
            }
        }
        let Some(Value::String(hash)) = extension.get("sha256Hash") else {
            return Err(PersistedQueryError::Malformed(
                "extensions.persistedQuery needs a sha256Hash string",
            ));
        };
        let Some(store) = &self.store else {
            return Err(PersistedQueryError::NotSupported(
                "this gateway does not keep persisted queries (--persisted-queries-max-mb 0)"
                    .into(),
            ));
        };
        let hash = hash.to_ascii_lowercase();
        match query {
            Some(query) => {
                if sha256_hex(query) != hash {
                    return Err(PersistedQueryError::HashMismatch);
                }
                Ok(Some(PersistedHash {
                    hash,
                    document: None,
                }))
            }
            None => match store.get(&hash).await {
                Some(document) => Ok(Some(PersistedHash {
                    hash,
                    document: Some(document),
                })),
                None => Err(PersistedQueryError::NotFound),
            },
        }
    }

    /// Keeps `document` under its (checked) hash.
    pub async fn register(&self, hash: &PersistedHash, document: &str) {
        if let (Some(store), None) = (&self.store, &hash.document) {
            store.insert(hash.hash.clone(), Arc::from(document)).await;
        }
    }
}

/// A request's persisted-query hash, checked: with the document the store
/// had for it, or `None` when the request brought its own (to register).
#[derive(Debug, Clone)]
pub struct PersistedHash {
    hash: String,
    pub document: Option<Arc<str>>,
}

/// A document's SHA-256, in lowercase hex, as Apollo's clients compute it.
pub fn sha256_hex(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extensions(hash: &str) -> Map<String, Value> {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
            .as_object()
            .unwrap()
            .clone()
    }

    #[tokio::test]
    async fn a_hash_is_found_only_after_its_document_was_registered() {
        let store = PersistedQueries::new(1024 * 1024);
        let document = "{ jurisdiction(iso3: \"BRA\") { name } }";
        let hash = sha256_hex(document);
        let unknown = store.resolve(None, Some(&extensions(&hash))).await;
        assert_eq!(unknown.unwrap_err(), PersistedQueryError::NotFound);
        let checked = store
            .resolve(Some(document), Some(&extensions(&hash)))
            .await
            .unwrap()
            .unwrap();
        store.register(&checked, document).await;
        let found = store
            .resolve(None, Some(&extensions(&hash.to_uppercase())))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.document.as_deref(), Some(document));
    }

    #[tokio::test]
    async fn a_document_under_another_hash_is_refused() {
        let store = PersistedQueries::new(1024 * 1024);
        let hash = sha256_hex("{ a }");
        let refused = store.resolve(Some("{ b }"), Some(&extensions(&hash))).await;
        assert_eq!(refused.unwrap_err(), PersistedQueryError::HashMismatch);
    }

    #[test]
    fn hashes_match_apollos() {
        // sha256("{ __typename }"), as crypto.createHash("sha256") gives it.
        assert_eq!(
            sha256_hex("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }

    #[tokio::test]
    async fn turned_off_says_not_supported_and_bad_versions_are_refused() {
        let off = PersistedQueries::new(0);
        assert!(matches!(
            off.resolve(None, Some(&extensions("00"))).await,
            Err(PersistedQueryError::NotSupported(_))
        ));
        let on = PersistedQueries::new(1024);
        let v2 = json!({ "persistedQuery": { "version": 2, "sha256Hash": "00" } });
        assert!(matches!(
            on.resolve(None, v2.as_object()).await,
            Err(PersistedQueryError::NotSupported(_))
        ));
        let no_hash = json!({ "persistedQuery": { "version": 1 } });
        assert!(matches!(
            on.resolve(None, no_hash.as_object()).await,
            Err(PersistedQueryError::Malformed(_))
        ));
    }
}
