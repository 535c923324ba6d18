//! Comtrade records in both dialects, decoded into one [`TradeFlowRecord`].
//!
//! Quirks the recorded payloads show and this module absorbs: a UTF-8 BOM
//! (handled in `sources::http`); codes as strings or ints; null or zero
//! weights; legacy `period` as an int (2017, 201701) and v1 `period` as a
//! string with `refMonth: 52` meaning "annual"; values as ints (legacy) or
//! floats (v1); v1's `error` member, empty when all went well.

use std::sync::Arc;

use serde::Deserialize;

use crate::error::Error;
use crate::sources::http::decode;
use crate::sources::Source;

/// One reported trade flow, whatever the dialect.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeFlowRecord {
    pub reporter_code: u16,
    pub reporter_name: Option<String>,
    pub reporter_iso3: Option<String>,
    /// 0 is World.
    pub partner_code: u16,
    pub partner_name: Option<String>,
    pub partner_iso3: Option<String>,
    /// "2017" or "201701".
    pub period: String,
    pub flow: FlowCode,
    pub commodity_code: String,
    pub commodity: Option<String>,
    /// The classification the reporter used ("H5", "S3"...).
    pub classification: Option<String>,
    pub aggregation_level: Option<u8>,
    pub is_leaf: Option<bool>,
    /// Trade value in US dollars (legacy `TradeValue`, v1 `primaryValue`).
    pub value_usd: Option<f64>,
    pub cif_value_usd: Option<f64>,
    pub fob_value_usd: Option<f64>,
    pub net_weight_kg: Option<f64>,
    pub gross_weight_kg: Option<f64>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    /// Whether Comtrade estimated part of the record (legacy `estCode` ≠ 0,
    /// v1 `legacyEstimationFlag` ≠ 0 or an `is*Estimated` flag).
    pub is_estimated: bool,
    /// v1 only: customs procedure and mode of transport ("C00" and 0 are totals).
    pub customs_code: Option<String>,
    pub mode_of_transport: Option<i64>,
    /// v1 only: the second partner (country of consignment); 0 is the total.
    pub partner2_code: Option<u16>,
}

impl TradeFlowRecord {
    /// Whether the row is the aggregate the gateway asks for: every
    /// customs procedure (C00), every mode of transport (0), every second
    /// partner (0). v1 breaks a flow down by them when asked without those
    /// filters (or when a mirror ignores them); a breakdown row summed, or
    /// put in place of its total, would count a part as the whole.
    pub fn is_aggregate(&self) -> bool {
        self.customs_code
            .as_deref()
            .is_none_or(|code| code.trim().is_empty() || code.eq_ignore_ascii_case("C00"))
            && self.mode_of_transport.is_none_or(|mode| mode == 0)
            && self.partner2_code.is_none_or(|partner| partner == 0)
    }

    /// What makes a row one flow: who reported trade with whom, when, which
    /// way, in what, by which customs procedure, mode of transport and
    /// second partner.
    /// Requests that overlap (a chapter and all chapters, a partner and all
    /// partners) answer the same flow more than once.
    pub fn identity(&self) -> FlowIdentity<'_> {
        (
            self.reporter_code,
            self.partner_code,
            &self.period,
            self.flow,
            &self.commodity_code,
            self.customs_code.as_deref(),
            self.mode_of_transport,
            self.partner2_code,
        )
    }
}

/// [`TradeFlowRecord::identity`].
pub type FlowIdentity<'a> = (
    u16,
    u16,
    &'a str,
    FlowCode,
    &'a str,
    Option<&'a str>,
    Option<i64>,
    Option<u16>,
);

/// The direction of a flow. The legacy API knows the first four (`rg` 1-4);
/// v1 adds six finer ones (`ref_v1_flows`: domestic exports, foreign
/// imports, and goods sent or received for or after processing), which a
/// v1 answer may carry when no flow is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowCode {
    Import,
    Export,
    ReExport,
    ReImport,
    DomesticExport,
    ForeignImport,
    ImportForInwardProcessing,
    ImportAfterOutwardProcessing,
    ExportAfterInwardProcessing,
    ExportForOutwardProcessing,
}

impl FlowCode {
    pub const ALL: [FlowCode; 10] = [
        Self::Import,
        Self::Export,
        Self::ReExport,
        Self::ReImport,
        Self::DomesticExport,
        Self::ForeignImport,
        Self::ImportForInwardProcessing,
        Self::ImportAfterOutwardProcessing,
        Self::ExportAfterInwardProcessing,
        Self::ExportForOutwardProcessing,
    ];

    /// What a field without `flow` asks for: the four flows both API
    /// generations publish (legacy `rg=all`; v1 `flowCode=M,X,RM,RX`), so
    /// that the same question gets the same rows in either, and totals are
    /// not counted twice (v1's DX and RX are parts of X).
    pub const DEFAULT: [FlowCode; 4] = [Self::Import, Self::Export, Self::ReImport, Self::ReExport];

    /// Legacy `rg` / `rgCode`; `None` for the flows only v1 has.
    pub fn legacy_code(self) -> Option<u8> {
        match self {
            Self::Import => Some(1),
            Self::Export => Some(2),
            Self::ReExport => Some(3),
            Self::ReImport => Some(4),
            _ => None,
        }
    }

    /// v1 `flowCode`.
    pub fn v1_code(self) -> &'static str {
        match self {
            Self::Import => "M",
            Self::Export => "X",
            Self::ReExport => "RX",
            Self::ReImport => "RM",
            Self::DomesticExport => "DX",
            Self::ForeignImport => "FM",
            Self::ImportForInwardProcessing => "MIP",
            Self::ImportAfterOutwardProcessing => "MOP",
            Self::ExportAfterInwardProcessing => "XIP",
            Self::ExportForOutwardProcessing => "XOP",
        }
    }

    fn from_legacy(code: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|flow| flow.legacy_code().map(i64::from) == Some(code))
    }

    pub fn from_v1(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|flow| flow.v1_code() == code)
    }
}

/// A code that Comtrade writes as `"842"` or `842`.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(super) enum Code {
    Int(i64),
    Text(String),
}

impl Code {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            Self::Text(text) => text.trim().parse().ok(),
        }
    }

    pub(super) fn into_text(self) -> String {
        match self {
            Self::Int(value) => value.to_string(),
            Self::Text(text) => text,
        }
    }
}

/// A commodity code as its classification writes it. Written as a number,
/// a code has lost its leading zero (`101` for heading 0101): its digits
/// are the row's aggregation level (HS 2, 4 or 6; SITC 1 to 5), or, for
/// the HS family without a level, an even count.
fn commodity_code(code: Code, level: Option<u8>, classification: Option<&str>) -> String {
    let Code::Int(number) = code else {
        return code.into_text();
    };
    let digits = number.to_string();
    if number < 0 {
        return digits;
    }
    let hs = classification.is_some_and(|name| name.trim().starts_with('H'));
    let width = match level {
        Some(level @ 1..=6) => usize::from(level),
        _ if hs => digits.len().next_multiple_of(2),
        _ => digits.len(),
    };
    format!("{digits:0>width$}")
}

fn area_code(code: &Code, field: &str) -> Result<u16, String> {
    code.as_i64()
        .and_then(|value| u16::try_from(value).ok())
        .ok_or_else(|| format!("{field} {code:?} is not an area code"))
}

/// A status value written as a number or as a string of digits.
fn status_value<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Number(i64),
        Text(String),
    }
    match Value::deserialize(deserializer)? {
        Value::Number(value) => Ok(value),
        Value::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("status value {text:?} is no number"))),
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// The legacy `/api/get` answer: `{validation, dataset}`.
#[derive(Deserialize, Debug)]
pub struct LegacyResponse {
    pub validation: LegacyValidation,
    #[serde(default)]
    pub dataset: Option<Vec<LegacyRow>>,
}

#[derive(Deserialize, Debug)]
pub struct LegacyValidation {
    pub status: LegacyStatus,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub count: Option<LegacyCount>,
}

#[derive(Deserialize, Debug)]
pub struct LegacyStatus {
    #[serde(default)]
    pub name: Option<String>,
    /// 5004, or "5004" as a string (attack 21 F6.2).
    #[serde(deserialize_with = "status_value")]
    pub value: i64,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct LegacyCount {
    pub value: u64,
}

/// One legacy dataset row (`head=M` names).
#[derive(Deserialize, Debug)]
#[allow(non_snake_case)]
pub struct LegacyRow {
    pfCode: Option<String>,
    period: Code,
    #[serde(default)]
    aggrLevel: Option<u8>,
    #[serde(default)]
    IsLeaf: Option<i64>,
    rgCode: i64,
    rtCode: Code,
    #[serde(default)]
    rtTitle: Option<String>,
    #[serde(default)]
    rt3ISO: Option<String>,
    ptCode: Code,
    #[serde(default)]
    ptTitle: Option<String>,
    #[serde(default)]
    pt3ISO: Option<String>,
    cmdCode: Code,
    #[serde(default)]
    cmdDescE: Option<String>,
    #[serde(default)]
    qtDesc: Option<String>,
    #[serde(default)]
    TradeQuantity: Option<f64>,
    #[serde(default)]
    NetWeight: Option<f64>,
    #[serde(default)]
    GrossWeight: Option<f64>,
    #[serde(default)]
    TradeValue: Option<f64>,
    #[serde(default)]
    CIFValue: Option<f64>,
    #[serde(default)]
    FOBValue: Option<f64>,
    #[serde(default)]
    estCode: Option<i64>,
}

impl LegacyRow {
    fn into_record(self) -> Result<TradeFlowRecord, String> {
        Ok(TradeFlowRecord {
            reporter_code: area_code(&self.rtCode, "rtCode")?,
            reporter_name: non_empty(self.rtTitle),
            reporter_iso3: non_empty(self.rt3ISO),
            partner_code: area_code(&self.ptCode, "ptCode")?,
            partner_name: non_empty(self.ptTitle),
            partner_iso3: non_empty(self.pt3ISO),
            period: self.period.into_text(),
            flow: FlowCode::from_legacy(self.rgCode)
                .ok_or_else(|| format!("rgCode {} is not a flow", self.rgCode))?,
            commodity_code: commodity_code(self.cmdCode, self.aggrLevel, self.pfCode.as_deref()),
            commodity: non_empty(self.cmdDescE),
            classification: non_empty(self.pfCode),
            aggregation_level: self.aggrLevel,
            is_leaf: self.IsLeaf.map(|leaf| leaf != 0),
            value_usd: self.TradeValue,
            cif_value_usd: self.CIFValue,
            fob_value_usd: self.FOBValue,
            net_weight_kg: self.NetWeight,
            gross_weight_kg: self.GrossWeight,
            quantity: self.TradeQuantity,
            quantity_unit: non_empty(self.qtDesc),
            is_estimated: self.estCode.unwrap_or(0) != 0,
            customs_code: None,
            mode_of_transport: None,
            partner2_code: None,
        })
    }
}

/// The v1 `/data/v1/get` (and preview) answer: `{elapsedTime, count, data, error}`.
#[derive(Deserialize, Debug)]
pub struct V1Response {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub data: Option<Vec<V1Row>>,
    #[serde(default)]
    pub error: Option<String>,
}

/// One v1 data row.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct V1Row {
    period: Code,
    reporter_code: Code,
    #[serde(default)]
    reporter_desc: Option<String>,
    #[serde(default, rename = "reporterISO")]
    reporter_iso: Option<String>,
    flow_code: String,
    partner_code: Code,
    #[serde(default)]
    partner_desc: Option<String>,
    #[serde(default, rename = "partnerISO")]
    partner_iso: Option<String>,
    #[serde(default)]
    classification_code: Option<String>,
    cmd_code: Code,
    #[serde(default)]
    cmd_desc: Option<String>,
    #[serde(default)]
    aggr_level: Option<u8>,
    #[serde(default)]
    is_leaf: Option<bool>,
    #[serde(default)]
    customs_code: Option<String>,
    #[serde(default)]
    mot_code: Option<i64>,
    #[serde(default)]
    partner2_code: Option<Code>,
    #[serde(default)]
    qty_unit_abbr: Option<String>,
    #[serde(default)]
    qty: Option<f64>,
    #[serde(default)]
    is_qty_estimated: Option<bool>,
    #[serde(default)]
    net_wgt: Option<f64>,
    #[serde(default)]
    is_net_wgt_estimated: Option<bool>,
    #[serde(default)]
    gross_wgt: Option<f64>,
    #[serde(default)]
    cifvalue: Option<f64>,
    #[serde(default)]
    fobvalue: Option<f64>,
    #[serde(default)]
    primary_value: Option<f64>,
    #[serde(default)]
    legacy_estimation_flag: Option<i64>,
}

impl V1Row {
    fn into_record(self) -> Result<TradeFlowRecord, String> {
        Ok(TradeFlowRecord {
            reporter_code: area_code(&self.reporter_code, "reporterCode")?,
            reporter_name: non_empty(self.reporter_desc),
            reporter_iso3: non_empty(self.reporter_iso),
            partner_code: area_code(&self.partner_code, "partnerCode")?,
            partner_name: non_empty(self.partner_desc),
            partner_iso3: non_empty(self.partner_iso),
            period: self.period.into_text(),
            flow: FlowCode::from_v1(&self.flow_code)
                .ok_or_else(|| format!("flowCode {:?} is not a flow", self.flow_code))?,
            commodity_code: commodity_code(
                self.cmd_code,
                self.aggr_level,
                self.classification_code.as_deref(),
            ),
            commodity: non_empty(self.cmd_desc),
            classification: non_empty(self.classification_code),
            aggregation_level: self.aggr_level,
            is_leaf: self.is_leaf,
            value_usd: self.primary_value,
            cif_value_usd: self.cifvalue,
            fob_value_usd: self.fobvalue,
            net_weight_kg: self.net_wgt,
            gross_weight_kg: self.gross_wgt,
            quantity: self.qty,
            quantity_unit: non_empty(self.qty_unit_abbr).filter(|unit| unit != "N/A"),
            is_estimated: self.legacy_estimation_flag.unwrap_or(0) != 0
                || self.is_qty_estimated.unwrap_or(false)
                || self.is_net_wgt_estimated.unwrap_or(false),
            customs_code: self.customs_code,
            mode_of_transport: self.mot_code,
            partner2_code: match &self.partner2_code {
                Some(code) => Some(area_code(code, "partner2Code")?),
                None => None,
            },
        })
    }
}

/// The rows of one answer and how many the upstream says matched.
#[derive(Clone, Debug, PartialEq)]
pub struct DataAnswer {
    /// Shared, so that answers served from cache are not copied.
    pub records: Vec<Arc<TradeFlowRecord>>,
    /// Rows that matched in all (legacy `validation.count.value`); more than
    /// `records.len()` means the answer was truncated by `max`.
    pub matched: Option<u64>,
}

/// Comtrade's own refusal inside a 200 answer (legacy `validation.status`).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl LegacyResponse {
    /// The refusal a non-zero `validation.status.value` says, if any.
    fn refusal(&self) -> Option<Refusal> {
        let status = &self.validation.status;
        if status.value == 0 {
            return None;
        }
        let message = [
            status.name.clone(),
            status.description.clone(),
            self.validation.message.clone(),
        ]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(": ");
        Some(Refusal {
            code: status.value,
            message,
        })
    }
}

/// The legacy API's refusal in `body` (`validation.status.value` 5002,
/// 5003, 5004...), whatever HTTP status it came with, read as leniently as
/// [`decode_legacy`] reads answers.
pub fn legacy_refusal(body: &[u8]) -> Option<Refusal> {
    let body = crate::sources::http::strip_bom(body);
    let parse = |bytes: &[u8]| serde_json::from_slice::<LegacyResponse>(bytes).ok();
    parse(body)
        .or_else(|| without_trailing_commas(body).and_then(|fixed| parse(&fixed)))?
        .refusal()
}

/// `body` without commas that close a list or object (`"message": "…",\n}`),
/// outside strings; `None` when it has none. Seed 004 writes its three refusal
/// examples that way, so an API that answers as its documentation shows is
/// read, not called malformed.
pub fn without_trailing_commas(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    for (index, &byte) in body.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            out.push(byte);
            continue;
        }
        if byte == b'"' {
            in_string = true;
        }
        if byte == b',' {
            let next = body[index + 1..].iter().find(|b| !b.is_ascii_whitespace());
            if matches!(next, Some(b'}') | Some(b']')) {
                changed = true;
                continue;
            }
        }
        out.push(byte);
    }
    changed.then_some(out)
}

/// The envelope lacks the member that holds the rows.
fn drifted(member: &str) -> Error {
    Error::UpstreamBadResponse {
        upstream: Source::Comtrade,
        path: member.to_owned(),
        detail: format!("the answer has no `{member}` (nor a refusal): its envelope changed"),
    }
}

fn bad_row(index: usize, at: &str, detail: String) -> Error {
    Error::UpstreamBadResponse {
        upstream: Source::Comtrade,
        path: format!("{at}[{index}]"),
        detail,
    }
}

/// Decodes a legacy answer, or returns Comtrade's validation refusal.
pub fn decode_legacy(body: &[u8]) -> Result<Result<DataAnswer, Refusal>, Error> {
    let response: LegacyResponse = match decode(Source::Comtrade, body) {
        Ok(response) => response,
        Err(error) => match without_trailing_commas(body) {
            Some(fixed) => decode(Source::Comtrade, &fixed).map_err(|_| error)?,
            None => return Err(error),
        },
    };
    if let Some(refusal) = response.refusal() {
        return Ok(Err(refusal));
    }
    // An answer without its rows is a changed shape, not an empty answer
    // (which is `"dataset": []`): never served, and so never cached, as one.
    let Some(dataset) = response.dataset else {
        return Err(drifted("dataset"));
    };
    let records = dataset
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            row.into_record()
                .map(Arc::new)
                .map_err(|detail| bad_row(index, "dataset", detail))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ok(DataAnswer {
        matched: response.validation.count.map(|count| count.value),
        records,
    }))
}

/// Decodes a v1 data answer; a non-empty `error` is a refusal.
pub fn decode_v1(body: &[u8]) -> Result<Result<DataAnswer, Refusal>, Error> {
    let response: V1Response = decode(Source::Comtrade, body)?;
    if let Some(error) = response.error.filter(|error| !error.trim().is_empty()) {
        return Ok(Err(Refusal {
            code: 0,
            message: error,
        }));
    }
    let Some(data) = response.data else {
        return Err(drifted("data"));
    };
    let records = data
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            row.into_record()
                .map(Arc::new)
                .map_err(|detail| bad_row(index, "data", detail))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ok(DataAnswer {
        matched: response.count,
        records,
    }))
}

/// One entry of a reference list (`reporterAreas.json`, `Reporters.json`,
/// `partnerAreas.json`, classification lists): ids are strings or ints.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ReferenceEntry {
    pub id: String,
    pub text: String,
    pub iso3: Option<String>,
}

/// Decodes a `{results: [{id, text, ...}]}` reference list.
pub fn decode_reference_list(body: &[u8]) -> Result<Vec<ReferenceEntry>, Error> {
    #[derive(Deserialize)]
    struct List {
        results: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        id: Code,
        text: String,
        #[serde(default)]
        reporter_code_iso_alpha3: Option<String>,
    }
    let list: List = decode(Source::Comtrade, body)?;
    Ok(list
        .results
        .into_iter()
        .map(|entry| ReferenceEntry {
            id: entry.id.into_text(),
            text: entry.text,
            iso3: entry.reporter_code_iso_alpha3,
        })
        .collect())
}

/// One row of data availability (legacy `/api/refs/da/view`, v1 `getDa`).
#[derive(Clone, Debug, PartialEq)]
pub struct AvailabilityRecord {
    pub reporter_code: u16,
    pub reporter_name: Option<String>,
    pub period: String,
    pub classification: Option<String>,
    pub total_records: Option<u64>,
    pub is_original: Option<bool>,
    pub is_partner_detail: Option<bool>,
    /// When the data set was published ("2016-08-05T00:00:00").
    pub updated: Option<String>,
}

/// Decodes a legacy data availability answer (a bare array).
pub fn decode_legacy_availability(body: &[u8]) -> Result<Vec<AvailabilityRecord>, Error> {
    #[derive(Deserialize)]
    #[allow(non_snake_case)]
    struct Row {
        r: Code,
        #[serde(default)]
        rDesc: Option<String>,
        ps: Code,
        #[serde(default)]
        px: Option<String>,
        #[serde(default)]
        TotalRecords: Option<u64>,
        #[serde(default)]
        IsOriginal: Option<i64>,
        #[serde(default)]
        IsPartnerDetail: Option<i64>,
        #[serde(default)]
        UploadTime: Option<String>,
    }
    let rows: Vec<Row> = decode(Source::Comtrade, body)?;
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            Ok(AvailabilityRecord {
                reporter_code: area_code(&row.r, "r")
                    .map_err(|detail| bad_row(index, "", detail))?,
                reporter_name: row.rDesc,
                period: row.ps.into_text(),
                classification: row.px,
                total_records: row.TotalRecords,
                is_original: row.IsOriginal.map(|flag| flag != 0),
                is_partner_detail: row.IsPartnerDetail.map(|flag| flag != 0),
                updated: row.UploadTime,
            })
        })
        .collect()
}

/// Decodes a v1 `getDa` answer (`{data: [...]}`).
pub fn decode_v1_availability(body: &[u8]) -> Result<Vec<AvailabilityRecord>, Error> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        data: Vec<Row>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Row {
        reporter_code: Code,
        #[serde(default)]
        reporter_desc: Option<String>,
        period: Code,
        #[serde(default)]
        classification_code: Option<String>,
        #[serde(default)]
        total_records: Option<u64>,
        #[serde(default)]
        is_original_classification: Option<bool>,
        #[serde(default)]
        is_partner_detail: Option<bool>,
        #[serde(default)]
        last_released: Option<String>,
    }
    let answer: Answer = decode(Source::Comtrade, body)?;
    answer
        .data
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            Ok(AvailabilityRecord {
                reporter_code: area_code(&row.reporter_code, "reporterCode")
                    .map_err(|detail| bad_row(index, "data", detail))?,
                reporter_name: row.reporter_desc,
                period: row.period.into_text(),
                classification: row.classification_code,
                total_records: row.total_records,
                is_original: row.is_original_classification,
                is_partner_detail: row.is_partner_detail,
                updated: row.last_released,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A code written as a number comes back as its classification
        /// writes it, whatever zeros led it: from the row's level, or (HS
        /// without a level) its even length; text is kept as it came.
        #[test]
        fn numeric_commodity_codes_keep_their_leading_zeros(
            code in "[0-9]{1,6}",
            hs in proptest::bool::ANY,
            with_level in proptest::bool::ANY,
        ) {
            let code = if hs && code.len() % 2 == 1 { format!("{code}0") } else { code };
            let Ok(number) = code.parse::<i64>() else { return Ok(()) };
            // No HS code starts with "00": only one zero can be lost.
            if !with_level && code.starts_with("00") {
                return Ok(());
            }
            let level = with_level.then_some(code.len() as u8);
            let classification = if hs { "H6" } else { "S4" };
            if with_level || hs {
                proptest::prop_assert_eq!(
                    commodity_code(Code::Int(number), level, Some(classification)),
                    code.clone()
                );
            }
            proptest::prop_assert_eq!(
                commodity_code(Code::Text(code.clone()), level, Some(classification)),
                code
            );
        }
    }

    #[test]
    fn legacy_refusals_carry_code_and_message() {
        let body = br#"{"validation": {"status": {"name": "Invalid parameter", "value": 5004, "category": 0,
            "description": "the selected query does not accept the passed option.", "helpUrl": ""},
            "message": "Invalid classification for trade type."}}"#;
        let refusal = decode_legacy(body).unwrap().unwrap_err();
        assert_eq!(refusal.code, 5004);
        assert!(
            refusal.message.contains("Invalid classification"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn codes_as_strings_or_ints() {
        let body = br#"{"validation": {"status": {"value": 0}, "count": {"value": 1}}, "dataset": [
            {"pfCode": "H4", "period": 2016, "rgCode": 2, "rtCode": "76", "ptCode": 699, "cmdCode": "01",
             "TradeValue": 5, "NetWeight": null, "estCode": 2}]}"#;
        let answer = decode_legacy(body).unwrap().unwrap();
        let record = &answer.records[0];
        assert_eq!((record.reporter_code, record.partner_code), (76, 699));
        assert_eq!(record.period, "2016");
        assert_eq!(record.flow, FlowCode::Export);
        assert!(record.is_estimated);
        assert_eq!(record.net_weight_kg, None);
    }
}
