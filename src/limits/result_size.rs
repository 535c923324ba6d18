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
use async_graphql::{ServerResult, Value};

use super::{Refusal, RefusalCode};

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
        let value = next.run(ctx, info).await?;
        if let (Some(result_size), Some(value)) = (result_size, &value) {
            result_size
                .add(weight(value) + key_weight, self.max_values)
                .map_err(|refusal| refusal.to_server_error())?;
        }
        Ok(value)
    }
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
/// are written `\u00XX` (six bytes), quotes and backslashes escaped (two).
/// A text of control characters was counted at a sixth of what it sent.
fn json_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .map(|byte| match byte {
                b'"' | b'\\' => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum::<usize>()
}
