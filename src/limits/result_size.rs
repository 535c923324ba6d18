//! The result cap, enforced while the result is built.
//!
//! Counting happens in an async-graphql extension's `resolve` hook, which
//! async-graphql calls for every field and list item once any extension is
//! installed. Every operation is counted: the cost counts a text as one
//! value, and an upstream's long texts (a title, a URL, a group's name) under
//! many parents built gigabytes from megabytes of upstream answers when
//! operations the cost judged small ran uncounted (issue 22's attacks: 629
//! MB of response, 1.9 GB of memory, from 60 MB of answers). The hook costs
//! execution throughput (BENCHMARKS.md); answers served from the
//! whole-response cache do not run it.
//!
//! A text weighs what it takes in the response: a value per 64 bytes of
//! its JSON, escapes included (a control character is six bytes there).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{QueryPathNode, QueryPathSegment, ServerResult, Value};

use super::{Refusal, RefusalCode};

tokio::task_local! {
    /// The result being built in this task and its cap, for errors to
    /// count themselves into ([`count_error_message`]).
    static BUILDING: (ResultSize, u64);
}

/// Counts an error's message into the result being built in this task, if
/// one is: a nullable field's error reaches the result as a null, which the
/// extension counts, and its message beside, which only its maker sees
/// (errors echoing a 1 KB argument under every jurisdiction answered 278
/// KB under a cap of 1,000: issue 22's fourth attack). Past the cap the
/// next field resolved stops the operation. Outside an execution
/// (a refusal answered before one), nothing to count.
pub fn count_error_message(message: &str) {
    let _ = BUILDING.try_with(|(result_size, max)| {
        let _ = result_size.add(json_len(message) as u64 / 64, *max);
    });
}

/// Installs the result cap on a schema (`SchemaBuilder::extension`): each
/// operation counts into the [`ResultSize`] in its request data.
#[derive(Clone, Copy, Debug)]
pub struct ResultSizeExtension {
    /// Most values a result may hold.
    pub max_values: u64,
}

impl ExtensionFactory for ResultSizeExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// How much of its result an operation has built, shared between the
/// extension (which counts) and whatever drives the operation (which stops
/// it when the cap is crossed). A cheap `Clone` handle, one per operation.
#[derive(Clone, Debug, Default)]
pub struct ResultSize {
    inner: Arc<ResultSizeInner>,
}

#[derive(Debug, Default)]
struct ResultSizeInner {
    values: AtomicU64,
    /// Whether the cap was crossed: read on every field, so an atomic
    /// rather than the lock.
    over: AtomicBool,
    /// The refusal, from when the cap was first crossed.
    refusal: Mutex<Option<Refusal>>,
}

impl ResultSize {
    /// Counts `weight` more values; past `max`, records the refusal.
    fn add(&self, weight: u64, max: u64) -> Result<(), Refusal> {
        let values = self.inner.values.fetch_add(weight, Ordering::Relaxed) + weight;
        if values <= max {
            return Ok(());
        }
        let mut refusal = self
            .inner
            .refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let refusal = refusal.get_or_insert_with(|| {
            let mut refusal = Refusal::new(
                RefusalCode::ResultTooLarge,
                format!(
                    "the result grew past {max} values and the operation was stopped; ask for smaller pages or fewer fields"
                ),
            );
            refusal.measured = Some((values, max));
            refusal
        });
        self.inner.over.store(true, Ordering::Release);
        Err(refusal.clone())
    }

    /// Counts a result built before, weighing `weight` values (a
    /// whole-response cache hit answered in a batch, weighed by
    /// [`weigh_response_json`]): past `max`, the refusal it crossed with.
    pub fn add_built(&self, weight: u64, max: u64) -> Result<(), Refusal> {
        self.add(weight, max)
    }

    /// Runs `execution` (an operation's) with the errors made in it
    /// counting into this result, within `max` values.
    pub async fn counting_errors<F: std::future::Future>(
        &self,
        max: u64,
        execution: F,
    ) -> F::Output {
        BUILDING.scope((self.clone(), max), execution).await
    }

    /// The refusal, once the cap has been crossed.
    pub fn exceeded(&self) -> Option<Refusal> {
        if !self.inner.over.load(Ordering::Acquire) {
            return None;
        }
        self.inner
            .refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts from zero again: each event of a subscription is a result
    /// of its own.
    pub fn reset(&self) {
        let mut refusal = self
            .inner
            .refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *refusal = None;
        self.inner.over.store(false, Ordering::Release);
        self.inner.values.store(0, Ordering::Relaxed);
    }

    /// Values counted so far.
    pub fn values(&self) -> u64 {
        self.inner.values.load(Ordering::Relaxed)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ResultSizeExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let result_size = ctx.data_opt::<ResultSize>();
        if let Some(refusal) = result_size.and_then(ResultSize::exceeded) {
            // Stopped: nothing more is built.
            return Err(refusal.to_server_error());
        }
        // The key the value is written under: an alias is the client's,
        // as long as the document allows, and repeated in every object the
        // field is in (a 60 KB alias under every introspected field built
        // 637 MB while the values counted stayed within the cap).
        let key_weight = info.alias.map_or(0, |alias| alias.len() as u64 / 64);
        let path = info.path_node;
        let value = match next.run(ctx, info).await {
            Ok(value) => value,
            Err(error) => {
                // An error is written with its message and its path, every
                // alias on it included (errors under long aliases built 110
                // MB under the default cap when the document limits were
                // raised): counted as a value per 64 bytes of both. An
                // error passed up through non-null parents counts again at
                // each: more than it takes, never less. (A nullable
                // field's error comes back as a null: counted below.)
                if let Some(result_size) = result_size {
                    result_size
                        .add(error_weight(&error, path), self.max_values)
                        .map_err(|refusal| refusal.to_server_error())?;
                }
                return Err(error);
            }
        };
        if let (Some(result_size), Some(value)) = (result_size, &value) {
            // A null may stand for an error (a nullable field's error is
            // kept aside, not passed through here), written with its whole
            // path: the aliases above it count again (errors under one
            // long alias over a list repeated it in every error's path).
            let path_weight = match value {
                Value::Null => ancestors_weight(path),
                _ => 0,
            };
            result_size
                .add(weight(value) + key_weight + path_weight, self.max_values)
                .map_err(|refusal| refusal.to_server_error())?;
        }
        Ok(value)
    }
}

/// The values a response's JSON holds, weighed as the extension weighed
/// them while it was built: its `data` and `errors` (its `extensions` are
/// the gateway's own few). A whole-response cache hit is not built again,
/// so a batch of them counted nothing (issue 22's fourth attack: ten
/// operations each under the cap, cached first and then batched, answered
/// ten times it); each now counts into the batch's one cap with this
/// weight. Never less than the extension counted: every object, list and
/// scalar is a value, a text one more per 64 bytes of its JSON, a key one
/// per 64 bytes. A body that is not JSON (or nests past serde_json's
/// limit) weighs a value per byte.
pub fn weigh_response_json(body: &str) -> u64 {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    serde::Deserializer::deserialize_map(&mut deserializer, ResponseWeight)
        .unwrap_or(body.len() as u64)
}

/// A response's weight: its members' but `extensions`.
struct ResponseWeight;

impl<'de> serde::de::Visitor<'de> for ResponseWeight {
    type Value = u64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a GraphQL response")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut weight = 0u64;
        while let Some(key) = map.next_key::<String>()? {
            if key == "extensions" {
                map.next_value::<serde::de::IgnoredAny>()?;
            } else {
                weight = weight.saturating_add(map.next_value_seed(JsonWeight)?);
            }
        }
        Ok(weight)
    }
}

/// The weight of one JSON value and what it holds.
struct JsonWeight;

impl<'de> serde::de::DeserializeSeed<'de> for JsonWeight {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A key's weight: a value per 64 bytes (as an alias weighs).
struct KeyWeight;

impl<'de> serde::de::DeserializeSeed<'de> for KeyWeight {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for KeyWeight {
    type Value = u64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<u64, E> {
        Ok(key.len() as u64 / 64)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonWeight {
    type Value = u64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<u64, E> {
        Ok(1)
    }

    fn visit_i64<E>(self, _: i64) -> Result<u64, E> {
        Ok(1)
    }

    fn visit_u64<E>(self, _: u64) -> Result<u64, E> {
        Ok(1)
    }

    fn visit_f64<E>(self, _: f64) -> Result<u64, E> {
        Ok(1)
    }

    fn visit_unit<E>(self) -> Result<u64, E> {
        Ok(1)
    }

    fn visit_str<E>(self, text: &str) -> Result<u64, E> {
        Ok(1 + json_len(text) as u64 / 64)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<u64, A::Error> {
        let mut weight = 1u64;
        while let Some(item) = items.next_element_seed(JsonWeight)? {
            weight = weight.saturating_add(item);
        }
        Ok(weight)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut members: A) -> Result<u64, A::Error> {
        let mut weight = 1u64;
        while let Some(key) = members.next_key_seed(KeyWeight)? {
            weight = weight
                .saturating_add(key)
                .saturating_add(members.next_value_seed(JsonWeight)?);
        }
        Ok(weight)
    }
}

/// The values an error adds to the result: its message and its path, a
/// value per 64 bytes of each.
fn error_weight(error: &async_graphql::ServerError, path: &QueryPathNode<'_>) -> u64 {
    let segment_len = |segment: &QueryPathSegment<'_>| match segment {
        QueryPathSegment::Index(_) => 8,
        QueryPathSegment::Name(name) => name.len() + 3,
    };
    let path_len: usize = segment_len(&path.segment)
        + path
            .parents()
            .map(|parent| segment_len(&parent.segment))
            .sum::<usize>();
    1 + json_len(&error.message) as u64 / 64 + path_len as u64 / 64
}

/// The aliases above `path`, as an error's path writes them: a value per
/// 64 bytes of each (field names are short; only aliases weigh).
fn ancestors_weight(path: &QueryPathNode<'_>) -> u64 {
    path.parents()
        .map(|parent| match parent.segment {
            QueryPathSegment::Name(name) => name.len() as u64 / 64,
            QueryPathSegment::Index(_) => 0,
        })
        .sum()
}

/// The values one resolved field adds to the result. An object's or a list
/// of objects' members are fields (and items) of their own, counted when
/// they resolve; text counts a value per 64 bytes of its JSON, since long
/// texts are where the bytes are.
fn weight(value: &Value) -> u64 {
    match value {
        Value::String(text) => 1 + json_len(text) as u64 / 64,
        Value::List(items) => {
            1 + items
                .iter()
                .map(|item| match item {
                    Value::Object(_) | Value::List(_) => 0,
                    scalar => weight(scalar),
                })
                .sum::<u64>()
        }
        _ => 1,
    }
}

/// The bytes `text` takes as a JSON string's contents: control characters
/// are written `\u00XX` (six bytes) but for the five with short escapes
/// (two), quotes and backslashes escaped (two).
/// A text of control characters was counted at a sixth of what it sent.
/// Exactly what serde_json writes, which async-graphql's responses use.
fn json_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .map(|byte| match byte {
                // `\b`, `\t`, `\n`, `\f`, `\r`, as serde_json writes them.
                b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A JSON value as a response's data may hold one.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            // Control characters and quotes: their escapes take more.
            "[a-z\"\\\\\\x00-\\x1f\u{e9}]{0,200}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z]{1,150}", inner, 0..6)
                    .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// The weight written independently: a value for everything, a text
    /// one more per 64 bytes of its JSON, a key one per 64 bytes.
    fn expected(value: &serde_json::Value) -> u64 {
        match value {
            serde_json::Value::String(text) => {
                let written = serde_json::to_string(text).unwrap().len() - 2;
                1 + written as u64 / 64
            }
            serde_json::Value::Array(items) => 1 + items.iter().map(expected).sum::<u64>(),
            serde_json::Value::Object(members) => {
                1 + members
                    .iter()
                    .map(|(key, member)| key.len() as u64 / 64 + expected(member))
                    .sum::<u64>()
            }
            _ => 1,
        }
    }

    proptest! {
        /// A cached answer's JSON weighs what its data and errors hold,
        /// escapes included, whatever its extensions say.
        #[test]
        fn a_built_answer_weighs_its_data_and_errors_not_its_extensions(
            data in json(),
            errors in proptest::collection::vec("[a-z\\x00-\\x1f]{0,300}", 0..3),
            extensions in json(),
        ) {
            let errors: Vec<serde_json::Value> = errors
                .iter()
                .map(|message| serde_json::json!({ "message": message, "path": ["a"] }))
                .collect();
            let mut response = serde_json::json!({ "data": data, "extensions": extensions });
            let mut want = expected(&data);
            if !errors.is_empty() {
                want += expected(&serde_json::Value::from(errors.clone()));
                response["errors"] = errors.into();
            }
            let body = serde_json::to_string(&response).unwrap();
            prop_assert_eq!(weigh_response_json(&body), want);
        }
    }

    /// A schema whose fields fail, nullable or not, under lists.
    struct Query;

    #[async_graphql::Object]
    impl Query {
        async fn items(&self, count: usize) -> Vec<Item> {
            (0..count).map(|_| Item).collect()
        }
    }

    struct Item;

    #[async_graphql::Object]
    impl Item {
        async fn code(&self) -> i32 {
            7
        }

        async fn maybe(&self) -> async_graphql::Result<Option<i32>> {
            Err("this field failed".into())
        }

        async fn surely(&self) -> async_graphql::Result<i32> {
            Err("this field failed".into())
        }

        async fn inner(&self) -> Option<Item> {
            Some(Item)
        }

        /// Fails echoing its argument, as the gateway's own errors do,
        /// in the shape whose error async-graphql keeps aside (the field
        /// resolves to a null).
        async fn echo(&self, text: String) -> Option<async_graphql::Result<i32>> {
            use async_graphql::ErrorExtensions;
            Some(Err(crate::error::Error::bad_input(format!(
                "no such thing: {text}"
            ))
            .extend()))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The cap bounds the bytes of what is answered, whatever the
        /// document: items under a list, fields that fail (nullable, whose
        /// errors are kept aside, or not, whose errors pass up), aliases of
        /// any length above or on them, errors echoing arguments of any
        /// length. An answer not stopped takes at most 200 bytes a value
        /// counted (a
        /// short key, its quotes and a value weigh one); errors under one
        /// long alias over a list wrote it in every error's path, and
        /// errors echoing a long argument their message, uncounted (issue
        /// 22's fourth attack).
        #[test]
        fn an_answer_within_the_cap_is_within_its_bytes(
            count in 0usize..300,
            outer in prop_oneof![Just(0usize), 0usize..6_000],
            middle in prop_oneof![Just(0usize), 0usize..3_000],
            inner in prop_oneof![Just(0usize), 0usize..3_000],
            field in 0usize..4,
            echoed in prop_oneof![Just(0usize), 0usize..2_000],
            cap in 200u64..5_000,
        ) {
            let schema = async_graphql::Schema::build(
                Query,
                async_graphql::EmptyMutation,
                async_graphql::EmptySubscription,
            )
            .extension(ResultSizeExtension { max_values: cap })
            .finish();
            let alias = |letter: &str, length: usize| {
                if length == 0 { String::new() } else { format!("{}: ", letter.repeat(length)) }
            };
            let echo = format!("echo(text: \"{}\")", "x".repeat(echoed));
            let leaf = ["code", "maybe", "surely", echo.as_str()][field];
            let document = format!(
                "{{ {}items(count: {count}) {{ {}inner {{ {}{leaf} }} }} }}",
                alias("a", outer),
                alias("b", middle),
                alias("c", inner),
            );
            let result_size = ResultSize::default();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let response = runtime.block_on(result_size.counting_errors(
                cap,
                schema.execute(async_graphql::Request::new(document).data(result_size.clone())),
            ));
            let stopped = response.errors.iter().any(|error| {
                error.extensions.as_ref().and_then(|extensions| extensions.get("code"))
                    == Some(&async_graphql::Value::from("RESULT_TOO_LARGE"))
            });
            if !stopped {
                let bytes = serde_json::to_string(&response).unwrap().len() as u64;
                // Every byte is accounted for by what was counted, and
                // what was counted is within the cap.
                prop_assert!(result_size.values() <= cap);
                prop_assert!(
                    bytes <= 200 * result_size.values() + 1_000,
                    "{bytes} bytes answered under a cap of {cap} ({} values counted)",
                    result_size.values()
                );
            }
        }
    }

    /// The case the generator found when messages were not counted: three
    /// errors echoing 826 bytes each answered under a cap of 200.
    #[test]
    fn errors_echoing_an_argument_count_their_message() {
        let schema = async_graphql::Schema::build(
            Query,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .extension(ResultSizeExtension { max_values: 200 })
        .finish();
        let document = format!(
            "{{ items(count: 3) {{ inner {{ echo(text: \"{}\") }} }} }}",
            "x".repeat(826)
        );
        let result_size = ResultSize::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let response = runtime.block_on(result_size.counting_errors(
            200,
            schema.execute(async_graphql::Request::new(document).data(result_size.clone())),
        ));
        let bytes = serde_json::to_string(&response).unwrap().len() as u64;
        assert_eq!(response.errors.len(), 3);
        assert!(
            bytes <= 200 * result_size.values() + 1_000,
            "{bytes} bytes for {} values",
            result_size.values()
        );
    }

    #[test]
    fn text_that_is_not_json_weighs_its_bytes() {
        assert_eq!(weigh_response_json("{\"data\": [1, 2"), 14);
        assert_eq!(weigh_response_json("not json"), 8);
    }
}
