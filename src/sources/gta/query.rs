//! The GTA data request: `{limit, offset, sorting, request_data}`.
//!
//! [`RequestData`] has one field per documented filter and serializes exactly
//! to GTA's names, leaving out what is unset, so the wire carries nothing the
//! user did not ask for.

use serde::Serialize;

/// GTA's documented cap on `limit` per request.
pub const MAX_LIMIT_PER_REQUEST: u32 = 1000;

/// A date range filter, `["2020-01-01", null]`; `None` is open-ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct DateRange(pub Option<String>, pub Option<String>);

/// The `request_data` filters. The first 29 are seed 003's; `query` and
/// `update_period` exist only in the v2 API (the client refuses them on v1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct RequestData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gta_evaluation: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_flow: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_affected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementer: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_implementer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervention_types: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_intervention_types: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mast_chapters: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_mast_chapters: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation_level: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_implementation_level: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible_firms: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_eligible_firms: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announcement_period: Option<DateRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation_period: Option<DateRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_implementation_na: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_period: Option<DateRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_revocation_na: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_period: Option<DateRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_force_on_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_in_force_on_date: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_sectors: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_affected_sectors: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_products: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_affected_products: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervention_id: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_intervention_id: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_adjustment: Option<String>,
    /// v2 only: full-text search in titles and descriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The range in which the intervention was last updated (in both
    /// request schemas of GTA's OpenAPI document, v1 included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_period: Option<DateRange>,
}

/// The open ends GTA's own client fills in a date range.
const EARLIEST: &str = "1900-01-01";
const LATEST: &str = "2099-12-31";

impl RequestData {
    /// The names of the set filters that only the v2 API knows (`query`:
    /// GTA's OpenAPI document has it in the v2 request schema only).
    pub fn v2_only_filters(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.query.is_some() {
            names.push("query");
        }
        names
    }

    /// The filters as they go out. GTA's publisher's own client always
    /// sends `announcement_period` ("to avoid API error") and fills the open
    /// ends of the announcement and implementation ranges with 1900-01-01
    /// and 2099-12-31; so does the gateway, in every request, batched
    /// jurisdiction requests included.
    pub fn for_wire(&self) -> RequestData {
        let filled = |range: &DateRange| {
            DateRange(
                Some(range.0.clone().unwrap_or_else(|| EARLIEST.to_owned())),
                Some(range.1.clone().unwrap_or_else(|| LATEST.to_owned())),
            )
        };
        RequestData {
            announcement_period: Some(
                self.announcement_period
                    .as_ref()
                    .map_or_else(|| DateRange(None, None), Clone::clone),
            )
            .as_ref()
            .map(filled),
            implementation_period: self.implementation_period.as_ref().map(filled),
            ..self.clone()
        }
    }
}

/// A field GTA sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    DateAnnounced,
    DatePublished,
    DateImplemented,
    DateRemoved,
    InterventionId,
    /// In both generations' `sorting` (GTA's OpenAPI document).
    LastUpdated,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        SortKey::DateAnnounced,
        SortKey::DatePublished,
        SortKey::DateImplemented,
        SortKey::DateRemoved,
        SortKey::InterventionId,
        SortKey::LastUpdated,
    ];

    /// GTA's name for the key.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::DateAnnounced => "date_announced",
            Self::DatePublished => "date_published",
            Self::DateImplemented => "date_implemented",
            Self::DateRemoved => "date_removed",
            Self::InterventionId => "intervention_id",
            Self::LastUpdated => "last_updated",
        }
    }

    /// Parses GTA's name or its camelCase form (`dateAnnounced`).
    pub fn parse(text: &str) -> Option<Self> {
        let normalized: String = text
            .chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Self::ALL
            .into_iter()
            .find(|key| key.wire_name().replace('_', "") == normalized)
    }
}

/// An ordered list of sort clauses, each ascending or descending.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sorting(pub Vec<(SortKey, bool)>);

impl Sorting {
    /// Newest announcements first, ties broken by id so that pages are stable.
    pub fn newest_first() -> Self {
        Self(vec![
            (SortKey::DateAnnounced, true),
            (SortKey::InterventionId, true),
        ])
    }

    /// Parses clauses such as `-date_announced` or `dateImplemented`.
    pub fn parse<S: AsRef<str>>(clauses: &[S]) -> Result<Self, String> {
        let keys = clauses
            .iter()
            .map(|clause| {
                let clause = clause.as_ref().trim();
                let (descending, name) = match clause.strip_prefix('-') {
                    Some(name) => (true, name),
                    None => (false, clause.strip_prefix('+').unwrap_or(clause)),
                };
                let key = SortKey::parse(name).ok_or_else(|| {
                    let accepted: Vec<_> = SortKey::ALL.iter().map(|k| k.wire_name()).collect();
                    format!(
                        "unknown sort key {clause:?}: accepted are {} (prefix - for descending)",
                        accepted.join(", ")
                    )
                })?;
                Ok((key, descending))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Self::from_keys(keys)
    }

    /// Sorts by `keys` in order, each descending when its flag is set;
    /// none: [`Sorting::newest_first`]. A key given twice is refused.
    pub fn from_keys(mut keys: Vec<(SortKey, bool)>) -> Result<Self, String> {
        if keys.is_empty() {
            return Ok(Self::newest_first());
        }
        for (index, (key, _)) in keys.iter().enumerate() {
            if keys[..index].iter().any(|(seen, _)| seen == key) {
                return Err(format!("sort key {:?} is given twice", key.wire_name()));
            }
        }
        // Without a unique last key, equal dates come back in any order and
        // pages could overlap; intervention ids are unique.
        if !keys.iter().any(|(key, _)| *key == SortKey::InterventionId) {
            keys.push((SortKey::InterventionId, true));
        }
        Ok(Self(keys))
    }

    /// GTA's `sorting` string: `-date_announced,-intervention_id`.
    pub fn wire(&self) -> String {
        self.0
            .iter()
            .map(|(key, descending)| {
                format!("{}{}", if *descending { "-" } else { "" }, key.wire_name())
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Filters and order of an intervention search, without paging: what a
/// `Jurisdiction.interventions*` field shares with its siblings in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterventionQuery {
    pub request_data: RequestData,
    pub sorting: Sorting,
}

/// The JSON body GTA's data endpoint takes.
#[derive(Debug, Serialize)]
pub(crate) struct DataRequestBody {
    pub limit: u32,
    pub offset: u64,
    pub sorting: String,
    /// Always true: by default GTA cuts product and sector names to 20
    /// characters ("Vehicles; with only ...").
    pub show_full_names: bool,
    pub request_data: RequestData,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body serializes to GTA's own names and leaves out unset filters;
    /// it asks for full names, and always carries an announcement period,
    /// with open ends filled as GTA's own client fills them.
    #[test]
    fn request_body_serializes_to_gta_names() {
        let data = RequestData {
            affected: Some(vec![32, 840]),
            keep_affected: Some(false),
            implementation_period: Some(DateRange(Some("2023-01-01".into()), None)),
            gta_evaluation: Some(vec![1, 2]),
            ..RequestData::default()
        };
        let body = DataRequestBody {
            limit: 100,
            offset: 0,
            sorting: Sorting::parse(&["-dateAnnounced"]).unwrap().wire(),
            show_full_names: true,
            request_data: data.for_wire(),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({
                "limit": 100,
                "offset": 0,
                "sorting": "-date_announced,-intervention_id",
                "show_full_names": true,
                "request_data": {
                    "gta_evaluation": [1, 2],
                    "affected": [32, 840],
                    "keep_affected": false,
                    "announcement_period": ["1900-01-01", "2099-12-31"],
                    "implementation_period": ["2023-01-01", "2099-12-31"]
                }
            })
        );
    }

    #[test]
    fn sorting_rejects_unknown_and_repeated_keys() {
        assert!(Sorting::parse(&["-popularity"])
            .unwrap_err()
            .contains("date_announced"));
        assert!(Sorting::parse(&["date_announced", "-dateAnnounced"]).is_err());
        assert_eq!(
            Sorting::parse(&["intervention_id"]).unwrap().wire(),
            "intervention_id"
        );
    }
}
