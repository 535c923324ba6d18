//! The whole-response cache's second level, shared by replicas through
//! Redis (`--redis-url`): a replica that misses its own cache asks Redis
//! after the document guard passed and before executing, and puts there what
//! it executed. Like the upstream cache's second level, Redis is never on
//! an answer's critical path: a call that fails or is slow is a miss
//! ([`RedisLink`]), and stores go out in the background.
//!
//! Each entry carries the wall-clock time its execution started; a replica
//! whose subscription poll sees news of a source writes the time under
//! `…:news:<source>`, and an entry started before the latest news of a
//! source it used is a miss for every replica (one `MGET` reads the entry
//! and the three news times). Replicas' clocks are assumed to agree within
//! a poll interval. A replica's own first level is not told of another
//! replica's news: its entries end with their lifetime, which is never
//! longer than the upstream answers they were built from.

use std::time::Duration;

use redis::AsyncCommands;

use super::response_cache::{OperationKey, ResponseFreshness, SplitResponse};
use crate::source::Source;
use crate::sources::redis_link::RedisLink;

const PREFIX: &str = "trade-graph:response:v1:";

/// A handle on the shared level; cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedResponses {
    link: RedisLink,
}

/// An entry another replica kept.
pub(super) struct Found {
    pub response: SplitResponse,
    pub freshness: ResponseFreshness,
    /// Since its execution started.
    pub age: Duration,
}

use crate::sources::shared_cache::{news_key, now_ms};

impl SharedResponses {
    pub fn new(link: RedisLink) -> Self {
        Self { link }
    }

    /// The fresh entry of `key`, if a replica kept one and no source it
    /// used has had news since.
    pub(super) async fn get(&self, key: &OperationKey) -> Option<Found> {
        let keys = [
            format!("{PREFIX}{}", key.hex()),
            news_key(Source::Gta),
            news_key(Source::Comtrade),
            news_key(Source::Ita),
        ];
        let values = self
            .link
            .call(|mut connection| async move {
                connection.mget::<_, Vec<Option<Vec<u8>>>>(&keys[..]).await
            })
            .await?;
        let (entry, news) = values.split_first()?;
        let (started_ms, found) = decode(entry.as_deref()?)?;
        for source in Source::ALL {
            let news_ms = news.get(source.index()).and_then(|value| {
                std::str::from_utf8(value.as_deref()?)
                    .ok()?
                    .parse::<u64>()
                    .ok()
            });
            if found.freshness.sources[source.index()]
                && news_ms.is_some_and(|news| news >= started_ms)
            {
                return None;
            }
        }
        let age = Duration::from_millis(now_ms().saturating_sub(started_ms));
        (age < found.freshness.ttl).then_some(Found { age, ..found })
    }

    /// Keeps `response` for what is left of its lifetime, in the
    /// background.
    pub(super) fn put(
        &self,
        key: &OperationKey,
        response: &SplitResponse,
        freshness: ResponseFreshness,
        age: Duration,
    ) {
        let Some(left) = freshness
            .ttl
            .checked_sub(age)
            .filter(|left| !left.is_zero())
        else {
            return;
        };
        let started_ms = now_ms().saturating_sub(age.as_millis() as u64);
        let value = encode(started_ms, response, freshness);
        let redis_key = format!("{PREFIX}{}", key.hex());
        let link = self.link.clone();
        tokio::spawn(async move {
            link.call(|mut connection| async move {
                connection
                    .pset_ex::<_, _, ()>(redis_key, value, left.as_millis() as u64)
                    .await
            })
            .await;
        });
    }

    /// Tells every replica that `source` has news now.
    pub(super) fn news(&self, source: Source) {
        let link = self.link.clone();
        let now = now_ms();
        tokio::spawn(async move {
            link.call(|mut connection| async move {
                connection.set::<_, _, ()>(news_key(source), now).await
            })
            .await;
        });
    }
}

/// `<started ms> <ttl ms> <sources> <head> <original> <tail>\n<etag>\n`
/// then the three parts' bytes.
fn encode(started_ms: u64, response: &SplitResponse, freshness: ResponseFreshness) -> Vec<u8> {
    let (head, original, tail, etag) = response.parts();
    let sources: String = freshness
        .sources
        .iter()
        .map(|used| if *used { '1' } else { '0' })
        .collect();
    let mut value = format!(
        "{started_ms} {} {sources} {} {} {}\n{etag}\n",
        freshness.ttl.as_millis(),
        head.len(),
        original.len(),
        tail.len()
    )
    .into_bytes();
    value.reserve(head.len() + original.len() + tail.len());
    value.extend_from_slice(head.as_bytes());
    value.extend_from_slice(original.as_bytes());
    value.extend_from_slice(tail.as_bytes());
    value
}

/// The entry `encode` wrote, and its start time; `None` if it is not one
/// (another version's, or damaged).
fn decode(value: &[u8]) -> Option<(u64, Found)> {
    let text = std::str::from_utf8(value).ok()?;
    let (header, rest) = text.split_once('\n')?;
    let (etag, body) = rest.split_once('\n')?;
    let mut fields = header.split(' ');
    let mut number = || fields.next()?.parse::<u64>().ok();
    let started_ms = number()?;
    let ttl = Duration::from_millis(number()?);
    let sources_field = header.split(' ').nth(2)?.as_bytes();
    if sources_field.len() != 3 {
        return None;
    }
    let sources = [0, 1, 2].map(|index| sources_field[index] == b'1');
    let mut lengths = header
        .split(' ')
        .skip(3)
        .map(|field| field.parse::<usize>().ok());
    let (head_len, original_len, tail_len) = (lengths.next()??, lengths.next()??, lengths.next()??);
    if head_len + original_len + tail_len != body.len() {
        return None;
    }
    let head = body.get(..head_len)?;
    let original = body.get(head_len..head_len + original_len)?;
    let tail = body.get(head_len + original_len..)?;
    Some((
        started_ms,
        Found {
            response: SplitResponse::from_parts(head, original, tail, etag),
            freshness: ResponseFreshness { ttl, sources },
            age: Duration::ZERO,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_it_was_written() {
        let body = r#"{"data":{"a":1},"extensions":{"upstream":{"gta":{"requests":1}}}}"#;
        let response = SplitResponse::of(body, r#"{"gta":{"requests":1}}"#).unwrap();
        let freshness = ResponseFreshness {
            ttl: Duration::from_secs(90),
            sources: [true, false, true],
        };
        let value = encode(1234, &response, freshness);
        let (started, found) = decode(&value).unwrap();
        assert_eq!(started, 1234);
        assert_eq!(found.freshness, freshness);
        assert_eq!(found.response.parts(), response.parts());
        assert!(decode(&value[..value.len() - 1]).is_none(), "cut short");
        assert!(decode(b"garbage").is_none());
    }
}
