//! The request on the wire: an [`UpstreamRequest`] (what a source asks)
//! turned into the HTTP request that goes out, with the source's base URL
//! and credential, within the sizes upstream servers read.
//!
//! The one stage that sees a key in the clear ([`Secret::expose`]); its
//! refusals never quote the URL, which holds it.

use std::fmt;

use super::Source;
use crate::error::Error;

/// The longest URL sent upstream, its key included: what common servers
/// read (nginx's and Apache's header buffers are 8 KB). A longer request
/// (a 200 KB `tradeLeads(query:)`) is refused as the client's to shorten,
/// before it goes out: sent, the upstream drops the connection, which
/// would count against its breaker for every client.
pub const MAX_URL_BYTES: usize = 8_000;

/// A URL past this many bytes (or a body past [`SIZE_SUSPECT_BODY_BYTES`])
/// may be refused by a server for its size alone (4 KB is the smallest
/// request line common servers read): a dropped connection on one is not
/// the upstream's failure. The gateway's own requests stay below it
/// (Comtrade's fullest v1 request is about 2,300 bytes).
pub const SIZE_SUSPECT_URL_BYTES: usize = 4_096;

/// A body past this may be refused for its size alone (see
/// [`SIZE_SUSPECT_URL_BYTES`]).
pub const SIZE_SUSPECT_BODY_BYTES: usize = 16 * 1024;

/// The largest body sent upstream (GTA's searches are JSON bodies: a
/// thousand ids are 10 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An API key. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key itself, for the one place that puts it on the wire (and the
    /// scrubber, which removes it from upstream text).
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// How long the key is, in bytes (checked at start: a key too short
    /// to scrub is warned about).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the key is `value` (tests of how configuration reads keys).
    #[cfg(test)]
    pub(crate) fn is(&self, value: &str) -> bool {
        self.0 == value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How a source presents its API key.
#[derive(Clone, Debug)]
pub enum Credential {
    /// No key (keyless endpoints, or no key configured).
    None,
    /// A request header, e.g. GTA's `Authorization: APIKey <key>`; `prefix` is
    /// put before the key.
    Header {
        name: &'static str,
        prefix: &'static str,
        key: Secret,
    },
    /// A query parameter, e.g. the old ITA API's `api_key`.
    QueryParameter { name: &'static str, key: Secret },
}

impl Credential {
    pub(super) fn key(&self) -> Option<&Secret> {
        match self {
            Self::None => None,
            Self::Header { key, .. } | Self::QueryParameter { key, .. } => Some(key),
        }
    }
}

/// The HTTP method of an upstream request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One upstream request, before credentials: what the sources build and what
/// identifies a request (for counting, and later for caching).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UpstreamRequest {
    pub method: Method,
    /// Path below the source's base URL, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// A JSON body, serialized; `None` for GET.
    pub body: Option<String>,
    /// Sent without the configured credential: a public file (Comtrade's
    /// reference lists) needs no key, and a key sent where none is needed
    /// is a key shown to one more server for nothing.
    pub keyless: bool,
}

impl UpstreamRequest {
    /// A GET request with query parameters.
    pub fn get(path: impl Into<String>, query: Vec<(String, String)>) -> Self {
        Self {
            method: Method::Get,
            path: path.into(),
            query,
            body: None,
            keyless: false,
        }
    }

    /// This request, sent without the configured credential.
    pub fn without_credential(self) -> Self {
        Self {
            keyless: true,
            ..self
        }
    }

    /// A POST request with a JSON body.
    pub fn post_json(path: impl Into<String>, body: &impl serde::Serialize) -> Self {
        Self {
            method: Method::Post,
            path: path.into(),
            query: Vec::new(),
            // Serializing our own request types cannot fail: they are plain
            // structs of strings, numbers and lists.
            body: Some(serde_json::to_string(body).unwrap_or_default()),
            keyless: false,
        }
    }
}

/// Where a source is reached and how it shows its key.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    /// Without a trailing slash; request paths are appended to it.
    pub(super) base_url: String,
    pub(super) credential: Credential,
}

/// A request ready to go out: the request itself, and its bytes when a
/// server may refuse it by its size alone (past [`SIZE_SUSPECT_URL_BYTES`]
/// of URL or [`SIZE_SUSPECT_BODY_BYTES`] of body).
pub(super) struct Wire {
    pub(super) request: reqwest::Request,
    pub(super) long: Option<usize>,
}

impl Endpoint {
    pub(super) fn new(base_url: &str, credential: Credential) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            credential,
        }
    }

    /// `request` as it goes out to `source`: the URL with its query and, unless
    /// the request is keyless, the key where the source expects it; refused
    /// (as the client's to shorten) past [`MAX_URL_BYTES`] or
    /// [`MAX_BODY_BYTES`], with nothing of the URL said.
    pub(super) fn wire(
        &self,
        source: Source,
        client: &reqwest::Client,
        request: &UpstreamRequest,
    ) -> Result<Wire, Error> {
        let Ok(mut url) = url::Url::parse(&format!("{}{}", self.base_url, request.path)) else {
            return Err(Error::UpstreamUnavailable {
                upstream: source,
                status: None,
                retry_after: None,
            });
        };
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &request.query {
                pairs.append_pair(name, value);
            }
            if let (false, Credential::QueryParameter { name, key }) =
                (request.keyless, &self.credential)
            {
                pairs.append_pair(name, key.expose());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let body_bytes = request.body.as_ref().map_or(0, String::len);
        if url.as_str().len() > MAX_URL_BYTES || body_bytes > MAX_BODY_BYTES {
            // Nothing of the URL is said: it holds the key.
            return Err(Error::bad_input(format!(
                "the arguments make a request to {source} of {} bytes ({} of URL, {body_bytes} of body), more than it accepts ({MAX_URL_BYTES} of URL, {MAX_BODY_BYTES} of body): shorten the text or ask for fewer values",
                url.as_str().len() + body_bytes,
                url.as_str().len(),
            )));
        }
        // Long enough that a server may refuse it by its size alone.
        let long = (url.as_str().len() > SIZE_SUSPECT_URL_BYTES
            || body_bytes > SIZE_SUSPECT_BODY_BYTES)
            .then_some(url.as_str().len() + body_bytes);
        let mut builder = match request.method {
            Method::Get => client.get(url),
            Method::Post => client.post(url),
        };
        if let (false, Credential::Header { name, prefix, key }) =
            (request.keyless, &self.credential)
        {
            builder = builder.header(*name, format!("{prefix}{}", key.expose()));
        }
        // The trace goes on upstream (W3C traceparent; nothing when traces
        // are off).
        let mut trace_headers = reqwest::header::HeaderMap::new();
        crate::telemetry::inject_current(&mut trace_headers);
        if !trace_headers.is_empty() {
            builder = builder.headers(trace_headers);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let request = builder.build().map_err(|_| Error::UpstreamUnavailable {
            upstream: source,
            status: None,
            retry_after: None,
        })?;
        Ok(Wire { request, long })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y-0f-the-upstream";

    fn credential(place: u8) -> Credential {
        match place {
            0 => Credential::None,
            1 => Credential::Header {
                name: "Authorization",
                prefix: "APIKey ",
                key: Secret::new(KEY),
            },
            _ => Credential::QueryParameter {
                name: "subscription-key",
                key: Secret::new(KEY),
            },
        }
    }

    /// Generated requests (GET or POST, any query and body lengths, keyless
    /// or not) for every way of showing a key: the key goes exactly where
    /// the source expects it, once, and nowhere for a keyless request; the
    /// query is sent as asked; a request past the URL or body limit is
    /// refused without quoting the key, and one past the sizes a server
    /// may refuse is marked long with its bytes.
    #[test]
    fn the_key_goes_where_the_source_expects_it_and_nowhere_else() {
        let client = reqwest::Client::new();
        let strategy = (
            0u8..3,
            proptest::bool::ANY,
            proptest::bool::ANY,
            proptest::collection::vec(("[a-z]{1,6}", "[ -~]{0,40}"), 0..4),
            0usize..10_000,
            proptest::option::of(0usize..70_000),
        );
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        runner
            .run(&strategy, |(place, keyless, post, query, padding, body)| {
                let endpoint = Endpoint::new("http://upstream.test/api/", credential(place));
                let mut query = query;
                query.push(("q".to_owned(), "x".repeat(padding)));
                let mut request = match (post, body) {
                    (true, Some(bytes)) => {
                        let mut request = UpstreamRequest::post_json("/data", &"y".repeat(bytes));
                        request.query = query.clone();
                        request
                    }
                    _ => UpstreamRequest::get("/data", query.clone()),
                };
                request.keyless = keyless;
                let wired = endpoint.wire(Source::Gta, &client, &request);
                let body_bytes = request.body.as_ref().map_or(0, String::len);
                let wire = match wired {
                    Ok(wire) => wire,
                    Err(error) => {
                        proptest::prop_assert_eq!(error.code(), "BAD_USER_INPUT");
                        proptest::prop_assert!(!error.to_string().contains(KEY));
                        proptest::prop_assert!(
                            padding + 600 > MAX_URL_BYTES || body_bytes > MAX_BODY_BYTES
                        );
                        return Ok(());
                    }
                };
                let url = wire.request.url().clone();
                proptest::prop_assert!(url.as_str().len() <= MAX_URL_BYTES);
                proptest::prop_assert!(body_bytes <= MAX_BODY_BYTES);
                proptest::prop_assert!(url.as_str().starts_with("http://upstream.test/api/data"));
                let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                let in_query = pairs.iter().filter(|(_, value)| value == KEY).count();
                let header = wire.request.headers().get("authorization");
                let expected = if keyless { 0 } else { place };
                proptest::prop_assert_eq!(in_query, usize::from(expected == 2));
                proptest::prop_assert_eq!(
                    header.map(|value| value.to_str().unwrap().to_owned()),
                    (expected == 1).then(|| format!("APIKey {KEY}"))
                );
                let asked: Vec<&(String, String)> = pairs
                    .iter()
                    .filter(|(name, _)| name != "subscription-key")
                    .collect();
                proptest::prop_assert_eq!(asked, query.iter().collect::<Vec<_>>());
                let long = url.as_str().len() > SIZE_SUSPECT_URL_BYTES
                    || body_bytes > SIZE_SUSPECT_BODY_BYTES;
                proptest::prop_assert_eq!(
                    wire.long,
                    long.then_some(url.as_str().len() + body_bytes)
                );
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn secrets_do_not_print() {
        let credential = Credential::Header {
            name: "Authorization",
            prefix: "APIKey ",
            key: Secret::new("hunter2"),
        };
        assert!(!format!("{credential:?}").contains("hunter2"));
    }
}
