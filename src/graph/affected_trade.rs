//! `Intervention.affectedTrade`: the trade a measure hits, by GTA's own
//! method (gtalibrary's `gta_imp_exp_hs_tuples` and `gta_trade_coverage`),
//! asked of Comtrade for every measure of an operation in one plan
//! (`sources::comtrade::coverage`).
//!
//! - Inward (the implementer is the importer): the implementer's imports
//!   (Comtrade reporter = implementer, flow M) from the affected
//!   jurisdictions (partners) of the measure's HS6 products.
//! - Outward (the implementer is the exporter): its exports (flow X) to the
//!   affected jurisdictions of those products.
//! - Outward subsidy: GTA sums the affected jurisdictions' exports to the
//!   third markets where they meet the subsidised firms; its API does not
//!   name those markets, so the value is null and `method` says so.
//!
//! GTA's records do not carry the flow: it is derived from the intervention
//! type (`sources::gta::model::derived_flow`) unless the field's `flow`
//! argument names it. The year defaults to the one before the announcement
//! (GTA infers affected jurisdictions from the trade of that year), and
//! falls back to the latest year the implementer has published. An EU-wide
//! measure (every EU-27 member among the implementers, or GTA's EU, 1049)
//! is asked of Comtrade's EU reporter (97, the EU's extra-EU trade); other
//! implementers are summed one by one.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Object, SimpleObject};

use super::commodity::{hs_commodity, Commodity};
use super::context::operation;
use super::jurisdiction::Jurisdiction;
use super::vocabulary::AffectedFlow;
use crate::countries::{self, GtaId};
use crate::error::{Error, GraphqlResult};
use crate::sources::comtrade::coverage::{Area, Coverage, CoverageKey, YearChoice};
use crate::sources::comtrade::FlowCode;
use crate::sources::gta::model::{AffectedFlowKind, Intervention};

/// One affected jurisdiction's part of a measure's affected trade.
#[derive(SimpleObject)]
pub struct AffectedTradePartner {
    /// The affected jurisdiction (the exporter of an inward measure, the
    /// importer of an outward one).
    pub jurisdiction: Jurisdiction,
    /// Its trade in the measure's products that year, US dollars.
    pub value: f64,
    /// Its share of the measure's affected trade.
    pub share: Option<f64>,
}

/// One product's part of a measure's affected trade.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AffectedTradeProduct {
    /// The six-digit HS code ("870431").
    pub hs_code: String,
    /// Its trade with the affected jurisdictions that year, US dollars.
    pub value: f64,
    /// Its share of the measure's affected trade.
    pub share: Option<f64>,
}

#[ComplexObject]
impl AffectedTradeProduct {
    /// The product as a node of the HS list (null when the list lacks the
    /// code).
    async fn commodity(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<Commodity>>> {
        Some(hs_commodity(ctx, &self.hs_code).await)
    }
}

/// The trade an intervention hits: what its implementers import from (an
/// inward measure) or export to (an outward one) the affected jurisdictions
/// in its affected HS6 products, in one year, from UN Comtrade.
pub struct AffectedTrade {
    year: Option<u16>,
    flow: AffectedFlowKind,
    flow_derivation: String,
    coverage: Option<Arc<Coverage>>,
    /// Why nothing was asked (an outward subsidy).
    unanswered: Option<String>,
    method: String,
}

/// The trade an intervention hits, from UN Comtrade by GTA's method: what
/// its implementers import from (an inward measure) or export to (an
/// outward one) the affected jurisdictions in its affected HS6 products, in
/// one year; with each jurisdiction's and product's part, the share of the
/// implementers' trade, whether every product and partner had rows, and
/// what was summed.
#[Object]
impl AffectedTrade {
    /// The year summed: by default the one before the announcement, or the
    /// latest the implementer has published when it has not published that
    /// one (`yearNote` says so).
    async fn year(&self) -> Option<i32> {
        self.year.map(i32::from)
    }
    /// Why the year is not the default one, when it is not.
    async fn year_note(&self) -> Option<&str> {
        self.coverage.as_ref()?.year_note.as_deref()
    }
    /// The flow the measure affects: INWARD (the implementer's imports),
    /// OUTWARD (its exports) or OUTWARD_SUBSIDY.
    async fn flow(&self) -> AffectedFlow {
        match self.flow {
            AffectedFlowKind::Inward => AffectedFlow::Inward,
            AffectedFlowKind::Outward => AffectedFlow::Outward,
            AffectedFlowKind::OutwardSubsidy => AffectedFlow::OutwardSubsidy,
        }
    }
    /// How the flow was decided: given as the `flow` argument, or derived
    /// from the intervention type (GTA's records do not carry it).
    async fn flow_derivation(&self) -> &str {
        &self.flow_derivation
    }
    /// The affected trade in US dollars: the sum of exactly the rows of its
    /// implementers × affected jurisdictions × products in the year and
    /// flow. Null when nothing could be summed (an outward subsidy, an
    /// implementer without Comtrade data).
    async fn value(&self) -> Option<f64> {
        self.coverage.as_ref()?.value
    }
    /// The affected jurisdictions' parts, in the order GTA lists them
    /// (those with trade).
    async fn jurisdictions(&self) -> Vec<AffectedTradePartner> {
        let Some(coverage) = &self.coverage else {
            return Vec::new();
        };
        coverage
            .by_partner
            .iter()
            .map(|(id, value)| AffectedTradePartner {
                jurisdiction: jurisdiction(*id),
                value: *value,
                share: share(*value, coverage.value),
            })
            .collect()
    }
    /// The products' parts, in code order (those with trade).
    async fn products(&self) -> Vec<AffectedTradeProduct> {
        let Some(coverage) = &self.coverage else {
            return Vec::new();
        };
        coverage
            .by_product
            .iter()
            .map(|(code, value)| AffectedTradeProduct {
                hs_code: code.clone(),
                value: *value,
                share: share(*value, coverage.value),
            })
            .collect()
    }
    /// The implementers' total imports (inward) or exports (outward) with
    /// the world that year, US dollars.
    async fn implementer_total(&self) -> Option<f64> {
        self.coverage.as_ref()?.implementer_total
    }
    /// `value` as a share of `implementerTotal` (0 to 1); null when the
    /// numbers cannot make one (a total that is not positive, a value
    /// above the total), which `incompleteReasons` names.
    async fn share_of_implementer_trade(&self) -> Option<f64> {
        let coverage = self.coverage.as_ref()?;
        share(coverage.value?, coverage.implementer_total)
    }
    /// The Comtrade reporter codes summed (842 for the USA, 97 for an
    /// EU-wide measure).
    async fn reporter_codes(&self) -> Vec<i32> {
        self.coverage
            .as_ref()
            .map(|coverage| {
                coverage
                    .reporter_codes
                    .iter()
                    .map(|c| i32::from(*c))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// False when a product or an affected jurisdiction had no rows, an
    /// implementer had no data for the year, nothing was summed, the
    /// operation's Comtrade allowance or a truncated answer left cells
    /// unasked, or Comtrade's numbers are inconsistent (a negative value,
    /// a value above the implementer's total); `incompleteReasons` says
    /// which.
    async fn complete(&self) -> bool {
        self.unanswered.is_none() && self.coverage.as_ref().is_some_and(|c| c.complete)
    }
    /// Why `complete` is false, one reason a line.
    async fn incomplete_reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self.unanswered.iter().cloned().collect();
        if let Some(coverage) = &self.coverage {
            reasons.extend(coverage.reasons.iter().cloned());
        }
        reasons
    }
    /// What was left out without making the answer incomplete: rows
    /// broken down by customs procedure, mode of transport or second
    /// partner beside the totals that were summed.
    async fn notes(&self) -> Vec<String> {
        self.coverage
            .as_ref()
            .map(|coverage| coverage.notes.clone())
            .unwrap_or_default()
    }
    /// What was summed, in one sentence.
    async fn method(&self) -> &str {
        &self.method
    }
}

/// `part` of `whole`, between 0 and 1; `None` when the numbers cannot
/// make a share (a whole that is not positive, a negative part, a part
/// larger than the whole): never clamped, the field's incomplete reasons
/// name the inconsistency.
pub(super) fn share(part: f64, whole: Option<f64>) -> Option<f64> {
    whole
        .filter(|whole| *whole > 0.0 && whole.is_finite())
        .map(|whole| part / whole)
        .filter(|share| (0.0..=1.0).contains(share))
}

fn jurisdiction(id: GtaId) -> Jurisdiction {
    match countries::by_gta_id(id) {
        Some(country) => Jurisdiction::Known(country),
        None => Jurisdiction::Unlisted {
            id: id.0,
            name: String::new(),
            iso3: String::new(),
        },
    }
}

/// The EU-27 members' GTA ids.
fn eu_members() -> Vec<GtaId> {
    countries::group("EU-27")
        .map(|group| group.countries().iter().map(|country| country.id).collect())
        .unwrap_or_default()
}

/// The implementers as Comtrade is asked for them: the EU as its own
/// reporter when every member implements the measure (GTA lists an
/// EU-wide measure's implementers as the 27 members) or GTA's EU (1049)
/// does; every other implementer on its own.
fn implementer_areas(intervention: &Intervention) -> Vec<Area> {
    let ids: Vec<u16> = intervention.implementers.iter().map(|j| j.id).collect();
    let members = eu_members();
    let eu = countries::EUROPEAN_UNION.gta_id;
    let eu_wide = ids.contains(&eu)
        || (!members.is_empty() && members.iter().all(|member| ids.contains(&member.0)));
    let mut areas = Vec::new();
    if eu_wide {
        areas.push(Area::EuropeanUnion);
    }
    for id in ids {
        let area = Area::Jurisdiction(GtaId(id));
        let folded = eu_wide && (id == eu || members.contains(&GtaId(id)));
        if !folded && !areas.contains(&area) {
            areas.push(area);
        }
    }
    areas
}

/// The affected jurisdictions as partners: GTA's EU (1049) as its members
/// (Comtrade's partner lists have no EU).
fn partner_ids(intervention: &Intervention) -> Vec<GtaId> {
    let mut ids: Vec<GtaId> = Vec::new();
    for affected in &intervention.affected {
        let expanded = if affected.id == countries::EUROPEAN_UNION.gta_id {
            eu_members()
        } else {
            vec![GtaId(affected.id)]
        };
        for id in expanded {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The year of a `YYYY-MM-DD` date.
fn year_of(date: Option<&str>) -> Option<u16> {
    date?.get(..4)?.parse().ok()
}

/// Names for a sentence: "the United States of America", "the European
/// Union and Mexico", "5 implementers".
fn names(areas: &[Area]) -> String {
    let named: Vec<String> = areas
        .iter()
        .map(|area| match area {
            Area::EuropeanUnion => "the European Union".to_owned(),
            Area::Jurisdiction(id) => countries::by_gta_id(*id)
                .map_or_else(|| format!("jurisdiction {id}"), |c| c.name.to_owned()),
        })
        .collect();
    match named.as_slice() {
        [] => "no implementer".to_owned(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        many => format!("{} implementers", many.len()),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// "Brazil's", "the Bahamas'", "3 implementers'".
fn possessive(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// The affected trade of `intervention`; `year` and `flow` as the field's
/// arguments give them.
pub(super) async fn affected_trade(
    ctx: &Context<'_>,
    intervention: &Intervention,
    filed_as: Option<AffectedFlowKind>,
    year: Option<i32>,
    flow: Option<AffectedFlow>,
) -> async_graphql::Result<AffectedTrade> {
    let (kind, derivation) = match flow {
        Some(AffectedFlow::Inward) => (
            AffectedFlowKind::Inward,
            "given (the flow argument)".to_owned(),
        ),
        Some(AffectedFlow::Outward) => (
            AffectedFlowKind::Outward,
            "given (the flow argument)".to_owned(),
        ),
        Some(AffectedFlow::OutwardSubsidy) => (
            AffectedFlowKind::OutwardSubsidy,
            "given (the flow argument)".to_owned(),
        ),
        // Found by a search on one affected flow: GTA filed it so (a
        // subsidy can be inward or outward whatever its type).
        None if let Some(filed) = filed_as => (
            filed,
            "GTA's own filing (the search's affectedFlow filter)".to_owned(),
        ),
        None => {
            let (kind, how) = intervention.derived_flow();
            let basis = intervention
                .intervention_type
                .as_deref()
                .or(intervention.mast_chapter.as_deref())
                .unwrap_or("none");
            (kind, format!("{how} ({basis})"))
        }
    };
    // The default year is the one before the announcement; a record
    // without an announcement date takes the one before its implementation,
    // and its method says so.
    let (announced, dated_by) = match year_of(intervention.date_announced.as_deref()) {
        Some(year) => (Some(year), "the announcement"),
        None => (
            year_of(intervention.date_implemented.as_deref()),
            "the implementation",
        ),
    };
    let this_year = crate::sources::comtrade::coverage::current_year();
    let choice = match year {
        Some(year) => {
            // Comtrade's annual data start in 1962, and a year to come has
            // none yet.
            let year = u16::try_from(year)
                .ok()
                .filter(|year| (1962..=this_year).contains(year))
                .ok_or_else(|| {
                    Error::bad_input(format!(
                        "year must be from 1962 (Comtrade's first year) to {this_year} (this year; later years have no trade data yet), got {year}"
                    ))
                })
                .graphql()?;
            YearChoice::Given(year)
        }
        None => match announced {
            Some(announced) => YearChoice::Default(announced.saturating_sub(1)),
            None => {
                return Err(Error::bad_input(format!(
                    "intervention {} has no announcement or implementation date to take the year before: give year",
                    intervention.id
                )))
                .graphql()
            }
        },
    };
    let reporters = implementer_areas(intervention);
    let partners = partner_ids(intervention);
    // GTA names HS six-digit subheadings, as numbers (10121 is 010121);
    // a heading (8704) or a national tariff line (87043100) is not one,
    // and sent as a cmdCode it would ask Comtrade for another code (or
    // none): left out, and named in the answer's reasons.
    let (six, other): (Vec<u32>, Vec<u32>) = intervention
        .affected_products
        .iter()
        .map(|product| product.hs_code)
        .partition(|code| (10_000..=999_999).contains(code));
    let mut products: Vec<String> = six.iter().map(|code| format!("{code:06}")).collect();
    products.sort();
    products.dedup();
    let mut left_out = Vec::new();
    if !other.is_empty() {
        left_out.push(format!(
            "affected product{} {} not HS six-digit subheadings: left out of the sum",
            if other.len() == 1 { " is" } else { "s are" },
            other
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let unreadable = &intervention.affected_products.unreadable;
    if !unreadable.is_empty() {
        left_out.push(format!(
            "GTA listed {} affected product{} that {} no HS code ({}): left out of the sum",
            unreadable.len(),
            if unreadable.len() == 1 { "" } else { "s" },
            if unreadable.len() == 1 {
                "carries"
            } else {
                "carry"
            },
            crate::sources::gta::model::cut_list(unreadable)
        ));
    }
    let not_hs6 = (!left_out.is_empty()).then(|| left_out.join("; "));
    let who = names(&reporters);
    if kind == AffectedFlowKind::OutwardSubsidy {
        return Ok(AffectedTrade {
            year: Some(choice.year()),
            flow: kind,
            flow_derivation: derivation,
            coverage: None,
            unanswered: Some("an outward subsidy's affected trade is the affected jurisdictions' exports to the third markets where they compete with the subsidised firms, and GTA's API does not name those markets".to_owned()),
            method: format!(
                "Not summed: for an outward subsidy GTA counts the exports of the affected jurisdictions ({}) in the {} to the third markets where {} subsidised firms compete with them, markets its API does not publish; ask with flow: INWARD or OUTWARD for {} own imports or exports of these products.",
                partners.len(),
                plural(products.len(), "affected product", "affected products"),
                possessive(&who),
                possessive(&who)
            ),
        });
    }
    let flow_code = match kind {
        AffectedFlowKind::Outward => FlowCode::Export,
        _ => FlowCode::Import,
    };
    let key = CoverageKey {
        flow: flow_code,
        reporters: reporters.clone(),
        partners: partners.clone(),
        products: products.clone(),
        year: choice,
    };
    let coverage = operation(ctx)?
        .coverage
        .load_one(key)
        .await
        .graphql()?
        .ok_or_else(|| Error::bad_input("the affected trade was not answered"))
        .graphql()?;
    if let Some(allowance) = coverage.allowance_spent {
        // Answered incomplete, and said where a client reading only the
        // errors looks.
        super::context::report_beside(ctx, Error::AffectedTradeAllowanceSpent { allowance });
    }
    if let Some(failure) = &coverage.failure {
        // The requests that failed, said with their own code (a budget
        // spent, an upstream down); the rest is answered.
        super::context::report_beside(ctx, failure.clone());
    }
    let summed_year = coverage.year;
    let (verb, direction) = match kind {
        AffectedFlowKind::Outward => ("exports", "to"),
        _ => ("imports", "from"),
    };
    let reporters_said = if coverage.reporter_codes.is_empty() {
        "no Comtrade reporter had data".to_owned()
    } else {
        let codes: Vec<String> = coverage
            .reporter_codes
            .iter()
            .map(ToString::to_string)
            .collect();
        format!(
            "as Comtrade reporter{} {} report{}",
            if codes.len() == 1 { "" } else { "s" },
            codes.join(", "),
            if codes.len() == 1 { "s it" } else { " them" }
        )
    };
    let undated = if dated_by == "the implementation" {
        "; the record has no announcement date"
    } else {
        ""
    };
    let year_said = match (choice, coverage.year_note.is_some()) {
        (YearChoice::Given(_), _) => "the year asked".to_owned(),
        (YearChoice::Default(_), false) => format!("the year before {dated_by}{undated}"),
        (YearChoice::Default(asked), true) => format!(
            "the latest year published; {asked}, the year before {dated_by}, is not published yet{undated}"
        ),
    };
    let method = format!(
        "The sum of {} {verb} of the {} (HS as reported, flow {}) {direction} the {} in {summed_year} ({year_said}), {reporters_said}; the flow is {}, {derivation}.",
        possessive(&who),
        plural(products.len(), "affected HS6 product", "affected HS6 products"),
        flow_code.v1_code(),
        plural(partners.len(), "affected jurisdiction", "affected jurisdictions"),
        match kind {
            AffectedFlowKind::Outward => "outward",
            _ => "inward",
        },
    );
    Ok(AffectedTrade {
        year: Some(summed_year),
        flow: kind,
        flow_derivation: derivation,
        coverage: Some(coverage),
        unanswered: not_hs6,
        method,
    })
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing { parent, field, .. } = *pricing;
        match (parent, field) {
            ("AffectedTrade", "jurisdictions") => {
                rule.list_bound = Some(countries::all().len() as u64);
            }
            ("AffectedTrade", "products") => rule.list_bound = Some(HS_SUBHEADINGS),
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
