//! Free texts (descriptions, summaries, articles) count themselves against
//! the result cap as they are handed to the result.
//!
//! The cost counts a text as one value, and the plain schema has no
//! per-field hook, so without this a record's long description reached
//! under each of many parents (one intervention under two hundred
//! jurisdictions) was built once per parent, uncounted. The fields that
//! carry free text call [`counted`]; see
//! [`ResultSize::free_text`](crate::limits::ResultSize::free_text).

use async_graphql::{Context, ErrorExtensions};

use crate::limits::ResultSize;

/// `text`, once counted; an error (and the operation stopped) past the cap.
pub fn counted<T: AsRef<str>>(
    ctx: &Context<'_>,
    text: Option<T>,
) -> async_graphql::Result<Option<T>> {
    if let Some(text) = &text {
        count(ctx, text.as_ref().len())?;
    }
    Ok(text)
}

/// Counts `len` bytes of free text handed to the result.
pub fn count(ctx: &Context<'_>, len: usize) -> async_graphql::Result<()> {
    let Some(size) = ctx.data_opt::<ResultSize>() else {
        return Ok(());
    };
    size.free_text(len).map_err(|refusal| {
        async_graphql::Error::new(refusal.message.clone())
            .extend_with(|_, extensions| extensions.set("code", refusal.code.as_str()))
    })
}
