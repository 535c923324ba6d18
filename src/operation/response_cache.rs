//! The whole-response cache: a repeated operation answered from the bytes
//! of its first answer, without parsing, validating, costing or executing it
//! again.
//!
//! - **Key** ([`OperationKey`]): the SHA-256 of the document (its text's, or
//!   the persisted-query hash a client sent in its place, which is the same
//!   thing), the operation name, the variables, and the API generation of
//!   each source (`--gta-api` and the others: another generation answers
//!   other records). The client is not in the key: no answer depends on who
//!   asks (budget shares only refuse, and an answer with errors is never
//!   kept). SHA-256 and not a faster hash because the second level is
//!   shared by replicas through Redis: a key another client could make
//!   collide would let it plant an answer under a popular operation.
//! - **Lifetime**: the shortest time to live left of the upstream answers
//!   the response was built from (each source's `--<source>-cache-ttl`,
//!   less the age of the cached upstream answer it used), the longest TTL
//!   when no upstream was asked (the crosswalk's answers). A response with
//!   errors, or built from a stale copy, is never kept.
//! - **Invalidation**: a subscription poll that sees new records for a
//!   source moves that source's generation on ([`WholeResponseCache::news`]);
//!   an entry remembers the generations at the start of its execution and is
//!   a miss once a source it used has moved on.
//! - **Bounds**: `--response-cache-max-mb` of responses (their bytes, key
//!   and bookkeeping), least recently used first out; 0 turns the cache off.
//! - **Time**: freshness is judged on tokio's clock, so tests drive it with
//!   paused time; moka's own expiry (on the real clock) only frees memory.
//!
//! A response is kept split around its `extensions.upstream` value: a hit
//! is the stored head and tail with, between them, this operation's own
//! accounting (no upstream request) and `responseCache: {hit, ageSeconds,
//! original}`, where `original` is what the first execution cost. The data
//! is never serialized again; the one allocation of a hit is its body.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use moka::policy::EvictionPolicy;
use moka::Expiry;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::shared_responses::SharedResponses;
use crate::sources::{Source, UpstreamUsage};

/// The SHA-256 of a GraphQL document's text: what Apollo's persisted
/// queries call its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocumentId([u8; 32]);

impl DocumentId {
    pub fn of_text(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// The id a persisted-query hash names (64 hex digits, either case);
    /// `None` when it is not one.
    pub fn from_hex(hash: &str) -> Option<Self> {
        fn digit(byte: u8) -> Option<u8> {
            (byte as char).to_digit(16).map(|digit| digit as u8)
        }
        let bytes = hash.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut id = [0u8; 32];
        for (slot, pair) in id.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = (digit(pair[0])? << 4) | digit(pair[1])?;
        }
        Some(Self(id))
    }
}

/// What identifies one operation's answer (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OperationKey([u8; 32]);

impl OperationKey {
    /// Lower-case hex, for the shared level's Redis key.
    pub fn hex(&self) -> String {
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            let _ = write!(text, "{byte:02x}");
        }
        text
    }
}

/// How long a response may be kept, and which sources it was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseFreshness {
    pub ttl: Duration,
    pub sources: [bool; 3],
}

/// A response split around its `extensions.upstream` value, with its
/// validator: ready to be kept, and to answer `If-None-Match`.
#[derive(Clone, Debug)]
pub struct SplitResponse {
    head: Box<str>,
    /// The `extensions.upstream` of the execution that built it.
    original: Box<str>,
    tail: Box<str>,
    /// A weak validator (`W/"..."`): the bytes of a hit differ from the
    /// first answer's in the cache metadata only.
    pub etag: Arc<str>,
}

impl SplitResponse {
    /// `body` split around `"upstream":<upstream>`, the last occurrence (the
    /// extensions come after the data, which may have a field aliased
    /// `upstream`); `None` if it is not there.
    pub fn of(body: &str, upstream: &str) -> Option<Self> {
        let mut at = body.len();
        let start = loop {
            let found = body[..at].rfind(upstream)?;
            if body[..found].ends_with("\"upstream\":") {
                break found;
            }
            at = found;
        };
        let end = start + upstream.len();
        let (head, tail) = (&body[..start], &body[end..]);
        let mut hasher = Sha256::new();
        hasher.update(head.as_bytes());
        hasher.update([0]);
        hasher.update(tail.as_bytes());
        let digest = hasher.finalize();
        let mut etag = String::with_capacity(36);
        etag.push_str("W/\"");
        for byte in &digest[..16] {
            let _ = write!(etag, "{byte:02x}");
        }
        etag.push('"');
        Some(Self {
            head: head.into(),
            original: upstream.into(),
            tail: tail.into(),
            etag: etag.into(),
        })
    }

    fn bytes(&self) -> usize {
        self.head.len() + self.original.len() + self.tail.len() + self.etag.len()
    }

    /// The parts, for the shared level.
    pub(super) fn parts(&self) -> (&str, &str, &str, &str) {
        (&self.head, &self.original, &self.tail, &self.etag)
    }

    /// Rebuilt from [`SplitResponse::parts`].
    pub(super) fn from_parts(head: &str, original: &str, tail: &str, etag: &str) -> Self {
        Self {
            head: head.into(),
            original: original.into(),
            tail: tail.into(),
            etag: etag.into(),
        }
    }
}

/// An answer from the cache.
#[derive(Debug)]
pub struct CachedResponse {
    pub body: String,
    /// The operation it answers, for the access log and the trace of a hit.
    pub operation: OperationLabel,
    /// How long it may still be kept (`Cache-Control: max-age`).
    pub max_age: Duration,
    pub etag: Arc<str>,
    pub age: Duration,
}

/// The operation a kept response answers: its name (when it has one) and
/// type ("query"), so that a hit is logged and traced under the same name
/// as the execution that built it, although nothing is parsed for a hit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationLabel {
    pub name: Option<Arc<str>>,
    /// "query", "mutation", "subscription"; empty when unknown.
    pub kind: &'static str,
}

/// One kept response.
#[derive(Debug)]
struct Entry {
    response: SplitResponse,
    operation: OperationLabel,
    /// When the execution that built it started (on tokio's clock).
    started: Instant,
    freshness: ResponseFreshness,
    /// The sources' generations when that execution started.
    generations: [u64; 3],
}

/// What moka keeps per entry beside key and value.
const ENTRY_OVERHEAD: usize = 256;

fn weigh(_key: &OperationKey, entry: &Arc<Entry>) -> u32 {
    let bytes = entry.response.bytes() + std::mem::size_of::<Entry>() + 32 + ENTRY_OVERHEAD;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Frees an entry's memory once its lifetime is over (freshness itself is
/// judged on tokio's clock at each lookup).
struct EntryLifetime;

impl Expiry<OperationKey, Arc<Entry>> for EntryLifetime {
    fn expire_after_create(
        &self,
        _key: &OperationKey,
        entry: &Arc<Entry>,
        _created: std::time::Instant,
    ) -> Option<Duration> {
        Some(entry.freshness.ttl.saturating_sub(entry.started.elapsed()))
    }
}

/// The whole-response cache: a cheap `Clone` handle.
#[derive(Clone)]
pub struct WholeResponseCache {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` when the cache is off (`--response-cache-max-mb 0`).
    local: Option<Cache<OperationKey, Arc<Entry>>>,
    /// The replicas' second level (`--redis-url`).
    shared: Option<SharedResponses>,
    /// Each source's API generation, in every key.
    api_generation: String,
    /// Each source's upstream cache lifetime, by `Source::index`.
    ttls: [Duration; 3],
    /// Moved on by subscription news, per source.
    generations: [AtomicU64; 3],
    /// A hit's `extensions.upstream` up to its age: no request made.
    hit_prefix: String,
}

impl std::fmt::Debug for WholeResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.local {
            Some(local) => write!(f, "WholeResponseCache({} entries)", local.entry_count()),
            None => f.write_str("WholeResponseCache(off)"),
        }
    }
}

impl WholeResponseCache {
    /// A cache of at most `max_bytes` (0: off), for sources of the API
    /// generations `api_generation` (e.g. `gta=v2 comtrade=legacy ita=v2`)
    /// whose upstream answers live `ttls` (by `Source::index`).
    pub fn new(
        max_bytes: u64,
        api_generation: String,
        ttls: [Duration; 3],
        shared: Option<SharedResponses>,
    ) -> Self {
        let local = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weigh)
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(EntryLifetime)
                .build()
        });
        let idle = serde_json::to_string(&UpstreamUsage::default().to_json())
            .unwrap_or_else(|_| "{".to_owned());
        let hit_prefix = format!(
            "{},\"responseCache\":{{\"hit\":true,\"ageSeconds\":",
            idle.strip_suffix('}').unwrap_or(&idle)
        );
        Self {
            inner: Arc::new(Inner {
                shared: shared.filter(|_| local.is_some()),
                local,
                api_generation,
                ttls,
                generations: Default::default(),
                hit_prefix,
            }),
        }
    }

    /// Whether responses are kept at all.
    pub fn enabled(&self) -> bool {
        self.inner.local.is_some()
    }

    /// The key of `document` run as `operation_name` with `variables`.
    pub fn key(
        &self,
        document: DocumentId,
        operation_name: Option<&str>,
        variables: Option<&Map<String, Value>>,
    ) -> OperationKey {
        let mut hasher = Sha256::new();
        hasher.update(b"trade-graph response v1\0");
        hasher.update(self.inner.api_generation.as_bytes());
        hasher.update([0]);
        hasher.update(document.0);
        // Lengths first: no two (name, variables) pairs hash alike.
        match operation_name {
            Some(name) => {
                hasher.update([1]);
                hasher.update((name.len() as u64).to_le_bytes());
                hasher.update(name.as_bytes());
            }
            None => hasher.update([0]),
        }
        match variables {
            // Written straight into the hasher: no copy of the variables.
            Some(variables) if !variables.is_empty() => {
                hasher.update([1]);
                let _ = serde_json::to_writer(HashWriter(&mut hasher), variables);
            }
            // No variables and `{}` ask the same.
            _ => hasher.update([0]),
        }
        OperationKey(hasher.finalize().into())
    }

    /// The sources' generations now: taken when an execution starts, kept
    /// with its response.
    pub fn generations(&self) -> [u64; 3] {
        Source::ALL.map(|source| self.inner.generations[source.index()].load(Ordering::Acquire))
    }

    /// How long a response whose execution `usage` recorded may be kept;
    /// `None` when it may not (a stale copy answered, or a source it used
    /// keeps nothing).
    pub fn freshness(&self, usage: &UpstreamUsage) -> Option<ResponseFreshness> {
        let mut ttl = self.inner.ttls.iter().copied().max().unwrap_or_default();
        let mut sources = [false; 3];
        for source in Source::ALL {
            if usage.stale_answers(source) > 0 {
                return None;
            }
            if usage.used(source) {
                sources[source.index()] = true;
                let left =
                    self.inner.ttls[source.index()].saturating_sub(usage.oldest_answer_age(source));
                ttl = ttl.min(left);
            }
        }
        // Under a second is not worth a CDN's or a client's keeping.
        (ttl >= Duration::from_secs(1)).then_some(ResponseFreshness { ttl, sources })
    }

    /// The kept response of `key`, if it is still fresh.
    pub async fn get(&self, key: &OperationKey) -> Option<CachedResponse> {
        let local = self.inner.local.as_ref()?;
        let entry = local.get(key).await?;
        let age = self.fresh(&entry)?;
        Some(self.answer(&entry, age))
    }

    /// The response another replica kept for `key` (Redis), kept here too.
    /// `operation` is what asked for it (the entry kept here is labelled
    /// with it: Redis holds the response alone).
    pub async fn get_shared(
        &self,
        key: &OperationKey,
        operation: OperationLabel,
    ) -> Option<CachedResponse> {
        let (local, shared) = (self.inner.local.as_ref()?, self.inner.shared.as_ref()?);
        let generations = self.generations();
        let found = shared.get(key).await?;
        let entry = Arc::new(Entry {
            response: found.response,
            operation,
            started: Instant::now().checked_sub(found.age)?,
            freshness: found.freshness,
            generations,
        });
        let age = self.fresh(&entry)?;
        local.insert(*key, entry.clone()).await;
        Some(self.answer(&entry, age))
    }

    /// Keeps `response` to `operation` under `key`: built by an execution that started at
    /// `started` with the sources at `generations`, fresh for `freshness`.
    pub async fn store(
        &self,
        key: OperationKey,
        response: SplitResponse,
        operation: OperationLabel,
        freshness: ResponseFreshness,
        started: Instant,
        generations: [u64; 3],
    ) {
        let Some(local) = &self.inner.local else {
            return;
        };
        let entry = Arc::new(Entry {
            response,
            operation,
            started,
            freshness,
            generations,
        });
        if self.fresh(&entry).is_none() {
            // News arrived while it ran, or its lifetime is already over.
            return;
        }
        if let Some(shared) = &self.inner.shared {
            shared.put(&key, &entry.response, freshness, started.elapsed());
        }
        local.insert(key, entry).await;
    }

    /// A subscription poll saw new records of `source`: every response
    /// built from it is out of date.
    pub fn news(&self, source: Source) {
        self.inner.generations[source.index()].fetch_add(1, Ordering::AcqRel);
        if let Some(shared) = &self.inner.shared {
            shared.news(source);
        }
    }

    /// The entry's age if it is still fresh: within its lifetime, and no
    /// source it used has had news since its execution started.
    fn fresh(&self, entry: &Entry) -> Option<Duration> {
        let age = entry.started.elapsed();
        if age >= entry.freshness.ttl {
            return None;
        }
        let current = self.generations();
        let moved_on = Source::ALL.iter().any(|source| {
            let index = source.index();
            entry.freshness.sources[index] && entry.generations[index] != current[index]
        });
        (!moved_on).then_some(age)
    }

    fn answer(&self, entry: &Entry, age: Duration) -> CachedResponse {
        let response = &entry.response;
        let mut body = String::with_capacity(
            response.head.len()
                + self.inner.hit_prefix.len()
                + response.original.len()
                + response.tail.len()
                + 40,
        );
        body.push_str(&response.head);
        body.push_str(&self.inner.hit_prefix);
        let _ = write!(body, "{},\"original\":", age.as_secs());
        body.push_str(&response.original);
        body.push_str("}}");
        body.push_str(&response.tail);
        CachedResponse {
            body,
            operation: entry.operation.clone(),
            max_age: entry.freshness.ttl.saturating_sub(age),
            etag: response.etag.clone(),
            age,
        }
    }

    /// Settles moka's pending work (for tests and size checks).
    pub async fn weighed_size(&self) -> u64 {
        match &self.inner.local {
            Some(local) => {
                local.run_pending_tasks().await;
                local.weighted_size()
            }
            None => 0,
        }
    }
}

/// Feeds `serde_json`'s writer into a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TTL: Duration = Duration::from_secs(600);

    fn cache(max_bytes: u64) -> WholeResponseCache {
        WholeResponseCache::new(max_bytes, "gta=v2".into(), [TTL, TTL, TTL], None)
    }

    fn response(data: &str) -> (String, &'static str) {
        let upstream = r#"{"gta":{"requests":1,"retries":0,"cacheHits":0}}"#;
        (
            format!(
                r#"{{"data":{{"upstream":{upstream},"x":"{data}"}},"extensions":{{"cost":{{"cost":3}},"upstream":{upstream}}}}}"#
            ),
            upstream,
        )
    }

    fn fresh_for(ttl: Duration) -> ResponseFreshness {
        ResponseFreshness {
            ttl,
            sources: [true, false, false],
        }
    }

    #[test]
    fn a_persisted_query_hash_is_the_documents_id() {
        let text = "{ jurisdiction(iso3: \"BRA\") { name } }";
        let hash = crate::server::persisted_queries::sha256_hex(text);
        assert_eq!(DocumentId::from_hex(&hash), Some(DocumentId::of_text(text)));
        assert_eq!(
            DocumentId::from_hex(&hash.to_ascii_uppercase()),
            Some(DocumentId::of_text(text))
        );
        assert_eq!(DocumentId::from_hex("abc"), None);
        assert_eq!(DocumentId::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn the_key_tells_apart_what_changes_the_answer() {
        let cache = cache(1 << 20);
        let document = DocumentId::of_text("{ a }");
        let variables = |json: Value| json.as_object().cloned();
        let base = cache.key(document, None, None);
        assert_eq!(
            base,
            cache.key(document, None, variables(serde_json::json!({})).as_ref())
        );
        assert_ne!(base, cache.key(document, Some("A"), None));
        assert_ne!(
            cache.key(
                document,
                None,
                variables(serde_json::json!({"a": 1})).as_ref()
            ),
            cache.key(
                document,
                None,
                variables(serde_json::json!({"a": 2})).as_ref()
            )
        );
        assert_ne!(base, cache.key(DocumentId::of_text("{ b }"), None, None));
        let other_generation =
            WholeResponseCache::new(1 << 20, "gta=v1".into(), [TTL, TTL, TTL], None);
        assert_ne!(base, other_generation.key(document, None, None));
    }

    #[test]
    fn a_response_splits_around_its_extension_not_a_field_aliased_upstream() {
        let (body, upstream) = response("x");
        let split = SplitResponse::of(&body, upstream).unwrap();
        assert!(split
            .head
            .ends_with(r#""extensions":{"cost":{"cost":3},"upstream":"#));
        assert_eq!(&*split.tail, "}}");
        assert_eq!(
            format!("{}{}{}", split.head, split.original, split.tail),
            body
        );
        assert!(SplitResponse::of(&body, r#"{"nope":1}"#).is_none());
        let (other, _) = response("y");
        assert_ne!(
            split.etag,
            SplitResponse::of(&other, upstream).unwrap().etag
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hit_is_the_same_bytes_with_its_own_accounting_until_its_lifetime_ends() {
        let cache = cache(1 << 20);
        let key = cache.key(DocumentId::of_text("{ a }"), None, None);
        let (body, upstream) = response("x");
        let split = SplitResponse::of(&body, upstream).unwrap();
        let generations = cache.generations();
        cache
            .store(
                key,
                split,
                OperationLabel::default(),
                fresh_for(Duration::from_secs(30)),
                Instant::now(),
                generations,
            )
            .await;
        tokio::time::advance(Duration::from_secs(12)).await;
        let hit = cache.get(&key).await.expect("a hit");
        assert_eq!(hit.max_age, Duration::from_secs(18));
        let json: Value = serde_json::from_str(&hit.body).unwrap();
        let original: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["data"], original["data"]);
        assert_eq!(json["extensions"]["cost"], original["extensions"]["cost"]);
        assert_eq!(json["extensions"]["upstream"]["gta"]["requests"], 0);
        assert_eq!(
            json["extensions"]["upstream"]["responseCache"],
            serde_json::json!({"hit": true, "ageSeconds": 12, "original": original["extensions"]["upstream"]})
        );
        tokio::time::advance(Duration::from_secs(18)).await;
        assert!(cache.get(&key).await.is_none(), "past its lifetime");
    }

    #[tokio::test(start_paused = true)]
    async fn news_of_a_source_drops_what_was_built_from_it_and_only_that() {
        let cache = cache(1 << 20);
        let (body, upstream) = response("x");
        let gta = cache.key(DocumentId::of_text("{ gta }"), None, None);
        let ita = cache.key(DocumentId::of_text("{ ita }"), None, None);
        let started = Instant::now();
        let generations = cache.generations();
        let split = SplitResponse::of(&body, upstream).unwrap();
        cache
            .store(
                gta,
                split.clone(),
                OperationLabel::default(),
                fresh_for(TTL),
                started,
                generations,
            )
            .await;
        let ita_only = ResponseFreshness {
            ttl: TTL,
            sources: [false, false, true],
        };
        cache
            .store(
                ita,
                split.clone(),
                OperationLabel::default(),
                ita_only,
                started,
                generations,
            )
            .await;
        cache.news(Source::Gta);
        assert!(cache.get(&gta).await.is_none());
        assert!(cache.get(&ita).await.is_some());
        // An execution that started before the news is not kept after it.
        cache
            .store(
                gta,
                split,
                OperationLabel::default(),
                fresh_for(TTL),
                started,
                generations,
            )
            .await;
        assert!(cache.get(&gta).await.is_none());
    }

    #[test]
    fn freshness_is_the_shortest_lifetime_left_of_the_answers_used() {
        let cache = WholeResponseCache::new(
            1 << 20,
            String::new(),
            [
                Duration::from_secs(600),
                Duration::from_secs(3600),
                Duration::from_secs(300),
            ],
            None,
        );
        let usage = UpstreamUsage::default();
        assert_eq!(
            cache.freshness(&usage).map(|fresh| fresh.ttl),
            Some(Duration::from_secs(3600)),
            "no upstream asked: the longest lifetime"
        );
        usage.record_request(Source::Comtrade).unwrap();
        usage.record_cache_hit_aged(Source::Gta, Duration::from_secs(100));
        let fresh = cache.freshness(&usage).unwrap();
        assert_eq!(fresh.ttl, Duration::from_secs(500));
        assert_eq!(fresh.sources, [true, true, false]);
        usage.record_cache_hit_aged(Source::Ita, Duration::from_millis(299_500));
        assert_eq!(cache.freshness(&usage), None, "under a second left");
        let stale = UpstreamUsage::default();
        stale.record_stale(Source::Gta, Duration::from_secs(1));
        assert_eq!(cache.freshness(&stale), None, "stale copies are not kept");
    }

    /// One step of the model test.
    #[derive(Clone, Debug)]
    enum Step {
        Store {
            document: u8,
            bytes: usize,
            ttl_secs: u64,
        },
        Get {
            document: u8,
        },
        Advance {
            secs: u64,
        },
        News {
            source: usize,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..24, 0usize..40_000, 1u64..120).prop_map(|(document, bytes, ttl_secs)| {
                Step::Store {
                    document,
                    bytes,
                    ttl_secs,
                }
            }),
            (0u8..24).prop_map(|document| Step::Get { document }),
            (0u64..60).prop_map(|secs| Step::Advance { secs }),
            (0usize..3).prop_map(|source| Step::News { source }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any sequence of stores, lookups, time and news: the cache stays
        /// within its bound, and never answers past a lifetime or after
        /// news of a source the response was built from.
        #[test]
        fn the_cache_stays_bounded_and_never_answers_out_of_date(
            steps in proptest::collection::vec(step(), 1..80),
            max_kib in 16u64..256,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async move {
                let max_bytes = max_kib * 1024;
                let cache = cache(max_bytes);
                // The model: per document, when stored, its lifetime, its
                // source and that source's generation then.
                let mut model: std::collections::HashMap<u8, (Instant, Duration, usize, u64)> =
                    Default::default();
                let mut generations = [0u64; 3];
                for step in steps {
                    match step {
                        Step::Store { document, bytes, ttl_secs } => {
                            let key = cache.key(DocumentId::of_text(&document.to_string()), None, None);
                            let (body, upstream) = response(&"v".repeat(bytes));
                            let source = usize::from(document) % 3;
                            let mut sources = [false; 3];
                            sources[source] = true;
                            let ttl = Duration::from_secs(ttl_secs);
                            cache.store(
                                key,
                                SplitResponse::of(&body, upstream).unwrap(),
                                OperationLabel::default(),
                                ResponseFreshness { ttl, sources },
                                Instant::now(),
                                cache.generations(),
                            ).await;
                            model.insert(document, (Instant::now(), ttl, source, generations[source]));
                        }
                        Step::Get { document } => {
                            let key = cache.key(DocumentId::of_text(&document.to_string()), None, None);
                            if let Some(hit) = cache.get(&key).await {
                                let (stored, ttl, source, generation) = model[&document];
                                prop_assert!(stored.elapsed() < ttl, "served past its lifetime");
                                prop_assert_eq!(generation, generations[source], "served after news");
                                prop_assert_eq!(hit.max_age, ttl - stored.elapsed());
                            }
                        }
                        Step::Advance { secs } => tokio::time::advance(Duration::from_secs(secs)).await,
                        Step::News { source } => {
                            generations[source] += 1;
                            cache.news(Source::ALL[source]);
                        }
                    }
                    prop_assert!(cache.weighed_size().await <= max_bytes);
                }
                Ok(())
            })?;
        }
    }
}
