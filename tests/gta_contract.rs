//! Contract tests: every recorded GTA payload in `../shared/fixtures/gta`
//! decodes into the gateway's records, and GTA's value mappings are exactly
//! the graph's enums.

mod common;

use serde_json::Value;
use trade_graph::graph::vocabulary::{
    AffectedFlow, EligibleFirms, GtaEvaluation, ImplementationLevel, InterventionType, MastChapter,
};
use trade_graph::sources::gta::model::decode_data_response;

fn read(path: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join("gta").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The live v2 answers recorded by the publisher's QA run (2026-02-12): every
/// data-endpoint sample decodes, with the fields the API sent.
#[test]
fn recorded_v2_data_answers_decode() {
    let recorded: Vec<Value> =
        serde_json::from_slice(&read("v2_data_and_counts_sample_results_2026-02-12.json")).unwrap();
    let mut decoded = 0;
    for prompt in &recorded {
        if prompt["endpoint"] != "data" {
            // data-counts answers are aggregates, not interventions; the
            // gateway does not call that endpoint.
            continue;
        }
        let body = serde_json::to_vec(&prompt["sample_results"]).unwrap();
        let response = decode_data_response(&body)
            .unwrap_or_else(|error| panic!("prompt {}: {error}", prompt["prompt_id"]));
        let samples = prompt["sample_results"].as_array().unwrap();
        assert_eq!(response.interventions.len(), samples.len());
        for (intervention, sample) in response.interventions.iter().zip(samples) {
            assert_eq!(
                u64::from(intervention.id),
                sample["intervention_id"].as_u64().unwrap()
            );
            assert_eq!(
                intervention.title,
                sample["state_act_title"].as_str().unwrap()
            );
            if let Some(implementers) = sample["implementing_jurisdictions"].as_array() {
                assert_eq!(intervention.implementers.len(), implementers.len());
            }
            if let Some(Value::Array(entries)) = sample.get("intervention_description") {
                assert_eq!(intervention.description.len(), entries.len());
            }
            if let Some(products) = sample["affected_products"].as_array() {
                assert_eq!(intervention.affected_products.len(), products.len());
                if let Some(first) = products.first().filter(|p| p.is_object()) {
                    assert_eq!(
                        u64::from(intervention.affected_products[0].hs_code),
                        first["product_id"].as_u64().unwrap()
                    );
                    assert_eq!(
                        intervention.affected_products[0].new_level.as_deref(),
                        first["new_level"].as_str()
                    );
                }
            }
        }
        decoded += 1;
    }
    assert_eq!(decoded, 21, "data prompts in the recording");
    // Prompt 1 in detail: the current API's dated descriptions and sources.
    let first =
        decode_data_response(&serde_json::to_vec(&recorded[0]["sample_results"]).unwrap()).unwrap();
    let intervention = &first.interventions[0];
    assert_eq!(intervention.id, 152110);
    assert_eq!(intervention.evaluation.as_deref(), Some("Red"));
    assert_eq!(intervention.description[0].status.as_deref(), Some("new"));
    assert_eq!(
        intervention.sources[0].modified.as_deref(),
        Some("2026-01-22 14:04")
    );
    assert!(intervention.implemented_by(840));
    assert!(intervention.affects(156));
    assert_eq!(intervention.is_in_force, Some(false), "is_in_force: 0");
    assert_eq!(intervention.affected_sectors[0].cpc_code, 491);
}

/// The publisher's OpenAPI examples (basic and full access, v1 and v2, each in
/// the `{count, next, previous, results}` envelope) decode.
#[test]
fn openapi_examples_decode() {
    let document: Value = serde_norway::from_slice(&read("sgept_api_openapi.yaml")).unwrap();
    let mut checked = 0;
    for path in ["/api/v1/data/", "/api/v1/gta/data/"] {
        let examples = &document["paths"][path]["post"]["responses"]["200"]["content"]
            ["application/json"]["examples"];
        for (name, example) in examples
            .as_object()
            .unwrap_or_else(|| panic!("{path}: no examples"))
        {
            let body = serde_json::to_vec(&example["value"]).unwrap();
            let response = decode_data_response(&body)
                .unwrap_or_else(|error| panic!("{path} {name}: {error}"));
            assert_eq!(response.count, Some(123), "{path} {name}");
            let intervention = response
                .interventions
                .first()
                .unwrap_or_else(|| panic!("{path} {name}: empty"));
            assert_eq!(intervention.id, 138295, "{path} {name}");
            assert!(
                intervention.implemented_by(40),
                "{path} {name}: Austria implements"
            );
            assert_eq!(
                intervention.affected_products[0].hs_code, 292149,
                "{path} {name}"
            );
            if name.starts_with("Full") && path == "/api/v1/data/" {
                assert_eq!(
                    intervention.affected_products[0].prior_level.as_deref(),
                    Some("3.5")
                );
                assert!(intervention.description[0]
                    .text
                    .contains("Council Regulation"));
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "basic and full examples of both paths, found {checked}"
    );
}

/// GTA's value mappings are the graph's enums, id for id and label for label.
#[test]
fn value_mappings_are_the_graph_enums() {
    let mappings: Value = serde_json::from_slice(&read("gta_value_mappings.json")).unwrap();
    fn pairs(mappings: &Value, key: &str) -> Vec<(u16, String)> {
        mappings[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_u64().unwrap() as u16,
                    m["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
    macro_rules! same {
        ($key:literal, $enum:ty) => {
            let ours: Vec<(u16, String)> = <$enum>::ALL
                .iter()
                .map(|v| (v.gta_id(), v.label().to_owned()))
                .collect();
            assert_eq!(ours, pairs(&mappings, $key), $key);
        };
    }
    same!("gta_evaluation", GtaEvaluation);
    same!("affected_flow", AffectedFlow);
    same!("intervention_types", InterventionType);
    same!("mast_chapters", MastChapter);
    same!("eligible_firms", EligibleFirms);
    same!("implementation_levels", ImplementationLevel);
}
