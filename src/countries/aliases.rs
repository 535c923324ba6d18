//! The names and codes people actually type for a jurisdiction, beside GTA's
//! own: ISO 3166 and UN official and short names, common English names,
//! older names, and codes in use that are not ISO's (UK, XKX for Kosovo).
//!
//! Every name is compared [`normalized`]: case and accents folded, `&` read as
//! "and", punctuation and a leading "the" dropped, so "Côte d'Ivoire", "COTE
//! D IVOIRE" and "cote d'ivoire" are one name. A name that stands for more
//! than one jurisdiction ("Congo") is [`AMBIGUOUS`]: refused with the
//! candidates rather than guessed.

/// Codes in use beside ISO's: (code, ISO3). Accepted wherever ISO codes are.
pub(super) static CODES: &[(&str, &str)] = &[
    // The United Kingdom's common code (ISO's is GB).
    ("UK", "GBR"),
    // Kosovo: XKX (the EU's and many registries'), KSV (IOC); GTA's is XXK.
    ("XKX", "XXK"),
    ("KSV", "XXK"),
];

/// (alias, ISO3 of the jurisdiction it names). Written normalized.
pub(super) static ALIASES: &[(&str, &str)] = &[
    // Attack 21, FN.1/FN.2: forms people and Comtrade write.
    ("macedonia fyr", "MKD"),
    // Issue 21's seventh attack: the IMF's, the World Bank's and official
    // long forms.
    ("u s virgin islands", "VIR"),
    ("us virgin islands", "VIR"),
    ("korea democratic republic", "PRK"),
    ("venezuela republica bolivariana de", "VEN"),
    ("republica bolivariana de venezuela", "VEN"),
    ("iran i r of", "IRN"),
    ("iran ir of", "IRN"),
    ("germany federal republic", "DEU"),
    ("federal republic of germany", "DEU"),
    ("arab republic of egypt", "EGY"),
    ("ksa", "SAU"),
    ("hongkong", "HKG"),
    ("kingdom of eswatini", "SWZ"),
    ("neth antilles", "ANT"),
    // Official and common English names.
    ("afghanistan islamic republic of", "AFG"),
    ("antigua and barbuda", "ATG"),
    ("bahamas the", "BHS"),
    ("bolivia plurinational state of", "BOL"),
    ("plurinational state of bolivia", "BOL"),
    ("bosnia and herzegovina", "BIH"),
    ("bosnia", "BIH"),
    ("bosnia herzegovina", "BIH"),
    ("brunei", "BRN"),
    ("burma", "MMR"),
    ("cabo verde", "CPV"),
    ("cape verde islands", "CPV"),
    ("people s republic of china", "CHN"),
    ("peoples republic of china", "CHN"),
    ("prc", "CHN"),
    ("china mainland", "CHN"),
    ("taiwan", "TWN"),
    ("taiwan province of china", "TWN"),
    ("republic of china", "TWN"),
    (
        "separate customs territory of taiwan penghu kinmen and matsu",
        "TWN",
    ),
    ("other asia nes", "TWN"),
    ("democratic republic of the congo", "COD"),
    ("congo democratic republic of the", "COD"),
    ("congo democratic republic", "COD"),
    ("drc", "COD"),
    ("congo kinshasa", "COD"),
    ("zaire", "COD"),
    ("republic of the congo", "COG"),
    ("republic of congo", "COG"),
    ("congo republic of", "COG"),
    ("congo republic of the", "COG"),
    ("congo brazzaville", "COG"),
    ("cote d ivoire", "CIV"),
    ("cote divoire", "CIV"),
    ("czech republic", "CZE"),
    ("faroe islands", "FRO"),
    ("faroes", "FRO"),
    ("falkland islands malvinas", "FLK"),
    ("malvinas", "FLK"),
    ("micronesia federated states of", "FSM"),
    ("federated states of micronesia", "FSM"),
    ("norfolk islands", "NFK"),
    ("fs micronesia", "FSM"),
    ("gambia the", "GMB"),
    ("great britain", "GBR"),
    ("britain", "GBR"),
    (
        "united kingdom of great britain and northern ireland",
        "GBR",
    ),
    ("england", "GBR"),
    ("holy see", "VAT"),
    ("vatican city", "VAT"),
    ("vatican city state", "VAT"),
    ("hong kong sar", "HKG"),
    ("hong kong sar china", "HKG"),
    ("china hong kong sar", "HKG"),
    ("hong kong china", "HKG"),
    ("macau", "MAC"),
    ("macao sar", "MAC"),
    ("china macao sar", "MAC"),
    ("macao china", "MAC"),
    ("iran islamic republic of", "IRN"),
    ("islamic republic of iran", "IRN"),
    ("south korea", "KOR"),
    ("korea south", "KOR"),
    ("korea republic of", "KOR"),
    ("korea republic", "KOR"),
    ("north korea", "PRK"),
    ("korea north", "PRK"),
    ("korea democratic people s republic of", "PRK"),
    ("korea democratic peoples republic of", "PRK"),
    ("democratic people s republic of korea", "PRK"),
    ("democratic peoples republic of korea", "PRK"),
    ("kosovo", "XXK"),
    ("kyrgyz republic", "KGZ"),
    ("laos", "LAO"),
    ("lao pdr", "LAO"),
    ("lao people s democratic republic", "LAO"),
    ("lao peoples democratic republic", "LAO"),
    ("moldova", "MDA"),
    ("moldova republic of", "MDA"),
    ("north macedonia", "MKD"),
    ("republic of north macedonia", "MKD"),
    ("former yugoslav republic of macedonia", "MKD"),
    ("tfyr of macedonia", "MKD"),
    ("fyrom", "MKD"),
    ("netherlands the", "NLD"),
    ("holland", "NLD"),
    ("palestine", "PSE"),
    ("palestine state of", "PSE"),
    ("state of palestine", "PSE"),
    ("occupied palestinian territory", "PSE"),
    ("palestinian territories", "PSE"),
    ("russian federation", "RUS"),
    ("reunion", "REU"),
    ("saint barthelemy", "BLM"),
    ("saint helena ascension and tristan da cunha", "SHN"),
    ("saint kitts and nevis", "KNA"),
    ("saint martin", "MAF"),
    ("saint martin french part", "MAF"),
    ("saint pierre and miquelon", "SPM"),
    ("saint vincent and the grenadines", "VCT"),
    ("sao tome and principe", "STP"),
    ("slovak republic", "SVK"),
    ("sudan", "SDN"),
    ("svalbard and jan mayen", "SJM"),
    ("svalbard and jan mayen islands", "SJM"),
    ("swaziland", "SWZ"),
    ("syrian arab republic", "SYR"),
    ("tanzania united republic of", "TZA"),
    ("united republic of tanzania", "TZA"),
    ("east timor", "TLS"),
    ("trinidad and tobago", "TTO"),
    ("turkey", "TUR"),
    ("turkiye", "TUR"),
    ("republic of turkiye", "TUR"),
    ("turks and caicos islands", "TCA"),
    ("united states", "USA"),
    ("us", "USA"),
    ("u s", "USA"),
    ("u s a", "USA"),
    ("virgin islands u s", "VIR"),
    ("united states virgin islands", "VIR"),
    ("virgin islands british", "VGB"),
    ("venezuela bolivarian republic of", "VEN"),
    ("bolivarian republic of venezuela", "VEN"),
    ("viet nam", "VNM"),
    ("wallis and futuna", "WLF"),
    ("wallis and futuna islands", "WLF"),
    ("emirates", "ARE"),
    ("uae", "ARE"),
    // Issue 21: codes and short forms people write as names.
    ("usa", "USA"),
    ("uk", "GBR"),
    ("u k", "GBR"),
    ("brasil", "BRA"),
    ("dprk", "PRK"),
    ("rok", "KOR"),
    // Former names and old transliterations.
    ("kazakstan", "KAZ"),
    ("byelorussia", "BLR"),
    ("belorussia", "BLR"),
    ("byelorussian ssr", "BLR"),
    ("west bank and gaza", "PSE"),
    ("west bank and gaza strip", "PSE"),
    ("gaza strip", "PSE"),
    ("ivory coast", "CIV"),
    ("dutch antilles", "ANT"),
    ("sint maarten dutch part", "SXM"),
    ("saint maarten", "SXM"),
    ("curacao", "CUW"),
    ("bonaire", "BES"),
    ("bonaire sint eustatius and saba", "BES"),
    ("caribbean netherlands", "BES"),
    // The forms of the names a qualifier splits (SPLIT), as the major lists
    // write them: the World Bank ("Korea, Dem. People's Rep.", "Congo,
    // Rep.", "Yemen, Rep."), the IMF ("China, P.R.: Mainland", "Yemen, Rep.
    // of"), ISO 3166 ("Korea (the Republic of)", "Congo (the)") and UN M49
    // ("China, Hong Kong Special Administrative Region").
    ("korea democratic people s republic", "PRK"),
    ("korea the democratic people s republic of", "PRK"),
    ("korea dpr", "PRK"),
    ("korea the republic of", "KOR"),
    ("republic of korea", "KOR"),
    ("congo republic", "COG"),
    ("congo the", "COG"),
    ("congo democratic republic of", "COD"),
    ("congo the democratic republic of the", "COD"),
    ("dr congo", "COD"),
    ("yemen republic", "YEM"),
    ("yemen republic of", "YEM"),
    ("republic of yemen", "YEM"),
    ("china people s republic of", "CHN"),
    ("china p r mainland", "CHN"),
    ("china p r", "CHN"),
    ("china p r hong kong", "HKG"),
    ("china p r macao", "MAC"),
    ("china hong kong special administrative region", "HKG"),
    ("china macao special administrative region", "MAC"),
    ("hong kong special administrative region of china", "HKG"),
    ("macao special administrative region of china", "MAC"),
    ("macao sar china", "MAC"),
    ("taiwan china", "TWN"),
    ("china taiwan province of", "TWN"),
    ("viet nam socialist republic of", "VNM"),
    ("vietnam socialist republic of", "VNM"),
    ("germany federal republic of", "DEU"),
    ("sudan the", "SDN"),
    ("sudan republic of the", "SDN"),
    ("republic of the sudan", "SDN"),
    ("south sudan republic of", "SSD"),
    // The IMF's "Dem. Rep. of" forms and other official names.
    ("lao p d r", "LAO"),
    ("timor leste democratic republic of", "TLS"),
    ("democratic republic of timor leste", "TLS"),
    ("sao tome and principe democratic republic of", "STP"),
    ("ethiopia the federal democratic republic of", "ETH"),
    ("algeria people s democratic republic of", "DZA"),
    ("nepal federal democratic republic of", "NPL"),
    ("sri lanka democratic socialist republic of", "LKA"),
    ("west bank and gaza strip the", "PSE"),
    // Territories outside GTA's list, as Comtrade and ISO write them.
    ("christmas islands", "CXR"),
    ("cocos islands", "CCK"),
    ("cocos keeling islands", "CCK"),
    ("french south antarctic territory", "ATF"),
    ("aland islands", "ALA"),
    ("aland", "ALA"),
    ("united states minor outlying islands", "UMI"),
    ("heard island and mcdonald islands", "HMD"),
];

/// Names that a qualifier after a comma or in brackets turns into another
/// jurisdiction ("Korea, Rep." and "Korea, Dem. People's Rep."; "Congo,
/// Rep." and "Congo, Dem. Rep."; "China, Hong Kong SAR"): never read
/// without their qualifier; [`ALIASES`] spells out their forms.
pub(super) static SPLIT: &[&str] = &[
    "korea",
    "congo",
    "yemen",
    "china",
    "sudan",
    "germany",
    "vietnam",
    "viet nam",
    "virgin islands",
    "saint martin",
    "guinea",
];

/// The words of a government's form, as the lists write them after a comma
/// ("Egypt, Arab Rep.", "Armenia, Rep. of", "Bahrain, Kingdom of",
/// "Venezuela, RB", "Micronesia, Fed. Sts.", "Macedonia, FYR"): normalized
/// (so "Rep." is "republic", "Fed." "federal").
pub(super) static FORM_WORDS: &[&str] = &[
    "republic",
    "of",
    "the",
    "kingdom",
    "islamic",
    "arab",
    "federal",
    "federated",
    "federative",
    "states",
    "state",
    "sts",
    "principality",
    "united",
    "plurinational",
    "bolivarian",
    "bolivariana",
    "de",
    "rb",
    "grand",
    "duchy",
    "sultanate",
    "commonwealth",
    "socialist",
    "hashemite",
    "oriental",
    "cooperative",
    "independent",
    "democratic",
    "people",
    "peoples",
    "s",
    "fyr",
    "former",
    "yugoslav",
    "netherlands",
    "and",
    "sar",
    "union",
];

/// Names that stand for more than one jurisdiction: (name, the ISO3 codes
/// it could mean).
pub(super) static AMBIGUOUS: &[(&str, &[&str])] = &[
    ("congo", &["COG", "COD"]),
    // Issue 21: the Republic of Korea and the DPRK are both "Korea".
    ("korea", &["KOR", "PRK"]),
    // The USA, or the continents (see [`AMBIGUOUS_REGIONS`]).
    ("america", &["USA"]),
    ("americas", &["USA"]),
    ("virgin islands", &["VIR", "VGB"]),
];

/// Ambiguous names that can also mean a region, which is no jurisdiction:
/// (name, what the region is), said beside the candidates.
pub(super) static AMBIGUOUS_REGIONS: &[(&str, &str)] = &[
    ("america", "the Americas, a continent (no jurisdiction)"),
    ("americas", "the Americas, a continent (no jurisdiction)"),
];

/// A name as it is compared: lower case, accents folded, `&` as "and",
/// punctuation as spaces, spaces collapsed, a leading "the" dropped.
pub fn normalized(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '&' => folded.push_str(" and "),
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
                folded.push('a')
            }
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => folded.push('e'),
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => folded.push('i'),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => folded.push('o'),
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => folded.push('u'),
            'ç' | 'Ç' => folded.push('c'),
            'ñ' | 'Ñ' => folded.push('n'),
            c if c.is_alphanumeric() => folded.extend(c.to_lowercase()),
            // Apostrophes, dots, commas, hyphens, brackets: word breaks.
            _ => folded.push(' '),
        }
    }
    // Abbreviations in the lists people copy from (Comtrade's "Rep. of
    // Moldova", "Cayman Isds", "N. Mariana Isds", "St Lucia").
    let words: Vec<&str> = folded
        .split_whitespace()
        .map(|word| match word {
            "isds" | "isls" => "islands",
            "isd" | "isl" => "island",
            "rep" => "republic",
            "dem" => "democratic",
            "st" => "saint",
            "br" => "british",
            "fr" => "french",
            "terr" => "territory",
            "n" => "northern",
            "fed" => "federal",
            other => other,
        })
        .collect();
    let words = match words.split_first() {
        Some((&"the", rest)) if !rest.is_empty() => rest,
        _ => &words[..],
    };
    words.join(" ")
}

/// Names of former areas that covered several of today's jurisdictions
/// (or part of one), with the Comtrade code of the area: no node stands for
/// them, so a name is answered with an error naming the jurisdictions to
/// ask for (`super::former_name`). Written normalized.
pub(super) static FORMER_NAMES: &[(&str, u16)] = &[
    ("serbia and montenegro", 891),
    ("ussr", 810),
    ("ussr 1990", 810),
    ("fmr ussr", 810),
    ("former ussr", 810),
    ("soviet union", 810),
    ("czechoslovakia", 200),
    ("czechoslovakia 1992", 200),
    ("yugoslavia", 890),
    ("yugoslavia 1991", 890),
    ("fmr yugoslavia", 890),
    ("former yugoslavia", 890),
    ("belgium luxembourg", 58),
    ("belgium luxembourg 1998", 58),
    ("netherlands antilles and aruba", 532),
    ("so african customs union", 711),
    ("southern african customs union", 711),
    ("sacu", 711),
    ("fmr sudan", 736),
    ("sudan 2011", 736),
    ("fmr ethiopia", 230),
    ("ethiopia 1992", 230),
    ("east germany", 278),
    ("fmr democratic republic of germany", 278),
    ("democratic republic of germany", 278),
    ("democratic republic of germany 1990", 278),
    ("german democratic republic", 278),
    ("fmr federal republic of germany", 280),
    ("federal republic of germany 1990", 280),
    ("west germany", 280),
    ("fmr democratic yemen", 720),
    ("democratic yemen", 720),
    ("democratic yemen 1990", 720),
    ("south yemen", 720),
    ("arab republic of yemen 1990", 886),
    ("north yemen", 886),
    ("fmr republic of vietnam", 868),
    ("south vietnam", 868),
    ("north vietnam", 866),
    ("fmr tanganyika", 835),
    ("tanganyika", 835),
    ("zanzibar", 836),
    ("rhodesia nyasaland", 717),
    ("federation of rhodesia and nyasaland", 717),
    ("east and west pakistan", 588),
    ("peninsula malaysia", 459),
    ("peninsula malaysia 1963", 459),
    ("sabah", 461),
    ("sabah 1963", 461),
    ("sarawak", 457),
    ("pacific islands", 582),
    ("trust territory of the pacific islands", 582),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_folded() {
        assert_eq!(normalized("Côte d'Ivoire"), "cote d ivoire");
        assert_eq!(normalized("  COTE D IVOIRE "), "cote d ivoire");
        assert_eq!(normalized("Bosnia & Herzegovina"), "bosnia and herzegovina");
        assert_eq!(normalized("Türkiye"), "turkiye");
        assert_eq!(normalized("Korea, Republic of"), "korea republic of");
        assert_eq!(normalized("The Gambia"), "gambia");
        assert_eq!(normalized("U.S.A."), "u s a");
        assert_eq!(normalized("Rep. of Moldova"), "republic of moldova");
        assert_eq!(normalized("N. Mariana Isds"), "northern mariana islands");
    }

    #[test]
    fn former_names_are_written_normalized_and_name_a_listed_area() {
        for (name, code) in FORMER_NAMES {
            assert_eq!(normalized(name), *name);
            assert!(
                super::super::former_code(super::super::ReporterCode(*code)).is_some(),
                "{name}: {code} is no former code"
            );
        }
    }

    #[test]
    fn aliases_are_written_normalized_and_unambiguous() {
        for (alias, _) in ALIASES {
            assert_eq!(normalized(alias), *alias);
            assert!(
                !AMBIGUOUS.iter().any(|(name, _)| name == alias),
                "{alias} is both an alias and ambiguous"
            );
        }
    }
}
