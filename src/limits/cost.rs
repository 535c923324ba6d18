//! The cost model: the largest answer an operation can produce, and the
//! upstream requests it can need.
//!
//! A field costs 1; a list field costs 1 plus its children's cost times the
//! most items it can return: its `limit` where it has one (a page's `items`
//! take the page's `limit`), else the most the data allows (every
//! jurisdiction for `affectedJurisdictions`, every HS subheading for
//! `affectedProducts`). The cost is therefore an upper bound on the values in
//! the answer, which is what memory follows: the 283-byte query that nested
//! four pages of interventions and their jurisdictions (3.8 GB of RSS) costs
//! about 10^11 here.
//!
//! The walk expands fragments at every spread: [`super::shape`] has already
//! bounded the expansion, so the walk is bounded too. It needs the schema's
//! types to know which field returns what ([`SchemaIndex`], built from the
//! SDL) and the fields' own rules ([`FieldRules`], from `graph`).
//! Introspection fields cost 1 each and their lists count once: they are
//! answered from memory, bounded by the schema, and the result cap bounds a
//! nested introspection query while it is built.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Value, Variables};

use super::demand::{Demand, DemandLimits};
use super::{Refusal, RefusalCode};
use crate::source::Source;

/// Items assumed for a list field that has no rule (a test holds every list
/// of objects in the schema to having one).
pub const UNRULED_LIST_BOUND: u64 = 100;

/// Which type each field of the schema returns, and whether as a list.
#[derive(Clone, Debug, Default)]
pub struct SchemaIndex {
    types: HashMap<String, HashMap<String, FieldType>>,
    /// The object types each union and interface stands for (what a
    /// fragment on it applies to).
    possible: HashMap<String, HashSet<String>>,
}

/// A field's return type, unwrapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldType {
    /// The named type inside any list and non-null wrappers.
    pub named: String,
    pub list: bool,
}

impl SchemaIndex {
    /// The index of the object types of `sdl` (unparseable SDL: empty).
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = HashMap::new();
        let mut possible: HashMap<String, HashSet<String>> = HashMap::new();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return Self::default();
        };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let definition = definition.node;
            let name = definition.name.node.to_string();
            let fields = match definition.kind {
                TypeKind::Object(object) => {
                    for interface in object.implements {
                        possible
                            .entry(interface.node.to_string())
                            .or_default()
                            .insert(name.clone());
                    }
                    object.fields
                }
                TypeKind::Interface(interface) => {
                    possible.entry(name.clone()).or_default();
                    interface.fields
                }
                TypeKind::Union(union) => {
                    possible.entry(name.clone()).or_default().extend(
                        union
                            .members
                            .into_iter()
                            .map(|member| member.node.to_string()),
                    );
                    continue;
                }
                _ => continue,
            };
            let fields = fields
                .into_iter()
                .map(|field| {
                    let mut ty = &field.node.ty.node;
                    let mut list = false;
                    while let BaseType::List(inner) = &ty.base {
                        list = true;
                        ty = inner;
                    }
                    let named = match &ty.base {
                        BaseType::Named(name) => name.to_string(),
                        BaseType::List(_) => unreachable!("unwrapped above"),
                    };
                    (field.node.name.node.to_string(), FieldType { named, list })
                })
                .collect();
            types.insert(name, fields);
        }
        Self { types, possible }
    }

    /// The type `field` of `parent` returns, if both exist.
    pub fn field(&self, parent: &str, field: &str) -> Option<&FieldType> {
        self.types.get(parent)?.get(field)
    }

    /// Whether `name` is an object type (its fields can be selected).
    pub fn is_object(&self, name: &str) -> bool {
        self.types.contains_key(name)
    }

    /// Whether `name` is a union or an interface: what an object of it is
    /// only its runtime type says.
    pub fn is_abstract(&self, name: &str) -> bool {
        self.possible.contains_key(name)
    }

    /// The object types a union or interface stands for.
    pub fn possible_types(&self, name: &str) -> Option<&HashSet<String>> {
        self.possible.get(name)
    }

    /// Every (type, field) that returns a list of objects.
    pub fn object_lists(&self) -> Vec<(&str, &str)> {
        let mut lists: Vec<(&str, &str)> = self
            .types
            .iter()
            .flat_map(|(parent, fields)| {
                fields
                    .iter()
                    .filter(|(_, ty)| ty.list && self.is_object(&ty.named))
                    .map(move |(field, _)| (parent.as_str(), field.as_str()))
            })
            .collect();
        lists.sort_unstable();
        lists
    }
}

/// A field's arguments with variables (and their defaults) substituted,
/// and its parents when the fields above named them.
#[derive(Clone, Debug, Default)]
pub struct Arguments(BTreeMap<String, Value>, Option<Vec<String>>);

impl Arguments {
    pub fn new(values: impl IntoIterator<Item = (String, Value)>) -> Self {
        Self(values.into_iter().collect(), None)
    }

    /// These arguments, on parents the fields above named (their
    /// `FieldRule::known_items`).
    pub fn on_parents(mut self, parents: Option<Vec<String>>) -> Self {
        self.1 = parents;
        self
    }

    /// The parents this field is asked on, when the fields above named them
    /// (`jurisdictions(iso3: [...])`): an estimate can then plan exactly.
    pub fn known_parents(&self) -> Option<&[String]> {
        self.1.as_deref()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .get(name)
            .filter(|value| !matches!(value, Value::Null))
    }

    /// An integer argument (absent, null or not an integer: `None`).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    /// A list argument's items as text (a single value is a list of one).
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        let text = |value: &Value| match value {
            Value::String(text) => text.clone(),
            Value::Enum(name) => name.to_string(),
            other => other.to_string(),
        };
        match self.get(name)? {
            Value::List(items) => Some(items.iter().map(text).collect()),
            other => Some(vec![text(other)]),
        }
    }

    /// How many items a list argument has (a single value counts one).
    pub fn len(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::List(items) => Some(items.len() as u64),
            _ => Some(1),
        }
    }

    /// A text or enum argument.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Enum(name) => Some(name.to_string()),
            _ => None,
        }
    }

    /// The arguments in one canonical line, for grouping equal calls.
    pub fn canonical(&self) -> String {
        self.0
            .iter()
            .filter(|(_, value)| !matches!(value, Value::Null))
            .map(|(name, value)| format!("{name}:{value}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What the cost model needs to know about one field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldRule {
    /// The most items a list field can return.
    pub list_bound: Option<u64>,
    /// For a page field: how many `items` its page can hold.
    pub page_limit: Option<u64>,
    /// The upstream requests the field makes.
    pub demand: Option<Demand>,
    /// A second call the field makes, on another upstream or loader
    /// (`_entities`: GTA for interventions, ITA for toolkit records).
    pub extra_demand: Option<Demand>,
    /// The objects the field returns, when its arguments name them (the
    /// ISO codes of `jurisdictions(iso3: [...])`), for its children's rules.
    pub known_items: Option<Vec<String>>,
    /// How many parents `demand` is asked for, when the rule knows them
    /// exactly (the codes a drill-down reaches): fewer than the walk's
    /// product of the list bounds above.
    pub demand_parents: Option<u64>,
}

/// Field-specific knowledge: the graph's own, handed to the walk.
pub trait FieldRules: Send + Sync + 'static {
    /// The rule of `parent.field` called with `arguments`, inside a page
    /// whose limit is `page_limit` (for the page's `items`).
    fn rule(
        &self,
        parent: &str,
        field: &str,
        arguments: &Arguments,
        page_limit: Option<u64>,
    ) -> FieldRule;
}

/// What an operation can cost, known before it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    pub cost: u64,
    /// Upstream requests per source, at most (indexed by `Source::index`).
    pub upstream_requests: [u64; 3],
    /// Whether the operation selects `__schema` or `__type`, whose lists the
    /// cost counts once.
    pub introspection: bool,
    /// The name of the operation that runs, as its document gives it
    /// (clients rarely send `operationName` when there is one operation),
    /// for the metrics and logs; `None` when it is anonymous.
    pub operation_name: Option<String>,
    /// "query", "mutation" or "subscription".
    pub operation_type: &'static str,
    /// Aliased fields, fragments expanded: each alias of a field builds its
    /// value again.
    pub aliases: u64,
}

impl Analysis {
    /// The estimate for `source`.
    pub fn requests(&self, source: Source) -> u64 {
        self.upstream_requests[source.index()]
    }

    /// `extensions.cost`: the cost, its maximum and the upstream estimate.
    pub fn to_json(&self, max_cost: u64) -> serde_json::Value {
        let mut estimate = serde_json::Map::new();
        for source in Source::ALL {
            estimate.insert(source.name().to_owned(), self.requests(source).into());
        }
        serde_json::json!({
            "cost": self.cost,
            "maxCost": max_cost,
            "upstreamEstimate": estimate,
        })
    }
}

/// Costs the operation `document` runs (by `operation_name`) and refuses it
/// when its cost or its demand on a source is over the limits. An operation
/// that cannot be selected is left for async-graphql to report (`Ok` with no
/// cost).
#[allow(clippy::too_many_arguments)]
pub fn analyze(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    schema: &SchemaIndex,
    rules: &dyn FieldRules,
    max_cost: u64,
    demand_limits: &DemandLimits,
) -> Result<Analysis, Refusal> {
    let Some((name, operation)) = selected_operation(document, operation_name) else {
        return Ok(Analysis::default());
    };
    let mut values: HashMap<Name, Value> = variables
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        if let (false, Some(default)) = (
            values.contains_key(&definition.name.node),
            &definition.default_value,
        ) {
            values.insert(definition.name.node.clone(), default.node.clone());
        }
    }
    let root = match operation.ty {
        async_graphql::parser::types::OperationType::Query => "Query",
        async_graphql::parser::types::OperationType::Mutation => "Mutation",
        async_graphql::parser::types::OperationType::Subscription => "Subscription",
    };
    let mut walk = Walk {
        document,
        schema,
        rules,
        variables: &values,
        demand: HashMap::new(),
        introspection: false,
        known: None,
        aliases: 0,
    };
    let cost = walk.selection_set(&operation.selection_set.node, root, None, 1);
    let mut analysis = Analysis {
        cost,
        upstream_requests: [0; 3],
        introspection: walk.introspection,
        aliases: walk.aliases,
        operation_name: name.map(|name| name.to_string()),
        operation_type: match operation.ty {
            async_graphql::parser::types::OperationType::Query => "query",
            async_graphql::parser::types::OperationType::Mutation => "mutation",
            async_graphql::parser::types::OperationType::Subscription => "subscription",
        },
    };
    for ((source, _), (kind, parents)) in &walk.demand {
        let slot = &mut analysis.upstream_requests[source.index()];
        *slot = slot.saturating_add(kind.estimate(*parents));
    }
    if cost > max_cost {
        let mut refusal = Refusal::new(
            RefusalCode::OperationTooCostly,
            format!(
                "the operation could return up to {cost} values (its cost); at most {max_cost} are accepted: ask for smaller pages (limit), fewer nested lists or fewer fields"
            ),
        );
        refusal.measured = Some((cost, max_cost));
        refusal.cost = Some(analysis.to_json(max_cost));
        return Err(refusal);
    }
    for source in Source::ALL {
        let (estimate, limit) = (analysis.requests(source), demand_limits.for_source(source));
        if estimate > limit {
            let mut refusal = Refusal::new(
                RefusalCode::UpstreamDemandTooHigh,
                format!(
                    "the operation could need up to {estimate} {source} requests; at most {limit} per operation are allowed: ask for fewer jurisdictions, smaller pages or fewer distinct arguments"
                ),
            );
            refusal.source = Some(source);
            refusal.measured = Some((estimate, limit));
            refusal.cost = Some(analysis.to_json(max_cost));
            return Err(refusal);
        }
    }
    Ok(analysis)
}

/// The operation async-graphql will run, and its name: the named one, or
/// the only one when no name is given (the spec's GetOperation); `None`
/// when the document selects none. Every step that looks at "the
/// operation" (the cost, variable defaults, the operation's kind) asks
/// here, so that they agree on which one it is.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a OperationDefinition)> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some((None, &operation.node)),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get_key_value(name)
            .map(|(name, operation)| (Some(name), &operation.node)),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(name, operation)| (Some(name), &operation.node)),
        _ => None,
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    schema: &'a SchemaIndex,
    rules: &'a dyn FieldRules,
    variables: &'a HashMap<Name, Value>,
    /// Parents asking, per upstream call (same source, field and arguments).
    demand: HashMap<(Source, String), (super::DemandKind, u64)>,
    introspection: bool,
    /// The parents of the selection set being walked, when named above.
    known: Option<Vec<String>>,
    /// Aliased fields met.
    aliases: u64,
}

impl Walk<'_> {
    /// The cost of `set` selected on `parent`, asked for `parents` times.
    fn selection_set(
        &mut self,
        set: &SelectionSet,
        parent: &str,
        page_limit: Option<u64>,
        parents: u64,
    ) -> u64 {
        let mut cost = 0u64;
        for selection in &set.items {
            let added = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    if field.alias.is_some() {
                        self.aliases = self.aliases.saturating_add(1);
                    }
                    if let Some(introspection) = match name {
                        "__schema" => Some("__Schema"),
                        "__type" => Some("__Type"),
                        _ => None,
                    } {
                        self.introspection = true;
                        1 + self.selection_set(&field.selection_set.node, introspection, None, 1)
                    } else if let Some(returns) = self.schema.field(parent, name) {
                        let arguments =
                            Arguments::new(field.arguments.iter().map(|(name, value)| {
                                let value = value
                                    .node
                                    .clone()
                                    .into_const_with(|variable| {
                                        Ok::<_, std::convert::Infallible>(
                                            self.variables
                                                .get(&variable)
                                                .cloned()
                                                .unwrap_or(Value::Null),
                                        )
                                    })
                                    .unwrap_or(Value::Null);
                                (name.node.to_string(), value)
                            }))
                            .on_parents(self.known.clone());
                        let rule = self.rules.rule(parent, name, &arguments, page_limit);
                        let demand_parents = rule.demand_parents.unwrap_or(parents).min(parents);
                        for (demand, parents) in rule
                            .demand
                            .into_iter()
                            .map(|demand| (demand, demand_parents))
                            .chain(rule.extra_demand.map(|demand| (demand, parents)))
                        {
                            let entry = self
                                .demand
                                .entry((demand.source, demand.group))
                                .or_insert((demand.kind, 0));
                            entry.1 = entry.1.saturating_add(parents);
                        }
                        let bound = if returns.list {
                            rule.list_bound.unwrap_or(UNRULED_LIST_BOUND)
                        } else {
                            1
                        };
                        let returns = returns.named.clone();
                        let outer = std::mem::replace(&mut self.known, rule.known_items);
                        let children = self.selection_set(
                            &field.selection_set.node,
                            &returns,
                            rule.page_limit,
                            parents.saturating_mul(bound),
                        );
                        self.known = outer;
                        1u64.saturating_add(bound.saturating_mul(children))
                    } else {
                        // `__typename`, introspection's own fields, or a field
                        // validation will refuse.
                        let outer = self.known.take();
                        let children =
                            self.selection_set(&field.selection_set.node, "", None, parents);
                        self.known = outer;
                        1u64.saturating_add(children)
                    }
                }
                Selection::FragmentSpread(spread) => {
                    match self.document.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => {
                            let on = fragment.node.type_condition.node.on.node.to_string();
                            let on = if self.schema.is_object(&on) {
                                on
                            } else {
                                parent.to_owned()
                            };
                            self.selection_set(
                                &fragment.node.selection_set.node,
                                &on,
                                page_limit,
                                parents,
                            )
                        }
                        None => 0,
                    }
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|condition| condition.node.on.node.to_string())
                        .filter(|on| self.schema.is_object(on))
                        .unwrap_or_else(|| parent.to_owned());
                    self.selection_set(&inline.node.selection_set.node, &on, page_limit, parents)
                }
            };
            cost = cost.saturating_add(added);
        }
        cost
    }
}
