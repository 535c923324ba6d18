//! GTA records as the gateway uses them, and the tolerant decoding that gets
//! them out of every shape GTA is known to answer with.
//!
//! Tolerated, because recorded payloads show them: a bare array or a
//! `{count, next, previous, results}` envelope; `affected_products` as HS codes
//! or as `{product_id, prior_level, new_level, unit}` objects; descriptions and
//! sources as a string or as `[{status, order_nr, modified, text}]`; `is_in_force`
//! as 0/1 or a boolean; levels as strings or numbers; unknown members.

use std::sync::Arc;

use serde::Deserialize;

use crate::error::Error;
use crate::sources::http::{decode, decode_value};
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
    #[serde(rename = "implementing_jurisdictions", default)]
    pub implementers: Vec<JurisdictionRef>,
    #[serde(rename = "implementing_jurisdiction_groups", default)]
    pub implementer_groups: Vec<GroupRef>,
    #[serde(rename = "affected_jurisdictions", default)]
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
    #[serde(default)]
    pub affected_sectors: Vec<AffectedSector>,
    #[serde(default)]
    pub affected_products: Vec<AffectedProduct>,
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

impl<'de> Deserialize<'de> for AffectedProduct {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Code(u32),
            Detailed {
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
            },
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Code(hs_code) => Self {
                hs_code,
                name: None,
                prior_level: None,
                new_level: None,
                unit: None,
                date_implemented: None,
                date_removed: None,
            },
            Wire::Detailed {
                product_id,
                name,
                prior_level,
                new_level,
                unit,
                date_implemented,
                date_removed,
            } => Self {
                hs_code: product_id,
                name,
                prior_level: prior_level.map(Level::into_text),
                new_level: new_level.map(Level::into_text),
                unit,
                date_implemented,
                date_removed,
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
        #[serde(untagged)]
        enum Wire {
            Code(u32),
            Named {
                sector_id: u32,
                #[serde(default)]
                name: Option<String>,
            },
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Code(cpc_code) => Self {
                cpc_code,
                name: None,
            },
            Wire::Named { sector_id, name } => Self {
                cpc_code: sector_id,
                name,
            },
        })
    }
}

/// A tariff level, which GTA writes as "6.5" or 6.5.
#[derive(Deserialize)]
#[serde(untagged)]
enum Level {
    Text(String),
    Number(serde_json::Number),
}

impl Level {
    fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(number) => number.to_string(),
        }
    }
}

fn dated_texts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<DatedText>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        Entries(Vec<DatedText>),
    }
    Ok(match Option::<Wire>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Wire::Text(text)) if text.is_empty() => Vec::new(),
        Some(Wire::Text(text)) => vec![DatedText {
            text,
            status: None,
            order: None,
            modified: None,
        }],
        Some(Wire::Entries(mut entries)) => {
            entries.sort_by_key(|entry| entry.order);
            entries
        }
    })
}

fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Bool(bool),
        Int(i64),
    }
    Ok(
        Option::<Wire>::deserialize(deserializer)?.map(|wire| match wire {
            Wire::Bool(value) => value,
            Wire::Int(value) => value != 0,
        }),
    )
}

/// One decoded answer of the data endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct DataResponse {
    pub interventions: Vec<Arc<Intervention>>,
    /// The total matching the filters, when the envelope says it.
    pub count: Option<u64>,
}

fn shared(interventions: Vec<Intervention>) -> Vec<Arc<Intervention>> {
    interventions.into_iter().map(Arc::new).collect()
}

/// Decodes a data endpoint answer in either envelope.
pub fn decode_data_response(body: &[u8]) -> Result<DataResponse, Error> {
    let value: serde_json::Value = decode(Source::Gta, body)?;
    match value {
        serde_json::Value::Array(_) => Ok(DataResponse {
            interventions: shared(decode_value(Source::Gta, value, "")?),
            count: None,
        }),
        serde_json::Value::Object(mut envelope) => {
            let mut results =
                envelope
                    .remove("results")
                    .ok_or_else(|| Error::UpstreamBadResponse {
                        upstream: Source::Gta,
                        path: ".".into(),
                        detail: "expected an array of interventions or an object with `results`"
                            .into(),
                    })?;
            // The publisher's own v2 example nests the page in one more array
            // (`results: [[...]]`); accept it as the page it is.
            if let serde_json::Value::Array(items) = &results {
                if !items.is_empty() && items.iter().all(serde_json::Value::is_array) {
                    results = serde_json::Value::Array(
                        items
                            .iter()
                            .flat_map(|inner| inner.as_array().cloned().unwrap_or_default())
                            .collect(),
                    );
                }
            }
            let count = envelope.get("count").and_then(serde_json::Value::as_u64);
            Ok(DataResponse {
                interventions: shared(decode_value(Source::Gta, results, "results")?),
                count,
            })
        }
        _ => Err(Error::UpstreamBadResponse {
            upstream: Source::Gta,
            path: ".".into(),
            detail: "expected an array of interventions or an object with `results`".into(),
        }),
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

    #[test]
    fn decodes_the_paged_envelope_and_names_bad_paths() {
        let body =
            br#"{"count": 7, "next": null, "previous": null, "results": [{"intervention_id": 3}]}"#;
        let response = decode_data_response(body).unwrap();
        assert_eq!(response.count, Some(7));
        let error =
            decode_data_response(br#"{"results": [{"intervention_id": "x"}]}"#).unwrap_err();
        assert!(
            matches!(error, Error::UpstreamBadResponse { ref path, .. } if path == "results[0].intervention_id"),
            "{error:?}"
        );
        assert!(decode_data_response(b"<html>").is_err());
    }
}
