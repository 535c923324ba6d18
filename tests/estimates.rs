//! Estimates are worst cases (issue 22, finding 7): for generated
//! questions (reporters whose codes changed with the years among them,
//! year ranges across the changes, both dialects, both ways of asking),
//! what the operation sends to Comtrade never exceeds the estimate made
//! before it ran, so no operation is refused after its budget was reserved.

mod common;

use common::{upstream_requests, TestGateway};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// Reporters, codes that changed with the years among them.
const REPORTERS: [&str; 16] = [
    "DEU", "USA", "SRB", "MNE", "SSD", "SDN", "BEL", "LUX", "RUS", "CZE", "YEM", "ETH", "IDN",
    "BRA", "FRA", "JPN",
];

#[derive(Clone, Debug)]
struct Question {
    reporters: Vec<&'static str>,
    first: u16,
    years: u16,
    partners: Option<Vec<&'static str>>,
    nested: bool,
}

impl Question {
    fn text(&self) -> String {
        let list = |items: &[&str]| {
            items
                .iter()
                .map(|item| format!("\"{item}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let periods: Vec<String> = (self.first..self.first + self.years)
            .map(|year| year.to_string())
            .collect();
        let periods: Vec<&str> = periods.iter().map(String::as_str).collect();
        let partners = self
            .partners
            .as_ref()
            .map(|partners| format!(", partners: [{}]", list(partners)))
            .unwrap_or_default();
        let arguments = format!("periods: [{}]{partners}, flow: IMPORT", list(&periods));
        if self.nested {
            format!(
                "{{ jurisdictions(iso3: [{}]) {{ tradeFlows({arguments}) {{ period }} }} }}",
                list(&self.reporters)
            )
        } else {
            format!(
                "{{ tradeFlows(reporters: [{}], {arguments}) {{ period }} }}",
                list(&self.reporters)
            )
        }
    }
}

fn question() -> impl Strategy<Value = Question> {
    (
        proptest::sample::subsequence(REPORTERS.to_vec(), 1..7),
        1975u16..2020,
        1u16..30,
        prop_oneof![
            Just(None),
            Just(Some(vec!["DEU", "USA"])),
            Just(Some(vec!["SRB", "World"]))
        ],
        any::<bool>(),
    )
        .prop_map(|(reporters, first, years, partners, nested)| Question {
            reporters,
            first,
            years: years.min(2024 - first),
            partners,
            nested,
        })
}

#[tokio::test]
async fn what_is_sent_never_exceeds_the_estimate() {
    for dialect in ["v1", "legacy"] {
        let gateway = TestGateway::start_with(&[
            "--comtrade-api",
            dialect,
            "--comtrade-max-requests",
            "1000",
            "--cache-max-mb",
            "0",
        ])
        .await;
        // Seeded, so that a run in CI asks what a run here asked.
        let mut runner = TestRunner::deterministic();
        let mut questions = Vec::new();
        for _ in 0..16 {
            questions.push(question().new_tree(&mut runner).unwrap().current());
        }
        // Found by this test: Germany across 1990 on the legacy API (280,
        // then 276) planned beyond the packing arithmetic's estimate.
        questions.push(Question {
            reporters: vec!["DEU", "USA", "FRA", "GBR", "ITA", "JPN", "CAN"],
            first: 1979,
            years: 45,
            partners: Some(vec!["World"]),
            nested: true,
        });
        // Found by the generated questions: partners whose codes changed
        // (Serbia, Germany) across the 1990s, and a reporter refused for
        // some years among the others, planned beyond the estimate.
        questions.push(Question {
            reporters: vec!["SRB", "DEU", "BRA", "SSD"],
            first: 1988,
            years: 10,
            partners: Some(vec!["SRB", "World"]),
            nested: true,
        });
        questions.push(Question {
            reporters: vec!["YEM", "DEU", "MNE"],
            first: 1986,
            years: 8,
            partners: Some(vec!["DEU", "USA"]),
            nested: false,
        });
        for question in questions {
            let response = gateway.query(&question.text()).await;
            let estimate = response["extensions"]["cost"]["upstreamEstimate"]["comtrade"]
                .as_u64()
                .unwrap_or_else(|| panic!("{question:?}: {response}"));
            let sent = upstream_requests(&response, "comtrade");
            assert!(
                sent <= estimate,
                "{dialect} {question:?}: sent {sent}, estimated {estimate}"
            );
        }
    }
}
