//! Response keys follow the selection order (GraphQL spec, "Objects":
//! fields "ordered by the order in which they appear in the query").
//!
//! async-graphql 7.2 resolves an object's fields concurrently and inserts
//! each when it completes, so a field that waited for an upstream came
//! after one that did not. The rule is checked on generated selections:
//! fields that resolve at once beside fields that wait for GTA, Comtrade or
//! ITA, in any order, aliased, inside inline and named fragments, selected
//! twice, and left out by `@skip`/`@include`; every object of the answer,
//! read from the wire text, has its keys in the order the selection gives.

mod common;

use std::fmt::Write as _;

use common::TestGateway;
use proptest::prelude::*;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// JSON as sent, objects keeping their keys' order.
#[derive(Debug)]
enum Json {
    Object(Vec<(String, Json)>),
    List(Vec<Json>),
    Leaf,
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    entries.push((key, value));
                }
                Ok(Json::Object(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Json>()? {
                    items.push(item);
                }
                Ok(Json::List(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Leaf)
            }
        }
        deserializer.deserialize_any(Ordered)
    }
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value)
                .unwrap_or_else(|| panic!("no {key} in {self:?}")),
            _ => panic!("{key} of a non-object"),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Json::Object(entries) => entries.iter().map(|(key, _)| key.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A field of `Jurisdiction` the generator may select: its text, and the
/// subfields selected under it (in the order written), if an object.
struct Candidate {
    field: &'static str,
    subfields: &'static [&'static str],
}

const CANDIDATES: &[Candidate] = &[
    Candidate {
        field: "name",
        subfields: &[],
    },
    Candidate {
        field: "shortName",
        subfields: &[],
    },
    Candidate {
        field: "id",
        subfields: &[],
    },
    Candidate {
        field: "groups",
        subfields: &[],
    },
    Candidate {
        field: "interventionsImplemented(limit: 2)",
        subfields: &["totalCount", "items { title id }"],
    },
    Candidate {
        field: "tradeFlows(periods: [\"2020\"], flow: IMPORT)",
        subfields: &["period", "reporterCode", "partnerCode"],
    },
    Candidate {
        field: "tradeLeads(limit: 2)",
        subfields: &["title", "id"],
    },
    Candidate {
        field: "deMinimis",
        subfields: &["deMinimisCurrency", "deMinimisValue", "countryName"],
    },
    Candidate {
        field: "officeLocations",
        subfields: &["officeName", "post", "id"],
    },
];

/// How one chosen field is written into the selection.
#[derive(Clone, Debug)]
enum Wrapping {
    Plain,
    Inline,
    Named,
    /// `@include(if: true)`.
    Included,
    /// Selected once more before, under `@skip(if: true)`: the key's place
    /// is its first selection that is not skipped.
    SkippedFirst,
}

fn wrapping() -> impl Strategy<Value = Wrapping> {
    prop_oneof![
        3 => Just(Wrapping::Plain),
        1 => Just(Wrapping::Inline),
        1 => Just(Wrapping::Named),
        1 => Just(Wrapping::Included),
        1 => Just(Wrapping::SkippedFirst),
    ]
}

/// The subfields of a candidate in a generated order.
fn subfield_text(candidate: &Candidate, rotation: usize) -> (String, Vec<String>) {
    let mut subfields: Vec<&str> = candidate.subfields.to_vec();
    if !subfields.is_empty() {
        let by = rotation % subfields.len();
        subfields.rotate_left(by);
    }
    let keys = subfields
        .iter()
        .map(|subfield| subfield.split([' ', '(']).next().unwrap().to_owned())
        .collect();
    (subfields.join(" "), keys)
}

#[test]
fn every_object_keeps_the_selection_order() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let gateway = runtime.block_on(TestGateway::start());
    let config = ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        chosen in proptest::sample::subsequence((0..CANDIDATES.len()).collect::<Vec<_>>(), 2..=CANDIDATES.len())
            .prop_shuffle(),
        wrappings in proptest::collection::vec(wrapping(), CANDIDATES.len()),
        aliased in proptest::collection::vec(any::<bool>(), CANDIDATES.len()),
        rotations in proptest::collection::vec(0usize..3, CANDIDATES.len()),
        iso3 in proptest::sample::select(vec!["BRA", "DEU", "USA", "IND", "FRA"]),
    )| {
        let mut selection = String::new();
        let mut fragments = String::new();
        let mut expected: Vec<(String, usize, Vec<String>)> = Vec::new();
        for (position, &index) in chosen.iter().enumerate() {
            let candidate = &CANDIDATES[index];
            let key = if aliased[position] {
                format!("f{position}")
            } else {
                candidate.field.split('(').next().unwrap().to_owned()
            };
            let (subfields, subkeys) = subfield_text(candidate, rotations[position]);
            let body = if subfields.is_empty() { String::new() } else { format!(" {{ {subfields} }}") };
            let write = |directive: &str| if aliased[position] {
                format!("{key}: {}{directive}{body}", candidate.field)
            } else {
                format!("{}{directive}{body}", candidate.field)
            };
            let written = write("");
            match wrappings[position] {
                Wrapping::Plain => write!(selection, " {written}").unwrap(),
                Wrapping::Inline => write!(selection, " ... on Jurisdiction {{ {written} }}").unwrap(),
                Wrapping::Named => {
                    write!(selection, " ...F{position}").unwrap();
                    write!(fragments, " fragment F{position} on Jurisdiction {{ {written} }}").unwrap();
                }
                Wrapping::Included => write!(selection, " {}", write(" @include(if: $yes)")).unwrap(),
                Wrapping::SkippedFirst => {
                    // Skipped here, selected again at the end.
                    write!(selection, " {}", write(" @skip(if: true)")).unwrap();
                }
            }
            expected.push((key, index, subkeys));
        }
        // The skipped ones come again last, in their order.
        let mut order: Vec<usize> = (0..expected.len())
            .filter(|&at| !matches!(wrappings[at], Wrapping::SkippedFirst))
            .collect();
        for at in 0..expected.len() {
            if matches!(wrappings[at], Wrapping::SkippedFirst) {
                let (key, index, _) = &expected[at];
                let candidate = &CANDIDATES[*index];
                let (subfields, _) = subfield_text(candidate, rotations[at]);
                let body = if subfields.is_empty() { String::new() } else { format!(" {{ {subfields} }}") };
                if aliased[at] {
                    write!(selection, " {key}: {}{body}", candidate.field).unwrap();
                } else {
                    write!(selection, " {}{body}", candidate.field).unwrap();
                }
                order.push(at);
            }
        }
        let query = format!(
            "query Order($yes: Boolean = true) {{ local: jurisdiction(iso3: \"{iso3}\") {{ name @include(if: $yes) }} j: jurisdiction(iso3: \"{iso3}\") {{{selection} }} after: jurisdiction(iso3: \"FRA\") {{ id }} }}{fragments}"
        );
        let text = runtime.block_on(async {
            gateway
                .http()
                .post(format!("{}/graphql", gateway.url))
                .json(&serde_json::json!({ "query": query }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        prop_assert!(text.starts_with("{\"data\":{") && !text.contains("\"errors\""), "{}\n{}", query, text);
        let answer: Json = serde_json::from_str(&text).unwrap();
        let data = answer.get("data");
        prop_assert_eq!(data.keys(), vec!["local", "j", "after"], "{}", text);
        let jurisdiction = data.get("j");
        let keys: Vec<String> = order.iter().map(|&at| expected[at].0.clone()).collect();
        prop_assert_eq!(jurisdiction.keys(), keys.iter().map(String::as_str).collect::<Vec<_>>(), "{}\n{}", query, text);
        // Each object under a field has its subfields in the order written.
        for &at in &order {
            let (key, _, subkeys) = &expected[at];
            if subkeys.is_empty() {
                continue;
            }
            let objects: Vec<&Json> = match jurisdiction.get(key) {
                Json::List(items) => items.iter().collect(),
                Json::Leaf => Vec::new(),
                object => vec![object],
            };
            for object in objects {
                prop_assert_eq!(object.keys(), subkeys.iter().map(String::as_str).collect::<Vec<_>>(), "{}\n{}", query, text);
                if let Json::Object(entries) = object {
                    for (_, value) in entries {
                        if let Json::List(items) = value {
                            for item in items {
                                if let Json::Object(_) = item {
                                    prop_assert!(item.keys() == ["title", "id"], "{}", text);
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// A union's members are ordered by their runtime type: federation's
/// `_entities`, asked the way a gateway asks (with `__typename`), keeps
/// each entity's keys in the order of its type's fragment.
#[tokio::test]
async fn entities_keep_the_order_of_their_fragment() {
    let gateway = TestGateway::start().await;
    let query = r#"query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Intervention { id } ... on Jurisdiction { interventionsImplemented(limit: 1) { totalCount } name iso3: shortName } } }"#;
    let text = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .json(&serde_json::json!({
            "query": query,
            "variables": { "r": [
                { "__typename": "Jurisdiction", "iso3": "BRA" },
                { "__typename": "Jurisdiction", "iso3": "DEU" },
            ] },
        }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer: Json = serde_json::from_str(&text).unwrap();
    let Json::List(entities) = answer.get("data").get("_entities") else {
        panic!("{text}");
    };
    assert_eq!(entities.len(), 2, "{text}");
    for entity in entities {
        assert_eq!(
            entity.keys(),
            ["__typename", "interventionsImplemented", "name", "iso3"],
            "{text}"
        );
    }
}
