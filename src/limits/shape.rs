//! The shape of a parsed document after fragment expansion, measured in time
//! linear in the document.
//!
//! Validation that expands a fragment at every spread is exponential: thirty
//! fragments that each spread the next one twice are 2^30 fields, 1.2 KB of
//! text that pinned a core for a minute. Here each fragment is measured once
//! and its measure reused at every spread (memoized), so the expanded field
//! count, alias count and depth of every operation and fragment are known
//! before anything else walks the document; a document over a limit is
//! refused before async-graphql's own validation, which does expand, sees it.
//! Directives are counted per field (and per fragment) as they are written.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

use super::{Refusal, RefusalCode};

/// Deepest nesting of selection sets and spreads: async-graphql's own
/// recursion limit, checked here first because its check expands fragments
/// at every spread.
pub const MAX_NESTING: u64 = 32;

/// What an operation may expand to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Most fields after fragment expansion.
    pub max_fields: u64,
    /// Most aliased fields after fragment expansion.
    pub max_aliases: u64,
    /// Deepest nesting of fields.
    pub max_depth: u64,
    /// Most directives on one field, fragment spread or inline fragment.
    pub max_directives: usize,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        Self {
            // GraphiQL's introspection query expands to about 200 fields, the
            // README's country profile to about 60.
            max_fields: 1_000,
            // Aliases are how one operation asks the same field many times
            // (3,999 aliases were 3,999 upstream requests).
            max_aliases: 100,
            // The introspection query nests 13 levels; trade queries stay
            // under 10.
            max_depth: 16,
            max_directives: 5,
        }
    }
}

/// An operation's size after expansion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub fields: u64,
    pub aliases: u64,
    pub depth: u64,
    /// Fields, spreads and inline fragments: what a walk of the expanded
    /// operation visits.
    pub selections: u64,
    /// Nesting of selection sets, fragment spreads and inline fragments
    /// (what async-graphql's own recursion limit counts).
    pub nesting: u64,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.selections = self.selections.saturating_add(other.selections);
        self.depth = self.depth.max(other.depth);
        self.nesting = self.nesting.max(other.nesting);
    }
}

/// Measures every operation and fragment of `document` and refuses the
/// document if one is over `limits`. Returns the largest operation's shape.
pub fn check(document: &ExecutableDocument, limits: &ShapeLimits) -> Result<Shape, Refusal> {
    let mut measurer = Measurer {
        document,
        limits,
        fragments: HashMap::new(),
    };
    for name in document.fragments.keys() {
        let shape = measurer.fragment(name)?;
        limits.check(shape)?;
    }
    let mut largest = Shape::default();
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
        DocumentOperations::Multiple(operations) => operations
            .values()
            .map(|operation| &operation.node.selection_set.node)
            .collect(),
    };
    for selection_set in operations {
        let shape = measurer.selection_set(selection_set)?;
        limits.check(shape)?;
        if shape.fields > largest.fields {
            largest = shape;
        }
        largest.depth = largest.depth.max(shape.depth);
    }
    Ok(largest)
}

impl ShapeLimits {
    fn check(&self, shape: Shape) -> Result<(), Refusal> {
        // A walk of the expansion visits spreads as well as fields; a chain
        // of spreads with few fields at its end must not be free either.
        if shape.fields > self.max_fields || shape.selections > self.max_fields.saturating_mul(4) {
            return Err(Refusal::new(
                RefusalCode::OperationTooLarge,
                format!(
                    "the operation has {} fields after fragment expansion; at most {} are accepted",
                    shape.fields, self.max_fields
                ),
            ));
        }
        if shape.aliases > self.max_aliases {
            return Err(Refusal::new(
                RefusalCode::OperationTooLarge,
                format!(
                    "the operation has {} aliased fields after fragment expansion; at most {} are accepted",
                    shape.aliases, self.max_aliases
                ),
            ));
        }
        if shape.nesting > MAX_NESTING {
            return Err(Refusal::new(
                RefusalCode::OperationTooDeep,
                format!(
                    "the operation nests selections and fragment spreads {} deep; at most {MAX_NESTING} are accepted",
                    shape.nesting
                ),
            ));
        }
        if shape.depth > self.max_depth {
            return Err(Refusal::new(
                RefusalCode::OperationTooDeep,
                format!(
                    "the operation nests fields {} deep; at most {} are accepted",
                    shape.depth, self.max_depth
                ),
            ));
        }
        Ok(())
    }
}

/// A fragment being measured, or its measure.
#[derive(Clone, Copy)]
enum Memo {
    InProgress,
    Done(Shape),
}

struct Measurer<'a> {
    document: &'a ExecutableDocument,
    limits: &'a ShapeLimits,
    fragments: HashMap<&'a Name, Memo>,
}

impl<'a> Measurer<'a> {
    fn fragment(&mut self, name: &'a Name) -> Result<Shape, Refusal> {
        match self.fragments.get(name) {
            Some(Memo::Done(shape)) => return Ok(*shape),
            Some(Memo::InProgress) => {
                return Err(Refusal::new(
                    RefusalCode::FragmentCycle,
                    format!("fragment \"{name}\" spreads itself"),
                ))
            }
            None => {}
        }
        // An unknown fragment is async-graphql's to report; it adds nothing.
        let Some(definition) = self.document.fragments.get(name) else {
            return Ok(Shape::default());
        };
        self.fragments.insert(name, Memo::InProgress);
        let FragmentDefinition {
            directives,
            selection_set,
            ..
        } = &definition.node;
        self.directives(directives.len(), &format!("fragment \"{name}\""))?;
        let shape = self.selection_set(&selection_set.node)?;
        self.fragments.insert(name, Memo::Done(shape));
        Ok(shape)
    }

    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Shape, Refusal> {
        let mut shape = Shape::default();
        for selection in &set.items {
            shape.selections = shape.selections.saturating_add(1);
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.directives(
                        field.directives.len(),
                        &format!("field \"{}\"", field.name.node),
                    )?;
                    let children = self.selection_set(&field.selection_set.node)?;
                    shape.add(Shape {
                        fields: children.fields.saturating_add(1),
                        aliases: children
                            .aliases
                            .saturating_add(u64::from(field.alias.is_some())),
                        depth: children.depth + 1,
                        selections: children.selections,
                        nesting: children.nesting
                            + u64::from(!field.selection_set.node.items.is_empty()),
                    });
                }
                Selection::FragmentSpread(spread) => {
                    let spread: &Positioned<_> = spread;
                    self.directives(
                        spread.node.directives.len(),
                        &format!("spread of \"{}\"", spread.node.fragment_name.node),
                    )?;
                    let fragment = self.fragment(&spread.node.fragment_name.node)?;
                    shape.add(Shape {
                        nesting: fragment.nesting + 1,
                        ..fragment
                    });
                }
                Selection::InlineFragment(inline) => {
                    self.directives(inline.node.directives.len(), "an inline fragment")?;
                    let children = self.selection_set(&inline.node.selection_set.node)?;
                    shape.add(Shape {
                        nesting: children.nesting + 1,
                        ..children
                    });
                }
            }
            // Refuse as soon as the sum is over: the rest need not be added.
            if shape.fields > self.limits.max_fields.saturating_mul(4) {
                self.limits.check(shape)?;
            }
        }
        Ok(shape)
    }

    fn directives(&self, count: usize, on: &str) -> Result<(), Refusal> {
        if count > self.limits.max_directives {
            return Err(Refusal::new(
                RefusalCode::OperationTooLarge,
                format!(
                    "{on} has {count} directives; at most {} are accepted",
                    self.limits.max_directives
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Result<Shape, Refusal> {
        let document = async_graphql::parser::parse_query(text).expect("parses");
        check(&document, &ShapeLimits::default())
    }

    /// Thirty fragments, each spreading the next twice: 2^30 fields.
    fn fragment_bomb(levels: usize) -> String {
        let mut text = String::from("{ ...F0 }\n");
        for level in 0..levels {
            text.push_str(&format!(
                "fragment F{level} on Query {{ ...F{next} ...F{next} }}\n",
                next = level + 1
            ));
        }
        text.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        text
    }

    #[test]
    fn fragments_are_counted_once_per_spread_without_expanding() {
        let found = shape(
            "{ a: jurisdiction(iso3: \"BRA\") { ...Names } b: jurisdiction(iso3: \"CHN\") { ...Names } }
             fragment Names on Jurisdiction { name iso3 groups }",
        )
        .unwrap();
        assert_eq!(found.fields, 2 + 2 * 3);
        assert_eq!(found.aliases, 2);
        assert_eq!(found.depth, 2);
    }

    #[test]
    fn the_fragment_bomb_is_refused_in_linear_time() {
        let refusal = shape(&fragment_bomb(30)).unwrap_err();
        assert_eq!(refusal.code, RefusalCode::OperationTooLarge);
        assert!(
            refusal.message.contains("fields after fragment expansion"),
            "{}",
            refusal.message
        );
        // 2^70 saturates instead of overflowing.
        assert_eq!(
            shape(&fragment_bomb(70)).unwrap_err().code,
            RefusalCode::OperationTooLarge
        );
    }

    #[test]
    fn an_unused_fragment_bomb_is_refused_too() {
        let text = fragment_bomb(30).replacen("{ ...F0 }", "{ __typename }", 1);
        assert_eq!(
            shape(&text).unwrap_err().code,
            RefusalCode::OperationTooLarge
        );
    }

    #[test]
    fn chains_of_spreads_count_as_nesting() {
        let mut text = String::from("{ ...F0 }\n");
        for level in 0..40 {
            text.push_str(&format!(
                "fragment F{level} on Query {{ ...F{} }}\n",
                level + 1
            ));
        }
        text.push_str("fragment F40 on Query { __typename }\n");
        assert_eq!(
            shape(&text).unwrap_err().code,
            RefusalCode::OperationTooDeep
        );
    }

    #[test]
    fn cycles_are_refused_instead_of_looping() {
        let refusal = shape("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
            .unwrap_err();
        assert_eq!(refusal.code, RefusalCode::FragmentCycle);
    }

    #[test]
    fn aliases_depth_and_directives_have_caps() {
        let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(
            shape(&format!("{{ {aliases} }}")).unwrap_err().code,
            RefusalCode::OperationTooLarge
        );
        let deep = format!("{}__typename{}", "{ a ".repeat(17), " }".repeat(17));
        assert_eq!(
            shape(&deep).unwrap_err().code,
            RefusalCode::OperationTooDeep
        );
        let directives = "@include(if: true) ".repeat(6);
        assert_eq!(
            shape(&format!("{{ __typename {directives} }}"))
                .unwrap_err()
                .code,
            RefusalCode::OperationTooLarge
        );
    }
}
