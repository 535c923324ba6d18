//! Issue 21, names: every jurisdiction answers to the names the major
//! international lists give it, their common short forms and former names.
//! One test per list, each held against a table the project keeps in
//! `tests/names/` (name, ISO3; the entries whose spelling differs from GTA's
//! own, the World Bank's list whole), and against the upstreams' own lists
//! in the fixtures (GTA's names, Comtrade's "Rep. of" forms). Names are
//! tried both as country arguments (`countries::lookup`) and as
//! `jurisdiction(name:)` takes them (`countries::by_name`).

mod common;

use common::{fixtures, TestGateway};
use trade_graph::countries;

/// The rows of `tests/names/<file>`: (name, ISO3).
fn table(file: &str) -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/names/").to_owned() + file;
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{path}: {error}"))
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, iso3) = line.split_once('\t').expect("name<TAB>ISO3");
            (name.to_owned(), iso3.to_owned())
        })
        .collect()
}

/// Every name of `file` resolves to its jurisdiction, as an argument and
/// as a name; the failures are listed together.
fn assert_list(file: &str) {
    let rows = table(file);
    assert!(!rows.is_empty(), "{file} is empty");
    let mut wrong = Vec::new();
    for (name, iso3) in &rows {
        let as_name = countries::by_name(name).map(|c| c.iso3);
        let as_argument = countries::lookup(name).map(|c| c.iso3);
        // Codes written as names ("USA", "UK") are arguments through the
        // code index, and names through the aliases: both must agree.
        if as_argument != Some(iso3.as_str()) || as_name != Some(iso3.as_str()) {
            wrong.push(format!(
                "{name:?}: argument {as_argument:?}, name {as_name:?}, want {iso3}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{file}: {wrong:#?}");
}

#[test]
fn world_bank_names() {
    assert_list("world_bank.tsv");
}

#[test]
fn imf_names() {
    assert_list("imf.tsv");
}

#[test]
fn iso_3166_names() {
    assert_list("iso3166.tsv");
}

#[test]
fn un_m49_names() {
    assert_list("un_m49.tsv");
}

#[test]
fn wto_names() {
    assert_list("wto.tsv");
}

#[test]
fn common_short_and_former_names() {
    assert_list("common.tsv");
}

/// GTA's own names and the other names its publisher lists for each
/// jurisdiction (`gta_jurisdictions.csv`, column `names`).
#[test]
fn gta_names() {
    let mut reader = csv_rows(&fixtures().join("gta/gta_jurisdictions.csv"));
    let header = reader.remove(0);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (iso, name, short) = (
        column("iso_code"),
        column("jurisdiction_name"),
        column("name_short"),
    );
    let mut wrong = Vec::new();
    for row in reader {
        for given in [&row[name], &row[short]] {
            let found = countries::by_name(given.trim()).map(|c| c.iso3);
            // "Congo" is GTA's name for the Republic of the Congo, and is
            // refused as ambiguous with DR Congo (both named).
            if found != Some(row[iso].as_str()) && given.trim() != "Congo" {
                wrong.push(format!("{given:?} -> {found:?} (want {})", row[iso]));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Comtrade's own names, "Rep. of" forms and all, in both generations'
/// reporter and partner lists: every name of a code that stands for one
/// jurisdiction in every year (no former code, no group) resolves to it.
#[test]
fn comtrade_names() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut check = |name: &str, code: u16| {
        if countries::former_code(countries::ReporterCode(code)).is_some() {
            return;
        }
        let candidates = countries::number_candidates(code);
        let [expected] = candidates.as_slice() else {
            return;
        };
        // Lists that carry variants beside the main entry ("France,
        // Monaco", "Norway, excl. Svalbard...", "USA (before 1981)").
        if ["FRA", "NOR", "CHE", "USA", "MCO", "ITA", "IND"].contains(&expected.iso3)
            || name == "Congo"
        {
            return;
        }
        checked += 1;
        match countries::by_name(name) {
            Some(found) if found.id == expected.id => {}
            other => wrong.push(format!(
                "{name:?} ({code}) -> {:?}, want {}",
                other.map(|c| c.iso3),
                expected.iso3
            )),
        }
    };
    for file in [
        "comtrade/legacy_reporterAreas.json",
        "comtrade/legacy_partnerAreas.json",
    ] {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let list: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        for entry in list["results"].as_array().unwrap() {
            if let Ok(code) = entry["id"].as_str().unwrap().parse::<u16>() {
                check(entry["text"].as_str().unwrap(), code);
            }
        }
    }
    for file in [
        "comtrade/ref_v1_reporters_comtradr_extdata.json",
        "comtrade/ref_v1_partners_comtradr_extdata.json",
    ] {
        let list: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixtures().join(file)).unwrap()).unwrap();
        for entry in list.as_array().unwrap() {
            if entry["group"] != true {
                check(
                    entry["country"].as_str().unwrap(),
                    entry["id"].as_u64().unwrap() as u16,
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(checked > 800, "only {checked} names checked");
}

/// Minimal CSV reading (quoted cells with commas), enough for GTA's table.
fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => cells.push(std::mem::take(&mut cell)),
                    other => cell.push(other),
                }
            }
            cells.push(cell);
            cells
        })
        .collect()
}

/// The issue's names at the wire: `jurisdiction(name:)` answers "USA",
/// "UK", "Brasil", "DPRK" and the World Bank's spellings; Curaçao, Sint
/// Maarten and Bonaire have nodes whose flows Comtrade reports under 531,
/// 534 and 535 since 2010, linked back to them.
#[tokio::test]
async fn names_and_new_nodes_at_the_wire() {
    let gateway = TestGateway::start().await;
    for (name, iso3) in [
        ("USA", "USA"),
        ("UK", "GBR"),
        ("Brasil", "BRA"),
        ("DPRK", "PRK"),
        ("Egypt, Arab Rep.", "EGY"),
        ("Korea, Dem. People's Rep.", "PRK"),
        ("Congo, Rep.", "COG"),
        ("Curaçao", "CUW"),
    ] {
        let response = gateway
            .query(&format!(r#"{{ jurisdiction(name: "{name}") {{ iso3 }} }}"#))
            .await;
        assert_eq!(
            response["data"]["jurisdiction"]["iso3"], iso3,
            "{name}: {response}"
        );
    }
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["Curaçao", "Sint Maarten", "Bonaire"], periods: ["2015"], flow: IMPORT) { reporterCode reporter { iso3 name } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let mut linked: Vec<(i64, String)> = response["data"]["tradeFlows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["reporterCode"].as_i64().unwrap(),
                row["reporter"]["iso3"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    linked.sort();
    assert_eq!(
        linked,
        [
            (531, "CUW".to_owned()),
            (534, "SXM".to_owned()),
            (535, "BES".to_owned())
        ]
    );
    // Territories Comtrade names only as partners are nodes too.
    let before = gateway.comtrade_requests();
    let partners = gateway
        .query(r#"{ tradeFlows(reporters: ["GBR"], partners: ["Jersey", "Isle of Man"], periods: ["2020"], flow: IMPORT) { partnerCode partner { iso3 } } }"#)
        .await;
    assert!(partners.get("errors").is_none(), "{partners}");
    let sent = &gateway
        .simulator
        .recorded_requests(trade_graph::sources::Source::Comtrade)[before as usize..];
    assert!(
        sent[0].query.contains("partnerCode=832%2C833"),
        "{:?}",
        sent[0]
    );
    for row in partners["data"]["tradeFlows"].as_array().unwrap() {
        let linked = row["partner"]["iso3"].as_str().unwrap();
        assert!(["JEY", "IMN"].contains(&linked), "{row}");
    }
    // GTA lists no measures for them: an empty page, no request.
    let gta = gateway
        .query(r#"{ jurisdiction(iso3: "CUW") { interventionsImplemented { totalCount } } }"#)
        .await;
    assert_eq!(
        gta["data"]["jurisdiction"]["interventionsImplemented"]["totalCount"], 0,
        "{gta}"
    );
    assert_eq!(gateway.gta_requests(), 0);
}

/// Attack 21, FN.1/FN.2: "Macedonia FYR", "KSA", "Hongkong", "Kingdom of
/// Eswatini", "Neth. Antilles" resolve; former areas' names ("Serbia and
/// Montenegro", "USSR", "Czechoslovakia", "Yugoslavia", "Belgium-
/// Luxembourg") are not null but an error naming the jurisdictions to ask
/// for, in `jurisdiction(name:)` and as a country argument.
#[tokio::test]
async fn former_names_say_which_jurisdictions_to_ask_for() {
    let gateway = TestGateway::start().await;
    for (name, iso3) in [
        ("Macedonia FYR", "MKD"),
        ("KSA", "SAU"),
        ("Hongkong", "HKG"),
        ("Kingdom of Eswatini", "SWZ"),
        ("Neth. Antilles", "ANT"),
    ] {
        let response = gateway
            .query(&format!(r#"{{ jurisdiction(name: "{name}") {{ iso3 }} }}"#))
            .await;
        assert_eq!(
            response["data"]["jurisdiction"]["iso3"], iso3,
            "{name}: {response}"
        );
    }
    for (name, expected) in [
        ("Serbia and Montenegro", &["SRB", "MNE", "891"][..]),
        ("USSR", &["RUS", "UKR", "810"][..]),
        ("Fmr USSR", &["RUS", "810"][..]),
        ("Czechoslovakia", &["CZE", "SVK", "200"][..]),
        ("Yugoslavia", &["SRB", "HRV", "SVN", "890"][..]),
        ("Belgium-Luxembourg", &["BEL", "LUX", "58"][..]),
        ("East Germany", &["DEU", "278", "part of"][..]),
    ] {
        for query in [
            format!(r#"{{ jurisdiction(name: "{name}") {{ iso3 }} }}"#),
            format!(r#"{{ tradeFlows(reporters: ["{name}"], periods: ["1985"]) {{ value }} }}"#),
        ] {
            let response = gateway.query(&query).await;
            let message = response["errors"][0]["message"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no error in {response}"));
            assert!(message.contains("former area"), "{name}: {message}");
            for word in expected {
                assert!(message.contains(word), "{name} lacks {word}: {message}");
            }
        }
    }
}

/// Issue 21's seventh attack: Comtrade's historic names carry their last
/// year ("Serbia and Montenegro (...2005)", "Dem. Rep. of Vietnam
/// (...1974)"); with or without it, every former area of Comtrade's lists
/// is answered alike: an error naming the jurisdictions to ask for, never
/// "unknown" and never a guess.
#[test]
fn comtrade_former_names_with_their_years_are_answered_alike() {
    for area in countries::AREA_YEARS
        .iter()
        .filter(|area| !area.covers.is_empty())
    {
        let name = area.name.trim();
        let bare = name.split(" (...").next().unwrap();
        for given in [name, bare] {
            // A bare name that is a jurisdiction's own ("Sarawak" is not,
            // "Sudan" is) resolves to it; the rest are former areas.
            if given == bare && countries::lookup(given).is_some() {
                continue;
            }
            let message = countries::resolve_all(&[given]).unwrap_err().to_string();
            assert!(
                message.contains("former area") && !message.contains("unknown"),
                "{given:?}: {message}"
            );
            for iso3 in area.covers {
                assert!(message.contains(iso3), "{given:?} lacks {iso3}: {message}");
            }
        }
    }
}

/// Issue 21's fifth attack: the European Union is one node by every name
/// it is asked for as a trade-flow reporter, and its trade flows are the
/// EU's own (Comtrade 97), as `tradeFlows(reporters: ["EU"])` answers.
#[tokio::test]
async fn the_european_union_is_a_jurisdiction_by_every_name() {
    let gateway = TestGateway::start().await;
    for argument in [
        r#"name: "European Union""#,
        r#"name: "EU""#,
        r#"iso3: "EUN""#,
        r#"id: 1049"#,
    ] {
        let response = gateway
            .query(&format!(
                r#"{{ jurisdiction({argument}) {{ id iso3 name tradeFlows(periods: ["2020"], flow: IMPORT) {{ reporterCode reporter {{ iso3 }} }} }} }}"#
            ))
            .await;
        assert!(response.get("errors").is_none(), "{argument}: {response}");
        let node = &response["data"]["jurisdiction"];
        assert_eq!(node["iso3"], "EUN", "{argument}: {response}");
        assert_eq!(node["id"], 1049);
        let flows = node["tradeFlows"].as_array().unwrap();
        for flow in flows {
            assert_eq!(flow["reporterCode"], 97, "{response}");
            assert_eq!(flow["reporter"]["iso3"], "EUN", "{response}");
        }
    }
    let response = gateway
        .query(r#"{ tradeFlows(reporters: ["EU"], periods: ["2020"], flow: IMPORT) { reporterCode reporter { iso3 } } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    for flow in response["data"]["tradeFlows"].as_array().unwrap() {
        assert_eq!(flow["reporter"]["iso3"], "EUN", "{response}");
    }
}
