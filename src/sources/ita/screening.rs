//! The Consolidated Screening List (CSL): the export screening lists of the
//! Departments of Commerce, State and the Treasury in one search.
//!
//! data.trade.gov: `GET /consolidated_screening_list/v1/search` with
//! `name`, `fuzzy_name`, `sources`, `types`, `countries`, `address`,
//! `city`, `state`, `postal_code`, `full_address`, `size` (at most 50) and
//! `offset` (at most 1,000), answering `{total, sources, results}`; and
//! `GET /consolidated_screening_list/v1/sources`, the lists it consolidates
//! (`fixtures/ita/CURRENT_API.md`). The seeds' api.trade.gov served it as
//! `/v2/consolidated_screening_list/search`, whose parameters the API's own
//! source establishes (GovWizely/webservices,
//! `app/controllers/api/v2/screening_lists/consolidated_controller.rb` and
//! `app/queries/screening_list/query.rb`): `name`, `fuzzy_name`, `sources`,
//! one `type`, `countries` (matching addresses, ids, nationalities and
//! citizenships) and `address`; it had no city, state, postal code or full
//! address filters and no sources endpoint.
//!
//! A fuzzy name search scores each match by how few edits separate the
//! name from the entry's name or one of its alternative names (100: the
//! same; 95: the same words; down to 75: two edits per word): a lead for a
//! person to check against the official list, never a decision.

use serde::Deserialize;

use super::model::{country_code, Identifiable};
use super::window::Window;

/// The screening list's paging caps: `size` at most 50, `offset` at most
/// 1,000 (data.trade.gov). The seed-era API's were the other endpoints'.
pub const CURRENT_WINDOW: Window = Window {
    page: 50,
    max_offset: Some(1000),
};

/// An address of a listed party.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreeningAddress {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO alpha-2 (or, in some lists, a name).
    #[serde(default)]
    pub country: Option<String>,
}

/// An identity document or registration of a listed party.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreeningId {
    /// "Passport", "Tax ID No.", "Registration ID"...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
    /// The issuing country, ISO alpha-2 (or a name).
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub issue_date: Option<String>,
    #[serde(default)]
    pub expiration_date: Option<String>,
}

/// A list that keeps `null` as empty.
fn list<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Text that some lists write as a number (entity numbers).
fn text_or_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(
        Option::<Wire>::deserialize(deserializer)?.map(|wire| match wire {
            Wire::Number(number) => number.to_string(),
            Wire::Text(text) => text,
        }),
    )
}

/// One entry of the consolidated screening list: a person, entity, vessel
/// or aircraft on one of the source lists.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ScreeningEntry {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub alt_names: Vec<String>,
    /// "Individual", "Entity", "Vessel", "Aircraft".
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The source list's full name ("Entity List (EL) - Bureau of Industry
    /// and Security").
    #[serde(default)]
    pub source: Option<String>,
    /// The entry's country, where the list gives one.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub entity_number: Option<String>,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub programs: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub addresses: Vec<ScreeningAddress>,
    #[serde(default, deserialize_with = "list")]
    pub ids: Vec<ScreeningId>,
    #[serde(default)]
    pub source_information_url: Option<String>,
    #[serde(default)]
    pub source_list_url: Option<String>,
    /// The match score of a fuzzy name search.
    #[serde(default)]
    pub score: Option<f64>,
    /// The seed-era API's further fields (OFAC's and BIS's lists).
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub nationalities: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub citizenships: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub dates_of_birth: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub places_of_birth: Vec<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub federal_register_notice: Option<String>,
    #[serde(default)]
    pub license_requirement: Option<String>,
    #[serde(default)]
    pub license_policy: Option<String>,
}

impl Identifiable for ScreeningEntry {
    const IDENTIFYING: &'static [&'static str] = &["id", "name", "entity_number"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.name.is_some() || self.entity_number.is_some()
    }
}

impl ScreeningEntry {
    /// The ISO alpha-2 codes of the entry's addresses and ids, its own
    /// country, nationalities and citizenships: what the `countries`
    /// filter matches. In order of first appearance, without repeats.
    pub fn iso2_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        let named = self
            .country
            .iter()
            .chain(self.addresses.iter().filter_map(|a| a.country.as_ref()))
            .chain(self.ids.iter().filter_map(|id| id.country.as_ref()))
            .chain(&self.nationalities)
            .chain(&self.citizenships);
        for code in named.filter_map(|text| country_code(text)) {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }

    /// The source list's code: the parenthesised abbreviation in its full
    /// name ("Entity List (EL) - ..." is `EL`), or the name when it has none.
    pub fn source_code(&self) -> Option<String> {
        let source = self.source.as_deref()?;
        source_code(source).or_else(|| Some(source.trim().to_owned()))
    }
}

/// The code in a list's full name: "Specially Designated Nationals (SDN) -
/// Treasury Department" is `SDN`.
pub fn source_code(name: &str) -> Option<String> {
    let open = name.find('(')?;
    let close = open + name[open..].find(')')?;
    let code = name[open + 1..close].trim();
    (!code.is_empty() && code.len() <= 12).then(|| code.to_owned())
}

/// One of the lists the screening list consolidates, as
/// `/consolidated_screening_list/v1/sources` names it. No answer of that
/// endpoint is recorded: a source arrives as a string (its name or code)
/// or an object, whose name and code are read from the keys a list would
/// carry them under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningSource {
    /// The code the `sources` filter takes ("SDN", "EL").
    pub code: String,
    /// The list's full name, when the answer gives it.
    pub name: Option<String>,
    /// When the list was last updated or imported, when given.
    pub last_updated: Option<String>,
}

impl<'de> Deserialize<'de> for ScreeningSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Record {
                #[serde(default)]
                code: Option<String>,
                #[serde(default, alias = "value", alias = "name", alias = "full_name")]
                source: Option<String>,
                #[serde(default, alias = "source_last_updated", alias = "last_imported")]
                last_updated: Option<String>,
            },
        }
        match Wire::deserialize(deserializer)? {
            Wire::Text(text) => Ok(Self {
                code: source_code(&text).unwrap_or_else(|| text.trim().to_owned()),
                name: (text.trim().len() > 12).then(|| text.trim().to_owned()),
                last_updated: None,
            }),
            Wire::Record {
                code,
                source,
                last_updated,
            } => {
                let code = code
                    .or_else(|| source.as_deref().and_then(source_code))
                    .or_else(|| source.clone())
                    .ok_or_else(|| {
                        serde::de::Error::custom("a source with neither code nor name")
                    })?;
                Ok(Self {
                    code,
                    name: source,
                    last_updated,
                })
            }
        }
    }
}

/// The sources endpoint's answer: a list, or an object holding it under
/// `sources` or `results`.
pub fn decode_sources(body: &[u8]) -> Result<Vec<ScreeningSource>, crate::error::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        List(Vec<ScreeningSource>),
        Wrapped {
            #[serde(alias = "results")]
            sources: Vec<ScreeningSource>,
        },
    }
    let wire: Wire = crate::sources::http::decode(crate::sources::Source::Ita, body)?;
    Ok(match wire {
        Wire::List(list) | Wire::Wrapped { sources: list } => list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_from_full_names_and_countries_from_every_place() {
        assert_eq!(
            source_code("Specially Designated Nationals (SDN) - Treasury Department").as_deref(),
            Some("SDN")
        );
        let entry: ScreeningEntry = serde_json::from_str(
            r#"{"name": "A", "addresses": [{"country": "IR"}, {"country": "AE"}], "ids": [{"type": "Passport", "country": "IR"}], "alt_names": null, "entity_number": 1234}"#,
        )
        .unwrap();
        assert_eq!(entry.iso2_codes(), ["IR", "AE"]);
        assert_eq!(entry.entity_number.as_deref(), Some("1234"));
        let sources =
            decode_sources(br#"["SDN", {"source": "Entity List (EL) - Bureau of Industry and Security"}, {"code": "DPL"}]"#)
                .unwrap();
        let codes: Vec<&str> = sources.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["SDN", "EL", "DPL"]);
    }
}
