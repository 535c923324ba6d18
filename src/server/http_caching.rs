//! HTTP caching of GraphQL answers, for browsers and CDNs.
//!
//! - A GET answer (including a persisted query's hash-only GET, whose short
//!   URL is what a CDN caches well) that may be kept carries
//!   `Cache-Control: public, max-age=<seconds left>`, where the seconds are
//!   what is left of its whole-response lifetime (the shortest of the
//!   upstream answers it was built from), and an `ETag`; an answer with
//!   errors, or built from a stale copy, carries `no-store`.
//! - Every GET answer carries `Vary: Accept`: the same URL is answered as
//!   `application/json` or `application/graphql-response+json` by `Accept`.
//! - `If-None-Match` naming the answer's `ETag` is answered `304 Not
//!   Modified` without a body. The tag is weak (`W/"..."`): two answers with
//!   the same tag carry the same data, while their cache metadata
//!   (`extensions.upstream`) differs.
//! - A POST answer carries `Cache-Control: no-store` (GraphQL over HTTP
//!   leaves POST to the client; shared caches do not key on bodies).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

/// How an answer may be kept by HTTP caches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cacheable {
    /// What is left of its lifetime.
    pub max_age: Duration,
    /// Its weak validator.
    pub etag: Arc<str>,
}

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Gives a POST answer its caching headers.
pub(super) fn for_post(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, NO_STORE);
}

/// Gives a GET answer its caching headers, and turns it into `304 Not
/// Modified` when the client already holds it (`request` names its tag).
pub(super) fn for_get(response: &mut Response, cacheable: Option<&Cacheable>, request: &HeaderMap) {
    let status = response.status();
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept"));
    let cacheable = cacheable.filter(|cacheable| cacheable.max_age >= Duration::from_secs(1));
    let (Some(cacheable), StatusCode::OK) = (cacheable, status) else {
        headers.insert(header::CACHE_CONTROL, NO_STORE);
        return;
    };
    // One tag per representation: the same answer as
    // application/graphql-response+json and as application/json are two
    // (a CDN revalidating one must not be told it holds the other).
    let representation = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map_or("", |value| {
            if value.starts_with("application/graphql-response+json") {
                "-gr"
            } else {
                "-j"
            }
        });
    let tag = match cacheable.etag.strip_suffix('"') {
        Some(open) => format!("{open}{representation}\""),
        None => cacheable.etag.to_string(),
    };
    let Ok(etag) = HeaderValue::from_str(&tag) else {
        headers.insert(header::CACHE_CONTROL, NO_STORE);
        return;
    };
    if let Ok(value) =
        HeaderValue::from_str(&format!("public, max-age={}", cacheable.max_age.as_secs()))
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(header::ETAG, etag);
    if request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|value| matches(value, &tag))
    {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response.headers_mut().remove(header::CONTENT_TYPE);
        *response.body_mut() = axum::body::Body::empty();
    }
}

/// Whether an `If-None-Match` value names `etag`, by the weak comparison
/// RFC 9110 asks of `If-None-Match` (`W/` ignored on both sides), or is `*`.
fn matches(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    // One `W/` at most, then a quoted tag (RFC 9110 entity-tag syntax).
    let opaque = |tag: &str| {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_owned()
    };
    let ours = opaque(etag);
    value
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn answer() -> Response {
        (StatusCode::OK, "{}").into_response()
    }

    fn cacheable(seconds: u64) -> Cacheable {
        Cacheable {
            max_age: Duration::from_secs(seconds),
            etag: "W/\"abc\"".into(),
        }
    }

    fn if_none_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_cacheable_get_says_how_long_and_answers_its_tag_with_304() {
        let mut response = answer();
        for_get(&mut response, Some(&cacheable(42)), &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=42"
        );
        assert_eq!(response.headers()[header::ETAG], "W/\"abc-j\"");
        assert_eq!(response.headers()[header::VARY], "accept");

        for tag in ["W/\"abc-j\"", "\"abc-j\"", "\"x\", W/\"abc-j\"", "*"] {
            let mut response = answer();
            for_get(&mut response, Some(&cacheable(42)), &if_none_match(tag));
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
            assert_eq!(response.headers()[header::ETAG], "W/\"abc-j\"");
        }
        let mut response = answer();
        for_get(
            &mut response,
            Some(&cacheable(42)),
            &if_none_match("W/\"abd\""),
        );
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn what_may_not_be_kept_is_no_store() {
        let mut response = answer();
        for_get(&mut response, None, &if_none_match("*"));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.status(), StatusCode::OK, "no tag, no 304");
        assert!(response.headers().get(header::ETAG).is_none());

        let mut response = answer();
        for_get(&mut response, Some(&cacheable(0)), &HeaderMap::new());
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

        let mut refused = (StatusCode::BAD_REQUEST, "{}").into_response();
        for_get(&mut refused, Some(&cacheable(42)), &HeaderMap::new());
        assert_eq!(refused.headers()[header::CACHE_CONTROL], "no-store");

        let mut post = answer();
        for_post(&mut post);
        assert_eq!(post.headers()[header::CACHE_CONTROL], "no-store");
    }
}
