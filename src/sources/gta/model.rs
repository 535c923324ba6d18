//! GTA records as the gateway uses them, and the tolerant decoding that gets
//! them out of every shape GTA is known to answer with.
//!
//! Tolerated, because recorded payloads show them: a bare array or a
//! `{count, next, previous, results}` envelope; `affected_products` as HS codes
//! or as `{product_id, prior_level, new_level, unit}` objects; descriptions and
//! sources as a string or as `[{status, order_nr, modified, text}]`; `is_in_force`
//! as 0/1 or a boolean; levels as strings or numbers; unknown members.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;

use crate::error::Error;
use crate::sources::http::{decode, strip_bom};
use crate::sources::Source;

/// One trade policy intervention.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Intervention {
    #[serde(rename = "intervention_id")]
    pub id: u32,
    #[serde(default)]
    pub state_act_id: Option<u32>,
    /// The state act's title, GTA's only title.
    #[serde(rename = "state_act_title", default)]
    pub title: String,
    #[serde(
        rename = "intervention_description",
        default,
        deserialize_with = "dated_texts"
    )]
    pub description: Vec<DatedText>,
    #[serde(default)]
    pub intervention_url: Option<String>,
    #[serde(default)]
    pub state_act_url: Option<String>,
    #[serde(rename = "state_act_source", default, deserialize_with = "dated_texts")]
    pub sources: Vec<DatedText>,
    #[serde(default)]
    pub is_official_source: Option<bool>,
    /// "Red", "Amber", "Green" (or "Harmful", "Liberalising").
    #[serde(rename = "gta_evaluation", default)]
    pub evaluation: Option<String>,
    #[serde(
        rename = "implementing_jurisdictions",
        default,
        deserialize_with = "crate::sources::http::at_most::<_, _, MAX_JURISDICTIONS>"
    )]
    pub implementers: Vec<JurisdictionRef>,
    #[serde(
        rename = "implementing_jurisdiction_groups",
        default,
        deserialize_with = "crate::sources::http::at_most::<_, _, MAX_JURISDICTIONS>"
    )]
    pub implementer_groups: Vec<GroupRef>,
    #[serde(
        rename = "affected_jurisdictions",
        default,
        deserialize_with = "crate::sources::http::at_most::<_, _, MAX_JURISDICTIONS>"
    )]
    pub affected: Vec<JurisdictionRef>,
    /// v2: whether the affected jurisdictions were inferred from trade data.
    #[serde(default)]
    pub inferred_jurisdictions: Option<String>,
    #[serde(default)]
    pub implementation_level: Option<String>,
    #[serde(default)]
    pub eligible_firm: Option<String>,
    #[serde(default)]
    pub intervention_type: Option<String>,
    #[serde(default)]
    pub mast_chapter: Option<String>,
    #[serde(default)]
    pub mast_subchapter: Option<String>,
    /// CPC sectors: codes (v1) or `{sector_id, name}` (v2).
    #[serde(
        default,
        deserialize_with = "crate::sources::http::at_most::<_, _, MAX_SECTORS>"
    )]
    pub affected_sectors: Vec<AffectedSector>,
    #[serde(default)]
    pub affected_products: AffectedProducts,
    #[serde(default)]
    pub date_announced: Option<String>,
    #[serde(default)]
    pub date_published: Option<String>,
    #[serde(default)]
    pub date_implemented: Option<String>,
    #[serde(default)]
    pub date_removed: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub is_in_force: Option<bool>,
    #[serde(default)]
    pub last_updated: Option<String>,
}

impl Intervention {
    /// Whether `id` is among this intervention's implementers.
    pub fn implemented_by(&self, id: u16) -> bool {
        self.implementers.iter().any(|j| j.id == id)
    }

    /// Whether `id` is among the jurisdictions this intervention affects.
    pub fn affects(&self, id: u16) -> bool {
        self.affected.iter().any(|j| j.id == id)
    }
}

/// The trade flow an intervention affects, as GTA's `affected_flow` filter
/// names it (value mappings: 1 inward, 2 outward, 3 outward subsidy). GTA's
/// records do not carry it: [`Intervention::derived_flow`] derives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AffectedFlowKind {
    /// Imports into the implementer (tariffs, trade defence, import
    /// restrictions, domestic subsidies to import-competing firms).
    Inward,
    /// The implementer's exports (export bans, taxes, quotas, licences).
    Outward,
    /// The implementer's subsidised exports competing in third markets
    /// (export subsidies and incentives, trade finance).
    OutwardSubsidy,
}

impl AffectedFlowKind {
    /// GTA's id of the flow (`affected_flow`).
    pub fn gta_id(self) -> u16 {
        match self {
            Self::Inward => 1,
            Self::Outward => 2,
            Self::OutwardSubsidy => 3,
        }
    }
}

/// Intervention types that restrict or tax the implementer's exports.
const OUTWARD_TYPES: &[&str] = &[
    "Export ban",
    "Export tax",
    "Export quota",
    "Export tariff quota",
    "Export licensing requirement",
    "Export-related non-tariff measure, nes",
    "Local supply requirement for exports",
    "Voluntary export-restraint arrangements",
    "Voluntary export-price restraints",
    "Export price benchmark",
];

/// Intervention types that subsidise the implementer's exports.
const OUTWARD_SUBSIDY_TYPES: &[&str] = &[
    "Export subsidy",
    "Tax-based export incentive",
    "Other export incentive",
    "Trade finance",
    "Financial assistance in foreign market",
];

/// The most jurisdictions (or groups) one record lists: about 250 exist.
/// A record listing more is unreadable (said, the others answered), read
/// no further: a record of a million entries took gigabytes.
pub const MAX_JURISDICTIONS: usize = 1_000;

/// The most CPC sectors one record lists (CPC 2.1 has about 4,500
/// subclasses).
pub const MAX_SECTORS: usize = 5_000;

/// The most products one record lists: HS has about 5,600 subheadings; a
/// record's national tariff lines can be more (issue 22: a record of
/// 400,000 products took 680 MB).
pub const MAX_PRODUCTS: usize = 20_000;

/// The longest an unreadable product is kept, as JSON text, for the
/// message that names it.
const UNREADABLE_KEPT: usize = 200;

/// How [`derived_flow`] decided.
pub const FLOW_FROM_TYPE: &str = "derived from the intervention type";

/// The flow an intervention of this type (GTA's label) and MAST chapter
/// affects, and how that was decided. By type: export restrictions and
/// taxes are outward, export subsidies, incentives and trade finance are
/// outward subsidies, every other type (tariffs, trade defence, import
/// licensing, SPS/TBT, procurement, localisation, domestic subsidies) is
/// inward, as GTA files them; a type label this table does not know is read
/// by its words ("export" and a subsidy word: outward subsidy; "export":
/// outward), and without a type, MAST chapter P ("Export-related measures")
/// is outward.
pub fn derived_flow(
    intervention_type: Option<&str>,
    mast_chapter: Option<&str>,
) -> (AffectedFlowKind, &'static str) {
    let is =
        |list: &[&str], label: &str| list.iter().any(|known| known.eq_ignore_ascii_case(label));
    if let Some(label) = intervention_type
        .map(str::trim)
        .filter(|label| !label.is_empty())
    {
        if is(OUTWARD_SUBSIDY_TYPES, label) {
            return (AffectedFlowKind::OutwardSubsidy, FLOW_FROM_TYPE);
        }
        if is(OUTWARD_TYPES, label) {
            return (AffectedFlowKind::Outward, FLOW_FROM_TYPE);
        }
        let lower = label.to_ascii_lowercase();
        if lower.contains("export") {
            let subsidy = [
                "subsid",
                "incentive",
                "financ",
                "credit",
                "insurance",
                "guarantee",
            ]
            .iter()
            .any(|word| lower.contains(word));
            return (
                if subsidy {
                    AffectedFlowKind::OutwardSubsidy
                } else {
                    AffectedFlowKind::Outward
                },
                "derived from the words of the intervention type",
            );
        }
        return (AffectedFlowKind::Inward, FLOW_FROM_TYPE);
    }
    match mast_chapter.map(str::trim) {
        Some(chapter) if chapter.starts_with("P:") || chapter.starts_with("P ") => (
            AffectedFlowKind::Outward,
            "derived from the MAST chapter (P, export-related measures); the record has no type",
        ),
        _ => (
            AffectedFlowKind::Inward,
            "assumed inward: the record has neither an intervention type nor an export-related MAST chapter",
        ),
    }
}

impl Intervention {
    /// The flow this intervention affects ([`derived_flow`]).
    pub fn derived_flow(&self) -> (AffectedFlowKind, &'static str) {
        derived_flow(
            self.intervention_type.as_deref(),
            self.mast_chapter.as_deref(),
        )
    }
}

/// A jurisdiction as GTA records name it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct JurisdictionRef {
    pub id: u16,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub iso: Option<String>,
}

/// A group of implementers, e.g. "European Union".
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GroupRef {
    pub name: String,
}

/// A text that GTA versions: the v2 API answers a list of dated entries, v1 a
/// plain string (decoded as one entry without dates). Entries name their text
/// `text` (live answers) or `description` / `source` (the publisher's
/// OpenAPI examples), and their date `modified` or `datetime_modified`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DatedText {
    #[serde(alias = "description", alias = "source")]
    pub text: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "order_nr")]
    pub order: Option<u32>,
    #[serde(default, alias = "datetime_modified")]
    pub modified: Option<String>,
}

/// A product an intervention affects: its HS code and, with full access, the
/// tariff levels before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedProduct {
    pub hs_code: u32,
    /// The HS description (current API, full access).
    pub name: Option<String>,
    pub prior_level: Option<String>,
    pub new_level: Option<String>,
    pub unit: Option<String>,
    /// When the change took effect for this product (current API).
    pub date_implemented: Option<String>,
    pub date_removed: Option<String>,
}

/// An intervention's affected products: those this gateway can read, and
/// the entries it cannot (a `product_id` that is not a code), kept as GTA
/// sent them. One unreadable product must not cost the page it is on, nor
/// the intervention its other products: it is named where the products are
/// read (`Intervention.affectedProducts` answers with an error beside the
/// readable ones; `affectedTrade` is incomplete, with the reason).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AffectedProducts {
    pub readable: Vec<AffectedProduct>,
    /// The unreadable entries, as JSON text.
    pub unreadable: Vec<String>,
}

/// The error naming records of a page GTA sent that could not be read
/// (the others are answered): at the first one's path, with their count.
pub fn unreadable_records(unreadable: &[String]) -> Error {
    Error::UpstreamBadResponse {
        upstream: Source::Gta,
        path: unreadable
            .first()
            .and_then(|first| first.split(':').next())
            .unwrap_or("results")
            .to_owned(),
        detail: format!(
            "{} record{} could not be read and {} left out: {}",
            unreadable.len(),
            if unreadable.len() == 1 { "" } else { "s" },
            if unreadable.len() == 1 { "is" } else { "are" },
            cut_list(unreadable)
        ),
    }
}

/// Entries as GTA sent them, for a message: the first few, each cut.
pub fn cut_list(entries: &[String]) -> String {
    const SHOWN: usize = 5;
    const LONGEST: usize = 60;
    let mut shown: Vec<String> = entries
        .iter()
        .take(SHOWN)
        .map(|entry| {
            let mut end = entry.len().min(LONGEST);
            while !entry.is_char_boundary(end) {
                end -= 1;
            }
            if end < entry.len() {
                format!("{}...", &entry[..end])
            } else {
                entry.clone()
            }
        })
        .collect();
    if entries.len() > SHOWN {
        shown.push(format!("and {} more", entries.len() - SHOWN));
    }
    shown.join(", ")
}

impl std::ops::Deref for AffectedProducts {
    type Target = [AffectedProduct];

    fn deref(&self) -> &[AffectedProduct] {
        &self.readable
    }
}

impl<'de> Deserialize<'de> for AffectedProducts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Entry by entry, each read and let go, at most MAX_PRODUCTS.
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = AffectedProducts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {MAX_PRODUCTS} products")
            }
            fn visit_unit<E: de::Error>(self) -> Result<AffectedProducts, E> {
                Ok(AffectedProducts::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<AffectedProducts, E> {
                Ok(AffectedProducts::default())
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<AffectedProducts, D::Error> {
                deserializer.deserialize_seq(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AffectedProducts, A::Error> {
                let mut products = AffectedProducts::default();
                while let Some(entry) = seq.next_element::<serde_json::Value>()? {
                    if products.readable.len() + products.unreadable.len() == MAX_PRODUCTS {
                        return Err(de::Error::custom(format_args!(
                            "more than {MAX_PRODUCTS} affected products"
                        )));
                    }
                    match AffectedProduct::deserialize(&entry) {
                        Ok(product) => products.readable.push(product),
                        Err(_) => {
                            let mut text = entry.to_string();
                            if text.len() > UNREADABLE_KEPT {
                                let mut end = UNREADABLE_KEPT;
                                while !text.is_char_boundary(end) {
                                    end -= 1;
                                }
                                text.truncate(end);
                                text.push_str("...");
                            }
                            products.unreadable.push(text);
                        }
                    }
                }
                Ok(products)
            }
        }
        deserializer.deserialize_option(Entries)
    }
}

impl<'de> Deserialize<'de> for AffectedProduct {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Detailed {
            #[serde(deserialize_with = "digits_or_number")]
            product_id: u32,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            prior_level: Option<Level>,
            #[serde(default)]
            new_level: Option<Level>,
            #[serde(default)]
            unit: Option<String>,
            #[serde(default)]
            date_implemented: Option<String>,
            #[serde(default)]
            date_removed: Option<String>,
        }
        Ok(match CodeOr::<Detailed>::deserialize(deserializer)? {
            CodeOr::Code(hs_code) => Self {
                hs_code,
                name: None,
                prior_level: None,
                new_level: None,
                unit: None,
                date_implemented: None,
                date_removed: None,
            },
            CodeOr::Object(detailed) => Self {
                hs_code: detailed.product_id,
                name: detailed.name,
                prior_level: detailed.prior_level.map(|level| level.0),
                new_level: detailed.new_level.map(|level| level.0),
                unit: detailed.unit,
                date_implemented: detailed.date_implemented,
                date_removed: detailed.date_removed,
            },
        })
    }
}

/// A CPC sector an intervention affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedSector {
    pub cpc_code: u32,
    /// The CPC description (current API).
    pub name: Option<String>,
}

impl<'de> Deserialize<'de> for AffectedSector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Named {
            sector_id: u32,
            #[serde(default)]
            name: Option<String>,
        }
        Ok(match CodeOr::<Named>::deserialize(deserializer)? {
            CodeOr::Code(cpc_code) => Self {
                cpc_code,
                name: None,
            },
            CodeOr::Object(named) => Self {
                cpc_code: named.sector_id,
                name: named.name,
            },
        })
    }
}

// The values below come in more than one JSON shape. They are decoded with
// visitors that take whichever shape arrives, not serde's untagged enums,
// which buffer every value to try each shape in turn (an allocation per
// product of every intervention, visible in `perf` on large answers).

/// A bare code (`292149`) or an object that carries one.
enum CodeOr<T> {
    Code(u32),
    Object(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for CodeOr<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeOrVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for CodeOrVisitor<T> {
            type Value = CodeOr<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a code or an object")
            }
            fn visit_u64<E: de::Error>(self, code: u64) -> Result<Self::Value, E> {
                u32::try_from(code)
                    .map(CodeOr::Code)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(code), &self))
            }
            fn visit_i64<E: de::Error>(self, code: i64) -> Result<Self::Value, E> {
                u32::try_from(code)
                    .map(CodeOr::Code)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(code), &self))
            }
            /// A code written as a string of digits ("292149"), as some
            /// records have it: the number it spells.
            fn visit_str<E: de::Error>(self, code: &str) -> Result<Self::Value, E> {
                code.trim()
                    .parse::<u32>()
                    .map(CodeOr::Code)
                    .map_err(|_| E::invalid_value(Unexpected::Str(code), &self))
            }
            fn visit_map<A: MapAccess<'de>>(self, fields: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(fields)).map(CodeOr::Object)
            }
        }
        deserializer.deserialize_any(CodeOrVisitor(PhantomData))
    }
}

/// A product id written as a number or as a string of digits ("292149").
fn digits_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    match CodeOr::<de::IgnoredAny>::deserialize(deserializer)? {
        CodeOr::Code(code) => Ok(code),
        CodeOr::Object(_) => Err(de::Error::custom("a product id, not an object")),
    }
}

/// A tariff level, which GTA writes as "6.5" or 6.5; kept as text.
struct Level(String);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelVisitor;
        impl Visitor<'_> for LevelVisitor {
            type Value = Level;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a level as text or a number")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Level, E> {
                Ok(Level(text.to_owned()))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Level, E> {
                Ok(Level(text))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Level, E> {
                Ok(Level(number.to_string()))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Level, E> {
                Ok(Level(number.to_string()))
            }
            fn visit_f64<E: de::Error>(self, number: f64) -> Result<Level, E> {
                // JSON's own spelling of the number, as serde_json writes it.
                Ok(Level(serde_json::Number::from_f64(number).map_or_else(
                    || number.to_string(),
                    |number| number.to_string(),
                )))
            }
        }
        deserializer.deserialize_any(LevelVisitor)
    }
}

/// Descriptions and sources: null, a string, or `[{status, order_nr, ...}]`
/// (put in `order_nr` order).
fn dated_texts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<DatedText>, D::Error> {
    struct DatedTextsVisitor;
    impl<'de> Visitor<'de> for DatedTextsVisitor {
        type Value = Vec<DatedText>;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a text, or an array of dated texts")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            self.visit_string(text.to_owned())
        }
        fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
            if text.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![DatedText {
                text,
                status: None,
                order: None,
                modified: None,
            }])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, entries: A) -> Result<Self::Value, A::Error> {
            let mut entries: Vec<DatedText> =
                Deserialize::deserialize(SeqAccessDeserializer::new(entries))?;
            entries.sort_by_key(|entry| entry.order);
            Ok(entries)
        }
    }
    deserializer.deserialize_any(DatedTextsVisitor)
}

/// A yes/no that GTA writes as a boolean or as 0/1; null is unknown.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    struct FlagVisitor;
    impl Visitor<'_> for FlagVisitor {
        type Value = Option<bool>;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a boolean, 0 or 1")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
            Ok(Some(value))
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value != 0))
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            Ok(Some(value != 0))
        }
    }
    deserializer.deserialize_any(FlagVisitor)
}

/// The most records one GTA answer may hold: what one request can ask for
/// (`limit` 1000); more is refused before any record is built (issue 22
/// attack: 1 MB of `{}` records held 121 MB as they were read one by one).
pub const MAX_RECORDS: usize = crate::sources::gta::query::MAX_LIMIT_PER_REQUEST as usize;

/// Counts the records of a data answer without building them (a bare
/// array, or an envelope's `results`): more than [`MAX_RECORDS`] is
/// `UPSTREAM_BAD_RESPONSE`. An answer of another shape is left to the
/// decoders to name.
fn count_records(body: &[u8]) -> Result<(), Error> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(deserialize_with = "crate::sources::http::at_most::<_, _, MAX_RECORDS>")]
        #[allow(dead_code)]
        results: Vec<serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct Bare(
        #[serde(deserialize_with = "crate::sources::http::at_most::<_, _, MAX_RECORDS>")]
        #[allow(dead_code)]
        Vec<serde::de::IgnoredAny>,
    );
    let too_many = |error: serde_json::Error| {
        error
            .to_string()
            .contains("more than any request asks for")
            .then(|| Error::UpstreamBadResponse {
                upstream: Source::Gta,
                path: "results".into(),
                detail: format!("more than {MAX_RECORDS} records, more than any request asks for"),
            })
    };
    let body = strip_bom(body);
    let counted = match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice::<Bare>(body).map(drop),
        Some(b'{') => serde_json::from_slice::<Envelope>(body).map(drop),
        _ => Ok(()),
    };
    match counted.err().and_then(too_many) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// One decoded answer of the data endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct DataResponse {
    pub interventions: Vec<Arc<Intervention>>,
    /// The total matching the filters, when the envelope says it.
    pub count: Option<u64>,
    /// Records that could not be read, each said as where and why: the
    /// others are answered (one malformed record must not cost its page).
    pub unreadable: Vec<String>,
}

fn shared(interventions: Vec<Intervention>) -> Vec<Arc<Intervention>> {
    interventions.into_iter().map(Arc::new).collect()
}

/// Decodes a data endpoint answer in either envelope: v1's bare array, or
/// v2's `{count, next, previous, results}`. Straight from the bytes to
/// records: going through a `serde_json::Value` first was 40% of a cold
/// flagship's CPU (`perf`, BENCHMARKS.md).
///
/// When a record cannot be read, the page is read again record by record
/// (through `serde_json::Value`, on this rare path only): the readable
/// records are kept and the others said in [`DataResponse::unreadable`].
pub fn decode_data_response(body: &[u8]) -> Result<DataResponse, Error> {
    count_records(body)?;
    strict_data_response(body).or_else(|error| tolerant_data_response(body).ok_or(error))
}

/// The page read record by record; `None` when the answer is not a page at
/// all (not JSON, or no array of records where one belongs).
fn tolerant_data_response(body: &[u8]) -> Option<DataResponse> {
    let value: serde_json::Value = serde_json::from_slice(strip_bom(body)).ok()?;
    let (count, results, prefix) = match &value {
        serde_json::Value::Array(results) => (None, results, ""),
        serde_json::Value::Object(envelope) => (
            envelope.get("count").and_then(serde_json::Value::as_u64),
            envelope.get("results")?.as_array()?,
            "results",
        ),
        _ => return None,
    };
    let mut page = DataResponse {
        interventions: Vec::new(),
        count,
        unreadable: Vec::new(),
    };
    let mut read = |record: &serde_json::Value, at: String| match serde_path_to_error::deserialize::<
        _,
        Intervention,
    >(record)
    {
        Ok(intervention) => page.interventions.push(Arc::new(intervention)),
        Err(error) => {
            let id = record
                .get("intervention_id")
                .map(|id| format!(" (intervention_id {id})"))
                .unwrap_or_default();
            page.unreadable.push(format!(
                "{prefix}{at}.{}{id}: {}",
                error.path(),
                error.inner()
            ));
        }
    };
    for (index, item) in results.iter().enumerate() {
        match item {
            // The publisher's own example nests the page in one more array.
            serde_json::Value::Array(nested) => {
                for (inner, record) in nested.iter().enumerate() {
                    read(record, format!("[{index}][{inner}]"));
                }
            }
            record => read(record, format!("[{index}]")),
        }
    }
    Some(page)
}

fn strict_data_response(body: &[u8]) -> Result<DataResponse, Error> {
    match strip_bom(body)
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
    {
        Some(b'[') => {
            let InterventionList(interventions) = decode(Source::Gta, body)?;
            Ok(DataResponse {
                interventions: shared(interventions),
                count: None,
                unreadable: Vec::new(),
            })
        }
        Some(b'{') => {
            let envelope: PagedEnvelope = decode(Source::Gta, body)?;
            Ok(DataResponse {
                interventions: shared(envelope.results.0),
                count: envelope.count,
                unreadable: Vec::new(),
            })
        }
        _ => Err(Error::UpstreamBadResponse {
            upstream: Source::Gta,
            path: ".".into(),
            detail: "expected an array of interventions or an object with `results`".into(),
        }),
    }
}

/// v2's paged envelope (`next` and `previous` are not needed: the gateway
/// pages by offset).
#[derive(Deserialize)]
struct PagedEnvelope {
    #[serde(default)]
    count: Option<u64>,
    results: InterventionList,
}

/// A page of interventions. The publisher's own v2 example nests the page in
/// one more array (`results: [[...]]`); it is accepted as the page it is.
struct InterventionList(Vec<Intervention>);

impl<'de> Deserialize<'de> for InterventionList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = InterventionList;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an array of interventions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
                let mut interventions = Vec::with_capacity(items.size_hint().unwrap_or(0));
                while let Some(item) = items.next_element::<ListItem>()? {
                    match item {
                        ListItem::One(intervention) => interventions.push(intervention),
                        ListItem::Nested(page) => interventions.extend(page),
                    }
                }
                Ok(InterventionList(interventions))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

/// An element of a page: an intervention, or a nested page of them.
// Lives on the stack for one element and is moved once; boxing the large
// variant would add an allocation per intervention.
#[allow(clippy::large_enum_variant)]
enum ListItem {
    One(Intervention),
    Nested(Vec<Intervention>),
}

impl<'de> Deserialize<'de> for ListItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ListItem;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an intervention object, or an array of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, fields: A) -> Result<Self::Value, A::Error> {
                Intervention::deserialize(MapAccessDeserializer::new(fields)).map(ListItem::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(items)).map(ListItem::Nested)
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's basic-access record, trimmed: codes as ints, strings, 0/1.
    #[test]
    fn decodes_basic_and_full_access_shapes() {
        let body = br#"[{"intervention_id": 1, "state_act_title": "T",
            "intervention_description": "<p>x</p>", "gta_evaluation": "Red",
            "implementing_jurisdictions": [{"id": 840, "name": "United States of America", "iso": "USA"}],
            "affected_jurisdictions": [], "affected_products": [292149, {"product_id": 292229, "prior_level": "0", "new_level": 6.5, "unit": null}],
            "is_in_force": 1, "something_new": {"a": 1}}]"#;
        let response = decode_data_response(body).unwrap();
        let intervention = &response.interventions[0];
        assert_eq!(intervention.description[0].text, "<p>x</p>");
        assert_eq!(intervention.affected_products[0].hs_code, 292149);
        assert_eq!(
            intervention.affected_products[1].new_level.as_deref(),
            Some("6.5")
        );
        assert_eq!(intervention.is_in_force, Some(true));
        assert!(intervention.implemented_by(840));
    }

    /// The flow GTA's records do not carry, derived from the type: export
    /// restrictions are outward, export support an outward subsidy, the
    /// rest inward; unknown labels by their words; no type, by MAST chapter.
    #[test]
    fn the_affected_flow_is_derived_from_the_type() {
        use AffectedFlowKind::{Inward, Outward, OutwardSubsidy};
        for (kind, chapter, expected) in [
            (Some("Import tariff"), None, Inward),
            (
                Some("Financial grant"),
                Some("L: Subsidies (excl. export subsidies)"),
                Inward,
            ),
            (
                Some("Export licensing requirement"),
                Some("P: Export-related measures (incl. subsidies)"),
                Outward,
            ),
            (Some("EXPORT BAN"), None, Outward),
            (Some("Tax-based export incentive"), None, OutwardSubsidy),
            (Some("Trade finance"), None, OutwardSubsidy),
            (Some("Export credit insurance"), None, OutwardSubsidy),
            (Some("Export restriction, nes"), None, Outward),
            (Some("Lending support"), None, Inward),
            (
                None,
                Some("P: Export-related measures (incl. subsidies)"),
                Outward,
            ),
            (None, None, Inward),
        ] {
            assert_eq!(
                derived_flow(kind, chapter).0,
                expected,
                "{kind:?} {chapter:?}"
            );
        }
        assert_eq!(OutwardSubsidy.gta_id(), 3);
    }

    #[test]
    fn decodes_the_paged_envelope_and_names_bad_paths() {
        let body =
            br#"{"count": 7, "next": null, "previous": null, "results": [{"intervention_id": 3}]}"#;
        let response = decode_data_response(body).unwrap();
        assert_eq!(response.count, Some(7));
        // An unreadable record is said, with its path; the others are kept.
        let page = decode_data_response(
            br#"{"results": [{"intervention_id": "x"}, {"intervention_id": 4}]}"#,
        )
        .unwrap();
        assert_eq!(page.interventions.len(), 1);
        assert_eq!(page.unreadable.len(), 1);
        assert!(
            page.unreadable[0].starts_with("results[0].intervention_id (intervention_id \"x\")"),
            "{:?}",
            page.unreadable
        );
        assert!(decode_data_response(b"<html>").is_err());
        assert!(decode_data_response(br#"{"results": 3}"#).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// The rule behind issue 20's finding, on generated pages (flat or
        /// nested as the publisher's example is): every record is either
        /// answered, in order, or named as unreadable, never both, never
        /// lost, whatever the broken ones hold.
        #[test]
        fn every_record_is_answered_or_named(
            broken in proptest::collection::vec(proptest::option::of(0usize..7), 1..30),
            nested in proptest::prelude::any::<bool>(),
        ) {
            let records: Vec<serde_json::Value> = broken
                .iter()
                .enumerate()
                .map(|(index, fault)| {
                    let mut record = serde_json::json!({ "intervention_id": index + 1 });
                    match fault {
                        Some(0) => record["intervention_id"] = serde_json::json!("x"),
                        Some(1) => record["affected_products"] = serde_json::json!({ "product_id": 1 }),
                        Some(2) => record["affected_jurisdictions"] = serde_json::json!([{ "id": 99999 }]),
                        // Lists longer than any record holds (issue 22: a
                        // record of 400,000 products took 680 MB).
                        Some(4) => record["affected_products"] = serde_json::json!(vec![10121; MAX_PRODUCTS + 1]),
                        Some(5) => record["affected_jurisdictions"] = serde_json::json!(vec![serde_json::json!({ "id": 76, "name": "Brazil" }); MAX_JURISDICTIONS + 1]),
                        Some(6) => record["affected_sectors"] = serde_json::json!(vec![411; MAX_SECTORS + 1]),
                        Some(_) => record["implementing_jurisdictions"] = serde_json::json!("all"),
                        None => {}
                    }
                    record
                })
                .collect();
            let results = if nested { serde_json::json!([records]) } else { serde_json::json!(records) };
            let body = serde_json::json!({ "count": broken.len(), "results": results }).to_string();
            let page = decode_data_response(body.as_bytes()).unwrap();
            let expected: Vec<u32> = broken
                .iter()
                .enumerate()
                .filter(|(_, fault)| fault.is_none())
                .map(|(index, _)| index as u32 + 1)
                .collect();
            let ids: Vec<u32> = page.interventions.iter().map(|i| i.id).collect();
            proptest::prop_assert_eq!(ids, expected);
            proptest::prop_assert_eq!(
                page.unreadable.len(),
                broken.iter().filter(|fault| fault.is_some()).count()
            );
        }
    }

    #[test]
    fn decodes_the_publishers_nested_page_and_names_paths_inside_it() {
        let body =
            br#"{"count": 2, "results": [[{"intervention_id": 3}, {"intervention_id": 4}]]}"#;
        let response = decode_data_response(body).unwrap();
        let ids: Vec<u32> = response.interventions.iter().map(|i| i.id).collect();
        assert_eq!(ids, [3, 4]);
        let page = decode_data_response(
            br#"{"results": [[{"intervention_id": 3}, {"intervention_id": []}]]}"#,
        )
        .unwrap();
        assert_eq!(page.interventions.len(), 1);
        assert!(
            page.unreadable[0].starts_with("results[0][1].intervention_id"),
            "{:?}",
            page.unreadable
        );
        let error = decode_data_response(br#"{"count": 0}"#).unwrap_err();
        assert!(error.to_string().contains("results"), "{error}");
    }
}
