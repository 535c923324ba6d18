//! `Jurisdiction.tradeProfile`: a jurisdiction's trade in one year and flow,
//! its top partners and top products, for country pages and charts. Two
//! Comtrade shapes per jurisdiction (every partner's total; the world's
//! trade by HS code at the chosen level), through the operation's Comtrade
//! loader: every jurisdiction of an operation is in the same two plans.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context, SimpleObject};

use super::commodity::{hs_commodity, Commodity};
use super::context::{operation, sources};
use super::jurisdiction::Jurisdiction;
use super::trade_flow::TradeFlowDirection;
use crate::countries::{self, AreaRole, ComtradeDialect, ComtradeReporter, ReporterCode};
use crate::error::{Error, GraphqlResult};
use crate::sources::comtrade::ask::ProfileAsk;
use crate::sources::comtrade::{
    FlowCode, FlowShape, Frequency, PartnerCode, Period, TradeFlowKey, TradeType,
};

/// Default and largest `limit` of a profile's partners and products.
pub const DEFAULT_PROFILE_LIMIT: i32 = 10;
pub const MAX_PROFILE_LIMIT: i32 = 250;

/// The commodity code that asks for every code of an HS level in `dialect`:
/// the legacy API's aggregates; on v1, whose lists have none, the chapters
/// (AG2, translated) or every code (`ALL`, filtered to the level).
pub fn level_code(dialect: ComtradeDialect, level: u8) -> &'static str {
    match (dialect, level) {
        (_, 2) => "AG2",
        (ComtradeDialect::Legacy, 4) => "AG4",
        (ComtradeDialect::Legacy, _) => "AG6",
        (ComtradeDialect::V1, _) => "ALL",
    }
}

/// One partner of a profile.
#[derive(SimpleObject)]
pub struct ProfilePartner {
    /// The partner jurisdiction; null for areas that are none (Comtrade's
    /// "nes" areas, bunkers, free zones).
    pub jurisdiction: Option<Jurisdiction>,
    /// Comtrade's partner code.
    pub partner_code: i32,
    /// The partner as Comtrade names it.
    pub partner_name: Option<String>,
    /// US dollars.
    pub value: f64,
    /// Its share of the total (0 to 1).
    pub share: Option<f64>,
}

/// One product of a profile.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProfileProduct {
    /// The HS code at the profile's level ("87", "8703", "870323").
    pub code: String,
    /// Comtrade's description of the code in the rows.
    pub description: Option<String>,
    /// US dollars, with the world.
    pub value: f64,
    /// Its share of the total (0 to 1).
    pub share: Option<f64>,
}

#[ComplexObject]
impl ProfileProduct {
    /// The code as a node of the HS list (null when the list lacks it).
    async fn commodity(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<Commodity>>> {
        Some(hs_commodity(ctx, &self.code).await)
    }
}

/// A jurisdiction's trade in one year and flow, as it reports it to UN
/// Comtrade: its total with the world, its top partners and its top
/// products at an HS level.
#[derive(SimpleObject)]
pub struct TradeProfile {
    /// The year.
    pub year: i32,
    /// The flow, from the jurisdiction's side.
    pub flow: TradeFlowDirection,
    /// Its trade with the world, US dollars (null when it did not report
    /// the year).
    pub total: Option<f64>,
    /// The HS level of `products` (2 chapters, 4 headings, 6 subheadings).
    pub product_level: i32,
    /// The largest partners, largest first.
    pub partners: Vec<ProfilePartner>,
    /// The largest products at `productLevel`, largest first.
    pub products: Vec<ProfileProduct>,
    /// The Comtrade reporter codes the profile is of.
    pub reporter_codes: Vec<i32>,
    /// False when Comtrade's numbers are inconsistent (a negative value, a
    /// partner or product larger than the total, no positive total): the
    /// shares that cannot be made are null, never clamped.
    pub complete: bool,
    /// Why `complete` is false, one reason a line.
    pub incomplete_reasons: Vec<String>,
}

/// `value` of `total`, between 0 and 1, or `None` (see
/// `affected_trade::share`).
fn share(value: f64, total: Option<f64>) -> Option<f64> {
    super::affected_trade::share(value, total)
}

/// Why a partner's or product's share is null, if it is: the reason for
/// `incompleteReasons`.
fn share_problem(what: &str, value: f64, total: Option<f64>) -> Option<String> {
    if share(value, total).is_some() {
        return None;
    }
    Some(match total {
        None => format!("{what}: no total with the world to take a share of"),
        Some(total) if total <= 0.0 => {
            format!("{what}: the total with the world is {total}, not a positive amount")
        }
        Some(total) if value < 0.0 => {
            format!("{what} is {value}, a negative trade value (total {total})")
        }
        Some(total) => format!(
            "{what} ({value}) is more than the total with the world ({total}): Comtrade's rows are inconsistent"
        ),
    })
}

impl Jurisdiction {
    /// The reporter codes this jurisdiction's trade is published under in
    /// `year`; `None` when Comtrade publishes none.
    fn profile_reporters(
        &self,
        dialect: ComtradeDialect,
        year: u16,
    ) -> Result<Option<Vec<ReporterCode>>, Error> {
        match self {
            Jurisdiction::Known(country) => match country.comtrade(dialect) {
                ComtradeReporter::Absent => Ok(None),
                _ => country
                    .comtrade_codes_in(dialect, AreaRole::Reporter, year)
                    .map(Some)
                    .map_err(|refused| Error::bad_input(refused.message)),
            },
            Jurisdiction::Unlisted { id, .. } if *id == countries::EUROPEAN_UNION.gta_id => {
                Ok(Some(vec![ReporterCode(
                    countries::EUROPEAN_UNION.comtrade_reporter,
                )]))
            }
            Jurisdiction::Unlisted { .. } => Ok(None),
        }
    }

    /// The trade profile; `None` when Comtrade has no reporter for it.
    pub(super) async fn load_trade_profile(
        &self,
        ctx: &Context<'_>,
        year: i32,
        flow: Option<TradeFlowDirection>,
        limit: Option<i32>,
        product_level: Option<i32>,
    ) -> async_graphql::Result<Option<TradeProfile>> {
        let dialect = sources(ctx)?.comtrade_dialect();
        let flow = flow.unwrap_or(TradeFlowDirection::Export);
        let limit = limit.unwrap_or(DEFAULT_PROFILE_LIMIT);
        if !(0..=MAX_PROFILE_LIMIT).contains(&limit) {
            return Err(Error::bad_input(format!(
                "limit must be between 0 and {MAX_PROFILE_LIMIT}, got {limit}"
            )))
            .graphql();
        }
        let level = match product_level.unwrap_or(2) {
            level @ (2 | 4 | 6) => level as u8,
            other => {
                return Err(Error::bad_input(format!(
                    "productLevel is 2 (chapters), 4 (headings) or 6 (subheadings), got {other}"
                )))
                .graphql()
            }
        };
        let period = Period::parse(&year.to_string(), Frequency::Annual, dialect).graphql()?;
        let Some(calendar_year) = period.year() else {
            return Ok(None);
        };
        let Some(reporters) = self.profile_reporters(dialect, calendar_year).graphql()? else {
            return Ok(None);
        };
        let flow_code: FlowCode = flow.into();
        let shape = |code: &str| {
            FlowShape::new(
                dialect,
                TradeType::Goods,
                Frequency::Annual,
                Some("HS"),
                Some(flow_code),
                &[code.to_owned()],
            )
            .map(Arc::new)
        };
        let totals = shape("TOTAL").graphql()?;
        let by_code = shape(level_code(dialect, level)).graphql()?;
        let mut keys = Vec::new();
        for reporter in &reporters {
            keys.push(TradeFlowKey {
                reporter: *reporter,
                partner: PartnerCode::All,
                period: period.clone(),
                shape: totals.clone(),
                asked_with: None,
            });
            keys.push(TradeFlowKey {
                reporter: *reporter,
                partner: PartnerCode::WORLD,
                period: period.clone(),
                shape: by_code.clone(),
                asked_with: None,
            });
        }
        let loaded = operation(ctx)?
            .comtrade
            .load_many(keys.iter().cloned())
            .await
            .graphql()?;
        let mut total: Option<f64> = None;
        let mut partners: HashMap<u16, (f64, Option<String>)> = HashMap::new();
        let mut products: HashMap<String, (f64, Option<String>)> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        let mut breakdowns = 0u64;
        for key in &keys {
            for record in loaded.get(key).into_iter().flatten() {
                // Totals only (see `TradeFlowRecord::is_aggregate`): a
                // breakdown row is a part of a flow already counted.
                if !record.is_aggregate() {
                    breakdowns += 1;
                    continue;
                }
                if !key.period.matches(&record.period) {
                    continue;
                }
                let Some(value) = record.value_usd else {
                    continue;
                };
                if Arc::ptr_eq(&key.shape, &totals) {
                    // A row is counted once, and marked seen only where it
                    // counts: a product row an answer for the totals held
                    // (an upstream answering more than it was asked) is
                    // still the products' row.
                    if record.commodity_code != "TOTAL" || !seen.insert(record.identity()) {
                        continue;
                    }
                    if record.partner_code == 0 {
                        total = Some(total.unwrap_or(0.0) + value);
                    } else {
                        let entry = partners
                            .entry(record.partner_code)
                            .or_insert((0.0, record.partner_name.clone()));
                        entry.0 += value;
                    }
                } else {
                    let code_level = record
                        .aggregation_level
                        .unwrap_or(record.commodity_code.len() as u8);
                    if record.partner_code != 0
                        || record.commodity_code == "TOTAL"
                        || code_level != level
                        || record.commodity_code.len() != usize::from(level)
                        || !seen.insert(record.identity())
                    {
                        continue;
                    }
                    let entry = products
                        .entry(record.commodity_code.clone())
                        .or_insert((0.0, record.commodity.clone()));
                    entry.0 += value;
                }
            }
        }
        let mut partners: Vec<ProfilePartner> = partners
            .into_iter()
            .map(|(code, (value, name))| ProfilePartner {
                jurisdiction: countries::by_comtrade_partner(dialect, ReporterCode(code))
                    .filter(|_| !countries::is_union_code(ReporterCode(code)))
                    .map(Jurisdiction::Known),
                partner_code: i32::from(code),
                partner_name: name,
                value,
                share: share(value, total),
            })
            .collect();
        partners.sort_by(|a, b| {
            b.value
                .total_cmp(&a.value)
                .then(a.partner_code.cmp(&b.partner_code))
        });
        let mut reasons: Vec<String> = Vec::new();
        // Every partner's value is a part of the total with the world:
        // together more than the whole (beyond rounding) means rows that
        // overlap or a total that is short, and no share can be trusted.
        let partners_sum: f64 = partners.iter().map(|partner| partner.value).sum();
        if let Some(total) = total.filter(|total| *total > 0.0) {
            if partners_sum > total * 1.005 {
                reasons.push(format!(
                    "the partners' values add up to {:.1}% of the total with the world: rows overlap or the total is short",
                    partners_sum / total * 100.0
                ));
            }
        }
        partners.truncate(limit as usize);
        if let Some(total) = total.filter(|total| *total <= 0.0 || !total.is_finite()) {
            reasons.push(format!(
                "the total with the world is {total}, not a positive amount"
            ));
        }
        for partner in &partners {
            let name = format!(
                "partner {}",
                partner
                    .partner_name
                    .clone()
                    .unwrap_or_else(|| partner.partner_code.to_string())
            );
            reasons.extend(share_problem(&name, partner.value, total));
        }
        let mut products: Vec<ProfileProduct> = products
            .into_iter()
            .map(|(code, (value, description))| ProfileProduct {
                share: share(value, total),
                code,
                description,
                value,
            })
            .collect();
        products.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.code.cmp(&b.code)));
        // A reporter with a total has products: none at the level asked is
        // said, not answered as an empty list that looks complete.
        if products.is_empty() && total.is_some_and(|total| total > 0.0) {
            reasons.push(format!(
                "Comtrade answered no product rows at HS level {level} with the world for a total of {}",
                total.unwrap_or_default()
            ));
        }
        products.truncate(limit as usize);
        for product in &products {
            reasons.extend(share_problem(
                &format!("product {}", product.code),
                product.value,
                total,
            ));
        }
        // Without a total the jurisdiction did not report the year: the
        // profile says so with its null total, not as an inconsistency.
        if total.is_none() {
            reasons
                .retain(|reason| !reason.ends_with("no total with the world to take a share of"));
        }
        if breakdowns > 0 {
            tracing::debug!(
                breakdowns,
                "trade profile: breakdown rows ignored beside their totals"
            );
        }
        reasons.dedup();
        Ok(Some(TradeProfile {
            complete: reasons.is_empty(),
            incomplete_reasons: reasons,
            year,
            flow,
            total,
            product_level: i32::from(level),
            partners,
            products,
            reporter_codes: reporters.iter().map(|code| i32::from(code.0)).collect(),
        }))
    }
}

/// A profile field's arguments as the cost step sees them: the period and
/// the two shapes (the level's); `None` when they do not parse (the field then
/// fails without a request).
fn profile_shapes(
    dialect: ComtradeDialect,
    arguments: &crate::limits::cost::Arguments,
) -> Option<ProfileAsk> {
    use async_graphql::InputType;
    let year = arguments.int("year")?;
    let period = Period::parse(&year.to_string(), Frequency::Annual, dialect).ok()?;
    let flow: TradeFlowDirection = arguments
        .get("flow")
        .and_then(|value| TradeFlowDirection::parse(Some(value.clone())).ok())
        .unwrap_or(TradeFlowDirection::Export);
    let level = match arguments.int("productLevel").unwrap_or(2) {
        level @ (2 | 4 | 6) => level as u8,
        _ => return None,
    };
    let shape = |code: &str| {
        FlowShape::new(
            dialect,
            TradeType::Goods,
            Frequency::Annual,
            Some("HS"),
            Some(flow.into()),
            &[code.to_owned()],
        )
        .ok()
    };
    Some(ProfileAsk {
        period,
        totals: shape("TOTAL")?,
        by_code: shape(level_code(dialect, level))?,
    })
}

/// The requests the profiles of `reporters` take
/// ([`ProfileAsk::planned_requests`]). `None` when the arguments do not
/// parse.
pub(crate) fn planned_profile_requests(
    dialect: ComtradeDialect,
    reporters: &[&'static countries::Country],
    arguments: &crate::limits::cost::Arguments,
) -> Option<u64> {
    profile_shapes(dialect, arguments)?.planned_requests(dialect, reporters)
}

/// For parents the estimate cannot name ([`ProfileAsk::packing`]). `None`
/// when the arguments do not parse.
pub(crate) fn profile_packing(
    dialect: ComtradeDialect,
    arguments: &crate::limits::cost::Arguments,
) -> Option<(u64, u64, u64, u64)> {
    profile_shapes(dialect, arguments)?.packing(dialect)
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing {
            parent,
            field,
            arguments,
            ..
        } = *pricing;
        match (parent, field) {
            ("TradeProfile", "partners" | "products") => {
                rule.list_bound = Some(
                    arguments
                        .int("limit")
                        .unwrap_or(i64::from(MAX_PROFILE_LIMIT))
                        .clamp(0, i64::from(MAX_PROFILE_LIMIT)) as u64,
                );
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
