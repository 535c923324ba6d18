//! Descriptions as GraphiQL's docs panel shows them. They come from doc
//! comments, wrapped at the source's line width; the panel renders each
//! line break, so sentences broke mid-line. Introspection answers get them
//! unwrapped: lines of a paragraph joined, paragraphs, list items and code
//! blocks kept apart. The SDL (`schema.graphql`, `_service`) keeps them as
//! written.

use async_graphql::{Name, Value};

/// `text` with each paragraph on one line.
pub fn unwrap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    let mut joinable = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let fence = trimmed.starts_with("```");
        let list_item = trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed.split_once(". ").is_some_and(|(number, _)| {
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
            });
        if in_code || fence {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
            if fence {
                in_code = !in_code;
            }
            joinable = false;
        } else if trimmed.is_empty() {
            out.push_str("\n\n");
            joinable = false;
        } else if joinable && !list_item {
            out.push(' ');
            out.push_str(trimmed);
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(trimmed);
            joinable = true;
        }
    }
    // Blank lines in a row collapse to one paragraph break.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim().to_owned()
}

/// Unwraps every `description` under `__schema` and `__type` in an
/// introspection answer's data; the operation's other fields (a
/// `Commodity.description`, say) are data and stay as they are.
pub fn unwrap_introspection(data: &mut Value) {
    if let Value::Object(fields) = data {
        for (name, value) in fields.iter_mut() {
            if name.as_str() == "__schema" || name.as_str() == "__type" {
                unwrap_all(value);
            }
        }
    }
}

fn unwrap_all(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, value) in fields.iter_mut() {
                match value {
                    Value::String(text) if is_description(name) && text.contains('\n') => {
                        *text = unwrap(text);
                    }
                    _ => unwrap_all(value),
                }
            }
        }
        Value::List(items) => items.iter_mut().for_each(unwrap_all),
        _ => {}
    }
}

fn is_description(name: &Name) -> bool {
    matches!(name.as_str(), "description" | "deprecationReason")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_join_and_lists_and_code_stay() {
        let wrapped = "Searches GTA's interventions, in the order\n`orderBy` gives. Null when GTA\nfails.\n\nTwo cases:\n- one\n  continued\n- two\n\n```\ncode line\n  indented\n```\nAfter.";
        assert_eq!(
            unwrap(wrapped),
            "Searches GTA's interventions, in the order `orderBy` gives. Null when GTA fails.\n\nTwo cases:\n- one continued\n- two\n\n```\ncode line\n  indented\n```\nAfter."
        );
        assert_eq!(unwrap("One line."), "One line.");
        assert_eq!(unwrap("1. first\n2. second"), "1. first\n2. second");
    }

    #[test]
    fn only_introspection_descriptions_change() {
        let mut data = Value::from_json(serde_json::json!({
            "__schema": { "types": [{ "name": "Query", "description": "a\nb", "fields": [{ "description": "c\nd" }] }] },
            "commodity": { "description": "010119 - Horses\nOther" }
        }))
        .unwrap();
        unwrap_introspection(&mut data);
        let data = data.into_json().unwrap();
        assert_eq!(data["__schema"]["types"][0]["description"], "a b");
        assert_eq!(
            data["__schema"]["types"][0]["fields"][0]["description"],
            "c d"
        );
        assert_eq!(data["commodity"]["description"], "010119 - Horses\nOther");
    }
}
