//! Cache entries weigh what they hold (issue 22, finding 10): the counting
//! allocator measures what decoding a recorded answer leaves allocated,
//! and the estimate used without it (twice the JSON) is not below
//! what real answers hold.

mod common;

use std::alloc::System;

use trade_graph::memory::{measure, Counting};
use trade_graph::sources::comtrade::model::{decode_legacy, decode_v1};
use trade_graph::sources::gta::model::decode_data_response;

#[global_allocator]
static ALLOCATOR: Counting<System> = Counting(System);

fn read(path: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Counts the records of a decoded answer.
type Count = fn(&[u8]) -> usize;

#[test]
fn decoded_answers_weigh_what_they_hold() {
    ALLOCATOR.installed();
    let (_, plain) = measure(|| vec![7u8; 1000]);
    assert_eq!(plain, Some(1000), "a plain allocation measures exactly");
    let (_, temporary) = measure(|| vec![7u8; 1000].len());
    assert_eq!(temporary, Some(0), "what is freed does not count");

    let gta: Vec<serde_json::Value> = serde_json::from_slice(&read(
        "gta/v2_data_and_counts_sample_results_2026-02-12.json",
    ))
    .unwrap();
    let gta_answer = serde_json::to_vec(
        &gta.iter()
            .filter(|prompt| prompt["endpoint"] == "data")
            .filter_map(|prompt| prompt["sample_results"].as_array())
            .flatten()
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let answers: [(&str, Vec<u8>, Count); 3] = [
        ("gta", gta_answer, |body| {
            decode_data_response(body).unwrap().interventions.len()
        }),
        (
            "comtrade legacy",
            read("comtrade/legacy_api_get_r76_p699_rg2_AG2_ps2014-2018.json"),
            |body| decode_legacy(body).unwrap().unwrap().records.len(),
        ),
        (
            "comtrade v1",
            read("comtrade/v1_data_get_C_A_HS_r156_p32-280-276_2010_TOTAL.json"),
            |body| decode_v1(body).unwrap().unwrap().records.len(),
        ),
    ];
    for (what, body, decode) in answers {
        assert!(decode(&body) > 0, "{what}");
        // The decoded answer is returned, so what it holds stays allocated.
        let (kept, measured) = measure(|| decode_kept(&body, what));
        let measured = measured.unwrap();
        drop(kept);
        let ratio = measured as f64 / body.len() as f64;
        eprintln!(
            "{what}: {} JSON bytes hold {measured} bytes decoded ({ratio:.2}x)",
            body.len()
        );
        assert!(ratio > 0.3, "{what}: {ratio}");
        assert!(
            ratio <= 2.0,
            "{what}: the unmeasured estimate (2x) undercounts: {ratio}"
        );
    }
}

/// The decoded answer itself, kept so that its allocations are retained.
fn decode_kept(body: &[u8], what: &str) -> Box<dyn std::any::Any> {
    match what {
        "gta" => Box::new(decode_data_response(body).unwrap()),
        "comtrade legacy" => Box::new(decode_legacy(body).unwrap().unwrap()),
        _ => Box::new(decode_v1(body).unwrap().unwrap()),
    }
}
