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

/// A threshold as a number, when the text is one, read strictly: "800",
/// "1,500" and "1,500.50" (thousands separated by commas), "150,00",
/// "150,5" and "1.500,50" (a decimal comma), "USD 50" (exactly one number
/// beside a currency code). Anything else, ambiguous or not a number, is
/// null: never a silent factor of 100.
pub fn as_number(text: Option<&str>) -> Option<f64> {
    let text = text?.trim();
    let mut numbers = Vec::new();
    let mut words = 0;
    for token in text.split_whitespace() {
        if token.chars().all(|c| c.is_ascii_alphabetic()) {
            // A currency code ("USD", "eur"), said once.
            if token.len() != 3 {
                return None;
            }
            words += 1;
        } else {
            numbers.push(token);
        }
    }
    if numbers.len() != 1 || words > 1 {
        return None;
    }
    number(numbers[0]).filter(|n| n.is_finite())
}

/// Digits in groups of three after the first group of one to three.
fn grouped(text: &str, separator: char) -> bool {
    let mut groups = text.split(separator);
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && groups.all(|group| group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit()))
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// One number in either notation.
fn number(text: &str) -> Option<f64> {
    let (commas, dots) = (text.matches(',').count(), text.matches('.').count());
    let plain = match (commas, dots) {
        (0, 0) if digits(text) => text.to_owned(),
        (0, 1) => {
            let (whole, fraction) = text.split_once('.')?;
            (digits(whole) && digits(fraction)).then(|| text.to_owned())?
        }
        // "1.500.000": dots between thousands.
        (0, _) if grouped(text, '.') => text.replace('.', ""),
        (1, 0) => {
            let (whole, fraction) = text.split_once(',')?;
            if !digits(whole) || !digits(fraction) {
                return None;
            }
            match fraction.len() {
                // "150,00", "150,5": a decimal comma.
                1 | 2 => format!("{whole}.{fraction}"),
                // "1,500": thousands.
                3 if whole.len() <= 3 => format!("{whole}{fraction}"),
                _ => return None,
            }
        }
        // "1,500,000".
        (_, 0) if grouped(text, ',') => text.replace(',', ""),
        (_, 1) if text.find(',')? < text.find('.')? => {
            // "1,500.50": commas between thousands, a decimal point.
            let (whole, fraction) = text.split_once('.')?;
            (grouped(whole, ',') && digits(fraction))
                .then(|| format!("{}.{fraction}", whole.replace(',', "")))?
        }
        (1, _) if text.find('.')? < text.find(',')? => {
            // "1.500,50": dots between thousands, a decimal comma.
            let (whole, fraction) = text.split_once(',')?;
            (grouped(whole, '.') && digits(fraction))
                .then(|| format!("{}.{fraction}", whole.replace('.', "")))?
        }
        _ => return None,
    };
    plain.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::as_number;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_read_strictly() {
        for (text, expected) in [
            ("800", Some(800.0)),
            ("800.5", Some(800.5)),
            ("1,500", Some(1500.0)),
            ("1,500.50", Some(1500.5)),
            ("1,500,000", Some(1_500_000.0)),
            ("150,00", Some(150.0)),
            ("150,5", Some(150.5)),
            ("1.500,50", Some(1500.5)),
            ("USD 50", Some(50.0)),
            ("50 EUR", Some(50.0)),
            ("USD 50 or 100", None),
            ("50 USD EUR", None),
            ("1,5000", None),
            ("12,34,567", None),
            ("about 50", None),
            ("", None),
            ("none", None),
        ] {
            assert_eq!(as_number(Some(text)), expected, "{text}");
        }
    }

    fn with_thousands(whole: u64, separator: char) -> String {
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    proptest! {
        /// Any amount, in either notation, with or without thousands
        /// separators and a currency code, reads as itself.
        #[test]
        fn either_notation_reads_as_the_amount(
            whole in 0u64..100_000_000,
            cents in 0u64..100,
            european in any::<bool>(),
            separated in any::<bool>(),
            currency in any::<bool>(),
        ) {
            let (thousands, decimal) = if european { ('.', ',') } else { (',', '.') };
            let whole_text = if separated { with_thousands(whole, thousands) } else { whole.to_string() };
            let mut text = format!("{whole_text}{decimal}{cents:02}");
            if currency {
                text = format!("USD {text}");
            }
            let expected = whole as f64 + cents as f64 / 100.0;
            let read = as_number(Some(&text));
            prop_assert!(read.is_some_and(|n| (n - expected).abs() < 1e-6), "{} read as {:?}", text, read);
        }

        /// Whole amounts with thousands separated by commas are never read
        /// with a decimal comma.
        #[test]
        fn thousands_are_never_decimals(whole in 1_000u64..100_000_000) {
            let text = with_thousands(whole, ',');
            prop_assert_eq!(as_number(Some(&text)), Some(whole as f64));
        }
    }
}
