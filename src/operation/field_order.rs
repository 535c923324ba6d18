//! Response keys in the order the operation selected them.
//!
//! The GraphQL spec serializes an object's fields "ordered by the order in
//! which they appear in the query" (CollectFields: first appearance, with
//! fragments expanded where they are spread). async-graphql 7.2 resolves a
//! query's fields concurrently and inserts each into the response object
//! when it completes (`resolver_utils::container`, `FuturesUnordered`), so
//! a field answered from the cache came out before one that waited for an
//! upstream: `{ interventions { ... } name }` answered `name` first.
//! Clients that compare responses as text, snapshot them, or read the
//! first key of an object saw the order change with upstream latency.
//!
//! [`SelectionOrder::apply`] puts every object of an executed response back
//! into selection order. It walks the response once beside the document;
//! an object already in order is left untouched. Type conditions are read
//! against the object's type from the schema; under a union or interface
//! the runtime type is the object's `__typename` when the operation asked
//! for it (federation gateways always do), and otherwise every fragment is
//! taken to apply, which can only misplace a key selected under two
//! different type conditions.

use std::sync::Arc;

use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::{Name, Value, Variables};

use crate::limits::SchemaIndex;

/// What an executed operation's response keys are ordered by: its document,
/// which operation of it ran, and the variables its `@skip` and `@include`
/// read (with the operation's defaults filled in, as it ran with them).
#[derive(Clone, Debug)]
pub struct SelectionOrder {
    document: Arc<ExecutableDocument>,
    operation_name: Option<String>,
    variables: Variables,
}

/// An object's type, as far as the walk knows it.
#[derive(Clone, Copy, Debug)]
enum Runtime<'a> {
    /// Known: type conditions are read against it.
    Known(&'a str),
    /// Unknown (an abstract type without `__typename`, or a type the schema
    /// index does not hold, like introspection's): every fragment applies.
    Any,
}

/// One response key and the fields selected under it, in selection order.
type Grouped<'d> = Vec<(&'d str, Vec<&'d Positioned<Field>>)>;

impl SelectionOrder {
    pub fn new(
        document: Arc<ExecutableDocument>,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Self {
        Self {
            document,
            operation_name: operation_name.map(str::to_owned),
            variables: variables.clone(),
        }
    }

    /// Puts `data`'s objects in selection order. `data` that is not the
    /// result of this document (null, or an operation name that names
    /// nothing) is left as it is.
    pub fn apply(&self, data: &mut Value, schema: &SchemaIndex) {
        let Some((kind, selection_set)) = self.operation() else {
            return;
        };
        let root = match kind {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        };
        self.order_value(data, &[selection_set], Some(root), schema);
    }

    /// The operation that ran: the one named, or the document's only one.
    fn definition(&self) -> Option<&Positioned<OperationDefinition>> {
        match &self.operation_name {
            Some(name) => self
                .document
                .operations
                .iter()
                .find(|(candidate, _)| candidate.is_some_and(|candidate| candidate == name))
                .map(|(_, operation)| operation),
            None => self
                .document
                .operations
                .iter()
                .next()
                .map(|(_, operation)| operation),
        }
    }

    fn operation(&self) -> Option<(OperationType, &SelectionSet)> {
        let operation = self.definition()?;
        Some((operation.node.ty, &operation.node.selection_set.node))
    }

    fn order_value(
        &self,
        value: &mut Value,
        sets: &[&SelectionSet],
        ty: Option<&str>,
        schema: &SchemaIndex,
    ) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.order_value(item, sets, ty, schema);
                }
            }
            Value::Object(object) => self.order_object(object, sets, ty, schema),
            _ => {}
        }
    }

    fn order_object(
        &self,
        object: &mut async_graphql::indexmap::IndexMap<Name, Value>,
        sets: &[&SelectionSet],
        ty: Option<&str>,
        schema: &SchemaIndex,
    ) {
        // Owned: the object is reordered below.
        let typename_seen: Option<String>;
        let runtime = match ty {
            Some(ty) if schema.is_abstract(ty) => {
                let any = self.collect(sets, Runtime::Any, schema);
                typename_seen = typename(object, &any).map(str::to_owned);
                typename_seen
                    .as_deref()
                    .map_or(Runtime::Any, Runtime::Known)
            }
            Some(ty) if schema.is_object(ty) => Runtime::Known(ty),
            _ => Runtime::Any,
        };
        let grouped = self.collect(sets, runtime, schema);
        let position = |key: &Name| {
            grouped
                .iter()
                .position(|(selected, _)| *selected == key.as_str())
                .unwrap_or(usize::MAX)
        };
        let in_order = object
            .keys()
            .map(position)
            .try_fold(0, |last, at| (at >= last).then_some(at))
            .is_some();
        if !in_order {
            // Stable: a key the selection does not name (none should be)
            // keeps its place among the others at the end.
            object.sort_by_cached_key(|key, _| position(key));
        }
        for (key, fields) in &grouped {
            let Some(child) = object.get_mut(*key) else {
                continue;
            };
            let child_sets: Vec<&SelectionSet> = fields
                .iter()
                .map(|field| &field.node.selection_set.node)
                .filter(|set| !set.items.is_empty())
                .collect();
            if child_sets.is_empty() {
                continue;
            }
            let child_type = match runtime {
                Runtime::Known(parent) => schema
                    .field(parent, fields[0].node.name.node.as_str())
                    .map(|field| field.named.as_str()),
                Runtime::Any => None,
            };
            self.order_value(child, &child_sets, child_type, schema);
        }
    }

    /// The spec's CollectFields over each of `sets` in turn (the merged
    /// selections of one response key), for an object of type `runtime`.
    fn collect<'d>(
        &'d self,
        sets: &[&'d SelectionSet],
        runtime: Runtime<'_>,
        schema: &SchemaIndex,
    ) -> Grouped<'d> {
        let mut grouped = Vec::new();
        for set in sets {
            let mut visited = Vec::new();
            self.collect_set(set, runtime, schema, &mut grouped, &mut visited);
        }
        grouped
    }

    fn collect_set<'d>(
        &'d self,
        set: &'d SelectionSet,
        runtime: Runtime<'_>,
        schema: &SchemaIndex,
        grouped: &mut Grouped<'d>,
        visited: &mut Vec<&'d str>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if self.skipped(&field.node.directives) {
                        continue;
                    }
                    let key = field.node.response_key().node.as_str();
                    match grouped.iter_mut().find(|(selected, _)| *selected == key) {
                        Some((_, fields)) => fields.push(field),
                        None => grouped.push((key, vec![field])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if self.skipped(&spread.node.directives) {
                        continue;
                    }
                    let name = spread.node.fragment_name.node.as_str();
                    if visited.contains(&name) {
                        continue;
                    }
                    visited.push(name);
                    let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    else {
                        continue;
                    };
                    if applies(&fragment.node.type_condition.node.on.node, runtime, schema) {
                        self.collect_set(
                            &fragment.node.selection_set.node,
                            runtime,
                            schema,
                            grouped,
                            visited,
                        );
                    }
                }
                Selection::InlineFragment(inline) => {
                    if self.skipped(&inline.node.directives) {
                        continue;
                    }
                    let condition = inline.node.type_condition.as_ref();
                    if condition
                        .is_none_or(|condition| applies(&condition.node.on.node, runtime, schema))
                    {
                        self.collect_set(
                            &inline.node.selection_set.node,
                            runtime,
                            schema,
                            grouped,
                            visited,
                        );
                    }
                }
            }
        }
    }

    /// Whether `@skip(if: true)` or `@include(if: false)` leaves a selection
    /// out; `if` is a literal or a variable.
    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().any(|directive| {
            let directive = &directive.node;
            let condition = || {
                let value = directive.get_argument("if")?.node.clone();
                let value = value
                    .into_const_with(|name| {
                        Ok::<_, std::convert::Infallible>(
                            self.variables.get(&name).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .ok()?;
                match value {
                    Value::Boolean(condition) => Some(condition),
                    _ => None,
                }
            };
            match directive.name.node.as_str() {
                "skip" => condition() == Some(true),
                "include" => condition() == Some(false),
                _ => false,
            }
        })
    }
}

/// Whether a fragment on `condition` applies to an object of `runtime`.
fn applies(condition: &str, runtime: Runtime<'_>, schema: &SchemaIndex) -> bool {
    match runtime {
        Runtime::Any => true,
        Runtime::Known(runtime) if condition == runtime => true,
        Runtime::Known(runtime) => match schema.possible_types(condition) {
            Some(possible) => possible.contains(runtime),
            // Another object type: never; a type the index does not hold:
            // assume it does (validation has passed).
            None => !schema.is_object(condition),
        },
    }
}

/// The object's `__typename`, under whatever key the operation asked for it.
fn typename<'v>(
    object: &'v async_graphql::indexmap::IndexMap<Name, Value>,
    grouped: &Grouped<'_>,
) -> Option<&'v str> {
    grouped
        .iter()
        .filter(|(_, fields)| fields[0].node.name.node == "__typename")
        .find_map(|(key, _)| match object.get(*key) {
            Some(Value::String(name)) => Some(name.as_str()),
            _ => None,
        })
}
