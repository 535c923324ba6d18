//! Generated GTA interventions: every jurisdiction implements some and is
//! affected by many, with plausible types, MAST chapters, dates and products.
//! Deterministic: the same records on every run.

use std::sync::LazyLock;

use super::calendar::{from_ymd, to_date};
use super::rng::SampleRng;
use crate::countries::{self, Country};
use crate::graph::vocabulary::{
    AffectedFlow, EligibleFirms, GtaEvaluation, ImplementationLevel, InterventionType, MastChapter,
};

/// How many interventions the sample holds (about 25 implemented per
/// jurisdiction, and many more affecting each).
const SAMPLE_SIZE: usize = 6000;

/// Interventions generated beyond the sample for the simulator to publish
/// as it runs (`--sample-publish-interval`): 500, over 80 minutes at the
/// default interval.
pub const PUBLISHABLE: usize = 500;

/// Who implements the published interventions, in turn: the economies GTA
/// records most measures for, so that a subscription to one of them sees
/// news within minutes.
const PUBLISHERS: &[&str] = &[
    "USA", "CHN", "IND", "BRA", "DEU", "JPN", "GBR", "FRA", "CAN", "MEX",
];

/// The day the sample data is "as of": nothing is announced after it.
const AS_OF: (i64, i64, i64) = (2026, 10, 31);

/// One generated intervention, with GTA ids where GTA filters by id.
#[derive(Debug)]
pub struct SampleIntervention {
    pub id: u32,
    pub state_act_id: u32,
    pub title: String,
    pub description: String,
    pub source: String,
    pub evaluation: GtaEvaluation,
    pub flow: AffectedFlow,
    pub intervention_type: InterventionType,
    pub mast_chapter: MastChapter,
    pub level: ImplementationLevel,
    pub eligible_firms: EligibleFirms,
    pub implementers: Vec<&'static Country>,
    /// "European Union" for EU-wide measures.
    pub implementer_group: Option<&'static str>,
    pub affected: Vec<&'static Country>,
    pub sectors: Vec<u32>,
    pub products: Vec<(u32, String, String)>,
    pub date_announced: String,
    pub date_published: String,
    pub date_implemented: Option<String>,
    pub date_removed: Option<String>,
    pub last_updated: String,
    pub is_official_source: bool,
    /// In force on the day the sample is "as of" (GTA's `is_in_force`).
    pub in_force: bool,
}

impl SampleIntervention {
    /// In force on `day`: implemented on or before it and not removed by then.
    pub fn in_force_on(&self, day: &str) -> bool {
        self.date_implemented.as_deref().is_some_and(|d| d <= day)
            && self.date_removed.as_deref().is_none_or(|d| d > day)
    }
}

/// The sample interventions and the first `published` of those generated
/// for publishing, ordered by id (the published have the highest).
pub fn visible_interventions(published: usize) -> &'static [SampleIntervention] {
    static DATA: LazyLock<Vec<SampleIntervention>> = LazyLock::new(generate);
    &DATA[..SAMPLE_SIZE + published.min(PUBLISHABLE)]
}

/// Topics used in titles, with an HS chapter each.
const TOPICS: &[(&str, u32)] = &[
    ("steel products", 72),
    ("aluminium", 76),
    ("solar panels", 85),
    ("semiconductors", 85),
    ("electric vehicles", 87),
    ("wheat", 10),
    ("rice", 10),
    ("fertilisers", 31),
    ("pharmaceuticals", 30),
    ("rare earth elements", 28),
    ("lithium", 28),
    ("textiles", 52),
    ("footwear", 64),
    ("machinery", 84),
    ("dairy products", 4),
    ("beef", 2),
    ("timber", 44),
    ("crude oil", 27),
    ("plastics", 39),
    ("medical equipment", 90),
];

/// The MAST chapter GTA files an intervention type under.
fn chapter_of(kind: InterventionType) -> MastChapter {
    use InterventionType as T;
    use MastChapter as C;
    match kind.gta_id() {
        46 => C::ASanitaryAndPhytosanitaryMeasure,
        49 => C::BTechnicalBarriersToTrade,
        9..=13 => C::CapitalControlMeasures,
        51..=53 | 56 | 58 => C::DContingentTradeProtectiveMeasures,
        22 | 36 | 44 | 45 => C::ENonAutomaticLicensingQuotasEtc,
        48 | 71..=73 => C::FPriceControlMeasuresIncludingAdditionalTaxesAndCharges,
        25..=27 => C::FdiMeasures,
        33 | 34 | 54 | 55 => C::GFinanceMeasures,
        28..=30 | 63 | 64 | 68 => C::ITradeRelatedInvestmentMeasures,
        31 | 32 => C::MigrationMeasures,
        40..=43 => C::MGovernmentProcurementRestrictions,
        24 => C::NIntellectualProperty,
        15..=21 | 35 | 37 | 69 | 70 | 74 => C::PExportRelatedMeasuresIncludingSubsidies,
        47 => C::TariffMeasures,
        _ if kind == T::InstrumentUnclear => C::InstrumentUnclear,
        _ => C::LSubsidiesExcludingExportSubsidies,
    }
}

/// The flow an intervention affects, by the rule the gateway derives it
/// with (`sources::gta::model::derived_flow`), so that the simulator's
/// `affected_flow` filter and `Intervention.affectedTrade` agree.
fn flow_of(kind: InterventionType, chapter: MastChapter) -> AffectedFlow {
    use crate::sources::gta::model::{derived_flow, AffectedFlowKind};
    match derived_flow(Some(kind.label()), Some(chapter.label())).0 {
        AffectedFlowKind::Inward => AffectedFlow::Inward,
        AffectedFlowKind::Outward => AffectedFlow::Outward,
        AffectedFlowKind::OutwardSubsidy => AffectedFlow::OutwardSubsidy,
    }
}

fn generate() -> Vec<SampleIntervention> {
    let mut rng = SampleRng::new(0x7ADE_6A4F);
    let all = countries::all();
    let eu = countries::group("EU-27")
        .map(|g| g.countries())
        .unwrap_or_default();
    let start = from_ymd(2009, 1, 1);
    let as_of = from_ymd(AS_OF.0, AS_OF.1, AS_OF.2);
    // Common tariff and subsidy types come up more often, as in GTA.
    let frequent = [
        InterventionType::ImportTariff,
        InterventionType::FinancialGrant,
        InterventionType::StateLoan,
        InterventionType::AntiDumping,
        InterventionType::ExportBan,
        InterventionType::TradeFinance,
        InterventionType::LocalContentRequirement,
    ];
    // The published come after the sample, so that their draws leave the
    // sample's records as they were.
    (0..SAMPLE_SIZE + PUBLISHABLE)
        .map(|index| {
            let published_later = index >= SAMPLE_SIZE;
            let eu_wide = rng.chance(6);
            let implementers: Vec<&'static Country> = if eu_wide {
                eu.clone()
            } else if published_later {
                let publisher = PUBLISHERS[(index - SAMPLE_SIZE) % PUBLISHERS.len()];
                countries::by_iso3(publisher).into_iter().collect()
            } else {
                vec![&all[index % all.len()]]
            };
            let intervention_type = if rng.chance(40) {
                *rng.pick(&frequent)
            } else {
                *rng.pick(InterventionType::ALL)
            };
            let mast_chapter = chapter_of(intervention_type);
            let affected_count = 1 + rng.below(8) as usize;
            let mut affected: Vec<&'static Country> = Vec::with_capacity(affected_count);
            while affected.len() < affected_count {
                let candidate = rng.pick(all);
                if !implementers.iter().any(|c| c.id == candidate.id)
                    && !affected.iter().any(|c| c.id == candidate.id)
                {
                    affected.push(candidate);
                }
            }
            // Trade defence and tariffs hit China most, as in GTA's own
            // data: most of them name it (decided by the index, so that the
            // random draws of every record stay as they were).
            let china = countries::by_iso3("CHN");
            if let Some(china) = china.filter(|china| {
                matches!(
                    intervention_type,
                    InterventionType::ImportTariff | InterventionType::AntiDumping
                ) && index % 5 < 3
                    && !implementers.iter().any(|c| c.id == china.id)
                    && !affected.iter().any(|c| c.id == china.id)
            }) {
                affected[0] = china;
            }
            affected.sort_by_key(|c| c.id);
            let evaluation = match rng.below(100) {
                0..=54 => GtaEvaluation::Red,
                55..=79 => GtaEvaluation::Amber,
                _ => GtaEvaluation::Green,
            };
            let (topic, chapter) = *rng.pick(TOPICS);
            // Real subheadings of the topic's chapter in the sample HS list
            // (drawn as before, so that every other draw stays as it was).
            let subheadings = super::hs_list::hs().subheadings_of_chapter(chapter);
            let mut products: Vec<(u32, String, String)> = (0..1 + rng.below(5))
                .map(|_| {
                    let pick = rng.below(20) as usize * 10 + rng.below(10) as usize;
                    let code = subheadings[pick % subheadings.len()];
                    let prior = format!("{}", rng.below(15));
                    let new = format!("{}", rng.below(30));
                    (code, prior, new)
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            products.retain(|(code, _, _)| seen.insert(*code));
            let sectors = (0..1 + rng.below(3))
                .map(|_| 11 + rng.below(480) as u32)
                .collect();
            // News is recent: announced in the month before the as-of day.
            let announced = if published_later {
                as_of - rng.below(30) as i64
            } else {
                start + rng.below((as_of - start) as u64) as i64
            };
            let published = (announced + rng.below(60) as i64).min(as_of);
            let implemented = (!rng.chance(10)).then(|| announced + rng.below(180) as i64);
            let removed = implemented
                .filter(|_| rng.chance(20))
                .map(|day| day + 365 + rng.below(730) as i64);
            let updated = (published + rng.below(400) as i64).min(as_of);
            let lead = if eu_wide { "EU" } else { implementers[0].short_name };
            let title = format!("{lead}: {} on {topic}", intervention_type.label());
            let description = format!(
                "<p>On {}, {} announced a {} affecting {topic} (sample data generated by trade-graph).</p>",
                to_date(announced),
                if eu_wide { "the European Union" } else { implementers[0].name },
                intervention_type.label().to_lowercase(),
            );
            SampleIntervention {
                id: 100_000 + index as u32,
                state_act_id: 80_000 + (index / 2) as u32,
                title,
                description,
                source: format!("Sample official gazette ({}).", to_date(announced)),
                evaluation,
                flow: flow_of(intervention_type, mast_chapter),
                intervention_type,
                mast_chapter,
                level: if eu_wide {
                    ImplementationLevel::Supranational
                } else if rng.chance(15) {
                    ImplementationLevel::Subnational
                } else {
                    ImplementationLevel::National
                },
                eligible_firms: if rng.chance(60) {
                    EligibleFirms::All
                } else {
                    *rng.pick(EligibleFirms::ALL)
                },
                implementers,
                implementer_group: eu_wide.then_some("European Union"),
                affected,
                sectors,
                products,
                date_announced: to_date(announced),
                date_published: to_date(published),
                date_implemented: implemented.map(to_date),
                date_removed: removed.map(to_date),
                last_updated: to_date(updated),
                is_official_source: rng.chance(70),
                in_force: implemented.is_some_and(|day| day <= as_of)
                    && removed.is_none_or(|day| day > as_of),
            }
        })
        .collect()
}
