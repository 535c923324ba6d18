//! The answer: one exchange with an upstream (send the request on the
//! wire, within its timeout; read the status, `Retry-After` and the body,
//! within the size limit and the budget all answers being read share), each
//! failure said as whose doing it was, the upstream's or the gateway's own;
//! and the generic reading of what an answer means (a refusal by its
//! status, the human part of an error body, a body decoded with the JSON
//! path of what no longer fits).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::wire::Wire;
use super::Source;
use crate::error::Error;

/// What came back from one exchange: the status, the upstream's
/// `Retry-After` in whole seconds (at least one, at most the hold's
/// maximum) and the body.
pub(super) struct Exchanged {
    pub(super) status: u16,
    pub(super) retry_after: Option<u64>,
    pub(super) answer: Answer,
}

/// Where an answer is read: the largest one, and the budget every answer
/// being read at once takes from.
pub(super) struct Reading<'a> {
    pub(super) limit: usize,
    pub(super) budget: &'a Arc<tokio::sync::Semaphore>,
}

/// Sends `wire` through `client` within `timeout` and reads what comes
/// back. A redirect is not followed (the key would go with it); a
/// transport failure is the upstream's, except when the gateway is out of
/// file descriptors or when a connection dropped on a request long enough
/// for a server to refuse it by its size (then the client is told to ask
/// for less, and nothing is retried).
pub(super) async fn exchange(
    source: Source,
    client: &reqwest::Client,
    wire: Wire,
    timeout: Duration,
    reading: Reading<'_>,
) -> Result<Exchanged, Failure> {
    let Wire { mut request, long } = wire;
    let path = request.url().path().to_owned();
    *request.timeout_mut() = Some(timeout);
    let started = std::time::Instant::now();
    let outcome = client.execute(request).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let response = match outcome {
        Ok(response) => response,
        Err(error) => {
            // reqwest's own message contains the URL, and with it any key
            // sent as a query parameter: log and return only the kind.
            let kind = transport_failure_kind(&error);
            tracing::warn!(%source, path = %path, elapsed_ms, kind, "upstream request failed");
            if out_of_descriptors(&error) {
                return Err(Failure::Gateway(Error::UpstreamUnavailable {
                    upstream: source,
                    status: None,
                    retry_after: Some(1),
                }));
            }
            // A connection dropped on a request long enough for a
            // server to refuse it by its size says nothing sure of the
            // upstream's health: not told to the breaker (two 5.6 KB
            // ITA requests a server dropped opened ITA's breaker for
            // every client: issue 22's fourth attack) and not retried,
            // the client told to ask for less.
            if let (Some(bytes), false) = (long, error.is_timeout()) {
                return Err(Failure::Gateway(Error::bad_input(format!(
                    "{source} closed the connection on a request of {bytes} bytes, long enough that a server may refuse it by its size alone: shorten the text or ask for fewer values"
                ))));
            }
            return Err(Failure::Upstream(cut_off(source, &error, timeout)));
        }
    };
    let status = response.status();
    if status.is_redirection() {
        // Not followed (the client does not): the key would go with it.
        tracing::warn!(%source, path = %path, status = status.as_u16(), "upstream answered with a redirect, not followed");
        return Err(Failure::Upstream(Error::UpstreamBadResponse {
            upstream: source,
            path: String::new(),
            detail: format!(
                "the upstream answered with a redirect (HTTP {}), which the gateway does not follow, as the key would go with it: set the source's URL to where the upstream now answers",
                status.as_u16()
            ),
        }));
    }
    tracing::Span::current().record("http.response.status_code", i64::from(status.as_u16()));
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| retry_after_seconds(value, std::time::SystemTime::now()));
    let answer = match read_answer(response, reading.limit, reading.budget).await {
        Ok(answer) => answer,
        Err(AnswerFailure::TooMuchAtOnce) => {
            tracing::warn!(%source, path = %path, "upstream answers being read at once are over the gateway's budget");
            return Err(Failure::Gateway(Error::UpstreamUnavailable {
                upstream: source,
                status: None,
                retry_after: Some(1),
            }));
        }
        Err(AnswerFailure::TooLarge { declared }) => {
            tracing::warn!(%source, path = %path, limit = reading.limit, ?declared, "upstream answer over the size limit");
            return Err(Failure::Upstream(Error::UpstreamBadResponse {
                upstream: source,
                path: String::new(),
                detail: format!(
                    "the answer is larger than the {} bytes the gateway reads from an upstream (--max-upstream-answer-bytes)",
                    reading.limit
                ),
            }));
        }
        Err(AnswerFailure::Transport(error)) => {
            tracing::warn!(%source, path = %path, kind = transport_failure_kind(&error), "upstream body failed");
            // Cut off mid-transfer: a connection failure, retried as
            // one (the status line said nothing about the body).
            return Err(Failure::Upstream(cut_off(source, &error, timeout)));
        }
    };
    tracing::debug!(%source, path = %path, status = status.as_u16(), elapsed_ms, bytes = answer.body.len(), "upstream request");
    Ok(Exchanged {
        status: status.as_u16(),
        retry_after,
        answer,
    })
}

/// The error of an exchange cut off by the transport: a timeout after
/// `timeout`, else the upstream unavailable.
fn cut_off(source: Source, error: &reqwest::Error, timeout: Duration) -> Error {
    if error.is_timeout() {
        Error::UpstreamTimeout {
            upstream: source,
            after: timeout,
        }
    } else {
        Error::UpstreamUnavailable {
            upstream: source,
            status: None,
            retry_after: None,
        }
    }
}

/// A `Retry-After` header's wait in whole seconds: what the source is held
/// for, at most [`super::hold::MAX_HOLD`] (the client is told the same wait
/// as every client after it), at least a second (a date already past, or
/// "0", would tell clients to come back at once).
pub(super) fn retry_after_seconds(value: &str, now: std::time::SystemTime) -> Option<u64> {
    super::hold::parse_retry_after(value, now)
        .map(|wait| wait.min(super::hold::MAX_HOLD))
        .map(|wait| (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
}

/// The generic reading of a non-2xx answer by its status (a source's own
/// refusal rule is asked first): 401 and 403 the key refused, 429 the
/// upstream's rate limit (said to be the upstream's, not the gateway's
/// pacing), other 4xx the request rejected with the upstream's message,
/// anything else the upstream unavailable (a 503's `Retry-After` says when
/// it expects to be back).
pub(super) fn refusal_by_status(
    source: Source,
    status: u16,
    body: &[u8],
    retry_after: Option<u64>,
) -> Error {
    match status {
        401 | 403 => Error::UpstreamUnauthorized {
            upstream: source,
            status,
        },
        429 => Error::UpstreamRateLimited {
            upstream: source,
            retry_after,
            message: Some(upstream_message(body))
                .filter(|m| !m.is_empty() && m != "{}")
                .map(|m| format!("it answered 429: {m}"))
                .or_else(|| Some("it answered 429 Too Many Requests".to_owned())),
        },
        400..=499 => Error::UpstreamRejected {
            upstream: source,
            status,
            message: upstream_message(body),
        },
        _ => Error::UpstreamUnavailable {
            upstream: source,
            status: Some(status),
            retry_after,
        },
    }
}

/// An upstream's answer, with what it holds of the gateway's budget for
/// answers in memory (`HttpClient`'s `reading`): kept until the answer
/// is decoded, so that the budget bounds reading and decoding together.
pub(super) struct Answer {
    pub(super) body: Vec<u8>,
    pub(super) held: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Why an answer's body could not be read.
#[derive(Debug)]
pub(super) enum AnswerFailure {
    /// Past the size limit (`declared`: the length the upstream announced).
    TooLarge {
        declared: Option<u64>,
    },
    /// The answers being read at once, all upstreams together, are at the
    /// budget: this one is given up rather than the process's memory.
    TooMuchAtOnce,
    Transport(reqwest::Error),
}

/// The answer's body, streamed and refused as soon as it passes `limit`
/// bytes (or announces more): a giant answer must not take the process's
/// memory, whatever its `Content-Length` says.
///
/// Every byte held is taken from `reading`, the budget all upstreams share,
/// until the body has been read (its decoding follows at once); an answer
/// that finds the budget spent is given up.
pub(super) async fn read_answer(
    mut response: reqwest::Response,
    limit: usize,
    reading: &Arc<tokio::sync::Semaphore>,
) -> Result<Answer, AnswerFailure> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(AnswerFailure::TooLarge { declared });
    }
    // Trust the announced length only as far as a first allocation goes.
    let mut body = Vec::with_capacity(declared.map_or(0, |length| length.min(1 << 20) as usize));
    let mut held = Arc::clone(reading)
        .try_acquire_many_owned(body.capacity() as u32)
        .map_err(|_| AnswerFailure::TooMuchAtOnce)?;
    while let Some(chunk) = response.chunk().await.map_err(AnswerFailure::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(AnswerFailure::TooLarge { declared });
        }
        // Growth is ours to size, so that what the body holds is what it
        // took from the budget: doubling, within the limit.
        let wanted = body.len() + chunk.len();
        if wanted > body.capacity() {
            let capacity = wanted.max(body.capacity() * 2).min(limit);
            let more = capacity.saturating_sub(held.num_permits());
            let permits = u32::try_from(more).map_err(|_| AnswerFailure::TooMuchAtOnce)?;
            held.merge(
                Arc::clone(reading)
                    .try_acquire_many_owned(permits)
                    .map_err(|_| AnswerFailure::TooMuchAtOnce)?,
            );
            body.reserve_exact(capacity - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        body,
        held: Some(held),
    })
}

/// Whose doing an attempt's failure was: the upstream's (the breaker
/// hears of it) or the gateway's own limits (it does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blame {
    Upstream,
    Gateway,
}

/// An attempt's failure, by whose doing it was.
pub(super) enum Failure {
    Upstream(Error),
    Gateway(Error),
}

impl Failure {
    pub(super) fn into_error(self) -> Error {
        match self {
            Self::Upstream(error) | Self::Gateway(error) => error,
        }
    }
}

/// Whether a transport failure is the gateway's own: no file descriptor
/// left to connect with (EMFILE, ENFILE), not the upstream refusing.
pub(super) fn out_of_descriptors(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(23 | 24)) {
                return true;
            }
        }
        source = current.source();
    }
    false
}

/// A short, key-free word for a transport failure, for logs.
pub(super) fn transport_failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    }
}

/// The human part of an upstream error body, for sources' refusal rules.
pub fn error_message(body: &[u8]) -> String {
    upstream_message(body)
}

/// The human part of an upstream error body: a JSON `detail`, `message` or
/// `error` member (the shapes GTA, Comtrade and ITA use), else the text
/// itself. Whole: [`Scrubber::clean`] cuts it, after removing the key.
pub(super) fn upstream_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(strip_bom(body));
    let from_json = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|json| {
            ["detail", "message", "error", "errors"]
                .iter()
                .find_map(|key| json.get(key).cloned())
                .or(Some(json))
        })
        .map(|value| match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        });
    from_json.unwrap_or_else(|| text.trim().to_owned())
}

/// Some upstreams (Comtrade's reference lists) start their JSON with a UTF-8
/// byte order mark, which serde_json rejects.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Decodes an upstream body into `T`; a mismatch names the JSON path.
///
/// Path tracking wraps every visitor, so answers are decoded without it
/// first; only a body that fails is decoded again to find the path.
pub fn decode<T: DeserializeOwned>(source: Source, body: &[u8]) -> Result<T, Error> {
    let body = strip_bom(body);
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        Error::UpstreamBadResponse {
            upstream: source,
            path,
            detail: inner.to_string(),
        }
    })
}

/// Deserializes a list of at most `N` records: an answer holding more
/// records than any request asks for is refused as it is read, before its
/// records take memory (issue 22 attack: 1 MB of empty records, `{},{},...`,
/// decoded to 744 MB of empty structs).
pub fn at_most<'de, D, T, const N: usize>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Records<T, const N: usize>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for Records<T, N> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {N} records")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
            while let Some(record) = seq.next_element()? {
                if records.len() == N {
                    return Err(serde::de::Error::custom(format_args!(
                        "more than {N} records, more than any request asks for"
                    )));
                }
                records.push(record);
            }
            Ok(records)
        }
    }
    deserializer.deserialize_seq(Records::<T, N>(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `app` served on a port of its own; its URL.
    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    /// An upstream answering `/{status}/{retry_after}/{bytes}` with that
    /// status, that `Retry-After` ("-" none) and a body of that many bytes.
    fn scripted() -> axum::Router {
        use axum::extract::Path;
        axum::Router::new().route(
            "/{status}/{retry_after}/{bytes}",
            axum::routing::get(
                |Path((status, retry_after, bytes)): Path<(u16, String, usize)>| async move {
                    let mut response =
                        axum::http::Response::new(axum::body::Body::from(vec![b'x'; bytes]));
                    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                    if retry_after != "-" {
                        response.headers_mut().insert(
                            "retry-after",
                            axum::http::HeaderValue::from_str(&retry_after).unwrap(),
                        );
                    }
                    if (300..400).contains(&status) {
                        response.headers_mut().insert(
                            "location",
                            axum::http::HeaderValue::from_static("/elsewhere"),
                        );
                    }
                    response
                },
            ),
        )
    }

    /// Generated exchanges with a scripted upstream (any status, any
    /// `Retry-After` form, bodies on either side of the limit): an answer
    /// comes back exactly when it is no redirect and within the limit, with
    /// its status, its body and a `Retry-After` between one second and the
    /// hold's maximum (none when absent or unreadable); a redirect or a
    /// body past the limit is the upstream's failure; and whatever the
    /// outcome, the reading budget is whole again once the answer is gone.
    #[test]
    fn an_exchange_answers_within_its_limits() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = runtime.block_on(serve(scripted()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let budget = Arc::new(tokio::sync::Semaphore::new(1 << 20));
        let strategy = (
            proptest::sample::select(vec![
                200u16, 201, 301, 302, 307, 400, 401, 403, 404, 429, 500, 502, 503,
            ]),
            proptest::sample::select(vec![
                "-",
                "0",
                "1",
                "30",
                "7200",
                "100000",
                "soon",
                "Wed, 21 Oct 2015 07:28:00 GMT",
            ]),
            0usize..3_000,
        );
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        runner
            .run(&strategy, |(status, retry_after, bytes)| {
                let limit = 1_500;
                let request = client
                    .get(format!("{url}/{status}/{retry_after}/{bytes}"))
                    .build()
                    .unwrap();
                let wire = Wire {
                    request,
                    long: None,
                };
                let reading = Reading {
                    limit,
                    budget: &budget,
                };
                let outcome = runtime.block_on(exchange(
                    Source::Ita,
                    &client,
                    wire,
                    Duration::from_secs(10),
                    reading,
                ));
                let redirect = (300..400).contains(&status);
                match outcome {
                    Ok(exchanged) => {
                        proptest::prop_assert!(!redirect && bytes <= limit);
                        proptest::prop_assert_eq!(exchanged.status, status);
                        proptest::prop_assert_eq!(exchanged.answer.body.len(), bytes);
                        let max = super::super::hold::MAX_HOLD.as_secs();
                        match (retry_after, exchanged.retry_after) {
                            ("-" | "soon", told) => proptest::prop_assert_eq!(told, None),
                            (_, Some(told)) => proptest::prop_assert!((1..=max).contains(&told)),
                            (_, None) => proptest::prop_assert!(false, "{retry_after} not read"),
                        }
                    }
                    Err(Failure::Upstream(Error::UpstreamBadResponse { detail, .. })) => {
                        proptest::prop_assert!(redirect || bytes > limit, "{detail}");
                    }
                    Err(Failure::Upstream(other) | Failure::Gateway(other)) => {
                        proptest::prop_assert!(false, "{status} {bytes}: {other:?}");
                    }
                }
                proptest::prop_assert_eq!(budget.available_permits(), 1 << 20);
                Ok(())
            })
            .unwrap();
    }

    /// Every status outside 2xx is read as one refusal naming the source:
    /// 401 and 403 the key refused, 429 the upstream's limit (said to be
    /// the upstream's, with its wait), other 4xx the request rejected with
    /// the upstream's message, anything else unavailable with its wait.
    #[test]
    fn every_refusal_by_status_names_the_source() {
        proptest::proptest!(|(status in 300u16..600, retry_after in proptest::option::of(1u64..3_600))| {
            let error = refusal_by_status(Source::Gta, status, br#"{"detail": "no"}"#, retry_after);
            proptest::prop_assert_eq!(error.upstream(), Some(Source::Gta));
            match (status, error) {
                (401 | 403, Error::UpstreamUnauthorized { status: told, .. }) => {
                    proptest::prop_assert_eq!(told, status);
                }
                (429, Error::UpstreamRateLimited { retry_after: told, message, .. }) => {
                    proptest::prop_assert_eq!(told, retry_after);
                    proptest::prop_assert_eq!(message.as_deref(), Some("it answered 429: no"));
                }
                (400..=499, Error::UpstreamRejected { message, .. }) => {
                    proptest::prop_assert_eq!(message, "no");
                }
                (_, Error::UpstreamUnavailable { status: told, retry_after: wait, .. }) => {
                    proptest::prop_assert!(!(400..500).contains(&status));
                    proptest::prop_assert_eq!(told, Some(status));
                    proptest::prop_assert_eq!(wait, retry_after);
                }
                (_, other) => proptest::prop_assert!(false, "{status}: {other:?}"),
            }
        });
    }

    #[test]
    fn upstream_messages_come_from_the_usual_members() {
        assert_eq!(
            upstream_message(br#"{"detail": "Invalid filter"}"#),
            "Invalid filter"
        );
        assert_eq!(upstream_message(b"plain text\n"), "plain text");
        assert_eq!(upstream_message(&[b'x'; 400]).len(), 400);
    }

    fn answer(bytes: usize) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(vec![b' '; bytes]))
    }

    /// What answers being read hold is taken from one budget, given back
    /// when they are read; an answer that finds it spent is given up, and
    /// one past its own limit is refused whatever the budget.
    #[tokio::test]
    async fn answers_read_at_once_share_one_budget() {
        let reading = Arc::new(tokio::sync::Semaphore::new(1000));
        let held = reading.try_acquire_many(900).unwrap();
        assert!(matches!(
            read_answer(answer(200), 10_000, &reading).await,
            Err(AnswerFailure::TooMuchAtOnce)
        ));
        assert_eq!(
            reading.available_permits(),
            100,
            "nothing kept by a refusal"
        );
        drop(held);
        assert_eq!(
            read_answer(answer(800), 10_000, &reading)
                .await
                .unwrap()
                .body
                .len(),
            800
        );
        assert_eq!(reading.available_permits(), 1000, "given back once read");
        assert!(matches!(
            read_answer(answer(800), 500, &reading).await,
            Err(AnswerFailure::TooLarge { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

        /// An answer holds at most the records a request can ask for: up to
        /// the bound it is read (records that cannot be read named, the
        /// others kept); past it, readable or not, it is refused as it is
        /// read, before its records take memory.
        #[test]
        fn answers_hold_at_most_the_records_a_request_asks_for(
            extra in 0usize..3,
            under in proptest::bool::ANY,
            empty in proptest::bool::ANY,
            envelope in proptest::bool::ANY,
        ) {
            let gta = crate::sources::gta::model::MAX_RECORDS;
            let count = if under { gta - extra } else { gta + 1 + extra };
            let record = if empty { "{}" } else { r#"{"intervention_id": 1}"# };
            let records = vec![record; count].join(",");
            let body = if envelope { format!(r#"{{"count": {count}, "results": [{records}]}}"#) } else { format!("[{records}]") };
            let decoded = crate::sources::gta::model::decode_data_response(body.as_bytes());
            match (under, &decoded) {
                (false, Err(Error::UpstreamBadResponse { detail, .. })) => {
                    proptest::prop_assert!(detail.contains("more than 1000 records"), "{detail}");
                }
                (false, other) => proptest::prop_assert!(false, "{other:?}"),
                (true, Err(Error::UpstreamBadResponse { detail, .. })) => {
                    proptest::prop_assert!(!detail.contains("more than 1000"), "{detail}");
                }
                (true, _) => {}
            }
            let ita = crate::sources::ita::model::MAX_RECORDS;
            let count = if under { ita - extra } else { ita + 1 + extra };
            let records = vec![r#"{"id": "1"}"#; count].join(",");
            let body = format!(r#"{{"total": {count}, "results": [{records}]}}"#);
            let decoded = crate::sources::ita::model::decode_search::<crate::sources::ita::model::TradeLead>(body.as_bytes());
            proptest::prop_assert_eq!(decoded.is_ok(), under, "{:?}", decoded.err());
        }
    }

    #[test]
    fn decode_errors_name_the_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Row {
            #[allow(dead_code)]
            id: u32,
        }
        let error = decode::<Vec<Row>>(Source::Gta, br#"[{"id": 1}, {"id": "x"}]"#).unwrap_err();
        match error {
            Error::UpstreamBadResponse { path, .. } => assert_eq!(path, "[1].id"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
