//! Holds the committed crosswalk (`src/countries/table.rs`) against the
//! recorded reference tables in `../shared/fixtures`: GTA's jurisdiction list
//! and groups, Comtrade's current `Reporters.json` and legacy
//! `reporterAreas.json`. Any disagreement the table does not explain in its
//! `note` fails here.

mod common;

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use trade_graph::countries::{
    self, ComtradeDialect, ComtradePartner, ComtradeReporter, GtaId, ReporterCode,
};

fn read(path: &str) -> String {
    let bytes =
        std::fs::read(common::fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    String::from_utf8(
        bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&bytes)
            .to_vec(),
    )
    .unwrap()
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// GTA's own table: id, name, ISO3, names, web id (ISO2).
fn gta_rows() -> Vec<HashMap<String, String>> {
    let text = read("gta/gta_jurisdictions.csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), header.len(), "unexpected commas in {line}");
            header
                .iter()
                .cloned()
                .zip(cells.iter().map(|c| c.trim().to_owned()))
                .collect()
        })
        .collect()
}

/// Every GTA jurisdiction is in the table with GTA's id, codes and names, and
/// nothing else is.
#[test]
fn the_table_is_gtas_jurisdiction_list() {
    let rows = gta_rows();
    assert_eq!(rows.len(), 234);
    assert_eq!(countries::all().len(), rows.len());
    for row in &rows {
        let id: u16 = row["jurisdiction_id"].parse().unwrap();
        let country =
            countries::by_gta_id(GtaId(id)).unwrap_or_else(|| panic!("GTA id {id} missing"));
        assert_eq!(country.iso3, row["iso_code"], "ISO3 of {id}");
        assert_eq!(country.iso2, row["web_id"], "ISO2 of {id}");
        assert_eq!(country.name, row["jurisdiction_name"], "name of {id}");
        assert_eq!(country.short_name, row["name_short"], "short name of {id}");
    }
    let mapped: HashSet<u64> = json("gta/gta_value_mappings.json")["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_u64().unwrap())
        .collect();
    let ours: HashSet<u64> = countries::all().iter().map(|c| u64::from(c.id.0)).collect();
    assert_eq!(mapped, ours, "the value mappings' jurisdiction ids");
}

struct V1Reporter {
    code: u16,
    iso3: Option<String>,
    expired_year: Option<u16>,
    is_group: bool,
}

fn v1_reporters() -> Vec<V1Reporter> {
    json("comtrade/ref_v1_Reporters.json")["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| V1Reporter {
            code: r["reporterCode"].as_u64().unwrap() as u16,
            iso3: r["reporterCodeIsoAlpha3"].as_str().map(str::to_owned),
            expired_year: r["entryExpiredDate"]
                .as_str()
                .map(|d| d[..4].parse().unwrap()),
            is_group: r["isGroup"].as_bool().unwrap(),
        })
        .collect()
}

fn legacy_reporters() -> HashMap<String, String> {
    json("comtrade/legacy_reporterAreas.json")["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each jurisdiction's current-API reporter agrees with `Reporters.json`.
#[test]
fn v1_reporter_codes_agree_with_reporters_json() {
    let reporters = v1_reporters();
    for country in countries::all() {
        let current: Vec<&V1Reporter> = reporters
            .iter()
            .filter(|r| {
                !r.is_group && r.expired_year.is_none() && r.iso3.as_deref() == Some(country.iso3)
            })
            .collect();
        let context = format!("{} ({})", country.iso3, country.id);
        match country.comtrade_v1 {
            ComtradeReporter::Own(code) => {
                assert_eq!(current.len(), 1, "{context}: one current reporter");
                assert_eq!(current[0].code, code.0, "{context}");
                if code.0 != country.id.0 {
                    assert!(
                        !country.note.is_empty(),
                        "{context}: code differs from GTA id without a note"
                    );
                }
            }
            ComtradeReporter::Folded(code) => {
                assert!(
                    current.is_empty(),
                    "{context}: folded but has its own reporter"
                );
                assert!(
                    reporters
                        .iter()
                        .any(|r| r.code == code.0 && r.expired_year.is_none()),
                    "{context}: folded into {code}, which is not a current reporter"
                );
                assert!(!country.note.is_empty(), "{context}: folding needs a note");
            }
            ComtradeReporter::Ended { code, last_year } => {
                assert!(
                    current.is_empty(),
                    "{context}: ended but has a current reporter"
                );
                let ended = reporters
                    .iter()
                    .filter(|r| r.code == code.0 && r.iso3.as_deref() == Some(country.iso3))
                    .filter_map(|r| r.expired_year)
                    .max();
                assert_eq!(ended, Some(last_year), "{context}");
            }
            ComtradeReporter::Absent => {
                assert!(
                    current.is_empty(),
                    "{context}: marked absent but Reporters.json has it"
                );
                assert!(!country.note.is_empty(), "{context}: absence needs a note");
            }
        }
    }
}

/// Each jurisdiction's legacy reporter exists in `reporterAreas.json`, and a
/// difference from the current code is explained.
#[test]
fn legacy_reporter_codes_agree_with_reporter_areas() {
    let legacy = legacy_reporters();
    for country in countries::all() {
        let context = format!("{} ({})", country.iso3, country.id);
        match country.comtrade_legacy.code() {
            Some(code) => assert!(
                legacy.contains_key(&code.to_string()),
                "{context}: {code} not in reporterAreas"
            ),
            None => {
                if let Some(v1) = country.comtrade_v1.code() {
                    assert!(
                        !legacy.contains_key(&v1.to_string()),
                        "{context}: legacy has {v1} but the table says absent"
                    );
                }
                assert!(!country.note.is_empty(), "{context}: absence needs a note");
            }
        }
        if country.comtrade_legacy.code() != country.comtrade_v1.code() {
            assert!(
                !country.note.is_empty(),
                "{context}: dialects differ without a note"
            );
        }
    }
}

/// The traps DESIGN.md names, against the reference files themselves.
#[test]
fn the_named_traps() {
    let legacy = legacy_reporters();
    let reporters = v1_reporters();
    let code = |iso3: &str, dialect| countries::by_iso3(iso3).unwrap().comtrade(dialect);
    use ComtradeDialect::{Legacy, V1};
    use ComtradeReporter::{Folded, Own};
    for dialect in [Legacy, V1] {
        assert_eq!(code("USA", dialect), Own(ReporterCode(842)));
        assert_eq!(code("NOR", dialect), Own(ReporterCode(579)));
        assert_eq!(code("CHE", dialect), Own(ReporterCode(757)));
        assert_eq!(code("FRA", dialect), Own(ReporterCode(251)));
        assert_eq!(code("IND", dialect), Own(ReporterCode(699)));
        assert_eq!(code("MCO", dialect), Folded(ReporterCode(251)));
        assert_eq!(code("LIE", dialect), Folded(ReporterCode(757)));
        assert_eq!(code("PRI", dialect), Folded(ReporterCode(842)));
        assert_eq!(code("VIR", dialect), Folded(ReporterCode(842)));
        assert_eq!(code("TWN", dialect), Folded(ReporterCode(490)));
    }
    assert_eq!(countries::by_iso3("USA").unwrap().id, GtaId(840));
    assert_eq!(countries::by_iso3("NOR").unwrap().id, GtaId(578));
    assert_eq!(countries::by_iso3("CHE").unwrap().id, GtaId(756));
    assert_eq!(countries::by_iso3("FRA").unwrap().id, GtaId(251));
    assert_eq!(countries::by_iso3("IND").unwrap().id, GtaId(699));
    assert_eq!(countries::by_iso3("ITA").unwrap().id, GtaId(381));
    assert_eq!(code("ITA", Legacy), Own(ReporterCode(381)));
    assert_eq!(code("ITA", V1), Own(ReporterCode(380)));
    assert_eq!(legacy["381"], "Italy");
    assert!(!legacy.contains_key("380"));
    assert!(reporters
        .iter()
        .any(|r| r.code == 380 && r.iso3.as_deref() == Some("ITA")));
    // Chinese Taipei is Comtrade's "Other Asia, nes", ISO3 S19.
    assert_eq!(legacy["490"], "Other Asia, nes");
    assert!(reporters
        .iter()
        .any(|r| r.code == 490 && r.iso3.as_deref() == Some("S19")));
    let kosovo = countries::lookup("XK").unwrap();
    assert_eq!((kosovo.id, kosovo.iso3), (GtaId(999), "XXK"));
    // Comtrade partner 0 is World; the EU is 97 in Comtrade and 1049 in GTA.
    let partners = json("comtrade/legacy_partnerAreas.json");
    assert!(partners["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "0" && p["text"] == "World"));
    assert!(reporters.iter().any(|r| r.code == 97 && r.is_group));
    assert!(
        countries::by_gta_id(GtaId(1049)).is_none(),
        "the EU is a group, not a jurisdiction"
    );
    // Folded reporters: every jurisdiction Comtrade publishes under 842.
    let usa: Vec<_> = countries::by_comtrade_code(V1, ReporterCode(842))
        .iter()
        .map(|c| c.iso3)
        .collect();
    assert_eq!(usa, ["PRI", "USA", "VIR"]);
}

/// Our groups list the publisher's members with the publisher's ids; the one
/// difference is the G20's G7 members, which the publisher's table leaves out.
#[test]
fn groups_agree_with_the_publishers_list() {
    let recorded = json("gta/gta_jurisdiction_groups.json");
    for (name, members) in recorded.as_object().unwrap() {
        let short = name.split_whitespace().next().unwrap();
        let group = countries::group(short).unwrap_or_else(|| panic!("group {short} missing"));
        let ours: HashSet<&str> = group.members.iter().copied().collect();
        for member in members.as_array().unwrap() {
            let iso = member["iso"].as_str().unwrap();
            let un_code = member["un_code"].as_u64().unwrap() as u16;
            if iso == "EUN" {
                assert_eq!(un_code, 1049);
                assert!(
                    !group.non_jurisdiction_members.is_empty(),
                    "{short}: the EU member is listed"
                );
                continue;
            }
            assert!(ours.contains(iso), "{short} lacks {iso}");
            assert_eq!(
                countries::by_iso3(iso).unwrap().id,
                GtaId(un_code),
                "{short}: {iso}"
            );
        }
        let recorded_count = members
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["iso"] != "EUN")
            .count();
        let extra = if short == "G20" { 7 } else { 0 };
        assert_eq!(ours.len(), recorded_count + extra, "{short}");
    }
}

/// Each jurisdiction's v1 partner code is in v1's partner list
/// (`ref_v1_partners`), and where that list has the jurisdiction's ISO3,
/// the code is one of its entries: partner lists are not reporter lists
/// (Puerto Rico 630, Liechtenstein 438, Kosovo 412).
#[test]
fn v1_partner_codes_agree_with_the_partner_list() {
    let partners = json("comtrade/ref_v1_partners_comtradr_extdata.json");
    let partners = partners.as_array().unwrap();
    let codes: HashSet<u16> = partners
        .iter()
        .map(|p| p["id"].as_u64().unwrap() as u16)
        .collect();
    for country in countries::all() {
        let listed: Vec<u16> = partners
            .iter()
            .filter(|p| p["iso_3"].as_str().map(str::trim) == Some(country.iso3))
            .map(|p| p["id"].as_u64().unwrap() as u16)
            .collect();
        match country.comtrade_partner(ComtradeDialect::V1) {
            ComtradePartner::Own(code) => {
                assert!(
                    codes.contains(&code.0),
                    "{}: {code} not a v1 partner",
                    country.iso3
                );
                // Chinese Taipei is asked for as 490 "Other Asia, nes", as its
                // trade is reported (the list's 158 is not used by reporters).
                if !listed.is_empty() && country.iso3 != "TWN" {
                    assert!(
                        listed.contains(&code.0),
                        "{}: {code} not among {listed:?}",
                        country.iso3
                    );
                }
            }
            // Monaco's ISO3 sits on 492 "Europe EU, nes" in the list; its
            // trade is France's ("France, Monaco").
            ComtradePartner::Within(code) => assert!(
                listed.is_empty() || country.iso3 == "MCO",
                "{} is listed as a partner {listed:?} but is asked within {code}",
                country.iso3
            ),
            ComtradePartner::Absent => {
                assert!(listed.is_empty(), "{} is listed {listed:?}", country.iso3)
            }
        }
    }
    let kosovo = countries::lookup("XXK").unwrap();
    let entry = partners.iter().find(|p| p["id"] == 412).unwrap();
    assert_eq!(entry["country"], "Kosovo");
    assert_eq!(
        kosovo.comtrade_partner(ComtradeDialect::V1),
        ComtradePartner::Own(ReporterCode(412))
    );
}

/// Each jurisdiction's legacy partner code is in `partnerAreas.json`, and
/// one refused as a legacy partner is not in it under its own code.
#[test]
fn legacy_partner_codes_agree_with_partner_areas() {
    let partners: HashMap<String, String> = json("comtrade/legacy_partnerAreas.json")["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for country in countries::all() {
        match country.comtrade_partner(ComtradeDialect::Legacy) {
            ComtradePartner::Own(code) => assert!(
                partners.contains_key(&code.to_string()),
                "{}: {code} not a legacy partner",
                country.iso3
            ),
            ComtradePartner::Within(code) => assert!(
                partners.contains_key(&code.to_string())
                    && !partners
                        .values()
                        .any(|name| name == country.name || name == country.short_name),
                "{}: within {code}",
                country.iso3
            ),
            ComtradePartner::Absent => {}
        }
    }
}

/// The names people type (issue 11's list) resolve, accents and case
/// folded; an ambiguous one is refused with the candidates.
#[test]
fn names_people_type() {
    let cases = [
        ("South Korea", "KOR"),
        ("Korea, Republic of", "KOR"),
        ("Turkey", "TUR"),
        ("Türkiye", "TUR"),
        ("Czech Republic", "CZE"),
        ("UK", "GBR"),
        ("Great Britain", "GBR"),
        ("Russian Federation", "RUS"),
        ("Russia", "RUS"),
        ("Viet Nam", "VNM"),
        ("Taiwan", "TWN"),
        ("Laos", "LAO"),
        ("North Macedonia", "MKD"),
        ("Bosnia and Herzegovina", "BIH"),
        ("Côte d'Ivoire", "CIV"),
        ("Cote d'Ivoire", "CIV"),
        ("Democratic Republic of the Congo", "COD"),
        ("Republic of the Congo", "COG"),
        ("XKX", "XXK"),
        ("united states", "USA"),
        ("  SOUTH   KOREA ", "KOR"),
    ];
    for (name, iso3) in cases {
        let country = countries::lookup(name).unwrap_or_else(|| panic!("{name:?} not found"));
        assert_eq!(country.iso3, iso3, "{name:?}");
    }
    // Short names several jurisdictions share are refused naming every
    // candidate (issue 21: "Korea" had been the Republic silently, and
    // "America" the USA), as "Congo" always was.
    for (name, candidates) in [
        ("Congo", &["COG", "COD"][..]),
        ("Korea", &["KOR", "PRK"][..]),
        ("korea", &["KOR", "PRK"][..]),
        ("America", &["USA", "Americas"][..]),
    ] {
        assert!(countries::lookup(name).is_none(), "{name}");
        let error = countries::resolve_all(&[name]).unwrap_err().to_string();
        assert!(error.contains("ambiguous"), "{error}");
        for candidate in candidates {
            assert!(error.contains(candidate), "{name}: {error}");
        }
    }
    // Their qualified forms still resolve.
    for (name, iso3) in [
        ("Korea, Rep.", "KOR"),
        ("Korea, Dem. People's Rep.", "PRK"),
        ("United States of America", "USA"),
    ] {
        assert_eq!(
            countries::lookup(name).map(|c| c.iso3),
            Some(iso3),
            "{name}"
        );
    }
}

/// Every jurisdiction answers to the names Comtrade's own lists give it
/// (v1 partners and reporters: "Rep. of Korea", "Bosnia Herzegovina",
/// "Türkiye"...), so a name copied from Comtrade resolves.
#[test]
fn comtrade_names_resolve() {
    let partners = json("comtrade/ref_v1_partners_comtradr_extdata.json");
    let mut unresolved = Vec::new();
    for entry in partners.as_array().unwrap() {
        let Some(iso3) = entry["iso_3"].as_str().map(str::trim) else {
            continue;
        };
        if entry["group"] == true || entry["exit_year"].is_number() {
            continue;
        }
        let Some(country) = countries::all().iter().find(|c| c.iso3 == iso3) else {
            continue;
        };
        let name = entry["country"].as_str().unwrap();
        match countries::lookup(name) {
            Some(found) if found.id == country.id => {}
            // France's and Norway's lists carry variants ("Metropolitan
            // France", "Norway, excluding Svalbard...") beside the main one.
            _ if matches!(iso3, "FRA" | "NOR" | "CHE" | "USA" | "MCO") => {}
            // "Congo" is refused as ambiguous with DR Congo (tested above).
            None if name == "Congo" => {}
            other => unresolved.push(format!(
                "{name:?} -> {:?} (want {iso3})",
                other.map(|c| c.iso3)
            )),
        }
    }
    assert!(unresolved.is_empty(), "{unresolved:#?}");
}

/// The calendar the gateway keeps (`countries::AREA_YEARS`) is the v1
/// lists' own: every code of the reporter and partner lists with bounded
/// years (an entry after 1900 or an exit year) is in the table with those
/// years, and nothing else is; every code the table lists is in the legacy
/// lists too; every jurisdiction a former code covers is a node, listed
/// under the code's ISO3 or named in it.
#[test]
fn area_years_agree_with_the_reference_lists() {
    let legacy_partners = json("comtrade/legacy_partnerAreas.json");
    let legacy = legacy_reporters();
    let mut bounded: std::collections::BTreeMap<u64, (u64, Option<u64>)> = Default::default();
    for file in [
        "comtrade/ref_v1_reporters_comtradr_extdata.json",
        "comtrade/ref_v1_partners_comtradr_extdata.json",
    ] {
        for entry in json(file).as_array().unwrap() {
            let entry_year = entry["entry_year"].as_u64().unwrap_or(1900);
            let exit_year = entry["exit_year"].as_u64();
            if entry["group"] == true || (entry_year <= 1900 && exit_year.is_none()) {
                continue;
            }
            let code = entry["id"].as_u64().unwrap();
            let previous = bounded.insert(code, (entry_year, exit_year));
            assert!(
                previous.is_none_or(|years| years == (entry_year, exit_year)),
                "{code}: the two lists disagree"
            );
        }
    }
    let table: std::collections::BTreeMap<u64, (u64, Option<u64>)> = countries::AREA_YEARS
        .iter()
        .map(|area| {
            (
                u64::from(area.code.0),
                (u64::from(area.entry), area.exit.map(u64::from)),
            )
        })
        .collect();
    assert_eq!(table, bounded);
    for area in countries::AREA_YEARS {
        let code = area.code.to_string();
        assert!(
            legacy.contains_key(&code)
                || legacy_partners["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == code),
            "{code} is in neither legacy list"
        );
        for iso3 in area.covers {
            // Nodes for Curaçao, Sint Maarten and Bonaire may not exist yet.
            if let Some(country) = countries::by_iso3(iso3) {
                assert_eq!(country.iso3, *iso3);
            }
        }
    }
}

/// Issue 21, finding 5: Comtrade's own codes work as country arguments,
/// beside GTA's ids. Every code of both generations' reporter lists that
/// stands for one jurisdiction resolves to it; a number that means
/// different jurisdictions (one's GTA id, another's Comtrade code, or a
/// former code that covered several) is refused naming every candidate.
#[test]
fn comtrade_codes_are_country_arguments() {
    let mut codes: std::collections::BTreeSet<u16> = Default::default();
    for entry in json("comtrade/ref_v1_reporters_comtradr_extdata.json")
        .as_array()
        .unwrap()
    {
        if entry["group"] != true {
            codes.insert(entry["id"].as_u64().unwrap() as u16);
        }
    }
    for code in legacy_reporters().keys() {
        if let Ok(code) = code.parse::<u16>() {
            codes.insert(code);
        }
    }
    let mut ambiguous = Vec::new();
    for code in codes {
        let candidates = countries::number_candidates(code);
        match candidates.as_slice() {
            [] => {}
            [one] => assert_eq!(
                countries::lookup(&code.to_string()).map(|c| c.id),
                Some(one.id)
            ),
            many => {
                assert_eq!(countries::lookup(&code.to_string()), None);
                let message = countries::UnknownCountry {
                    given: code.to_string(),
                }
                .to_string();
                for country in many {
                    assert!(message.contains(country.name), "{message}");
                }
                ambiguous.push((code, message));
            }
        }
    }
    // 532 is GTA's id of the Netherlands Antilles and Comtrade's former
    // code of the Netherlands Antilles and Aruba: both named, by system.
    let (_, message) = ambiguous
        .iter()
        .find(|(code, _)| *code == 532)
        .expect("532 is ambiguous");
    assert!(
        message.contains("Netherlands Antilles (ANT, GTA id and Comtrade code)")
            && message.contains("Aruba (ABW, Comtrade code)"),
        "{message}"
    );
    for (code, iso3) in [
        (842, "USA"),
        (380, "ITA"),
        (757, "CHE"),
        (579, "NOR"),
        (490, "TWN"),
        (280, "DEU"),
    ] {
        assert_eq!(
            countries::lookup(&code.to_string()).map(|c| c.iso3),
            Some(iso3)
        );
    }
}

/// Issue 21: every jurisdiction Comtrade reports gets a node. Each reporter
/// code of both generations' lists (groups aside) stands for a jurisdiction
/// of the graph, or is a historical area whose code ended (USSR, East
/// Germany), or a code that covered jurisdictions now reported apart (58).
#[test]
fn every_comtrade_reporter_has_a_node() {
    let mut codes: std::collections::BTreeSet<u16> = Default::default();
    for entry in json("comtrade/ref_v1_reporters_comtradr_extdata.json")
        .as_array()
        .unwrap()
    {
        if entry["group"] != true {
            codes.insert(entry["id"].as_u64().unwrap() as u16);
        }
    }
    for code in legacy_reporters().keys() {
        if let Ok(code) = code.parse::<u16>() {
            codes.insert(code);
        }
    }
    let orphans: Vec<u16> = codes
        .into_iter()
        // Groups: the EU (97) and ASEAN (975, a reporter in the legacy list).
        .filter(|code| *code != countries::EUROPEAN_UNION.comtrade_reporter && *code != 975)
        .filter(|code| {
            countries::number_candidates(*code).is_empty()
                && countries::area_years(ReporterCode(*code)).is_none_or(|area| area.exit.is_none())
        })
        .collect();
    assert!(
        orphans.is_empty(),
        "no node for Comtrade reporters {orphans:?}"
    );
    for iso3 in ["CUW", "SXM", "BES", "GIB"] {
        let country = countries::by_iso3(iso3).unwrap();
        assert!(!country.in_gta());
        assert!(country
            .comtrade(countries::ComtradeDialect::V1)
            .code()
            .is_some());
    }
}

/// Every partner of both generations' partner lists that has an ISO code of
/// its own (not an "nes" area, a group or a special category) has a node,
/// unless its code ended (a historical area) or is one a former code
/// covered: Comtrade rows name it, and they link back.
#[test]
fn every_comtrade_partner_with_an_iso_code_has_a_node() {
    let mut orphans = Vec::new();
    for entry in json("comtrade/ref_v1_partners_comtradr_extdata.json")
        .as_array()
        .unwrap()
    {
        let iso3 = entry["iso_3"].as_str().unwrap_or_default().trim();
        let code = entry["id"].as_u64().unwrap() as u16;
        let historical = entry["exit_year"].is_number();
        // "_KS" is Kosovo's; other "_" codes, "X1".., "R91".., "S19" are
        // areas, groups and categories, not jurisdictions; "ATB" (British
        // Antarctic Territory) has no ISO code of its own.
        let area = iso3.len() != 3
            || !iso3.chars().all(|c| c.is_ascii_uppercase())
            || iso3 == "ATB"
            || iso3 == "PUS"
            // The Saudi-Iraqi Neutral Zone, divided in 1991.
            || iso3 == "NTZ";
        if entry["group"] == true || historical || (area && iso3 != "_KS") {
            continue;
        }
        // A variant entry (840 "United States of America" beside 842, 250
        // "Metropolitan France", 158 Taiwan beside 490) names a node by its ISO3.
        if countries::by_iso3(iso3).is_none()
            && countries::by_comtrade_partner(countries::ComtradeDialect::V1, ReporterCode(code))
                .is_none()
            && countries::by_comtrade_area(countries::ComtradeDialect::V1, ReporterCode(code))
                .is_none()
        {
            orphans.push(format!("{code} {iso3}"));
        }
    }
    assert!(
        orphans.is_empty(),
        "no node for Comtrade partners {orphans:?}"
    );
}
