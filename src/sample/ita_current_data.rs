//! Generated data for data.trade.gov's further data sets, in the record
//! shapes of `fixtures/ita/CURRENT_API.md`: a consolidated screening list
//! (names in the patterns the real lists have: Chinese, Russian, Iranian,
//! Emirati company names with their legal forms, "SURNAME, Given" persons,
//! vessels and aircraft; transliterated alternative names; addresses in
//! several countries, often a trading hub besides home), a de minimis row
//! per country with a US Commercial Service post, and business service
//! providers listed by each post abroad. Every entry says it is sample
//! data: none is a real listing.

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::ita_data::POST_COUNTRIES;
use super::rng::SampleRng;
use crate::countries;

/// The generated records.
pub struct CurrentSample {
    pub screening: Vec<Value>,
    /// The lists behind the screening list: `(code, full name, list URL)`.
    pub screening_sources: &'static [(&'static str, &'static str, &'static str)],
    pub de_minimis: Vec<Value>,
    pub providers: Vec<Value>,
}

/// Entries generated: more than the 1,050 a search can reach, so that an
/// unfiltered search shows what lies beyond.
pub const SCREENING_ENTRIES: usize = 1_200;

const SOURCES: &[(&str, &str, &str)] = &[
    (
        "SDN",
        "Specially Designated Nationals (SDN) - Treasury Department",
        "https://sanctionssearch.ofac.treas.gov/",
    ),
    (
        "EL",
        "Entity List (EL) - Bureau of Industry and Security",
        "https://www.bis.gov/entity-list",
    ),
    (
        "DPL",
        "Denied Persons List (DPL) - Bureau of Industry and Security",
        "https://www.bis.gov/denied-persons-list",
    ),
    (
        "UVL",
        "Unverified List (UVL) - Bureau of Industry and Security",
        "https://www.bis.gov/unverified-list",
    ),
    (
        "MEU",
        "Military End User (MEU) List - Bureau of Industry and Security",
        "https://www.bis.gov/military-end-user-list",
    ),
    (
        "ISN",
        "Nonproliferation Sanctions (ISN) - State Department",
        "https://www.state.gov/nonproliferation-sanctions",
    ),
    (
        "DTC",
        "ITAR Debarred (DTC) - State Department",
        "https://www.pmddtc.state.gov/debarred",
    ),
    (
        "SSI",
        "Sectoral Sanctions Identifications List (SSI) - Treasury Department",
        "https://sanctionssearch.ofac.treas.gov/",
    ),
    (
        "FSE",
        "Foreign Sanctions Evaders (FSE) - Treasury Department",
        "https://sanctionssearch.ofac.treas.gov/",
    ),
    (
        "CMIC",
        "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department",
        "https://sanctionssearch.ofac.treas.gov/",
    ),
];

/// A home country of listed parties, with how its names are made.
struct Home {
    iso2: &'static str,
    cities: &'static [&'static str],
    stems: &'static [&'static str],
    forms: &'static [&'static str],
    surnames: &'static [&'static str],
    given: &'static [&'static str],
    programs: &'static [&'static str],
}

const HOMES: &[Home] = &[
    Home {
        iso2: "CN",
        cities: &["Shenzhen", "Shanghai", "Beijing", "Guangzhou", "Dalian"],
        stems: &[
            "Huaxin",
            "Zhongtian",
            "Jinhai",
            "Hongda",
            "Xinrui",
            "Tianlong",
        ],
        forms: &["Co., Ltd.", "Technology Co., Ltd.", "Group Limited"],
        surnames: &["ZHANG", "WANG", "LI", "CHEN", "LIU"],
        given: &["Wei", "Jun", "Xiaoming", "Lei", "Hui"],
        programs: &["NPWMD", "CMIC-EO13959"],
    },
    Home {
        iso2: "RU",
        cities: &[
            "Moscow",
            "Saint Petersburg",
            "Rostov-on-Don",
            "Yekaterinburg",
        ],
        stems: &[
            "Tekhnopromeksport",
            "Rostekh",
            "Spetsstroi",
            "Baltimpeks",
            "Uralmash",
        ],
        forms: &["OOO", "AO", "LLC", "PAO"],
        surnames: &["IVANOV", "PETROV", "SMIRNOV", "VOLKOV", "KUZNETSOV"],
        given: &[
            "Sergei Petrovich",
            "Dmitry Ivanovich",
            "Alexei Nikolaevich",
            "Igor Viktorovich",
        ],
        programs: &["RUSSIA-EO14024", "UKRAINE-EO13662", "CYBER2"],
    },
    Home {
        iso2: "IR",
        cities: &["Tehran", "Isfahan", "Bandar Abbas", "Tabriz"],
        stems: &[
            "Pars Sanat",
            "Kaveh",
            "Arya Tejarat",
            "Sepehr",
            "Naft Gostar",
        ],
        forms: &["Company", "Industrial Group", "Trading Co."],
        surnames: &["REZAEI", "HOSSEINI", "MOHAMMADI", "KARIMI", "AHMADI"],
        given: &["Mohammad Ali", "Hossein", "Reza", "Mehdi", "Ali Akbar"],
        programs: &["IRAN", "IRGC", "SDGT", "NPWMD"],
    },
    Home {
        iso2: "KP",
        cities: &["Pyongyang", "Nampo", "Chongjin"],
        stems: &["Hanil", "Korea Ryonbong", "Chosun Kumsong", "Paeksan"],
        forms: &["Corporation", "Trading Company", "General Corporation"],
        surnames: &["KIM", "PAK", "RI", "CHOE"],
        given: &["Chol Su", "Myong Hak", "Song Il", "Yong Nam"],
        programs: &["DPRK3", "NKSPR"],
    },
    Home {
        iso2: "SY",
        cities: &["Damascus", "Aleppo", "Latakia"],
        stems: &["Al Sham", "Qasioun", "Al Fayhaa", "Ebla"],
        forms: &["Establishment", "Trading Company", "Group"],
        surnames: &["AL-HASSAN", "KHOURY", "HADDAD", "AL-AHMAD"],
        given: &["Mohammed", "Samer", "Bashar Khalil", "Nizar"],
        programs: &["SYRIA", "SYRIA-EO13894"],
    },
    Home {
        iso2: "VE",
        cities: &["Caracas", "Maracaibo", "Valencia"],
        stems: &[
            "Petrolera Orinoco",
            "Suministros Bolivar",
            "Inversiones Caribe",
        ],
        forms: &["C.A.", "S.A."],
        surnames: &["GONZALEZ", "RODRIGUEZ", "PEREZ", "HERNANDEZ"],
        given: &[
            "Jose Luis",
            "Carlos Alberto",
            "Maria Fernanda",
            "Luis Eduardo",
        ],
        programs: &["VENEZUELA-EO13850"],
    },
    Home {
        iso2: "BY",
        cities: &["Minsk", "Gomel"],
        stems: &["Belspetsvnesh", "Minsktrakt", "Belaruskali Trade"],
        forms: &["OAO", "JSC"],
        surnames: &["NOVIKOV", "KOVALENKO", "MOROZ"],
        given: &["Andrei Vasilyevich", "Viktor Mikhailovich"],
        programs: &["BELARUS-EO14038"],
    },
    Home {
        iso2: "PK",
        cities: &["Karachi", "Lahore", "Rawalpindi"],
        stems: &[
            "Al Noor Engineering",
            "Indus Precision",
            "Crescent Technical",
        ],
        forms: &["(Pvt.) Ltd.", "Enterprises"],
        surnames: &["KHAN", "QURESHI", "MALIK"],
        given: &["Imran", "Tariq Mahmood", "Asif"],
        programs: &["NPWMD"],
    },
];

/// Hubs where listed parties keep a second address.
const HUBS: &[(&str, &str, &str)] = &[
    ("AE", "Dubai", "Jebel Ali Free Zone"),
    ("HK", "Hong Kong", "Nathan Road"),
    ("TR", "Istanbul", "Buyukdere Caddesi"),
    ("MY", "Kuala Lumpur", "Jalan Ampang"),
    ("AM", "Yerevan", "Tigran Mets Avenue"),
];

/// The province, oblast or state of the cities that have one in the lists.
fn region_of(city: &str) -> Option<&'static str> {
    Some(match city {
        "Shenzhen" | "Guangzhou" => "Guangdong",
        "Dalian" => "Liaoning",
        "Rostov-on-Don" => "Rostov Oblast",
        "Yekaterinburg" => "Sverdlovsk Oblast",
        "Isfahan" => "Isfahan Province",
        "Bandar Abbas" => "Hormozgan",
        "Tabriz" => "East Azerbaijan",
        "Karachi" => "Sindh",
        "Lahore" | "Rawalpindi" => "Punjab",
        "Maracaibo" => "Zulia",
        "Valencia" => "Carabobo",
        "Gomel" => "Gomel Region",
        _ => return None,
    })
}

const INDUSTRY_WORDS: &[&str] = &[
    "Electronics",
    "Machinery",
    "Aviation",
    "Shipping",
    "Petrochemical",
    "Microelectronics",
    "Logistics",
];

const VESSEL_WORDS: (&[&str], &[&str]) = (
    &["OCEAN", "GOLDEN", "BLUE", "NORTHERN", "PACIFIC", "SILVER"],
    &["STAR", "PEARL", "HARMONY", "SPIRIT", "FORTUNE", "WAVE"],
);

pub fn sample() -> &'static CurrentSample {
    static DATA: LazyLock<CurrentSample> = LazyLock::new(generate);
    &DATA
}

fn name_of(iso2: &str) -> &'static str {
    countries::by_iso2(iso2).map_or("Unknown", |country| country.short_name)
}

fn generate() -> CurrentSample {
    let mut rng = SampleRng::new(0xC5_1157);
    CurrentSample {
        screening: screening(&mut rng),
        screening_sources: SOURCES,
        de_minimis: de_minimis(&mut rng),
        providers: providers(&mut rng),
    }
}

/// A transliteration variant: the first two-part stem written as one word
/// or apart, "ei" as "ey", "Mohammad" as "Muhammad".
fn variant(name: &str) -> String {
    let swapped = name
        .replace("Mohammad", "Muhammad")
        .replace("Mohammed", "Muhammad")
        .replace("ei ", "ey ")
        .replace("Huaxin", "Hua Xin")
        .replace("Zhongtian", "Zhong Tian")
        .replace("Al Noor", "Al-Nur")
        .replace("Al Sham", "Al-Sham");
    if swapped != name {
        return swapped;
    }
    match name.split_once(' ') {
        Some((first, rest)) => format!("{first}{}", rest.replacen(' ', "", 1)),
        None => format!("{name} Group"),
    }
}

fn screening(rng: &mut SampleRng) -> Vec<Value> {
    let mut entries = Vec::with_capacity(SCREENING_ENTRIES);
    for n in 0..SCREENING_ENTRIES {
        let home = &HOMES[n % HOMES.len()];
        let (code, source, list_url) = *rng.pick(SOURCES);
        let city = *rng.pick(home.cities);
        let roll = rng.below(100);
        let (kind, name, mut alt_names) = if roll < 60 {
            let stem = *rng.pick(home.stems);
            let industry = *rng.pick(INDUSTRY_WORDS);
            let form = *rng.pick(home.forms);
            // Numbered branches keep the generated names distinct.
            let branch = n / (HOMES.len() * 7);
            let name = if branch == 0 {
                format!("{city} {stem} {industry} {form}")
            } else {
                format!("{city} {stem} {industry} No. {branch} {form}")
            };
            let alt = vec![
                variant(&format!("{stem} {industry}")),
                format!("{stem} {industry} {}", name_of(home.iso2)),
            ];
            ("Entity", name, alt)
        } else if roll < 90 {
            let surname = *rng.pick(home.surnames);
            let given = *rng.pick(home.given);
            let name = format!("{surname}, {given}");
            let alt = vec![variant(&name), format!("{given} {surname}")];
            ("Individual", name, alt)
        } else if roll < 97 {
            let name = format!(
                "{} {} {}",
                rng.pick(VESSEL_WORDS.0),
                rng.pick(VESSEL_WORDS.1),
                n
            );
            let alt = vec![format!("M/V {name}")];
            ("Vessel", name, alt)
        } else {
            let name = format!(
                "{}-{}{}{}",
                home.iso2,
                (b'A' + rng.below(26) as u8) as char,
                (b'A' + rng.below(26) as u8) as char,
                (b'A' + rng.below(26) as u8) as char
            );
            ("Aircraft", name, Vec::new())
        };
        if rng.chance(15) {
            alt_names.clear();
        }
        let mut addresses = vec![json!({
            "address": format!("{} {} Street", 1 + rng.below(300), rng.pick(home.stems)),
            "city": city, "state": region_of(city),
            "postal_code": format!("{:06}", rng.below(1_000_000)),
            "country": home.iso2,
        })];
        if kind == "Entity" && rng.chance(35) {
            let (hub, hub_city, street) = *rng.pick(HUBS);
            addresses.push(json!({
                "address": format!("Office {}, {street}", 100 + rng.below(900)),
                "city": hub_city, "state": null, "postal_code": null, "country": hub,
            }));
        }
        let ids = match kind {
            "Individual" => vec![json!({
                "type": "Passport", "number": format!("{}{:07}", home.iso2, rng.below(10_000_000)),
                "country": home.iso2,
                "issue_date": format!("20{:02}-{:02}-{:02}", 10 + rng.below(10), 1 + rng.below(12), 1 + rng.below(28)),
                "expiration_date": format!("20{:02}-{:02}-{:02}", 25 + rng.below(10), 1 + rng.below(12), 1 + rng.below(28)),
            })],
            "Entity" => vec![json!({
                "type": "Registration ID", "number": format!("{}", 1_000_000 + rng.below(9_000_000)),
                "country": home.iso2, "issue_date": null, "expiration_date": null,
            })],
            "Vessel" => vec![json!({
                "type": "Vessel Registration Identification", "number": format!("IMO {}", 9_000_000 + rng.below(999_999)),
                "country": null, "issue_date": null, "expiration_date": null,
            })],
            _ => Vec::new(),
        };
        let programs: Vec<&str> = if matches!(code, "SDN" | "SSI" | "FSE" | "CMIC") {
            vec![*rng.pick(home.programs)]
        } else {
            Vec::new()
        };
        entries.push(json!({
            "id": format!("sample-{}-{n}", code.to_ascii_lowercase()),
            "name": name, "alt_names": alt_names, "type": kind,
            "source": source, "country": if kind == "Vessel" { Value::Null } else { json!(home.iso2) },
            "entity_number": 10_000 + n,
            "remarks": format!("Sample data generated by trade-graph; not a real listing. Listed under {code}."),
            "programs": programs, "addresses": addresses, "ids": ids,
            "source_information_url": "https://www.trade.gov/consolidated-screening-list",
            "source_list_url": list_url,
        }));
    }
    entries
}

/// Currencies of the posts' countries (ISO 4217); euro area and a few more.
fn currency(iso2: &str) -> &'static str {
    const EURO: &[&str] = &[
        "FR", "DE", "IT", "ES", "NL", "BE", "AT", "FI", "GR", "IE", "PT", "SK", "HR",
    ];
    const OWN: &[(&str, &str)] = &[
        ("MX", "MXN"),
        ("CA", "CAD"),
        ("GB", "GBP"),
        ("CH", "CHF"),
        ("SE", "SEK"),
        ("DK", "DKK"),
        ("NO", "NOK"),
        ("PL", "PLN"),
        ("CZ", "CZK"),
        ("HU", "HUF"),
        ("JP", "JPY"),
        ("CN", "CNY"),
        ("IN", "INR"),
        ("AU", "AUD"),
        ("NZ", "NZD"),
        ("BR", "BRL"),
        ("KR", "KRW"),
        ("ZA", "ZAR"),
        ("TR", "TRY"),
        ("SG", "SGD"),
    ];
    if EURO.contains(&iso2) {
        return "EUR";
    }
    OWN.iter()
        .find(|(code, _)| *code == iso2)
        .map_or("USD", |(_, currency)| currency)
}

fn de_minimis(rng: &mut SampleRng) -> Vec<Value> {
    POST_COUNTRIES
        .iter()
        .enumerate()
        .map(|(n, iso2)| {
            let currency = currency(iso2);
            let (duty, vat, comment) = match currency {
                "EUR" => (
                    150,
                    0,
                    "Duty-free up to EUR 150; VAT applies from the first euro.",
                ),
                "GBP" => (
                    135,
                    0,
                    "Customs duty relief up to GBP 135; VAT is charged at sale.",
                ),
                "CAD" => (150, 40, "Courier shipments under CUSMA."),
                "MXN" => (1_000, 1_000, "Courier shipments; sample data."),
                "JPY" => (10_000, 10_000, "Sample data."),
                "AUD" => (1_000, 0, "GST applies to low-value goods at sale."),
                _ => (
                    50 * (1 + rng.below(20)),
                    50 * (rng.below(20)),
                    "Sample data.",
                ),
            };
            json!({
                "id": format!("dm-{}", n + 1),
                "country_name": name_of(iso2), "country_code": iso2,
                "de_minimis_value": duty, "de_minimis_currency": currency,
                "vat_amount": vat, "vat_currency": currency,
                "comment": comment,
            })
        })
        .collect()
}

const PROVIDER_KINDS: &[(&str, &str)] = &[
    ("Legal Services", "Law Offices"),
    ("Logistics and Freight Forwarding", "Freight Partners"),
    ("Market Research and Consulting", "Market Advisors"),
    ("Translation and Interpretation", "Language Services"),
    ("Accounting and Tax", "Tax Consultants"),
];

const CONTACTS: &[&str] = &["Ana", "Jonas", "Mei", "Omar", "Priya", "Lucas", "Sofia"];

fn providers(rng: &mut SampleRng) -> Vec<Value> {
    let mut providers = Vec::new();
    for iso2 in POST_COUNTRIES {
        let country = name_of(iso2);
        // The post's name ("Mexico City"), as its office records have it.
        let office = super::ita_data::office_of(iso2);
        let city = office
            .split(',')
            .next()
            .unwrap_or(country)
            .trim()
            .to_owned();
        for n in 0..3 {
            let (category, firm) = *rng.pick(PROVIDER_KINDS);
            let contact = *rng.pick(CONTACTS);
            let form = ["Ltd.", "Group", "& Associates"][n];
            let surname = ["Silva", "Meyer", "Tanaka"][n];
            let title = ["Managing Partner", "Director", "Head of Trade Services"][n];
            providers.push(json!({
                "id": format!("bsp-{}-{n}", iso2.to_ascii_lowercase()),
                "category": category, "ita_office": city,
                "ita_contact_email": format!("office.{}@trade.gov", iso2.to_ascii_lowercase()),
                "company_name": format!("{city} {firm} {form}"),
                "company_address": format!("{} Commerce Avenue, {city}, {country}", 10 + rng.below(900)),
                "company_description": format!("{category} for U.S. exporters entering {country}. Sample data."),
                "company_email": format!("info{n}@{}.example", iso2.to_ascii_lowercase()),
                "company_phone": format!("+{} 555 {:04}", 1 + rng.below(98), rng.below(10_000)),
                "company_website": format!("https://{}-{n}.example", iso2.to_ascii_lowercase()),
                "contact_name": format!("{contact} {surname}"),
                "contact_title": title,
            }));
        }
    }
    providers
}
