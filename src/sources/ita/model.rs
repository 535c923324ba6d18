//! ITA records: trade leads, office locations and trade events, and the
//! search envelope `{total, offset, sources_used, results, aggregations}`.
//!
//! Fields vary by the source behind each record, as the recorded results show:
//! `industry` is a string (Australia, FBO, State) or a list (Canada, UK);
//! contract values are strings; Canada's leads have no `id`; event `cost` is a
//! number, a string or null; some offices have a null `country`. Every shape
//! decodes into one typed record; unknown members are ignored.

use serde::Deserialize;

use crate::error::Error;
use crate::sources::http::decode;
use crate::sources::Source;

/// The most records one ITA answer may hold: ten times the largest page a
/// request asks for (100); more is refused as it is read.
pub const MAX_RECORDS: usize = 1000;

/// The search envelope every ITA endpoint answers with: the v2 API's
/// `{total, offset, sources_used, search_performed_at, results,
/// aggregations}` and the current API's `{total, count, offset,
/// next_offset, results, aggregations}`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct SearchResponse<T> {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
    /// Current API: where the next page starts (null on the last).
    #[serde(default)]
    pub next_offset: Option<u64>,
    /// v2 `sources_used`; the current screening list's `sources`.
    #[serde(default, alias = "sources", deserialize_with = "sources_used")]
    pub sources_used: Vec<SourceUsed>,
    /// At most [`MAX_RECORDS`] (a page asks for 100 at most).
    #[serde(
        deserialize_with = "crate::sources::http::at_most::<_, _, MAX_RECORDS>",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub results: Vec<T>,
    /// Counts by facet (country, source, industry, state, event type).
    #[serde(default, deserialize_with = "aggregations")]
    pub aggregations: Vec<Aggregation>,
}

/// One facet of an answer: how many matches have each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregation {
    /// The facet as ITA names it ("countries", "sources", "industries"...).
    pub facet: String,
    pub buckets: Vec<Bucket>,
}

/// One value of a facet and its count.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The current API's `value`, the v2 API's `key`.
    #[serde(alias = "key")]
    pub value: String,
    /// The current API's `count`, the v2 API's `doc_count`.
    #[serde(alias = "doc_count")]
    pub count: u64,
}

/// `aggregations`: an object of facets, each a list of buckets (absent or
/// null: none). Facets ordered by name, for stable answers.
fn aggregations<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Aggregation>, D::Error> {
    Ok(Option::<Facets>::deserialize(deserializer)?
        .map(|facets| facets.0)
        .unwrap_or_default())
}

/// Facets one answer may hold (ITA's have a handful), and values one facet
/// may count (countries are the most, about 250): more is refused as it is
/// read (issue 22 attack: two million buckets held 2 GB).
const MAX_FACETS: usize = 100;
const MAX_BUCKETS: usize = 5_000;

/// An answer's facets, in name order, each with its counts.
struct Facets(Vec<Aggregation>);

#[derive(Deserialize)]
struct Buckets(
    #[serde(deserialize_with = "crate::sources::http::at_most::<_, _, MAX_BUCKETS>")] Vec<Bucket>,
);

impl<'de> Deserialize<'de> for Facets {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Facets;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "at most {MAX_FACETS} facets")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Facets, A::Error> {
                let mut facets: Vec<Aggregation> = Vec::new();
                while let Some(facet) = map.next_key::<String>()? {
                    if facets.len() == MAX_FACETS {
                        return Err(serde::de::Error::custom(format_args!(
                            "more than {MAX_FACETS} facets"
                        )));
                    }
                    let buckets: Option<Buckets> = map.next_value()?;
                    facets.push(Aggregation {
                        facet,
                        buckets: buckets.map(|buckets| buckets.0).unwrap_or_default(),
                    });
                }
                facets.sort_by(|a, b| a.facet.cmp(&b.facet));
                facets.dedup_by(|a, b| a.facet == b.facet);
                Ok(Facets(facets))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// `sources_used` objects, or the screening list's `sources`, which may be
/// names; null is none.
fn sources_used<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SourceUsed>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Name(String),
        Used(SourceUsed),
    }
    Ok(Option::<Vec<Wire>>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_iter()
        .map(|wire| match wire {
            Wire::Name(source) => SourceUsed {
                source,
                source_last_updated: None,
                last_imported: None,
            },
            Wire::Used(used) => used,
        })
        .collect())
}

/// The current API's `/count` answer: `{total, aggregations}`.
#[derive(Deserialize)]
struct CountResponse {
    #[serde(default)]
    total: Option<u64>,
    #[serde(default, deserialize_with = "aggregations")]
    aggregations: Vec<Aggregation>,
}

/// Decodes a `/count` answer into its total and facets.
pub fn decode_count(body: &[u8]) -> Result<(Option<u64>, Vec<Aggregation>), Error> {
    let count: CountResponse = decode(Source::Ita, body)?;
    if count.total.is_none() && count.aggregations.is_empty() {
        return Err(Error::UpstreamBadResponse {
            upstream: Source::Ita,
            path: "total".into(),
            detail: "a count answer with neither total nor aggregations".into(),
        });
    }
    Ok((count.total, count.aggregations))
}

/// A data source behind an answer and when it was last refreshed.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SourceUsed {
    pub source: String,
    #[serde(default)]
    pub source_last_updated: Option<String>,
    #[serde(default)]
    pub last_imported: Option<String>,
}

/// A record kind's identifying fields: a row with none of them is not a
/// sparse record but a changed shape (its fields were renamed), and must
/// not pass as a record that matches nothing.
pub trait Identifiable {
    /// The identifying fields, by their upstream names.
    const IDENTIFYING: &'static [&'static str];
    /// Whether any identifying field is present.
    fn identifiable(&self) -> bool;
}

/// Decodes an ITA search answer; a row without any identifying field is
/// `UPSTREAM_BAD_RESPONSE` at its path.
pub fn decode_search<T: serde::de::DeserializeOwned + Identifiable>(
    body: &[u8],
) -> Result<SearchResponse<T>, Error> {
    let response: SearchResponse<T> = decode(Source::Ita, body)?;
    if let Some(index) = response.results.iter().position(|row| !row.identifiable()) {
        return Err(Error::UpstreamBadResponse {
            upstream: Source::Ita,
            path: format!("results[{index}]"),
            detail: format!(
                "the record has none of {}: its fields changed",
                T::IDENTIFYING.join(", ")
            ),
        });
    }
    Ok(response)
}

impl Identifiable for TradeLead {
    const IDENTIFYING: &'static [&'static str] = &["id", "title", "description"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.title.is_some() || self.description.is_some()
    }
}

impl Identifiable for OfficeLocation {
    const IDENTIFYING: &'static [&'static str] = &["id", "post", "office_name"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.post.is_some() || self.office_name.is_some()
    }
}

impl Identifiable for TradeEvent {
    const IDENTIFYING: &'static [&'static str] = &["id", "event_name"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.event_name.is_some()
    }
}

/// A string, or a list of strings: ITA's `industry`, `categories`, `tags`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(text) if text.trim().is_empty() => Vec::new(),
            Self::One(text) => vec![text],
            Self::Many(list) => list,
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<OneOrMany>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_vec())
}

/// A value ITA writes as a number or a string (contract values, costs,
/// project sizes); kept as text so nothing is lost.
fn number_or_text<'de, D: serde::Deserializer<'de>>(
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

/// A trade lead: a procurement opportunity abroad.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct TradeLead {
    /// Absent for Canada's leads.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The feed the lead came from ("CANADA", "UK", "STATE"...).
    #[serde(default)]
    pub source: Option<String>,
    /// ISO alpha-2 (v2 API).
    #[serde(default)]
    pub country: Option<String>,
    /// ISO alpha-2 (current API, which has no `country`).
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub country_name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub industry: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub ita_industries: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub categories: Vec<String>,
    /// v2 `publish_date`, current `published_date`.
    #[serde(default, alias = "published_date")]
    pub publish_date: Option<String>,
    #[serde(default)]
    pub publish_date_amended: Option<String>,
    /// Current API: the tender and contract periods.
    #[serde(default)]
    pub tender_start_date: Option<String>,
    #[serde(default)]
    pub tender_end_date: Option<String>,
    #[serde(default)]
    pub contract_start_date: Option<String>,
    #[serde(default)]
    pub contract_end_date: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    pub reference_number: Option<String>,
    #[serde(default)]
    pub contract_number: Option<String>,
    #[serde(default)]
    pub project_number: Option<String>,
    #[serde(default)]
    pub notice_type: Option<String>,
    #[serde(default)]
    pub procurement_organization: Option<String>,
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub specific_location: Option<String>,
    #[serde(default)]
    pub funding_source: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub contract_value: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub min_contract_value: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub max_contract_value: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub project_size: Option<String>,
}

impl TradeLead {
    /// The lead's country, ISO alpha-2 upper case, in either API.
    pub fn iso2(&self) -> Option<String> {
        self.country_code
            .as_deref()
            .or(self.country.as_deref())
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(str::to_ascii_uppercase)
    }

    /// Every URL of the lead (`url` and `urls`).
    pub fn all_urls(&self) -> Vec<String> {
        self.url
            .iter()
            .chain(self.urls.iter().flatten())
            .filter(|url| !url.trim().is_empty())
            .cloned()
            .collect()
    }
}

/// An ITA office: a domestic export assistance center or a post abroad.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct OfficeLocation {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub office_name: Option<String>,
    /// v2: ISO alpha-2, null for some posts; current: the country's name.
    #[serde(default)]
    pub country: Option<String>,
    /// Current API: ISO alpha-2.
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub address: Vec<String>,
    /// Current API: the APO/FPO address lines.
    #[serde(default, deserialize_with = "one_or_many")]
    pub apo_address: Vec<String>,
    #[serde(default)]
    pub website_url: Option<String>,
    /// Current API: the ZIP codes a domestic office serves.
    #[serde(default, deserialize_with = "one_or_many")]
    pub assigned_zip_codes: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub fax: Option<String>,
    #[serde(default)]
    pub mail_instructions: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// "D" domestic, "F" foreign (international).
    #[serde(default)]
    pub post_type: Option<String>,
}

/// Where an event takes place.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    /// v2 `venue`, current `name`.
    #[serde(default, alias = "name")]
    pub venue: Option<String>,
    /// v2 `address`, current `street`.
    #[serde(default, alias = "street")]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// ISO alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub country_name: Option<String>,
}

/// A contact person of an event.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Current API: the whole name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub person_title: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A trade event: a conference, mission, webinar or show.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct TradeEvent {
    #[serde(default)]
    pub id: Option<String>,
    /// v2 `event_name`, current `name`.
    #[serde(default, alias = "name")]
    pub event_name: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// A number, text ("Free", "$150") or null, as text.
    #[serde(default, deserialize_with = "number_or_text")]
    pub cost: Option<String>,
    #[serde(default)]
    pub cost_currency: Option<String>,
    /// v2 `registration_link`, current `registration_url`.
    #[serde(default, alias = "registration_url")]
    pub registration_link: Option<String>,
    #[serde(default)]
    pub registration_title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub industries: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub ita_industries: Vec<String>,
    #[serde(default)]
    pub venues: Vec<Venue>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// USTDA events name one contact in top-level fields.
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl TradeEvent {
    /// The event's contacts, including one named in top-level fields.
    pub fn all_contacts(&self) -> Vec<Contact> {
        let mut contacts = self.contacts.clone();
        if self.first_name.is_some()
            || self.last_name.is_some()
            || self.email.is_some()
            || self.phone.is_some()
        {
            contacts.push(Contact {
                name: None,
                first_name: self.first_name.clone(),
                last_name: self.last_name.clone(),
                person_title: None,
                post: None,
                email: self.email.clone(),
                phone: self.phone.clone(),
            });
        }
        contacts
    }

    /// ISO alpha-2 codes of the event's venues.
    pub fn countries(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .venues
            .iter()
            .filter_map(|venue| venue.country.as_deref().and_then(country_code))
            .collect();
        codes.dedup();
        codes
    }
}

/// A country as ITA writes it, as ISO alpha-2: a code (either case) or a
/// name ("Mexico"), which the crosswalk resolves.
pub fn country_code(text: &str) -> Option<String> {
    let text = text.trim();
    match text.len() {
        0 => None,
        2 => Some(text.to_ascii_uppercase()),
        _ => crate::countries::lookup(text).map(|country| country.iso2.to_owned()),
    }
}

/// Text without HTML: tags dropped, common entities decoded, whitespace
/// collapsed. For the plain-text form of lead descriptions.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&rsquo;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Facets and their counts are bounded as they are read: an answer with
    /// more facets, or a facet with more values, than ITA has is refused
    /// before it takes memory; a usual one reads in name order.
    #[test]
    fn facets_and_their_counts_are_bounded() {
        let answer = |facets: usize, buckets: usize| {
            let bucket: Vec<String> = (0..buckets)
                .map(|n| format!(r#"{{"key": "k{n}", "doc_count": 1}}"#))
                .collect();
            let facets: Vec<String> = (0..facets)
                .map(|n| format!(r#""f{n}": [{}]"#, bucket.join(",")))
                .collect();
            format!(
                r#"{{"total": 1, "results": [{{"id": "1"}}], "aggregations": {{{}}}}}"#,
                facets.join(",")
            )
        };
        let read = decode_search::<TradeLead>(answer(3, 2).as_bytes()).unwrap();
        let names: Vec<&str> = read.aggregations.iter().map(|a| a.facet.as_str()).collect();
        assert_eq!(names, ["f0", "f1", "f2"]);
        assert_eq!(read.aggregations[0].buckets.len(), 2);
        assert!(decode_search::<TradeLead>(answer(MAX_FACETS + 1, 0).as_bytes()).is_err());
        assert!(decode_search::<TradeLead>(answer(1, MAX_BUCKETS + 1).as_bytes()).is_err());
        assert!(decode_search::<TradeLead>(answer(MAX_FACETS, 1).as_bytes()).is_ok());
    }

    #[test]
    fn plain_text_drops_tags_and_entities() {
        assert_eq!(
            plain_text("<p>Steel&nbsp;&amp; iron</p>\r\n<br/>bids"),
            "Steel & iron bids"
        );
    }

    #[test]
    fn industries_as_string_or_list_and_values_as_text() {
        let lead: TradeLead = serde_json::from_str(
            r#"{"industry": "Energy", "contract_value": 5000, "country": "AU"}"#,
        )
        .unwrap();
        assert_eq!(lead.industry, ["Energy"]);
        assert_eq!(lead.contract_value.as_deref(), Some("5000"));
        let lead: TradeLead =
            serde_json::from_str(r#"{"industry": ["A", "B"], "urls": null}"#).unwrap();
        assert_eq!(lead.industry, ["A", "B"]);
        assert!(lead.id.is_none());
    }
}
