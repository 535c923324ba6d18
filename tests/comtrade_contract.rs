//! Contract tests: every recorded Comtrade payload in
//! `../shared/fixtures/comtrade` decodes, with its quirks (BOM, codes as
//! strings or ints, null weights, `refMonth: 52`, float values), and the
//! fields the gateway reads are ones Comtrade documents.

mod common;

use serde_json::{json, Map, Value};
use trade_graph::sources::comtrade::model::{
    decode_legacy, decode_reference_list, decode_v1, decode_v1_availability, FlowCode,
};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join("comtrade").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Legacy HS2, Brazil's exports to India 2014-2018: 331 rows, complete.
#[test]
fn legacy_hs2_answer_decodes() {
    let answer = decode_legacy(&read("legacy_api_get_r76_p699_rg2_AG2_ps2014-2018.json"))
        .unwrap()
        .unwrap();
    assert_eq!(answer.records.len(), 331);
    assert_eq!(
        answer.matched,
        Some(331),
        "count equals rows: not truncated"
    );
    let first = &answer.records[0];
    assert_eq!((first.reporter_code, first.partner_code), (76, 699));
    assert_eq!(first.flow, FlowCode::Export);
    assert_eq!(first.period, "2017");
    assert_eq!(first.commodity_code, "01");
    assert_eq!(first.value_usd, Some(358301.0));
    assert_eq!(first.classification.as_deref(), Some("H5"));
    assert!(
        answer.records.iter().all(|r| r.period.as_str() >= "2015"),
        "2014 has no rows"
    );
}

/// Legacy HS6, India's imports from Brazil, trimmed: `count` (5629) above the
/// rows (163) is what truncation looks like; null weights stay null.
#[test]
fn legacy_hs6_answer_decodes_and_shows_truncation() {
    let answer = decode_legacy(&read(
        "legacy_api_get_r699_p76_rg1_AG6_ps2014-2018_trimmed.json",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(answer.records.len(), 163);
    assert_eq!(answer.matched, Some(5629));
    assert!(answer.records.iter().any(|r| r.net_weight_kg.is_none()));
    assert!(answer.records.iter().any(|r| r.is_estimated));
    assert!(answer
        .records
        .iter()
        .all(|r| r.flow == FlowCode::Import && r.reporter_code == 699));
    assert!(answer.records.iter().any(|r| r.commodity_code.len() == 6));
}

/// Current API data: China's imports from Argentina and Germany, 2010.
#[test]
fn v1_data_answer_decodes() {
    let answer = decode_v1(&read("v1_data_get_C_A_HS_r156_p32-280-276_2010_TOTAL.json"))
        .unwrap()
        .unwrap();
    assert_eq!(answer.records.len(), 4);
    assert_eq!(answer.matched, Some(4));
    for record in &answer.records {
        assert_eq!(record.reporter_code, 156);
        assert_eq!(
            record.period, "2010",
            "annual rows carry refMonth 52 and period as text"
        );
        assert_eq!(record.customs_code.as_deref(), Some("C00"));
        assert_eq!(record.mode_of_transport, Some(0));
        assert_eq!(record.commodity_code, "TOTAL");
    }
    let argentina = answer
        .records
        .iter()
        .find(|r| r.partner_code == 32 && r.flow == FlowCode::Import)
        .unwrap();
    assert_eq!(argentina.value_usd, Some(6804128143.0));
    assert_eq!(argentina.net_weight_kg, None);
}

/// The empty services answer decodes to no rows.
#[test]
fn v1_empty_answer_decodes() {
    let answer = decode_v1(&read("v1_data_get_S_A_EB_empty.json"))
        .unwrap()
        .unwrap();
    assert!(answer.records.is_empty());
    assert_eq!(answer.matched, Some(0));
}

/// The keyless preview: USA-Japan 2023, imports and exports, estimated weights.
#[test]
fn v1_preview_answer_decodes() {
    let answer = decode_v1(&read(
        "public_v1_preview_C_A_HS_r842_p392_2023_TOTAL_MX.json",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(answer.records.len(), 2);
    let flows: Vec<_> = answer.records.iter().map(|r| r.flow).collect();
    assert!(flows.contains(&FlowCode::Import) && flows.contains(&FlowCode::Export));
    assert!(answer
        .records
        .iter()
        .all(|r| r.reporter_code == 842 && r.partner_code == 392));
    assert!(
        answer.records.iter().all(|r| r.is_estimated),
        "legacyEstimationFlag 4 / isNetWgtEstimated"
    );
    assert_eq!(answer.records[0].quantity_unit, None, "N/A is no unit");
}

/// Reference lists: legacy reporters (with BOM, string ids), partners, v1
/// reporters (int ids), modes of transport, the HS list.
#[test]
fn reference_lists_decode() {
    let legacy = decode_reference_list(&read("legacy_reporterAreas.json")).unwrap();
    assert_eq!(legacy.len(), 257);
    assert!(legacy.iter().any(|e| e.id == "842" && e.text == "USA"));
    let partners = decode_reference_list(&read("legacy_partnerAreas.json")).unwrap();
    assert!(partners.iter().any(|e| e.id == "0" && e.text == "World"));
    let v1 = decode_reference_list(&read("ref_v1_Reporters.json")).unwrap();
    assert_eq!(v1.len(), 255);
    assert!(v1
        .iter()
        .any(|e| e.id == "380" && e.iso3.as_deref() == Some("ITA")));
    let transport = decode_reference_list(&read("ref_v1_ModeOfTransportCodes.json")).unwrap();
    assert_eq!(transport.len(), 18);
    assert!(transport.iter().any(|e| e.id == "0"));
    let hs = decode_reference_list(&read("ref_v1_HS_trimmed_aggrLevel_le4.json")).unwrap();
    assert_eq!(hs.len(), 1365);
    assert!(hs.iter().any(|e| e.id == "TOTAL"));
}

/// Every v1 field the gateway reads is a documented data item of the data
/// API (`TradeDataItems.json`).
#[test]
fn fields_read_are_documented_data_items() {
    let items: Value = serde_json::from_slice(&read("ref_v1_TradeDataItems.json")).unwrap();
    let documented: Vec<&str> = items["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["isInDataAPICommodity"] == "True")
        .map(|item| item["dataItem"].as_str().unwrap())
        .collect();
    let read_by_gateway = [
        "period",
        "reporterCode",
        "reporterDesc",
        "reporterISO",
        "flowCode",
        "partnerCode",
        "partnerDesc",
        "partnerISO",
        "classificationCode",
        "cmdCode",
        "cmdDesc",
        "aggrLevel",
        "isLeaf",
        "customsCode",
        "motCode",
        "qtyUnitAbbr",
        "qty",
        "isQtyEstimated",
        "netWgt",
        "isNetWgtEstimated",
        "grossWgt",
        "cifvalue",
        "fobvalue",
        "primaryValue",
        "legacyEstimationFlag",
    ];
    for field in read_by_gateway {
        assert!(
            documented.iter().any(|d| d.eq_ignore_ascii_case(field)),
            "{field} is not a documented data item"
        );
    }
}

/// The getDa field set (recorded from a notebook as CSV, so types are
/// restored here: True/False to booleans, digits to numbers) decodes.
#[test]
fn data_availability_field_set_decodes() {
    let text = String::from_utf8(read("v1_getDa_C_A_HS_ps2021_first5_from_notebook.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Value> = lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut row = Map::new();
            for (name, cell) in header.iter().zip(line.split(',')) {
                let value = match cell {
                    "True" => json!(true),
                    "False" => json!(false),
                    number if number.parse::<i64>().is_ok() && *name != "period" => {
                        json!(number.parse::<i64>().unwrap())
                    }
                    text => json!(text),
                };
                row.insert((*name).to_owned(), value);
            }
            Value::Object(row)
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "data": rows })).unwrap();
    let records = decode_v1_availability(&body).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0].reporter_code, 24);
    assert_eq!(records[0].period, "2021");
    assert_eq!(records[0].total_records, Some(112758));
    assert_eq!(
        records[0].updated.as_deref(),
        Some("2022-10-06T10:53:32.8266667")
    );
}
