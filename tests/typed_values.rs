//! Values a client can pass back: GTA's coded vocabularies come out as the
//! enums the filters take, and the order of a search is typed.

mod common;

use common::{error_codes, TestGateway};
use trade_graph::sources::Source;

#[tokio::test]
async fn an_interventions_codes_find_it_again() {
    let gateway = TestGateway::start().await;
    let first = gateway
        .query(
            r#"{ interventions(limit: 1) { items { id evaluation evaluationCode interventionType interventionTypeCode } } }"#,
        )
        .await;
    assert!(first.get("errors").is_none(), "{first}");
    let item = &first["data"]["interventions"]["items"][0];
    let (evaluation, kind) = (
        item["evaluationCode"].as_str().expect("a known evaluation"),
        item["interventionTypeCode"].as_str().expect("a known type"),
    );
    assert_eq!(
        evaluation.to_ascii_lowercase(),
        item["evaluation"].as_str().unwrap().to_ascii_lowercase()
    );
    let again = gateway
        .query(&format!(
            "{{ interventions(limit: 1000, filter: {{ gtaEvaluation: [{evaluation}], interventionTypes: [{kind}] }}) {{ items {{ id interventionType }} }} }}"
        ))
        .await;
    assert!(again.get("errors").is_none(), "{again}");
    let items = again["data"]["interventions"]["items"].as_array().unwrap();
    assert!(
        items.iter().any(|found| found["id"] == item["id"]),
        "{again}"
    );
    assert!(items
        .iter()
        .all(|found| found["interventionType"] == item["interventionType"]));
}

#[tokio::test]
async fn order_by_is_typed_and_sent_as_gtas_sorting() {
    let gateway = TestGateway::start().await;
    let answer = gateway
        .query(
            r#"{ interventions(limit: 5, orderBy: [{ field: DATE_ANNOUNCED, direction: ASC }]) { items { dateAnnounced } } }"#,
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let dates: Vec<&str> = answer["data"]["interventions"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["dateAnnounced"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "oldest first");
    let request = &gateway.simulator.recorded_requests(Source::Gta)[0];
    assert!(
        request
            .body
            .contains(r#""sorting":"date_announced,-intervention_id""#),
        "{}",
        request.body
    );

    // The old free strings and the typed order are one or the other.
    let both = gateway
        .query(
            r#"{ interventions(sort: ["-date_announced"], orderBy: [{ field: DATE_ANNOUNCED }]) { totalCount } }"#,
        )
        .await;
    assert_eq!(error_codes(&both), ["BAD_USER_INPUT"], "{both}");
    // A key given twice (in opposite directions) has no one meaning.
    let twice = gateway
        .query(
            r#"{ interventions(orderBy: [{ field: DATE_IMPLEMENTED }, { field: DATE_IMPLEMENTED, direction: ASC }]) { totalCount } }"#,
        )
        .await;
    assert_eq!(error_codes(&twice), ["BAD_USER_INPUT"], "{twice}");
    assert!(
        twice["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"date_implemented\" is given twice"),
        "{twice}"
    );
    assert_eq!(
        gateway.gta_requests(),
        1,
        "nothing sent for the refused ones"
    );
}
