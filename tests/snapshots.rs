//! Whole responses of representative operations on sample data, as insta
//! snapshots in `snapshots/`: the shape users see, errors included. The
//! sample data is deterministic, so any change here is a change in behaviour.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test
//! --test snapshots` and read the diff).

mod common;

use common::TestGateway;
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

macro_rules! snapshot {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, sort_maps => true }, {
            insta::assert_json_snapshot!($name, $value);
        });
    };
}

/// A frontend's country profile of Brazil.
#[tokio::test]
async fn country_profile() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ jurisdiction(iso3: "BRA") {
                id name shortName iso2 iso3 comtradeReporterCode comtradeReporting crosswalkNote groups
                interventionsAffecting(limit: 2) { totalCount items {
                    id title evaluation interventionType mastChapter dateAnnounced dateImplemented isInForce
                    implementingJurisdictions { iso3 } affectedProducts { hsCode priorLevel newLevel }
                } }
                interventionsImplemented(limit: 2, sort: ["intervention_id"]) { totalCount items { id title } }
            } }"#,
        )
        .await;
    snapshot!("country_profile", response);
}

/// The G7's latest interventions, batched.
#[tokio::test]
async fn group_interventions_batched() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ jurisdictions(group: "G7") { iso3 interventionsImplemented(limit: 2) { items { id dateAnnounced } } } }"#)
        .await;
    snapshot!("group_interventions_batched", response);
}

/// A filtered search with typed filters.
#[tokio::test]
async fn filtered_search() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ interventions(limit: 3, sort: ["-date_implemented"], filter: {
                affected: ["CHN"], interventionTypes: [IMPORT_TARIFF, ANTI_DUMPING], keepImplementationNa: false
            }) { items { id title evaluation dateImplemented affectedSectors { cpcCode name } } } }"#,
        )
        .await;
    snapshot!("filtered_search", response);
}

/// Bad input: the error users see.
#[tokio::test]
async fn bad_input_error() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ jurisdiction(iso2: "US", name: "France") { name } }"#)
        .await;
    snapshot!("bad_input_error", response);
}

/// GTA down: null GTA fields, a typed error, the rest intact.
#[tokio::test]
async fn gta_unavailable() {
    let gateway = TestGateway::start().await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 502,
            body: String::new(),
        },
    );
    let response = gateway
        .query(
            r#"{ jurisdiction(iso2: "JP") { name iso3 interventionsAffecting { totalCount } } }"#,
        )
        .await;
    snapshot!("gta_unavailable", response);
}

/// One country through all three sources: flows, offices, leads, events,
/// interventions, and what it cost upstream.
#[tokio::test]
async fn country_profile_all_sources() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(
            r#"{ jurisdiction(iso2: "MX") {
                name
                tradeFlows(periods: ["2022"], partners: ["World", "USA"]) { period flow partnerCode partner { iso3 } value isEstimated }
                officeLocations { post officeName city country { iso3 } postType }
                tradeLeads(limit: 2) { id title source industries descriptionText country { iso3 } }
                tradeEvents(limit: 1) { name cost startDate venues { city country { iso3 } } contacts { email } }
                interventionsImplemented(limit: 1) { items { id title } }
            } }"#,
        )
        .await;
    snapshot!("country_profile_all_sources", response);
}
