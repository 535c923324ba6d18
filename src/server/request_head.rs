//! Headers past what the gateway reads are refused as a GraphQL error with
//! a code, the way a long GET query (`414`) or a large body (`413`) is.
//!
//! hyper answers a request head past its buffer itself, with an empty
//! `431` the gateway never sees. This bound sits well below that buffer
//! (with the longest GET query on top, a head still fits in it), so that a
//! client sending too many or too long headers learns why, in JSON.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error_codes as codes;

/// The most header fields a request may carry: hyper's own bound for
/// HTTP/1, which answers past it with an empty 431 before the gateway sees
/// the request (raising it puts every request's headers on the heap: about
/// 5% of throughput, hyper says); held here for HTTP/2 too, in JSON.
pub const MAX_HEADER_FIELDS: usize = 100;

/// The most header bytes (names, values and their separators) a request
/// may carry. With the request line (a GET's query is at most 32 KiB),
/// within the 64 KiB head hyper reads.
pub const MAX_HEADER_BYTES: usize = 24 * 1024;

/// The bytes `request`'s headers take on the wire (HTTP/1's `name: value`
/// and line end; HTTP/2's header list counts each field's name and value
/// and 32 bytes, close enough to be bounded the same way). The request id
/// is left out: the access log sets it (replacing one that is not sane)
/// before this runs, so that the refusal is logged with it.
fn header_bytes(request: &Request) -> usize {
    request
        .headers()
        .iter()
        .filter(|(name, _)| **name != super::access_log::REQUEST_ID)
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// Answers `431` with `REQUEST_HEADERS_TOO_LARGE` when the headers are
/// past [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`]; otherwise passes the
/// request on.
pub async fn bounded(request: Request, next: Next) -> Response {
    let bytes = header_bytes(&request);
    let fields = request.headers().len();
    let message = if bytes > MAX_HEADER_BYTES {
        format!(
            "the request's headers are {bytes} bytes, more than the {MAX_HEADER_BYTES} the gateway reads; send fewer or shorter headers"
        )
    } else if fields > MAX_HEADER_FIELDS + 1 {
        // The request id the access log sets is one more than the client sent.
        format!(
            "the request has {} header fields, more than the {MAX_HEADER_FIELDS} the gateway reads",
            fields - 1
        )
    } else {
        return next.run(request).await;
    };
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": codes::REQUEST_HEADERS_TOO_LARGE } }]
    })
    .to_string();
    let mut response = (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
