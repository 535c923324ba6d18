//! Every `extensions.code` the gateway answers, in one place: what clients
//! branch on, so each is a stable name with one meaning. The code that
//! answers an error names it from here (`error::Error::code`,
//! `limits::RefusalCode`, the HTTP and WebSocket transports), and
//! `docs/clients.md` lists them all (a test holds the two together).
//!
//! A leaf module: it depends on nothing, so anything may use it.

/// A code and what it means, as `docs/clients.md` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode {
    pub code: &'static str,
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident => $meaning:literal,)*) => {
        $(
            $(#[doc = $doc])*
            pub const $name: &str = stringify!($name);
        )*
        /// Every code, in the order `docs/clients.md` lists them.
        pub const ALL: &[ErrorCode] = &[$(ErrorCode { code: stringify!($name), meaning: $meaning },)*];
    };
}

codes! {
    // The request, before anything runs (no `data`).
    BAD_REQUEST => "the request is not a GraphQL request the transport can read (no query, malformed JSON or parameters, a bad WebSocket message)",
    NOT_ACCEPTABLE => "the Accept header names no media type the gateway answers (application/graphql-response+json, application/json)",
    URI_TOO_LONG => "a GET request's URL is longer than the gateway reads",
    REQUEST_HEADERS_TOO_LARGE => "the request's headers are longer than the gateway reads (24 KiB)",
    BODY_TOO_LARGE => "a POST body is larger than --max-body-bytes",
    BATCH_TOO_LARGE => "a batch holds more operations than --max-batch-size",
    METHOD_NOT_ALLOWED => "a mutation over GET, or a method the path does not take (405, with Allow)",
    NOT_FOUND => "no such path: the gateway serves /graphql, / (GraphiQL), /healthz, /readyz and /metrics",
    SUBSCRIPTION_NEEDS_WEBSOCKET => "a subscription over HTTP: subscriptions are served over WebSocket (graphql-transport-ws)",
    GRAPHQL_PARSE_FAILED => "the document does not parse",
    GRAPHQL_VALIDATION_FAILED => "the document does not validate against the schema",
    PERSISTED_QUERY_NOT_FOUND => "an automatic persisted query's hash is not known yet: send the document with it",
    PERSISTED_QUERY_HASH_MISMATCH => "the document sent does not have the hash sent with it",
    PERSISTED_QUERY_NOT_SUPPORTED => "a persisted-query extension of a version or form the gateway does not take",
    SERVER_OVERLOADED => "the gateway runs as many operations as it may at once; retry after retryAfterSeconds",
    TOO_MANY_WEBSOCKETS => "as many WebSockets are open as --max-websockets allows",
    TOO_MANY_SUBSCRIPTION_FEEDS => "as many subscription feeds are polling as --max-subscription-feeds allows",
    // The limits (docs/limits.md), before anything is sent upstream.
    DOCUMENT_TOO_LARGE => "the document is longer than --max-document-bytes",
    DOCUMENT_TOO_DEEP => "the document nests brackets deeper than --max-document-nesting (checked before it is parsed)",
    DOCUMENT_TOO_MANY_TOKENS => "the document has more tokens than --max-document-tokens",
    OPERATION_TOO_LARGE => "the operation selects more fields, aliases or directives than --max-fields, --max-aliases or --max-directives, fragments expanded",
    OPERATION_TOO_DEEP => "the operation nests deeper than --max-depth",
    FRAGMENT_CYCLE => "fragments spread each other in a cycle",
    OPERATION_TOO_COSTLY => "the operation could return more values than --max-cost",
    UPSTREAM_DEMAND_TOO_HIGH => "the operation could send an upstream more requests than its maximum per operation (or the affected trade's allowance)",
    RESULT_TOO_LARGE => "the response grew past --max-result-values while it was built",
    TOO_MANY_SUBSCRIPTIONS => "as many subscriptions are open as the process or the connection may have",
    ARGUMENT_TOO_LONG => "a string argument is longer than --max-argument-bytes",
    // A field's error, beside the data of the others (`path` says which).
    BAD_USER_INPUT => "an argument the gateway refuses, saying why (a code that is not one, a year out of range)",
    UPSTREAM_TIMEOUT => "the upstream did not answer within its timeout or the operation's deadline",
    UPSTREAM_UNAVAILABLE => "the upstream failed, its circuit breaker is open, or the gateway has no room to read its answer now; retryAfterSeconds says when to try again",
    UPSTREAM_UNAUTHORIZED => "the upstream refused the gateway's key",
    UPSTREAM_REJECTED => "the upstream refused the request (a 4xx other than the ones named here)",
    UPSTREAM_RATE_LIMITED => "the upstream (or the gateway's pacing of it) asks to wait; retryAfterSeconds says how long",
    UPSTREAM_QUERY_TOO_COMPLEX => "Comtrade refused the request as too complex (its 5002)",
    UPSTREAM_RESULT_TOO_LARGE => "Comtrade refused the request as returning too much (its 5003)",
    UPSTREAM_INVALID_PARAMETER => "Comtrade refused a parameter (its 5004)",
    UPSTREAM_BUDGET_EXHAUSTED => "the upstream's request budget for the window is spent (or this client's share of it)",
    UPSTREAM_RESULT_TRUNCATED => "the upstream cut its answer short and the request could not be split within the estimate",
    UPSTREAM_BAD_RESPONSE => "the upstream's answer could not be read (or parts of it, named, were left out)",
    UPSTREAM_DATASET_RETIRED => "the data set asked for is no longer published by the upstream",
    UPSTREAM_WINDOW_EXCEEDED => "the page asked for lies beyond what the upstream lets anyone page to",
    UPSTREAM_API_LACKS_ENDPOINT => "the upstream API generation configured has no such endpoint",
}

/// The entry of `code`, if it is one.
pub fn find(code: &str) -> Option<&'static ErrorCode> {
    ALL.iter().find(|entry| entry.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_named_as_they_read() {
        let mut seen = std::collections::HashSet::new();
        for entry in ALL {
            assert!(seen.insert(entry.code), "{} twice", entry.code);
            assert!(
                entry
                    .code
                    .bytes()
                    .all(|byte| byte.is_ascii_uppercase() || byte == b'_'),
                "{}",
                entry.code
            );
            assert!(!entry.meaning.is_empty());
        }
        assert_eq!(find(UPSTREAM_TIMEOUT).unwrap().code, "UPSTREAM_TIMEOUT");
    }
}
