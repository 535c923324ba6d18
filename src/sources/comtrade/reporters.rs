//! Comtrade's reporter list: the areas that report trade, and the codes a
//! request's `r` (legacy) or `reporterCode` (v1) takes.
//!
//! Seed 004 points to it from the `r` parameter ("See list of valid
//! reporters (JSON, formatted for select2.js, pass "id" to parameter)"):
//! the legacy site's `Data/cache/reporterAreas.json` (`{"more": false,
//! "results": [{"id": "4", "text": "Afghanistan"}, ...]}`, ids as text, a
//! byte order mark first, and the `all` wildcard among the entries), and
//! the current API's `files/v1/app/reference/Reporters.json` (ids as
//! numbers, with ISO codes, whether the code is a group, and when a former
//! area's entry expired). Both are public files: asked without the key.

use serde::Deserialize;

use super::model::Code;
use crate::countries::ComtradeDialect;
use crate::error::Error;
use crate::sources::http::{at_most, decode, UpstreamRequest};
use crate::sources::Source;

/// The most entries a reporter list is read with: the real lists hold 255
/// (v1) and 257 (legacy); an answer holding more is refused as it is read.
pub const MAX_REPORTERS: usize = 400;

/// One area of the reporter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReporterArea {
    /// The code to pass as `r` or `reporterCode`.
    pub code: u16,
    /// Comtrade's name ("Belgium-Luxembourg (...1998)").
    pub name: String,
    /// ISO 3166 alpha-3 as Comtrade writes it (v1 only).
    pub iso3: Option<String>,
    /// Whether the code stands for a group of areas (v1 only).
    pub is_group: Option<bool>,
    /// The last year a former area's entry covers (v1's
    /// `entryExpiredDate`), `None` for an area that still reports.
    pub last_year: Option<u16>,
}

/// The request for `dialect`'s reporter list (a public file: keyless).
pub fn request(dialect: ComtradeDialect) -> UpstreamRequest {
    let path = match dialect {
        ComtradeDialect::Legacy => "/Data/cache/reporterAreas.json",
        ComtradeDialect::V1 => "/files/v1/app/reference/Reporters.json",
    };
    UpstreamRequest::get(path, Vec::new()).without_credential()
}

/// Decodes either dialect's reporter list. The legacy list's `all` is the
/// wildcard `r` accepts, not an area: it is left out. A changed list is
/// refused with the place that shows it: an id that is neither `all` nor
/// a Comtrade code (digits below 1000, written plainly), a v1
/// `reporterCode` that is not its entry's id, a code listed twice, more
/// than [`MAX_REPORTERS`] areas.
pub fn decode_list(dialect: ComtradeDialect, body: &[u8]) -> Result<Vec<ReporterArea>, Error> {
    // Read with room for the legacy wildcard beside the most areas.
    #[derive(Deserialize)]
    struct List {
        #[serde(deserialize_with = "at_most::<_, _, { MAX_REPORTERS + 1 }>")]
        results: Vec<Entry>,
        /// select2's paging: a reporter file is whole (`false`) or absent.
        #[serde(default)]
        more: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        id: Code,
        text: String,
        #[serde(default)]
        reporter_code: Option<Code>,
        #[serde(default)]
        reporter_code_iso_alpha3: Option<String>,
        #[serde(default)]
        is_group: Option<bool>,
        #[serde(default)]
        entry_expired_date: Option<String>,
    }
    let list: List = decode(Source::Comtrade, body)?;
    let whole = |detail: &str| Error::UpstreamBadResponse {
        upstream: Source::Comtrade,
        path: "results".into(),
        detail: format!("{detail}: the reporter list has changed"),
    };
    if list.more {
        return Err(whole(
            "the list says more entries follow (\"more\": true), which a reporter file never did",
        ));
    }
    let mut areas = Vec::with_capacity(list.results.len());
    let mut wildcard = false;
    for (index, entry) in list.results.into_iter().enumerate() {
        let changed = |field: &str, detail: String| Error::UpstreamBadResponse {
            upstream: Source::Comtrade,
            path: format!("results[{index}].{field}"),
            detail: format!("{detail}: the reporter list has changed"),
        };
        let id = entry.id.into_text();
        // The legacy list's `all`, once; v1's list has no wildcard.
        if id == "all" && dialect == ComtradeDialect::Legacy && !wildcard {
            wildcard = true;
            continue;
        }
        // Written as Comtrade writes its codes: digits, no sign, no
        // leading zero ("004" and "+4" are not how a list names 4).
        let code = id
            .parse::<u16>()
            .ok()
            .filter(|code| *code < 1000 && code.to_string() == id)
            .ok_or_else(|| changed("id", format!("{id:?} is not a Comtrade reporter code")))?;
        if let Some(other) = entry.reporter_code.map(Code::into_text) {
            if other != id {
                return Err(changed(
                    "reporterCode",
                    format!("reporterCode {other:?} is not the entry's id {id:?}"),
                ));
            }
        }
        if areas.iter().any(|area: &ReporterArea| area.code == code) {
            return Err(changed("id", format!("code {code} is listed twice")));
        }
        // Comtrade's own codes where ISO has none: "R4 " (ASEAN, padded),
        // "S19" (Other Asia), "_PM", "ZA1": up to three capitals, digits
        // and underscores.
        let iso3 = entry
            .reporter_code_iso_alpha3
            .map(|iso3| iso3.trim_end_matches(' ').to_owned())
            .filter(|iso3| !iso3.is_empty());
        if let Some(iso3) = &iso3 {
            if iso3.len() > 3
                || !iso3
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(changed(
                    "reporterCodeIsoAlpha3",
                    format!("{iso3:?} is not an ISO code"),
                ));
            }
        }
        let last_year =
            match entry.entry_expired_date.as_deref() {
                None => None,
                Some(date) => Some(expiry_year(date).ok_or_else(|| {
                    changed("entryExpiredDate", format!("{date:?} is not a date"))
                })?),
            };
        areas.push(ReporterArea {
            code,
            name: entry.text,
            iso3,
            is_group: entry.is_group,
            last_year,
        });
    }
    if areas.is_empty() {
        return Err(whole("the list holds no area"));
    }
    if areas.len() > MAX_REPORTERS {
        return Err(Error::UpstreamBadResponse {
            upstream: Source::Comtrade,
            path: "results".into(),
            detail: format!(
                "{} areas, more than the {MAX_REPORTERS} any reporter list holds: the reporter list has changed",
                areas.len()
            ),
        });
    }
    Ok(areas)
}

/// The year of an expiry as v1 writes it, `1990-12-31T00:00:00` (the time
/// optional): a real date, or `None`.
fn expiry_year(date: &str) -> Option<u16> {
    let (day, time) = date.split_once('T').unwrap_or((date, "00:00:00"));
    let mut parts = day.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let number = |text: &str| -> Option<u32> {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    let mut clock = time.split(':');
    let (hours, minutes, seconds) = (clock.next()?, clock.next()?, clock.next()?);
    let in_range =
        |text: &str, most: u32| text.len() == 2 && number(text).is_some_and(|n| n <= most);
    let real = year >= 1900
        && (1..=days).contains(&day)
        && clock.next().is_none()
        && in_range(hours, 23)
        && in_range(minutes, 59)
        && in_range(seconds, 59);
    if real {
        u16::try_from(year).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lists_are_read_without_the_wildcard() {
        let legacy = decode_list(
            ComtradeDialect::Legacy,
            "\u{feff}{\"more\":false,\"results\":[{\"id\":\"all\",\"text\":\"All\"},{\"id\":\"4\",\"text\":\"Afghanistan\"}]}"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            legacy,
            vec![ReporterArea {
                code: 4,
                name: "Afghanistan".into(),
                iso3: None,
                is_group: None,
                last_year: None,
            }]
        );
        let v1 = decode_list(
            ComtradeDialect::V1,
            br#"{"results":[{"id":886,"text":"Arab Rep. of Yemen (...1990)","reporterCodeIsoAlpha3":"YEM","entryExpiredDate":"1990-12-31T00:00:00","isGroup":false}]}"#,
        )
        .unwrap();
        assert_eq!(v1[0].code, 886);
        assert_eq!(v1[0].iso3.as_deref(), Some("YEM"));
        assert_eq!(v1[0].is_group, Some(false));
        assert_eq!(v1[0].last_year, Some(1990));
    }

    #[test]
    fn a_changed_list_is_refused_with_its_place() {
        let error = decode_list(
            ComtradeDialect::Legacy,
            br#"{"results":[{"id":"4","text":"A"},{"id":"EU","text":"B"}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&error, Error::UpstreamBadResponse { path, .. } if path == "results[1].id"),
            "{error:?}"
        );
        let areas = |count: usize| -> Vec<String> {
            (1..=count)
                .map(|code| format!(r#"{{"id":"{code}","text":"A"}}"#))
                .collect()
        };
        let list = |entries: Vec<String>| format!(r#"{{"results":[{}]}}"#, entries.join(","));
        let wildcard = r#"{"id":"all","text":"All"}"#.to_owned();
        // The most areas, with the wildcard beside them, are read.
        let full = [vec![wildcard.clone()], areas(MAX_REPORTERS)].concat();
        assert_eq!(
            decode_list(ComtradeDialect::Legacy, list(full).as_bytes())
                .unwrap()
                .len(),
            MAX_REPORTERS
        );
        for too_many in [
            areas(MAX_REPORTERS + 1),
            [vec![wildcard], areas(MAX_REPORTERS + 1)].concat(),
            areas(MAX_REPORTERS + 5),
        ] {
            assert!(decode_list(ComtradeDialect::Legacy, list(too_many).as_bytes()).is_err());
        }
        for (dialect, entries) in [
            (ComtradeDialect::Legacy, r#"{"id":"004","text":"A"}"#),
            (ComtradeDialect::Legacy, r#"{"id":"+4","text":"A"}"#),
            (
                ComtradeDialect::Legacy,
                r#"{"id":"4","text":"A"},{"id":4,"text":"B"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":4,"reporterCode":842,"text":"A"}"#,
            ),
            // Issue 23's second attack: each was served as given.
            (
                ComtradeDialect::Legacy,
                r#"{"id":"all","text":"All"},{"id":"all","text":"All"},{"id":"4","text":"A"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":"all","text":"All"},{"id":4,"text":"A"}"#,
            ),
            (ComtradeDialect::Legacy, r#"{"id":"all","text":"All"}"#),
            (ComtradeDialect::Legacy, ""),
            (
                ComtradeDialect::V1,
                r#"{"id":842,"text":"A","reporterCodeIsoAlpha3":"<script>"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":842,"text":"A","reporterCodeIsoAlpha3":"usa"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":886,"text":"A","entryExpiredDate":"garbage"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":886,"text":"A","entryExpiredDate":"2020-13-45"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":886,"text":"A","entryExpiredDate":"2019-02-29T00:00:00"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":886,"text":"A","entryExpiredDate":"2020-01-01T25:61:61"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":886,"text":"A","entryExpiredDate":"0000-01-01"}"#,
            ),
            (
                ComtradeDialect::V1,
                r#"{"id":842,"text":"A","reporterCodeIsoAlpha3":"\tUS"}"#,
            ),
        ] {
            let error = decode_list(dialect, format!(r#"{{"results":[{entries}]}}"#).as_bytes());
            assert!(
                matches!(&error, Err(Error::UpstreamBadResponse { detail, .. }) if detail.contains("has changed")),
                "{entries}: {error:?}"
            );
        }
    }

    #[test]
    fn a_list_that_says_it_is_partial_is_refused() {
        let error = decode_list(
            ComtradeDialect::Legacy,
            br#"{"more":true,"results":[{"id":"4","text":"A"}]}"#,
        );
        assert!(
            matches!(error, Err(Error::UpstreamBadResponse { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn the_lists_are_public_files() {
        for dialect in [ComtradeDialect::Legacy, ComtradeDialect::V1] {
            assert!(request(dialect).keyless);
        }
    }
}
