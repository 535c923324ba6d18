//! The bound on the strings an operation hands to upstreams.
//!
//! Arguments become upstream query parameters and bodies. A 200 KB
//! `tradeLeads(query:)` made the upstream drop the connection, which counted
//! as the upstream's failure: two such requests opened ITA's breaker for
//! every client. Every string in an argument (written in the document or
//! given as a variable, inside lists and input objects too) is held to
//! `--max-argument-bytes` before anything runs; nothing a client types is
//! longer than that for a name, a code or words to search.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Value, Variables};

use super::{Refusal, RefusalCode};

/// The default longest string argument, in bytes.
pub const DEFAULT_MAX_ARGUMENT_BYTES: usize = 1024;

/// Refuses the operation when a string argument, or a string variable, is
/// longer than `max_bytes`.
pub fn check(
    document: &ExecutableDocument,
    variables: &Variables,
    max_bytes: usize,
) -> Result<(), Refusal> {
    let mut longest: Option<(String, usize)> = None;
    let mut note = |name: &str, value: &Value| {
        let length = longest_string(value);
        if length > max_bytes && longest.as_ref().is_none_or(|(_, seen)| length > *seen) {
            longest = Some((name.to_owned(), length));
        }
    };
    for (name, value) in variables.iter() {
        note(&format!("${name}"), value);
    }
    let mut sets: Vec<&SelectionSet> = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node)
        .collect();
    sets.extend(
        document
            .fragments
            .values()
            .map(|fragment| &fragment.node.selection_set.node),
    );
    while let Some(set) = sets.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        let Ok(value) = value.node.clone().into_const_with(|_| {
                            // Variables are measured above.
                            Ok::<_, std::convert::Infallible>(Value::Null)
                        });
                        note(&format!("{}({}:)", field.node.name.node, name.node), &value);
                    }
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    sets.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    match longest {
        None => Ok(()),
        Some((name, length)) => {
            let mut refusal = Refusal::new(
                RefusalCode::ArgumentTooLong,
                format!(
                    "{name} holds a string of {length} bytes; arguments are at most {max_bytes} bytes (--max-argument-bytes): a name, a code or a few words to search"
                ),
            );
            refusal.measured = Some((length as u64, max_bytes as u64));
            Err(refusal)
        }
    }
}

/// The longest string in `value`, in bytes (lists and objects searched).
fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::List(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(fields) => fields.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str, variables: serde_json::Value) -> Option<(u64, u64)> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        check(&document, &variables, 16).err().map(|refusal| {
            assert_eq!(refusal.code, RefusalCode::ArgumentTooLong);
            refusal.measured.unwrap()
        })
    }

    #[test]
    fn long_strings_are_refused_wherever_they_are() {
        let long = "x".repeat(17);
        assert_eq!(refused(r#"{ a(q: "short") }"#, serde_json::json!({})), None);
        assert_eq!(
            refused(
                &format!(r#"{{ a {{ b(q: "{long}") }} }}"#),
                serde_json::json!({})
            ),
            Some((17, 16))
        );
        assert_eq!(
            refused(
                &format!(
                    r#"{{ ...F }} fragment F on Query {{ a(f: {{ names: ["ok", "{long}"] }}) }}"#
                ),
                serde_json::json!({})
            ),
            Some((17, 16))
        );
        assert_eq!(
            refused(
                "query Q($q: String) { a(q: $q) }",
                serde_json::json!({ "q": long })
            ),
            Some((17, 16))
        );
        assert_eq!(
            refused(
                "query Q($f: F) { a(f: $f) }",
                serde_json::json!({ "f": { "names": [long] } })
            ),
            Some((17, 16))
        );
    }

    proptest::proptest! {
        /// Wherever a string stands (a literal, a variable, inside a list or
        /// an input object of either), the operation is refused exactly when
        /// the string is longer than the bound.
        #[test]
        fn refused_exactly_past_the_bound(length in 0usize..40, place in 0usize..4) {
            let text = "é".repeat(length / 2) + &"x".repeat(length % 2);
            let (query, variables) = match place {
                0 => (format!(r#"{{ a(q: "{text}") }}"#), serde_json::json!({})),
                1 => (format!(r#"{{ a {{ b(l: ["", "{text}"]) }} }}"#), serde_json::json!({})),
                2 => ("query Q($q: String) { a(q: $q) }".to_owned(), serde_json::json!({ "q": text })),
                _ => ("query Q($f: F) { a(f: $f) }".to_owned(), serde_json::json!({ "f": { "l": [text] } })),
            };
            let outcome = refused(&query, variables);
            if text.len() > 16 {
                proptest::prop_assert_eq!(outcome, Some((text.len() as u64, 16)));
            } else {
                proptest::prop_assert_eq!(outcome, None);
            }
        }
    }
}
