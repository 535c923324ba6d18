//! What a trade-flow field asks, checked, and what it costs in requests:
//! the arguments every trade-flow field shares (shape, partners, periods
//! with their ranges), the loader keys one reporter's field asks for
//! (each code a jurisdiction went out under that year), and the
//! planner's count of the requests they make, which is the field's
//! estimate. The graph reads GraphQL arguments into [`FlowArguments`];
//! everything after that is Comtrade's, here.

use std::sync::Arc;

use super::client::limits_for;
use super::planner::plan;
use super::{FlowCode, FlowShape, Frequency, PartnerCode, Period, TradeFlowKey, TradeType};
use crate::countries::{self, AreaRole, ComtradeDialect, Country, ReporterCode};
use crate::error::Error;

/// Most partners and periods one field may ask for; the request budget
/// bounds the rest.
pub const MAX_PARTNERS: usize = 300;
pub const MAX_PERIODS: usize = 60;

/// The arguments every trade-flow field shares, checked.
pub struct FlowArguments {
    pub shape: Arc<FlowShape>,
    /// Each partner's code now, and its jurisdiction where it has one (its
    /// code for an earlier year can differ: Germany is 280 until 1990).
    pub partners: Vec<(PartnerCode, Option<&'static Country>)>,
    pub periods: Vec<Period>,
}

impl FlowArguments {
    /// What a trade-flow field asks, checked as Comtrade would (and as the
    /// gateway's per-field limits bound it): its shape, its partners (World
    /// when none), its periods with their ranges expanded, each once.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        dialect: ComtradeDialect,
        partners: Option<&[String]>,
        periods: &[String],
        flow: Option<FlowCode>,
        commodities: Option<&[String]>,
        frequency: Frequency,
        classification: Option<&str>,
        trade_type: TradeType,
    ) -> Result<Self, Error> {
        let shape = FlowShape::new(
            dialect,
            trade_type,
            frequency,
            classification,
            flow,
            commodities.unwrap_or_default(),
        )?;
        if periods.is_empty() {
            return Err(Error::bad_input(
                "periods is empty: give at least one period, e.g. [\"2022\"]",
            ));
        }
        let periods = &expand_ranges(periods)?;
        if periods.len() > MAX_PERIODS {
            return Err(Error::bad_input(format!(
                "at most {MAX_PERIODS} periods per field, got {}",
                periods.len()
            )));
        }
        let mut parsed: Vec<Period> = Vec::new();
        for period in periods {
            let period = Period::parse(period, frequency, dialect)?;
            if !parsed.contains(&period) {
                parsed.push(period);
            }
        }
        let partners = match partners {
            None => vec![(PartnerCode::WORLD, None)],
            Some([]) => {
                return Err(Error::bad_input(
                    "partners is empty: leave it out for World",
                ))
            }
            Some(list) if list.len() > MAX_PARTNERS => {
                return Err(Error::bad_input(format!(
                    "at most {MAX_PARTNERS} partners per field, got {}",
                    list.len()
                )))
            }
            Some(list) => {
                let mut codes: Vec<(PartnerCode, Option<&'static Country>)> = Vec::new();
                for given in list {
                    let (code, country) = PartnerCode::parse(dialect, given)?;
                    if !codes.iter().any(|(seen, _)| *seen == code) {
                        codes.push((code, country));
                    }
                }
                codes
            }
        };
        Ok(Self {
            shape: Arc::new(shape),
            partners,
            periods: parsed,
        })
    }

    /// The loader keys for one reporter (`country`, when it is one), period
    /// by period: the reporter and every partner go out under the code
    /// Comtrade used for them that year (Germany 1985 is 280, Belgium 1995
    /// is 58, Serbia 2000 is 891), so a field spanning a change of code asks
    /// under both; a year in which a jurisdiction had no code is refused.
    pub fn keys(
        &self,
        dialect: ComtradeDialect,
        reporter: ReporterCode,
        country: Option<&Country>,
    ) -> Result<Vec<TradeFlowKey>, Error> {
        let in_year = |country: &Country, role, year| {
            country
                .comtrade_codes_in(dialect, role, year)
                .map_err(|refused| Error::bad_input(refused.message))
        };
        let mut keys = Vec::with_capacity(self.periods.len() * self.partners.len());
        for period in &self.periods {
            let year = period.year();
            // Every code that covered the jurisdiction's territory that year:
            // Germany in 1989 is 280 (West) and 278 (East), one row each.
            let reporters = match country.zip(year) {
                Some((country, year)) => in_year(country, AreaRole::Reporter, year)?,
                None => {
                    pinned_in_year(reporter, AreaRole::Reporter, year)?;
                    vec![reporter]
                }
            };
            for reporter in &reporters {
                for (partner, partner_country) in &self.partners {
                    let partners = match partner_country.zip(year) {
                        Some((country, year)) => in_year(country, AreaRole::Partner, year)?
                            .into_iter()
                            .map(|code| PartnerCode::Area(code.0))
                            .collect(),
                        None => {
                            if let PartnerCode::Area(code) = partner {
                                pinned_in_year(ReporterCode(*code), AreaRole::Partner, year)?;
                            }
                            vec![*partner]
                        }
                    };
                    for partner in partners {
                        keys.push(TradeFlowKey {
                            reporter: *reporter,
                            partner,
                            period: period.clone(),
                            shape: self.shape.clone(),
                            asked_with: None,
                        });
                    }
                }
            }
        }
        Ok(keys)
    }
}

/// Periods with their ranges expanded, as the argument's description
/// promises: "2004-2007" is 2004, 2005, 2006 and 2007, "202211-202302" the
/// four months from November 2022 (each then parsed, and counted against
/// the per-field limit, like periods given one by one; the planner keeps
/// each request within the dialect's period limits). A range that runs
/// backwards, or mixes a year with a month, is refused.
fn expand_ranges(given: &[String]) -> Result<Vec<String>, Error> {
    let mut periods = Vec::with_capacity(given.len());
    for text in given {
        let Some((from, to)) = text.trim().split_once('-') else {
            periods.push(text.clone());
            continue;
        };
        let (from, to) = (from.trim(), to.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let bad = || {
            Error::bad_input(format!(
                "period range {text:?} is not two years (\"2018-2022\") or two months (\"202201-202206\"), earliest first"
            ))
        };
        if !digits(from) || !digits(to) || from.len() != to.len() || from > to {
            return Err(bad());
        }
        let mut expanded = Vec::new();
        match from.len() {
            4 => {
                let (first, last): (u16, u16) = (
                    from.parse().map_err(|_| bad())?,
                    to.parse().map_err(|_| bad())?,
                );
                expanded.extend((first..=last).map(|year| year.to_string()));
            }
            6 => {
                let month = |s: &str| -> Option<u32> {
                    let (year, month): (u32, u32) = (s[..4].parse().ok()?, s[4..].parse().ok()?);
                    (1..=12).contains(&month).then_some(year * 12 + month - 1)
                };
                let (first, last) = (month(from).ok_or_else(bad)?, month(to).ok_or_else(bad)?);
                expanded.extend((first..=last).map(|m| format!("{}{:02}", m / 12, m % 12 + 1)));
            }
            _ => return Err(bad()),
        }
        if expanded.len() > MAX_PERIODS {
            return Err(Error::bad_input(format!(
                "period range {text:?} is {} periods; at most {MAX_PERIODS} per field",
                expanded.len()
            )));
        }
        periods.extend(expanded);
    }
    Ok(periods)
}

/// How many periods `given` asks for once its ranges are expanded (the
/// cost step's count; a range that does not parse counts as one, and the
/// field then fails without a request).
pub fn period_count(given: &[String]) -> u64 {
    expand_ranges(given).map_or(given.len(), |periods| periods.len()) as u64
}

/// A code asked for as itself (a Comtrade code given as a number, the EU's
/// 97) goes out as that code only, never widened to the other codes of its
/// jurisdiction (reporter "280" in 1990 is West Germany's row, not East
/// Germany's 278 beside it): so a year outside the code's own years, which
/// Comtrade would answer with nothing, is refused, pointing to the
/// jurisdiction to ask for instead.
fn pinned_in_year(code: ReporterCode, role: AreaRole, year: Option<u16>) -> Result<(), Error> {
    let Some(year) = year else { return Ok(()) };
    let Some(area) = countries::area_years(code).filter(|area| !area.contains(year)) else {
        return Ok(());
    };
    let role = match role {
        AreaRole::Reporter => "reporter",
        AreaRole::Partner => "partner",
    };
    let instead: Vec<String> =
        countries::area_jurisdictions(ComtradeDialect::V1, AreaRole::Reporter, code)
            .iter()
            .map(|country| format!("{:?}", country.iso3))
            .collect();
    Err(Error::bad_input(format!(
        "Comtrade {role} {} ({}) is published {}, not in {year} (Comtrade answers nothing for a code outside its years; a Comtrade code is asked as that code only){}",
        code,
        area.name.trim(),
        area.span(),
        if instead.is_empty() {
            String::new()
        } else {
            format!(": for {year} ask for the jurisdiction by name or ISO code ({})", instead.join(", "))
        }
    )))
}

/// The requests the planner makes for a trade-flow field asked on
/// `reporters` with `flows`: the estimate
/// of such a field is the plan itself, so a reporter whose code changed
/// within the periods (Germany 280/276) is counted as the loader will send
/// it. A reporter Comtrade does not have is not counted.
pub fn planned_requests(
    dialect: ComtradeDialect,
    reporters: &[&'static Country],
    flows: &FlowArguments,
) -> u64 {
    let mut triples = Vec::new();
    for country in reporters {
        // A reporter Comtrade does not have, or one refused for a year,
        // sends nothing (its field fails, or it answers empty): counting
        // the others keeps the estimate a worst case.
        let Some(code) = country.comtrade(dialect).code() else {
            continue;
        };
        let Ok(keys) = flows.keys(dialect, code, Some(country)) else {
            continue;
        };
        for key in keys {
            triples.push((key.reporter, key.partner, key.period));
        }
    }
    let limits = limits_for(dialect, &flows.shape);
    plan(&triples, &flows.shape.commodities, &limits).len() as u64
}

/// What codes changing within a trade-flow field's periods can add to the
/// packing arithmetic's count, for parents the estimate cannot name: how
/// many jurisdictions go out under more than one code over the periods
/// (`u64::MAX`, every parent, when an asked partner's code changes), and
/// what each of them can cost alone (its period chunks plus one per
/// change). `(0, 0)` when no code changes within the periods (the common
/// case: recent years).
pub fn code_changes(dialect: ComtradeDialect, flows: &FlowArguments) -> (u64, u64) {
    let alone = FlowArguments {
        shape: flows.shape.clone(),
        partners: vec![(PartnerCode::WORLD, None)],
        periods: flows.periods.clone(),
    };
    // Reporter codes a jurisdiction goes out under over these periods.
    let eras = |keys: &[TradeFlowKey], of: fn(&TradeFlowKey) -> u32| {
        let mut codes: Vec<u32> = keys.iter().map(of).collect();
        codes.sort_unstable();
        codes.dedup();
        codes.len() as u64
    };
    let (mut changing, mut most_eras) = (0u64, 1u64);
    for country in countries::all().iter().chain(countries::beyond_gta()) {
        let Some(code) = country.comtrade(dialect).code() else {
            continue;
        };
        let Ok(keys) = alone.keys(dialect, code, Some(country)) else {
            continue;
        };
        let count = eras(&keys, |key| u32::from(key.reporter.0));
        if count > 1 {
            changing += 1;
            most_eras = most_eras.max(count);
        }
    }
    // An asked partner whose code changes splits every parent's periods.
    let Some(probe) = countries::all()
        .iter()
        .find_map(|country| Some((country.comtrade(dialect).code()?, country)))
    else {
        return (0, 0);
    };
    if let Ok(keys) = flows.keys(dialect, probe.0, None) {
        let partner_eras = eras(&keys, |key| match key.partner {
            PartnerCode::All => u32::MAX,
            PartnerCode::Area(code) => u32::from(code),
        })
        .saturating_sub(flows.partners.len() as u64 - 1);
        if partner_eras > 1 {
            changing = u64::MAX;
            most_eras = most_eras.saturating_add(partner_eras);
        }
    }
    if changing == 0 {
        return (0, 0);
    }
    let limits = limits_for(dialect, &flows.shape);
    let chunks = |count: usize, per: usize| count.div_ceil(per.max(1)) as u64;
    let months = flows.periods.iter().map(Period::months).max().unwrap_or(1);
    let period_chunks = chunks(flows.periods.len(), limits.periods_per_request(months));
    let per_parent = (period_chunks + most_eras)
        * chunks(flows.partners.len(), limits.partners)
        * chunks(flows.shape.commodities.len().max(1), limits.commodities);
    (changing, per_parent)
}

/// What a trade profile asks of Comtrade: one year, in two shapes (the
/// totals by partner, and the world's trade by product at the level
/// asked).
pub struct ProfileAsk {
    pub period: Period,
    pub totals: FlowShape,
    pub by_code: FlowShape,
}

impl ProfileAsk {
    /// The requests the profiles of `reporters` take: the planner's plans
    /// of the two shapes (`None` for a period without a year).
    pub fn planned_requests(
        &self,
        dialect: ComtradeDialect,
        reporters: &[&'static Country],
    ) -> Option<u64> {
        let year = self.period.year()?;
        let mut all = Vec::new();
        let mut world = Vec::new();
        for country in reporters {
            if country.comtrade(dialect).code().is_none() {
                continue;
            }
            let Ok(codes) = country.comtrade_codes_in(dialect, AreaRole::Reporter, year) else {
                continue;
            };
            for code in codes {
                all.push((code, PartnerCode::All, self.period.clone()));
                world.push((code, PartnerCode::WORLD, self.period.clone()));
            }
        }
        let (totals, by_code) = (&self.totals, &self.by_code);
        Some(
            (plan(&all, &totals.commodities, &limits_for(dialect, totals)).len()
                + plan(&world, &by_code.commodities, &limits_for(dialect, by_code)).len())
                as u64,
        )
    }

    /// For parents the estimate cannot name: reporters a request (the
    /// smaller of the two shapes'), the requests per packed set of
    /// reporters, how many jurisdictions go out under more than one code
    /// that year, and what each of them can add.
    pub fn packing(&self, dialect: ComtradeDialect) -> Option<(u64, u64, u64, u64)> {
        let year = self.period.year()?;
        let (a, b) = (
            limits_for(dialect, &self.totals),
            limits_for(dialect, &self.by_code),
        );
        let per_request = a.reporters.min(b.reporters) as u64;
        let times = 1 + self
            .by_code
            .commodities
            .len()
            .div_ceil(b.commodities.max(1)) as u64;
        let changing = countries::all()
            .iter()
            .chain(countries::beyond_gta())
            .filter(|country| {
                country
                    .comtrade_codes_in(dialect, AreaRole::Reporter, year)
                    .is_ok_and(|codes| codes.len() > 1)
            })
            .count() as u64;
        Some((per_request, times, changing, times))
    }
}
