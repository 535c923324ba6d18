//! Generated ITA data: offices, trade leads and trade events for every
//! country with a US Commercial Service post, in the shapes each source feed
//! gives them (Canada's leads without id, industry as text or list, costs as
//! numbers, text or null, some offices without a country).

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::rng::SampleRng;
use crate::countries;

/// ISO alpha-2 codes of countries with a US Commercial Service post.
pub const POST_COUNTRIES: &[&str] = &[
    "MX", "CA", "GB", "FR", "DE", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "DK", "NO", "FI", "PL",
    "CZ", "HU", "RO", "GR", "TR", "IL", "SA", "AE", "EG", "ZA", "NG", "KE", "MA", "IN", "CN", "JP",
    "KR", "TW", "HK", "SG", "MY", "TH", "VN", "ID", "PH", "AU", "NZ", "BR", "AR", "CL", "CO", "PE",
    "EC", "GT", "CR", "PA", "DO", "UA", "KZ", "PK", "BD", "QA", "KW", "IE", "PT", "SK", "BG", "HR",
    "RS",
];

/// The international calling code of each post's country (ITU E.164), for
/// plausible office phone numbers.
const CALLING_CODES: &[(&str, u16)] = &[
    ("MX", 52),
    ("CA", 1),
    ("GB", 44),
    ("FR", 33),
    ("DE", 49),
    ("IT", 39),
    ("ES", 34),
    ("NL", 31),
    ("BE", 32),
    ("CH", 41),
    ("AT", 43),
    ("SE", 46),
    ("DK", 45),
    ("NO", 47),
    ("FI", 358),
    ("PL", 48),
    ("CZ", 420),
    ("HU", 36),
    ("RO", 40),
    ("GR", 30),
    ("TR", 90),
    ("IL", 972),
    ("SA", 966),
    ("AE", 971),
    ("EG", 20),
    ("ZA", 27),
    ("NG", 234),
    ("KE", 254),
    ("MA", 212),
    ("IN", 91),
    ("CN", 86),
    ("JP", 81),
    ("KR", 82),
    ("TW", 886),
    ("HK", 852),
    ("SG", 65),
    ("MY", 60),
    ("TH", 66),
    ("VN", 84),
    ("ID", 62),
    ("PH", 63),
    ("AU", 61),
    ("NZ", 64),
    ("BR", 55),
    ("AR", 54),
    ("CL", 56),
    ("CO", 57),
    ("PE", 51),
    ("EC", 593),
    ("GT", 502),
    ("CR", 506),
    ("PA", 507),
    ("DO", 1),
    ("UA", 380),
    ("KZ", 7),
    ("PK", 92),
    ("BD", 880),
    ("QA", 974),
    ("KW", 965),
    ("IE", 353),
    ("PT", 351),
    ("SK", 421),
    ("BG", 359),
    ("HR", 385),
    ("RS", 381),
];

/// Posts whose records carry no country, as some real ones do.
const WITHOUT_COUNTRY: &[&str] = &["RS", "KZ", "BD"];

/// Cities of the larger posts; other posts are named after the country.
const CITIES: &[(&str, &str)] = &[
    ("MX", "Mexico City"),
    ("CA", "Ottawa"),
    ("GB", "London"),
    ("FR", "Paris"),
    ("DE", "Berlin"),
    ("IT", "Rome"),
    ("ES", "Madrid"),
    ("NL", "The Hague"),
    ("JP", "Tokyo"),
    ("CN", "Beijing"),
    ("IN", "New Delhi"),
    ("BR", "Sao Paulo"),
    ("KR", "Seoul"),
    ("AU", "Sydney"),
    ("ZA", "Johannesburg"),
    ("AE", "Dubai"),
    ("SA", "Riyadh"),
    ("TR", "Ankara"),
    ("SG", "Singapore"),
    ("RS", "Belgrade"),
    ("CR", "San Jose"),
    ("PL", "Warsaw"),
    ("IL", "Tel Aviv"),
    ("EG", "Cairo"),
];

/// Domestic U.S. Export Assistance Centers.
const US_CENTERS: &[(&str, &str)] = &[
    ("San Jose", "CA"),
    ("Los Angeles", "CA"),
    ("Seattle", "WA"),
    ("Denver", "CO"),
    ("Chicago", "IL"),
    ("Detroit", "MI"),
    ("Atlanta", "GA"),
    ("Miami", "FL"),
    ("New York", "NY"),
    ("Boston", "MA"),
    ("Houston", "TX"),
    ("Dallas", "TX"),
    ("Phoenix", "AZ"),
    ("Minneapolis", "MN"),
    ("Nashville", "TN"),
    ("Philadelphia", "PA"),
    ("Baltimore", "MD"),
    ("Portland", "OR"),
    ("Salt Lake City", "UT"),
    ("San Juan", "PR"),
];

const INDUSTRIES: &[&str] = &[
    "Energy",
    "Healthcare",
    "Agribusiness",
    "Information and Communication Technology",
    "Infrastructure",
    "Aerospace and Defense",
    "Environmental Technology",
    "Automotive",
    "Safety and Security",
    "Education",
];

/// The generated records, as JSON in each feed's shape, with the country
/// codes each belongs to.
pub struct ItaSample {
    pub offices: Vec<Value>,
    /// The sample's leads, then [`PUBLISHABLE_LEADS`] more for the
    /// simulator to publish as it runs.
    pub leads: Vec<Value>,
    pub events: Vec<Value>,
    /// Seed 000's other data sets (served by the seed-era API only).
    pub programs: Vec<Value>,
    pub market_research: Vec<Value>,
    pub articles: Vec<Value>,
    /// The environmental toolkit, by endpoint (`issues`, `solutions`...).
    pub envirotech: Vec<(&'static str, Vec<Value>)>,
}

/// Leads generated beyond the sample for the simulator to publish as it
/// runs (`--sample-publish-interval`).
pub const PUBLISHABLE_LEADS: usize = 500;

/// The sample's leads and the first `published` of those generated for
/// publishing.
pub fn visible_leads(published: usize) -> &'static [Value] {
    let leads = &sample().leads;
    &leads[..leads.len() - PUBLISHABLE_LEADS + published.min(PUBLISHABLE_LEADS)]
}

/// Where the published leads are, in turn: the largest markets with a post,
/// so that a subscription to one of them sees news within minutes.
const LEAD_PUBLISHERS: &[&str] = &["MX", "CA", "GB", "DE", "FR", "IN", "CN", "JP", "BR", "AU"];

/// Tenders published while the simulator runs (their own random draws: the
/// sample's records stay as they were).
fn publishable_leads() -> Vec<Value> {
    let mut rng = SampleRng::new(0x1EAD);
    (0..PUBLISHABLE_LEADS)
        .map(|n| {
            let iso2 = LEAD_PUBLISHERS[n % LEAD_PUBLISHERS.len()];
            let country = name_of(iso2);
            let industry = *rng.pick(INDUSTRIES);
            // Published in the sample's last month, closing next year.
            let published = format!("2026-10-{:02}", 1 + rng.below(31));
            let closes = format!("2027-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
            json!({
                "id": format!("state-{iso2}-new-{n}"), "source": "STATE",
                "country": iso2, "country_name": country,
                "title": format!("{industry} tender: {country} invites bids (new)"),
                "description": format!("<p>A new call for bids in {country}, for {} works.&nbsp;Sample data.</p>", industry.to_lowercase()),
                "publish_date": published, "end_date": closes, "ita_industries": [industry], "industry": industry,
                "trade_regions": trade_region(iso2).into_iter().collect::<Vec<_>>(), "world_regions": [world_region(iso2)],
                "tender_start_date": published, "tender_end_date": closes,
                "project_size": 1_000_000 * (1 + rng.below(90)),
                "procurement_organization": format!("Ministry of Works of {country}"),
                "url": format!("https://bids.state.gov/sample/{iso2}/new-{n}"),
            })
        })
        .collect()
}

pub fn sample() -> &'static ItaSample {
    static DATA: LazyLock<ItaSample> = LazyLock::new(generate);
    &DATA
}

/// The world region ITA files a country under (the v2 API's
/// `world_regions` filter and facet).
pub fn world_region(iso2: &str) -> &'static str {
    match iso2 {
        "MX" | "CA" => "North America",
        "BR" | "AR" | "CL" | "CO" | "PE" | "EC" | "GT" | "CR" | "PA" | "DO" => "Latin America",
        "TR" | "IL" | "SA" | "AE" | "EG" | "MA" | "QA" | "KW" => "Middle East and North Africa",
        "ZA" | "NG" | "KE" => "Sub-Saharan Africa",
        "IN" | "CN" | "JP" | "KR" | "TW" | "HK" | "SG" | "MY" | "TH" | "VN" | "ID" | "PH"
        | "AU" | "NZ" | "PK" | "BD" | "KZ" => "Asia Pacific",
        _ => "Europe",
    }
}

/// The trade region (agreement) ITA files a country under, if any.
pub fn trade_region(iso2: &str) -> Option<&'static str> {
    const EU: &[&str] = &[
        "FR", "DE", "IT", "ES", "NL", "BE", "AT", "SE", "DK", "FI", "PL", "CZ", "HU", "RO", "GR",
        "IE", "PT", "SK", "BG", "HR",
    ];
    match iso2 {
        _ if EU.contains(&iso2) => Some("European Union"),
        "MX" | "CA" => Some("USMCA"),
        "CL" | "CO" | "PE" | "CR" | "GT" | "PA" | "DO" | "AU" | "SG" | "KR" | "IL" | "MA" => {
            Some("Free Trade Agreement partners")
        }
        _ => None,
    }
}

/// The office name of the post in `iso2` ("Mexico City, Mexico"), as the
/// generated offices have it.
pub fn office_of(iso2: &str) -> String {
    let country = name_of(iso2);
    let post = CITIES
        .iter()
        .find(|(code, _)| *code == iso2)
        .map_or(country, |(_, city)| *city);
    format!("{post}, {country}")
}

fn name_of(iso2: &str) -> &'static str {
    countries::by_iso2(iso2).map_or("Unknown", |country| country.short_name)
}

fn calling_code(iso2: &str) -> u16 {
    CALLING_CODES
        .iter()
        .find(|(code, _)| *code == iso2)
        .map_or(1, |(_, dial)| *dial)
}

fn generate() -> ItaSample {
    let mut rng = SampleRng::new(0x17A);
    let mut offices = Vec::new();
    for iso2 in POST_COUNTRIES {
        let country = name_of(iso2);
        let city = CITIES
            .iter()
            .find(|(code, _)| code == iso2)
            .map(|(_, city)| *city);
        let post = city.unwrap_or(country);
        // A few posts come without a country, as Belgrade does in the
        // recorded feed; the office name still says where they are.
        let country_field = if WITHOUT_COUNTRY.contains(iso2) {
            Value::Null
        } else {
            json!(iso2)
        };
        offices.push(json!({
            "id": format!(":{post}"), "post": post, "office_name": format!("{post}, {country}"),
            "country": country_field, "state": null, "city": city,
            "address": [format!("U.S. Embassy {post}"), format!("Commercial Service, {country}")],
            "email": format!("office.{}@trade.gov", iso2.to_ascii_lowercase()), "fax": "", "mail_instructions": null,
            "phone": format!("+{} 555 {:04}", calling_code(iso2), rng.below(10_000)), "post_type": "F",
        }));
    }
    for (city, state) in US_CENTERS {
        offices.push(json!({
            "id": format!("{state}:{city}"), "post": city, "office_name": format!("{city} U.S. Export Assistance Center"),
            "country": "US", "state": state, "city": city, "address": [format!("100 Main Street, {city}, {state}")],
            "email": format!("{}@trade.gov", city.to_ascii_lowercase().replace(' ', ".")), "fax": "",
            "mail_instructions": null, "phone": format!("(555) 555-{:04}", rng.below(10_000)), "post_type": "D",
        }));
    }

    let mut leads = Vec::new();
    for iso2 in POST_COUNTRIES {
        let country = name_of(iso2);
        for n in 0..4 {
            let industry = *rng.pick(INDUSTRIES);
            let title = format!("{industry} tender {n}: {country} public procurement");
            let description = format!(
                "<p>The government of {country} invites bids for {} works.&nbsp;Sample data.</p>",
                industry.to_lowercase()
            );
            let published = format!("2026-{:02}-{:02}", 1 + rng.below(10), 1 + rng.below(28));
            let closes = format!("2027-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
            let common = json!({
                "country": iso2, "country_name": country, "title": title, "description": description,
                "publish_date": published, "end_date": closes, "ita_industries": [industry],
                "trade_regions": trade_region(iso2).into_iter().collect::<Vec<_>>(), "world_regions": [world_region(iso2)],
                "tender_start_date": published, "tender_end_date": closes,
            });
            let specific = match *iso2 {
                "CA" => {
                    json!({ "source": "CANADA", "industry": [industry, "Services"], "reference_number": format!("PW-{n}-{}", rng.below(1000)),
                                "contract_number": "", "status": "Active", "notice_type": "Request for Proposal", "procurement_organization": "Public Works Canada",
                                "contact": "Buyer, Canada", "urls": [format!("https://buyandsell.gc.ca/sample/{n}")] })
                }
                "GB" => {
                    json!({ "source": "UK", "id": format!("uk-{n}"), "industry": [industry], "min_contract_value": format!("{}", 10_000 * (1 + rng.below(50))),
                                "max_contract_value": null, "status": "Open", "procurement_organization": "Crown Commercial Service", "url": format!("https://www.contractsfinder.service.gov.uk/sample/{n}") })
                }
                "AU" => {
                    json!({ "source": "AUSTRALIA", "id": format!("au-{n}"), "industry": industry, "contract_value": format!("AUD {}", 100_000 * (1 + rng.below(20))),
                                "agency": "Department of Finance", "url": format!("https://www.tenders.gov.au/sample/{n}") })
                }
                _ if n % 2 == 0 => {
                    json!({ "source": "STATE", "id": format!("state-{iso2}-{n}"), "industry": industry, "project_size": 1_000_000 * (1 + rng.below(90)),
                                "procurement_organization": format!("Ministry of Works of {country}"), "url": format!("https://bids.state.gov/sample/{iso2}/{n}") })
                }
                _ => {
                    json!({ "source": "USTDA", "id": format!("ustda-{iso2}-{n}"), "url": format!("https://www.ustda.gov/sample/{iso2}/{n}") })
                }
            };
            let mut lead = common;
            if let (Some(lead), Value::Object(extra)) = (lead.as_object_mut(), specific) {
                lead.extend(extra);
            }
            leads.push(lead);
        }
    }

    let mut events = Vec::new();
    for (index, iso2) in POST_COUNTRIES.iter().enumerate() {
        let country = name_of(iso2);
        for n in 0..2 {
            let industry = *rng.pick(INDUSTRIES);
            let source = ["ITA", "SBA", "USTDA", "EXIM", "DL"][(index + n) % 5];
            let cost = match (index + n) % 3 {
                0 => json!(250.0 * (1 + rng.below(8)) as f64),
                1 => json!("Free"),
                _ => Value::Null,
            };
            let mut venues = vec![
                json!({ "venue": format!("{country} Convention Center"), "city": CITIES.iter().find(|(c, _)| c == iso2).map(|(_, city)| *city),
                                          "state": null, "country": iso2, "country_name": country }),
            ];
            // Regional missions visit a neighbour too.
            if n == 1 {
                let neighbour = POST_COUNTRIES[(index + 1) % POST_COUNTRIES.len()];
                venues.push(json!({ "venue": null, "city": null, "state": null, "country": neighbour, "country_name": name_of(neighbour) }));
            }
            events.push(json!({
                "id": format!("{source}-{iso2}-{n}"), "event_name": format!("{industry} Trade Mission to {country} {}", 2027 + n),
                "event_type": if n == 0 { "Trade Show" } else { "Trade Mission" }, "source": source,
                "start_date": format!("{}-{:02}-10", 2027 + n, 1 + (index % 12)), "end_date": format!("{}-{:02}-12", 2027 + n, 1 + (index % 12)),
                "cost": cost, "registration_link": format!("https://events.trade.gov/sample/{iso2}/{n}"),
                "description": format!("Meet buyers in {country}. Sample data."), "industries": [industry], "ita_industries": [industry],
                "venues": venues,
                "contacts": [{ "first_name": "Pat", "last_name": format!("Officer {index}"), "person_title": "Commercial Specialist",
                               "post": country, "email": format!("pat.{}@trade.gov", iso2.to_ascii_lowercase()), "phone": "+1 555 0100" }],
                "trade_regions": trade_region(iso2).into_iter().collect::<Vec<_>>(), "world_regions": [world_region(iso2)],
            }));
        }
    }
    let sample_leads = leads.len();
    leads.extend(publishable_leads());
    debug_assert_eq!(leads.len(), sample_leads + PUBLISHABLE_LEADS);
    ItaSample {
        offices,
        leads,
        events,
        programs: programs(),
        market_research: market_research(&mut rng),
        articles: articles(&mut rng),
        envirotech: envirotech(),
    }
}

const PHASES: &[&str] = &["Learn", "Ready", "Exporting", "Expand"];

/// ITA programs, in the documented API's names (the data set was a static
/// file; no API response was ever recorded).
fn programs() -> Vec<Value> {
    let titles = [
        (
            "Commercial News USA",
            "Connect to foreign buyers, Marketing",
        ),
        (
            "Gold Key Matching Service",
            "Connect to foreign buyers, Sales",
        ),
        ("International Company Profile", "Counseling, Sales"),
        ("Export Counseling", "Counseling, Training or Mentoring"),
        ("Trade Finance Guide", "Financing"),
        ("Market Access and Compliance", "Regulations, Tariffs"),
        ("Trade Missions", "Connect to foreign buyers, Marketing"),
        ("Export Webinars", "Training or Mentoring"),
    ];
    titles
        .iter()
        .enumerate()
        .map(|(index, (title, topics))| {
            let phases: Vec<&str> = PHASES.iter().skip(index % 3).take(2).copied().collect();
            json!({
                "id": format!("program-{index}"), "program_title": title,
                "abstract": format!("{title} helps U.S. exporters (sample data)."),
                "export_phase": phases.join(", "), "topics": topics,
                "email": "export@trade.gov", "contact_name": format!("Program Officer {index}"),
                "office_name": "U.S. Commercial Service", "phone": "1-800-872-8723",
                "description": format!("{title}: a sample ITA program for exporters."),
                "website": format!("https://www.trade.gov/sample/{index}"),
            })
        })
        .collect()
}

const REPORT_TYPES: &[&str] = &[
    "Market Research Report",
    "Best Market Research",
    "Country Commercial Guide",
];
const MRL_INDUSTRIES: &[&str] = &[
    "Aerospace & Defense",
    "Agribusiness",
    "Construction, Building & Heavy Equipment",
    "Energy",
    "Healthcare Technologies",
];

/// Market Research Library reports, in the v2 API's shape.
fn market_research(rng: &mut SampleRng) -> Vec<Value> {
    let mut reports = Vec::new();
    for (index, iso2) in POST_COUNTRIES.iter().enumerate().take(30) {
        let country = name_of(iso2);
        for n in 0..3 {
            let industry = *rng.pick(MRL_INDUSTRIES);
            let mut countries = vec![*iso2];
            if n == 2 {
                countries.push(POST_COUNTRIES[(index + 1) % 30]);
                countries.sort();
            }
            reports.push(json!({
                "id": format!("{}", 14_000_000 + index * 10 + n),
                "countries": countries,
                "description": format!("{industry} in {country}: opportunities for U.S. firms (sample data)."),
                "expiration_date": format!("{}-12-31", 2014 + (index + n) % 6),
                "industries": [industry], "ita_industries": [industry.replace(',', "")],
                "report_type": REPORT_TYPES[(index + n) % 3],
                "title": format!("{country}: {industry} {}", REPORT_TYPES[(index + n) % 3]),
                "url": format!("http://files.export.gov/x_{}.pdf", 8_000_000 + index * 10 + n),
            }));
        }
    }
    reports
}

/// Trade information articles, in the v2 API's shape.
fn articles(rng: &mut SampleRng) -> Vec<Value> {
    let topics = [
        "Free Trade Agreements",
        "Export Financing",
        "Market Entry",
        "Regulations",
    ];
    (0..40)
        .map(|index| {
            let iso2 = POST_COUNTRIES[index % POST_COUNTRIES.len()];
            let country = name_of(iso2);
            let topic = topics[index % topics.len()];
            let industry = *rng.pick(MRL_INDUSTRIES);
            json!({
                "id": format!("{}", 100 + index), "title": format!("{topic} in {country}"),
                "short_title": format!("{topic}: {iso2}"), "summary": format!("What exporters should know about {topic} in {country}."),
                "creation_date": format!("2015-{:02}-{:02}", 1 + index % 12, 1 + index % 28),
                "release_date": format!("2015-{:02}-{:02}", 1 + (index + 1) % 12, 1 + index % 28),
                "expiration_date": null,
                "source_agencies": ["International Trade Administration"], "source_business_units": ["Global Markets"], "source_offices": [],
                "evergreen": if index % 3 == 0 { "1" } else { "0" },
                "content": format!("Sample article about {topic} in {country}."), "keyword": "",
                "export_phases": [PHASES[index % 4]], "industries": [industry], "countries": [iso2],
                "topics": [topic], "sub_topics": [], "geo_regions": [world_region(iso2)], "geo_subregions": [],
                "trade_regions": trade_region(iso2).into_iter().collect::<Vec<_>>(), "trade_programs": [], "trade_initiatives": ["Discover Global Markets"],
                "seo_metadata_title": format!("{topic} in {country}"), "seo_metadata_description": "", "seo_metadata_keyword": "",
                "trade_url": format!("http://www.export.gov/articles/sample-{index}.html"),
                "file_url": [], "image_url": [], "url_html_source": [], "url_xml_source": [],
            })
        })
        .collect()
}

/// The environmental toolkit: issues, regulations and solutions linked by
/// id, providers offering solutions, and analysis and background links.
fn envirotech() -> Vec<(&'static str, Vec<Value>)> {
    let named = |id: u32, english: String| {
        json!({
            "source_id": id, "name_english": english.clone(), "name_chinese": format!("{english} (zh)"),
            "name_french": format!("{english} (fr)"), "name_portuguese": format!("{english} (pt)"),
            "name_spanish": format!("{english} (es)"), "source_created_at": "2013-10-30", "source_updated_at": "2015-05-22",
        })
    };
    let extend = |mut record: Value, extra: Value| {
        if let (Some(record), Value::Object(extra)) = (record.as_object_mut(), extra) {
            record.extend(extra);
        }
        record
    };
    let themes = [
        "Wastewater",
        "Air Quality",
        "Mercury",
        "Solid Waste",
        "Drinking Water",
        "Soil",
    ];
    let issues: Vec<Value> = (0..6u32)
        .map(|i| {
            extend(
                named(10 + i, format!("{} Treatment", themes[i as usize])),
                json!({ "abstract_english": format!("Managing {} (sample).", themes[i as usize].to_lowercase()),
                        "regulation_ids": [20 + i], "solution_ids": [100 + 2 * i, 101 + 2 * i] }),
            )
        })
        .collect();
    let regulations: Vec<Value> = (0..6u32)
        .map(|i| {
            extend(
                named(20 + i, format!("{} Standard", themes[i as usize])),
                json!({ "url": format!("https://www.epa.gov/sample/{i}"), "issue_ids": [10 + i], "solution_ids": [100 + 2 * i] }),
            )
        })
        .collect();
    let solutions: Vec<Value> = (0..12u32)
        .map(|i| {
            extend(
                named(100 + i, format!("{} Technology {}", themes[(i / 2) as usize], i % 2 + 1)),
                json!({ "issue_ids": [10 + i / 2], "regulation_ids": if i % 2 == 0 { json!([20 + i / 2]) } else { json!([]) } }),
            )
        })
        .collect();
    let providers: Vec<Value> = (0..10u32)
        .map(|i| json!({ "source_id": 900 + i, "name_english": format!("Sample Environmental Company {i}"),
                          "source_created_at": "2014-05-03", "source_updated_at": "2014-05-03" }))
        .collect();
    let provider_solutions: Vec<Value> = (0..20u32)
        .map(|i| json!({ "source_id": 700 + i, "provider_id": 900 + i % 10, "solution_id": 100 + i % 12,
                          "url": format!("https://provider{}.example/solution/{}", i % 10, 100 + i % 12) }))
        .collect();
    let links = |base: u32, kind: &str| -> Vec<Value> {
        (0..6u32)
            .map(|i| extend(named(base + i, format!("{kind} of {} rules", themes[i as usize])),
                            json!({ "url": format!("https://www.epa.gov/{}/{i}", kind.to_lowercase()), "issue_ids": 10 + i })))
            .collect()
    };
    vec![
        ("issues", issues),
        ("regulations", regulations),
        ("solutions", solutions),
        ("providers", providers),
        ("provider_solutions", provider_solutions),
        ("analysis_links", links(30, "Analysis")),
        ("background_links", links(40, "Background")),
    ]
}
