//! De minimis thresholds: what a shipment to a country may be worth before
//! duties (`de_minimis_value`) and taxes (`vat_amount`) apply.
//!
//! data.trade.gov only (`fixtures/ita/CURRENT_API.md`): `GET
//! /de_minimis/v1/search` with `country_codes` (ISO alpha-2, a comma
//! list), `size`, `offset`; `GET /de_minimis/v1/list` with `size`,
//! `offset`. The seeds' API had no such data set. One row per country, so
//! a page of countries is one request.

use serde::Deserialize;

use super::model::{country_code, Identifiable};

/// A value ITA may write as a number or as numeric text.
fn amount<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(
        Option::<Wire>::deserialize(deserializer)?.map(|wire| match wire {
            Wire::Number(number) => number.to_string(),
            Wire::Text(text) => text.trim().to_owned(),
        }),
    )
}

/// One country's de minimis thresholds.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DeMinimis {
    #[serde(default, deserialize_with = "amount")]
    pub id: Option<String>,
    #[serde(default)]
    pub country_name: Option<String>,
    /// ISO alpha-2.
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub de_minimis_currency: Option<String>,
    /// As ITA writes it (a number, sometimes as text).
    #[serde(default, deserialize_with = "amount")]
    pub de_minimis_value: Option<String>,
    #[serde(default)]
    pub vat_currency: Option<String>,
    #[serde(default, deserialize_with = "amount")]
    pub vat_amount: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl Identifiable for DeMinimis {
    const IDENTIFYING: &'static [&'static str] = &["id", "country_code", "country_name"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.country_code.is_some() || self.country_name.is_some()
    }
}

impl DeMinimis {
    /// The country, ISO alpha-2: its code, else its name resolved.
    pub fn iso2(&self) -> Option<String> {
        self.country_code
            .as_deref()
            .or(self.country_name.as_deref())
            .and_then(country_code)
    }
}

/// A threshold as a number, when the text is one ("800", "1,000.50").
pub fn as_number(text: Option<&str>) -> Option<f64> {
    text.map(|t| t.replace(',', ""))
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite())
}
