//! The four other data sets of seed 000, served only by the seed-era API
//! (`fixtures/ita/OTHER_DATASETS.md`): ITA Programs for Exporters, the
//! Market Research Library, Trade Information Articles and the
//! Environmental Solutions Toolkit. data.trade.gov serves none of them; on
//! the current API their searches fail with `UPSTREAM_DATASET_RETIRED`
//! ([`retirement`]).
//!
//! Each record decodes every shape the data set had: the programs file's
//! camelCase keys and the documented API names; MRL's `industries` as a list
//! or, in 2015, `{original, mapped}`, its null `countries` (v1) and the 2013
//! static metadata (`country` names, `URL`); trade articles v1 (tags, a
//! boolean `evergreen`) and v2 (ISO2 `countries`, `evergreen` "0"/"1"/"");
//! envirotech ids as a list or, on links, a single integer.

use serde::Deserialize;

use super::client::Endpoint;
use super::model::Identifiable;
use crate::error::Retirement;

/// Why a data set is not on the current API, for its typed error.
pub fn retirement(endpoint: Endpoint) -> Option<Retirement> {
    Some(match endpoint {
        Endpoint::ExportPrograms => Retirement {
            dataset: "ITA Programs for Exporters",
            since: "after 2015 (last published as a static file on 2015-07-15; never in the current API)",
            successor: "no current API serves it",
        },
        Endpoint::MarketResearch => Retirement {
            dataset: "Market Research Library",
            since: "on 2018-10-01",
            successor: "its successors are ITA's Market Intelligence and Country Commercial Guides",
        },
        Endpoint::TradeArticles => Retirement {
            dataset: "Trade Information Articles",
            since: "on 2016-12-08",
            successor: "no current API serves them",
        },
        Endpoint::Envirotech(_) => Retirement {
            dataset: "Environmental Solutions Toolkit",
            since: "on 2017-01-12",
            successor: "no current API serves it",
        },
        _ => return None,
    })
}

/// A comma-separated string ("Learn, Ready") or a list, as trimmed values.
fn comma_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Option::<Wire>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Wire::Text(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Wire::List(list)) => list,
    })
}

/// A list that may be null.
fn list_or_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// An ITA program for exporters.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ExportProgram {
    /// The documented API's id; the published file has none.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, alias = "programTitle")]
    pub program_title: Option<String>,
    #[serde(default, rename = "abstract")]
    pub summary: Option<String>,
    /// Learn, Ready, Exporting, Expand (the file's `exportPhrase`).
    #[serde(default, alias = "exportPhrase", deserialize_with = "comma_list")]
    pub export_phase: Vec<String>,
    #[serde(default, deserialize_with = "comma_list")]
    pub topics: Vec<String>,
    #[serde(default, alias = "publicPOCEmail")]
    pub email: Option<String>,
    #[serde(default, alias = "contactName")]
    pub contact_name: Option<String>,
    #[serde(default, alias = "officeName")]
    pub office_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
}

impl Identifiable for ExportProgram {
    const IDENTIFYING: &'static [&'static str] = &["id", "program_title", "programTitle"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.program_title.is_some()
    }
}

/// MRL's `industries`: a list, or in 2015 `{original, mapped}`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(untagged)]
pub enum MrlIndustries {
    #[default]
    None,
    List(Vec<String>),
    Split {
        #[serde(default)]
        original: Vec<String>,
        #[serde(default)]
        mapped: Vec<String>,
    },
}

/// A Market Research Library report.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct MarketResearch {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// ISO alpha-2, sorted; null in v1 when none.
    #[serde(default, deserialize_with = "list_or_null")]
    pub countries: Vec<String>,
    /// The 2013 static metadata: country names, pipe-joined.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub expiration_date: Option<String>,
    #[serde(default)]
    pub industries: Option<MrlIndustries>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub ita_industries: Vec<String>,
    /// Market Research Report, Best Market Research, Country Commercial Guide.
    #[serde(default)]
    pub report_type: Option<String>,
    #[serde(default, alias = "URL")]
    pub url: Option<String>,
}

impl MarketResearch {
    /// The report's countries as ISO alpha-2 (the 2013 file's names resolved).
    pub fn iso2_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .countries
            .iter()
            .map(|code| code.trim().to_ascii_uppercase())
            .collect();
        for name in self.country.iter().flat_map(|names| names.split('|')) {
            if let Some(code) = super::model::country_code(name) {
                codes.push(code);
            }
        }
        codes.sort();
        codes.dedup();
        codes
    }

    /// The source's industry names.
    pub fn source_industries(&self) -> Vec<String> {
        match &self.industries {
            Some(MrlIndustries::List(list)) => list.clone(),
            Some(MrlIndustries::Split { original, .. }) => original.clone(),
            _ => Vec::new(),
        }
    }

    /// ITA's taxonomy names (2015: `industries.mapped`).
    pub fn taxonomy_industries(&self) -> Vec<String> {
        match &self.industries {
            Some(MrlIndustries::Split { mapped, .. }) if self.ita_industries.is_empty() => {
                mapped.clone()
            }
            _ => self.ita_industries.clone(),
        }
    }
}

impl Identifiable for MarketResearch {
    const IDENTIFYING: &'static [&'static str] = &["id", "title", "url", "URL"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.title.is_some() || self.url.is_some()
    }
}

/// `evergreen`: a boolean (v1) or "0"/"1"/"" (v2).
fn evergreen<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Flag(bool),
        Text(String),
    }
    Ok(match Option::<Wire>::deserialize(deserializer)? {
        Some(Wire::Flag(flag)) => Some(flag),
        Some(Wire::Text(text)) => match text.trim() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        None => None,
    })
}

/// A trade information article: v2 (2015-2016) fields, and v1's tags where
/// the record is a v1 one.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct TradeArticle {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub short_title: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// HTML-stripped text.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
    /// v2 `release_date`, v1 `pub_date`.
    #[serde(default, alias = "pub_date")]
    pub release_date: Option<String>,
    /// v1 `update_date`.
    #[serde(default)]
    pub update_date: Option<String>,
    #[serde(default)]
    pub expiration_date: Option<String>,
    #[serde(default, deserialize_with = "evergreen")]
    pub evergreen: Option<bool>,
    /// v2: one string; v1: a list of tags.
    #[serde(default, deserialize_with = "comma_list")]
    pub keyword: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub source_agencies: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub source_business_units: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub source_offices: Vec<String>,
    /// v2 `export_phases`, v1 `export_phase`.
    #[serde(default, alias = "export_phase", deserialize_with = "list_or_null")]
    pub export_phases: Vec<String>,
    /// v2 `industries`, v1 `industry`.
    #[serde(default, alias = "industry", deserialize_with = "list_or_null")]
    pub industries: Vec<String>,
    /// v2: ISO alpha-2; v1's `country` tags (never seen filled).
    #[serde(default, alias = "country", deserialize_with = "list_or_null")]
    pub countries: Vec<String>,
    #[serde(default, alias = "topic", deserialize_with = "list_or_null")]
    pub topics: Vec<String>,
    #[serde(default, alias = "subtopic", deserialize_with = "list_or_null")]
    pub sub_topics: Vec<String>,
    #[serde(default, alias = "geo_region", deserialize_with = "list_or_null")]
    pub geo_regions: Vec<String>,
    #[serde(default, alias = "geo_subregion", deserialize_with = "list_or_null")]
    pub geo_subregions: Vec<String>,
    #[serde(default, alias = "trade_region", deserialize_with = "list_or_null")]
    pub trade_regions: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub trade_programs: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub trade_initiatives: Vec<String>,
    /// v1 only.
    #[serde(default, deserialize_with = "list_or_null")]
    pub content_type: Vec<String>,
    #[serde(default)]
    pub seo_metadata_title: Option<String>,
    #[serde(default)]
    pub seo_metadata_description: Option<String>,
    #[serde(default)]
    pub seo_metadata_keyword: Option<String>,
    #[serde(default)]
    pub trade_url: Option<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub file_url: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub image_url: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub url_html_source: Vec<String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub url_xml_source: Vec<String>,
}

impl TradeArticle {
    /// The article's countries as ISO alpha-2 (names resolved).
    pub fn iso2_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .countries
            .iter()
            .filter_map(|country| super::model::country_code(country))
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }
}

impl Identifiable for TradeArticle {
    const IDENTIFYING: &'static [&'static str] = &["id", "title"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.title.is_some()
    }
}

/// The seven envirotech endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EnvirotechKind {
    Issues,
    Solutions,
    Regulations,
    Providers,
    AnalysisLinks,
    BackgroundLinks,
    ProviderSolutions,
}

impl EnvirotechKind {
    pub fn slug(self) -> &'static str {
        match self {
            Self::Issues => "issues",
            Self::Solutions => "solutions",
            Self::Regulations => "regulations",
            Self::Providers => "providers",
            Self::AnalysisLinks => "analysis_links",
            Self::BackgroundLinks => "background_links",
            Self::ProviderSolutions => "provider_solutions",
        }
    }
}

/// Ids as a list, or (links' `issue_ids`) a single integer.
fn ids<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(match Option::<Wire>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Wire::One(id)) => vec![id],
        Some(Wire::Many(ids)) => ids,
    })
}

/// Names or abstracts in the toolkit's five languages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Languages {
    pub english: Option<String>,
    pub chinese: Option<String>,
    pub french: Option<String>,
    pub portuguese: Option<String>,
    pub spanish: Option<String>,
}

/// One envirotech record, of any of the seven endpoints (each has a subset
/// of these fields).
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct EnvirotechRecord {
    pub source_id: Option<u32>,
    #[serde(default)]
    pub name_english: Option<String>,
    #[serde(default)]
    pub name_chinese: Option<String>,
    #[serde(default)]
    pub name_french: Option<String>,
    #[serde(default)]
    pub name_portuguese: Option<String>,
    #[serde(default)]
    pub name_spanish: Option<String>,
    #[serde(default)]
    pub abstract_english: Option<String>,
    #[serde(default)]
    pub abstract_chinese: Option<String>,
    #[serde(default)]
    pub abstract_french: Option<String>,
    #[serde(default)]
    pub abstract_portuguese: Option<String>,
    #[serde(default)]
    pub abstract_spanish: Option<String>,
    #[serde(default)]
    pub source_created_at: Option<String>,
    #[serde(default)]
    pub source_updated_at: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "ids")]
    pub issue_ids: Vec<u32>,
    #[serde(default, deserialize_with = "ids")]
    pub regulation_ids: Vec<u32>,
    #[serde(default, deserialize_with = "ids")]
    pub solution_ids: Vec<u32>,
    /// Provider-solution links.
    #[serde(default)]
    pub provider_id: Option<u32>,
    #[serde(default)]
    pub solution_id: Option<u32>,
}

impl EnvirotechRecord {
    pub fn names(&self) -> Languages {
        Languages {
            english: self.name_english.clone(),
            chinese: self.name_chinese.clone(),
            french: self.name_french.clone(),
            portuguese: self.name_portuguese.clone(),
            spanish: self.name_spanish.clone(),
        }
    }

    pub fn abstracts(&self) -> Languages {
        Languages {
            english: self.abstract_english.clone(),
            chinese: self.abstract_chinese.clone(),
            french: self.abstract_french.clone(),
            portuguese: self.abstract_portuguese.clone(),
            spanish: self.abstract_spanish.clone(),
        }
    }
}

impl Identifiable for EnvirotechRecord {
    const IDENTIFYING: &'static [&'static str] = &["source_id"];
    fn identifiable(&self) -> bool {
        self.source_id.is_some()
    }
}
