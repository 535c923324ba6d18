//! Jurisdiction nodes: the join point of every source. Built from the
//! crosswalk, so every record that names a country links back here.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::context::{operation, sources};
use super::intervention::{
    intervention_query, page_bounds, InterventionFilter, InterventionOrder, InterventionPage,
    MAX_JURISDICTION_LIMIT,
};
use super::ita::{OfficeLocation, TradeEvent, TradeLead};
use super::trade_flow::{Frequency, TradeFlow, TradeFlowDirection, TradeType};
use crate::countries::{self, ComtradeReporter, Country, GtaId};
use crate::error::{Error, GraphqlResult};
use crate::sources::gta::model::JurisdictionRef;
use crate::sources::gta::{JurisdictionInterventionsKey, JurisdictionRole};
use crate::sources::ita::{self, SearchParams};

// Fields that can fail return `Option<Result<T>>`: async-graphql then answers
// a failure as `null` plus an error, as the GraphQL spec asks, where a plain
// `Result<Option<T>>` would drop the field from its parent object.

/// A jurisdiction: a country, territory or customs area as GTA lists it, with
/// its codes in every upstream.
#[derive(Clone, Debug)]
pub enum Jurisdiction {
    /// One of the 234 GTA jurisdictions of the crosswalk.
    Known(&'static Country),
    /// A jurisdiction an upstream record names that the crosswalk lacks; shown
    /// as the record names it.
    Unlisted { id: u16, name: String, iso3: String },
}

impl Jurisdiction {
    /// The node of a bloc GTA and Comtrade treat as one jurisdiction (the
    /// European Union: GTA 1049, Comtrade reporter 97).
    pub fn bloc(bloc: &countries::Bloc) -> Self {
        Self::Unlisted {
            id: bloc.gta_id,
            name: bloc.name.to_owned(),
            iso3: bloc.iso3.to_owned(),
        }
    }

    /// The node for a jurisdiction named in a GTA record.
    pub fn from_gta(reference: &JurisdictionRef) -> Self {
        match countries::by_gta_id(GtaId(reference.id)) {
            Some(country) => Self::Known(country),
            None => Self::Unlisted {
                id: reference.id,
                name: reference.name.clone().unwrap_or_default(),
                iso3: reference.iso.clone().unwrap_or_default(),
            },
        }
    }

    pub(super) fn country(&self) -> Option<&'static Country> {
        match self {
            Self::Known(country) => Some(country),
            Self::Unlisted { .. } => None,
        }
    }

    /// ISO alpha-2, what ITA filters by.
    pub(super) fn iso2_code(&self) -> Option<&'static str> {
        self.country().map(|country| country.iso2)
    }

    pub(super) fn gta_id(&self) -> u16 {
        match self {
            Self::Known(country) => country.id.0,
            Self::Unlisted { id, .. } => *id,
        }
    }

    // The two interventions fields' GraphQL arguments, passed through.
    #[allow(clippy::too_many_arguments)]
    async fn interventions(
        &self,
        ctx: &Context<'_>,
        role: JurisdictionRole,
        filter: Option<InterventionFilter>,
        sort: Option<Vec<String>>,
        order_by: Option<Vec<InterventionOrder>>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<InterventionPage> {
        let (limit, offset) = page_bounds(limit, offset, MAX_JURISDICTION_LIMIT).graphql()?;
        if let Some(filter) = &filter {
            let (field, set) = match role {
                JurisdictionRole::Implementer => (
                    "implementer",
                    filter.implementer.is_some() || filter.keep_implementer.is_some(),
                ),
                JurisdictionRole::Affected => (
                    "affected",
                    filter.affected.is_some() || filter.keep_affected.is_some(),
                ),
            };
            if set {
                return Err(Error::bad_input(format!(
                    "filter.{field} is set by the jurisdiction itself here; use the top-level interventions query to filter by other jurisdictions"
                )))
                .graphql();
            }
        }
        let query =
            intervention_query(filter.as_ref(), sort.as_deref(), order_by.as_deref()).graphql()?;
        sources(ctx)?.gta.check(&query).graphql()?;
        // GTA records nothing under an id it does not list (Curaçao, a
        // Comtrade reporter only): an empty page, without a request.
        if self.country().is_some_and(|country| !country.in_gta()) {
            return Ok(InterventionPage {
                records: Vec::new(),
                total_count: Some(0),
                unreadable: Vec::new(),
            });
        }
        let query = Arc::new(query);
        let key = JurisdictionInterventionsKey {
            jurisdiction: GtaId(self.gta_id()),
            role,
            query: query.clone(),
            limit,
            offset,
        };
        let page = operation(ctx)?.gta.load_one(key).await.graphql()?;
        Ok(InterventionPage::from(page.unwrap_or_default()).found_by(&query))
    }
}

/// How Comtrade publishes a jurisdiction's trade.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComtradeReporting {
    /// Under its own reporter code.
    Own,
    /// Inside another reporter (Monaco within France); the code is that reporter's.
    Folded,
    /// Under a code that has since ended.
    Ended,
    /// Comtrade has no reporter for it.
    Absent,
}

/// A named group of jurisdictions.
#[derive(SimpleObject)]
pub struct JurisdictionGroup {
    /// The group's name, as `jurisdictions(group:)` takes it.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: Vec<&'static str>,
    /// The jurisdictions in the group.
    pub members: Vec<Jurisdiction>,
    /// Members that are not jurisdictions of their own (the EU in the G20).
    pub other_members: Vec<&'static str>,
}

/// A country or customs territory: the join point of the graph. From it you reach
/// the GTA interventions it implemented or is affected by, the trade flows it
/// reports to UN Comtrade, and ITA's offices, trade leads and events for it.
/// Known by GTA id, ISO codes and its Comtrade reporter code.
#[Object]
impl Jurisdiction {
    /// The GTA jurisdiction id (UN M49 based, with GTA's exceptions: France 251,
    /// India 699, Italy 381, Kosovo 999).
    async fn id(&self) -> i32 {
        i32::from(self.gta_id())
    }

    /// GTA's name, e.g. "United States of America".
    async fn name(&self) -> &str {
        match self {
            Self::Known(country) => country.name,
            Self::Unlisted { name, .. } => name,
        }
    }

    /// A shorter name where GTA has one, e.g. "United States".
    async fn short_name(&self) -> &str {
        match self {
            Self::Known(country) => country.short_name,
            Self::Unlisted { name, .. } => name,
        }
    }

    /// ISO 3166 alpha-2 (what ITA speaks); `XK` for Kosovo.
    async fn iso2(&self) -> Option<&str> {
        self.country().map(|country| country.iso2)
    }

    /// ISO 3166 alpha-3 as GTA spells it; `XXK` for Kosovo.
    async fn iso3(&self) -> &str {
        match self {
            Self::Known(country) => country.iso3,
            Self::Unlisted { iso3, .. } => iso3,
        }
    }

    /// The UN Comtrade reporter code its trade is published under, in the
    /// configured Comtrade dialect. It can differ from `id` (USA 842, Norway
    /// 579, Italy 381 legacy / 380 current) and be shared with another
    /// jurisdiction (Monaco is reported within France, 251).
    async fn comtrade_reporter_code(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<i32>> {
        let dialect = sources(ctx)?.comtrade_dialect();
        Ok(self
            .country()
            .and_then(|country| country.comtrade(dialect).code())
            .map(|code| i32::from(code.0)))
    }

    /// How Comtrade publishes this jurisdiction, in the configured dialect.
    async fn comtrade_reporting(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ComtradeReporting> {
        let dialect = sources(ctx)?.comtrade_dialect();
        Ok(
            match self.country().map(|country| country.comtrade(dialect)) {
                Some(ComtradeReporter::Own(_)) => ComtradeReporting::Own,
                Some(ComtradeReporter::Folded(_)) => ComtradeReporting::Folded,
                Some(ComtradeReporter::Ended { .. }) => ComtradeReporting::Ended,
                Some(ComtradeReporter::Absent) | None => ComtradeReporting::Absent,
            },
        )
    }

    /// Why this jurisdiction's codes are unusual, when they are.
    async fn crosswalk_note(&self) -> Option<&str> {
        self.country()
            .map(|country| country.note)
            .filter(|note| !note.is_empty())
    }

    /// The groups (G7, G20, EU-27...) it belongs to.
    async fn groups(&self) -> Vec<&'static str> {
        let Some(country) = self.country() else {
            return Vec::new();
        };
        countries::groups()
            .iter()
            .filter(|group| group.members.contains(&country.iso3))
            .map(|group| group.name)
            .collect()
    }

    /// The trade flows Comtrade publishes with this jurisdiction as reporter
    /// (under its reporter code in the configured dialect: a jurisdiction
    /// folded into another reporter gets that reporter's flows; one without
    /// a reporter gets none). Arguments as on `Query.tradeFlows`; partners
    /// default to World. All jurisdictions of an operation are planned
    /// together. Null, with an error naming the source, when Comtrade fails.
    #[allow(clippy::too_many_arguments)]
    async fn trade_flows(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Partner jurisdictions as ISO3, ISO2, names or Comtrade codes (\"World\" or 0 for the total; a Comtrade code, also an area such as 837 Bunkers, is that code only); default: the world total."
        )]
        partners: Option<Vec<String>>,
        #[graphql(
            desc = "Periods: years (\"2022\"), months (\"202203\") for monthly data, or ranges (\"2018-2022\")."
        )]
        periods: Vec<String>,
        #[graphql(
            desc = "Export, import, re-export or re-import (default: exports, imports, re-exports and re-imports)."
        )]
        flow: Option<TradeFlowDirection>,
        #[graphql(
            desc = "Commodity codes of the classification (\"TOTAL\", an HS chapter \"27\", heading \"2709\", \"AG2\" for every chapter); default: TOTAL."
        )]
        commodities: Option<Vec<String>>,
        #[graphql(desc = "Annual or monthly data (default: annual).")] frequency: Option<Frequency>,
        #[graphql(
            desc = "Commodity classification, Comtrade's code (default: HS; e.g. \"H6\" for HS 2022, \"S4\" for SITC 4, \"EB\" for services)."
        )]
        classification: Option<String>,
        #[graphql(desc = "Goods or services (default: goods).")] trade_type: Option<TradeType>,
    ) -> Option<async_graphql::Result<Vec<TradeFlow>>> {
        Some(
            self.load_trade_flows(
                ctx,
                partners,
                periods,
                flow,
                commodities,
                frequency,
                classification,
                trade_type,
            )
            .await,
        )
    }

    /// Its trade in one year and flow as it reports it to UN Comtrade: the
    /// total with the world, the largest partners and the largest products
    /// at an HS level, each with its share of the total. Every
    /// jurisdiction's profile in an operation is one plan (two Comtrade
    /// shapes: every partner's total, the world's trade by code). Null when
    /// Comtrade has no reporter for it; null, with an error naming the
    /// source, when Comtrade fails.
    async fn trade_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year, e.g. 2022.")] year: i32,
        #[graphql(desc = "Export or import (default: exports), from this jurisdiction's side.")]
        flow: Option<TradeFlowDirection>,
        #[graphql(desc = "How many partners and products (default 10, at most 250).")]
        limit: Option<i32>,
        #[graphql(
            desc = "The HS level of the products: 2 chapters (default), 4 headings, 6 subheadings."
        )]
        product_level: Option<i32>,
    ) -> Option<async_graphql::Result<Option<super::trade_profile::TradeProfile>>> {
        Some(
            self.load_trade_profile(ctx, year, flow, limit, product_level)
                .await,
        )
    }

    /// ITA offices in this country (up to 100: ITA's largest posts have a
    /// handful, and the estimate counts a country's own search as one
    /// page). All jurisdictions of an operation share one ITA search
    /// (`countries=MX,CA,GB`); a country that search leaves short has one
    /// of its own. Null, with an error naming the source, when ITA fails.
    async fn office_locations(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Vec<OfficeLocation>>> {
        let offices = self
            .ita_records::<ita::OfficeLocation>(
                ctx,
                SearchParams::default(),
                Some(super::cost_rules::OFFICES_PER_COUNTRY as i32),
            )
            .await;
        Some(offices.map(|offices| offices.into_iter().map(OfficeLocation).collect()))
    }

    /// ITA trade leads for this country, newest as ITA orders them; batched
    /// like `officeLocations`. `limit` defaults to 20, at most 1000.
    async fn trade_leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Industries, as ITA names them (e.g. \"Aerospace and Defense\"); any of them matches."
        )]
        industries: Option<Vec<String>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
    ) -> Option<async_graphql::Result<Vec<TradeLead>>> {
        let leads = async {
            let params = Jurisdiction::ita_params(query, industries).graphql()?;
            self.ita_records::<ita::TradeLead>(ctx, params, limit).await
        };
        Some(
            leads
                .await
                .map(|leads| leads.into_iter().map(TradeLead).collect()),
        )
    }

    /// ITA trade events with a venue in this country; batched like
    /// `officeLocations`. `limit` defaults to 20, at most 1000.
    async fn trade_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
    ) -> Option<async_graphql::Result<Vec<TradeEvent>>> {
        let events = async {
            let params = Jurisdiction::ita_params(query, None).graphql()?;
            self.ita_records::<ita::TradeEvent>(ctx, params, limit)
                .await
        };
        Some(
            events
                .await
                .map(|events| events.into_iter().map(TradeEvent).collect()),
        )
    }

    /// Entries of the Consolidated Screening List with an address, id,
    /// nationality or citizenship in this country; batched like
    /// `tradeLeads` (`countries=IR,KP,...`, 50 a request). `limit` defaults
    /// to 20, at most 1000. A listing is a lead to check against the
    /// official source list, not a decision.
    async fn screening_list_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Source lists by code (\"SDN\", \"EL\", \"DPL\"); any of them matches.")]
        sources: Option<Vec<String>>,
        #[graphql(desc = "Kinds of party; any of them matches.")] types: Option<
            Vec<super::ita_current::ScreeningEntryType>,
        >,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
    ) -> Option<async_graphql::Result<Vec<super::ita_current::ScreeningListEntry>>> {
        Some(self.screening_entries(ctx, sources, types, limit).await)
    }

    /// What a shipment to this country may be worth before duties and
    /// taxes apply (data.trade.gov's de minimis thresholds); every
    /// jurisdiction of the operation in one request per hundred. Null when
    /// ITA lists none for it.
    async fn de_minimis(
        &self,
        ctx: &Context<'_>,
    ) -> Option<async_graphql::Result<Option<super::ita_current::DeMinimisThreshold>>> {
        Some(self.de_minimis_threshold(ctx).await)
    }

    /// Market Research Library reports covering this country (seed-era ITA
    /// API only); batched like `tradeLeads`.
    async fn market_research(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Industries, as ITA names them (e.g. \"Aerospace and Defense\"); any of them matches."
        )]
        industries: Option<Vec<String>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
    ) -> Option<async_graphql::Result<Vec<super::ita_datasets::MarketResearchReport>>> {
        let reports = async {
            let params = Jurisdiction::ita_params(query, industries).graphql()?;
            self.ita_records::<crate::sources::ita::datasets::MarketResearch>(ctx, params, limit)
                .await
        };
        Some(reports.await.map(|reports| {
            reports
                .into_iter()
                .map(super::ita_datasets::MarketResearchReport)
                .collect()
        }))
    }

    /// Trade information articles about this country (seed-era ITA API
    /// only); batched like `tradeLeads`.
    async fn trade_articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text the upstream searches its records for (ITA's `q`).")]
        query: Option<String>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
    ) -> Option<async_graphql::Result<Vec<super::ita_datasets::TradeArticle>>> {
        let articles = async {
            let params = Jurisdiction::ita_params(query, None).graphql()?;
            self.ita_records::<crate::sources::ita::datasets::TradeArticle>(ctx, params, limit)
                .await
        };
        Some(articles.await.map(|articles| {
            articles
                .into_iter()
                .map(super::ita_datasets::TradeArticle)
                .collect()
        }))
    }

    /// Interventions this jurisdiction implemented (GTA `implementer`). Within
    /// one operation, all jurisdictions asking with the same arguments share
    /// GTA requests. `limit` defaults to 20, at most 1000. Null, with an error
    /// naming the source, when GTA fails: the jurisdiction's other fields keep
    /// their data.
    async fn interventions_implemented(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GTA's filters, typed: implementers, affected jurisdictions, types, evaluations, periods and the rest; all given must match."
        )]
        filter: Option<InterventionFilter>,
        #[graphql(
            deprecation = "use orderBy, which takes typed keys and directions",
            desc = "Sort keys as GTA writes them: a field name, `-` first for descending (e.g. \"-date_announced\"). Deprecated: use orderBy."
        )]
        sort: Option<Vec<String>>,
        #[graphql(
            desc = "The order of the results: keys with their directions, the first deciding first (default: newest announcement first). Ties are broken by intervention id, so that pages never overlap."
        )]
        order_by: Option<Vec<InterventionOrder>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<InterventionPage>> {
        Some(
            self.interventions(
                ctx,
                JurisdictionRole::Implementer,
                filter,
                sort,
                order_by,
                limit,
                offset,
            )
            .await,
        )
    }

    /// Interventions that affect this jurisdiction (GTA `affected`), batched
    /// like `interventionsImplemented`.
    async fn interventions_affecting(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GTA's filters, typed: implementers, affected jurisdictions, types, evaluations, periods and the rest; all given must match."
        )]
        filter: Option<InterventionFilter>,
        #[graphql(
            deprecation = "use orderBy, which takes typed keys and directions",
            desc = "Sort keys as GTA writes them: a field name, `-` first for descending (e.g. \"-date_announced\"). Deprecated: use orderBy."
        )]
        sort: Option<Vec<String>>,
        #[graphql(
            desc = "The order of the results: keys with their directions, the first deciding first (default: newest announcement first). Ties are broken by intervention id, so that pages never overlap."
        )]
        order_by: Option<Vec<InterventionOrder>>,
        #[graphql(
            desc = "Most items to return (the field's description gives its default and maximum)."
        )]
        limit: Option<i32>,
        #[graphql(
            desc = "Items to skip before the first returned, for paging (0: from the start)."
        )]
        offset: Option<i32>,
    ) -> Option<async_graphql::Result<InterventionPage>> {
        Some(
            self.interventions(
                ctx,
                JurisdictionRole::Affected,
                filter,
                sort,
                order_by,
                limit,
                offset,
            )
            .await,
        )
    }
}

/// The top-level jurisdiction queries.
#[derive(Default)]
pub struct JurisdictionQueries;

#[Object]
impl JurisdictionQueries {
    /// One jurisdiction by exactly one of: GTA id, ISO alpha-2, ISO alpha-3 or
    /// exact name (any case); the European Union by 1049, "EU", "EUN" or its
    /// name, as in `tradeFlows`. Null when nothing matches; an error for an
    /// ambiguous name ("Congo", "Korea") or a former area ("USSR").
    async fn jurisdiction(
        &self,
        #[graphql(desc = "GTA's jurisdiction id (e.g. 76 for Brazil).")] id: Option<i32>,
        #[graphql(desc = "ISO 3166-1 alpha-2 code (\"BR\").")] iso2: Option<String>,
        #[graphql(desc = "ISO 3166-1 alpha-3 code (\"BRA\").")] iso3: Option<String>,
        #[graphql(
            desc = "The jurisdiction's name, as GTA, Comtrade or ITA write it (\"Brazil\", \"Korea, Republic of\")."
        )]
        name: Option<String>,
    ) -> Option<async_graphql::Result<Jurisdiction>> {
        let given = [id.is_some(), iso2.is_some(), iso3.is_some(), name.is_some()]
            .iter()
            .filter(|set| **set)
            .count();
        if given != 1 {
            return Some(
                Err(Error::bad_input(format!(
                    "jurisdiction takes exactly one of id, iso2, iso3 or name; {given} were given"
                )))
                .graphql(),
            );
        }
        // The European Union is a reporter of its own in Comtrade (97) and a
        // jurisdiction of GTA's (1049), and a trade-flow argument by the same
        // names: the same names find its node here.
        let bloc = match (&id, &iso2, &iso3, &name) {
            (Some(id), ..) => (*id == i32::from(countries::EUROPEAN_UNION.gta_id))
                .then_some(&countries::EUROPEAN_UNION),
            (_, Some(text), ..) | (_, _, Some(text), _) | (.., Some(text)) => countries::bloc(text),
            _ => None,
        };
        if let Some(bloc) = bloc {
            return Some(Ok(Jurisdiction::bloc(bloc)));
        }
        let country = if let Some(id) = id {
            u16::try_from(id)
                .ok()
                .and_then(|id| countries::by_gta_id(GtaId(id)))
        } else if let Some(iso2) = iso2 {
            countries::by_iso2(&iso2)
        } else if let Some(iso3) = iso3 {
            countries::by_iso3(&iso3)
        } else {
            let name = name.unwrap_or_default();
            if countries::ambiguous(&name).is_some() {
                // "Congo": which one? Say so rather than answer null.
                return Some(Err(Error::from(countries::UnknownCountry { given: name })).graphql());
            }
            let found = countries::by_name(&name);
            if found.is_none() && countries::former_name(&name).is_some() {
                // "USSR": no node, but not unknown either; say what to ask for.
                return Some(Err(Error::from(countries::UnknownCountry { given: name })).graphql());
            }
            found
        };
        country.map(|country| Ok(Jurisdiction::Known(country)))
    }

    /// Several jurisdictions: by GTA ids and/or ISO alpha-3 codes (in the order
    /// given), or the members of a group (G7, G20, EU-27, BRICS, ASEAN, CPTPP,
    /// RCEP). With a group and codes, the codes that are members. With no
    /// argument, all 234. An unknown code or group is an error.
    async fn jurisdictions(
        &self,
        #[graphql(desc = "GTA jurisdiction ids.")] ids: Option<Vec<i32>>,
        #[graphql(desc = "ISO 3166-1 alpha-3 codes.")] iso3: Option<Vec<String>>,
        #[graphql(desc = "A group of jurisdictions by name (\"G20\", \"EU-27\", \"ASEAN\").")]
        group: Option<String>,
    ) -> async_graphql::Result<Vec<Jurisdiction>> {
        let group = group
            .map(|name| {
                countries::group(&name).ok_or_else(|| {
                    let known: Vec<_> = countries::groups().iter().map(|g| g.name).collect();
                    Error::bad_input(format!(
                        "unknown group {name:?}: known groups are {}",
                        known.join(", ")
                    ))
                })
            })
            .transpose()
            .graphql()?;
        let mut chosen: Vec<&'static Country> = Vec::new();
        for id in ids.iter().flatten() {
            let country = u16::try_from(*id)
                .ok()
                .and_then(|id| countries::by_gta_id(GtaId(id)))
                .ok_or_else(|| Error::bad_input(format!("ids: no jurisdiction has GTA id {id}")))
                .graphql()?;
            chosen.push(country);
        }
        for code in iso3.iter().flatten() {
            let country = countries::by_iso3(code)
                .ok_or_else(|| {
                    Error::bad_input(format!(
                        "iso3: no jurisdiction has ISO alpha-3 code {code:?}"
                    ))
                })
                .graphql()?;
            chosen.push(country);
        }
        let listed = ids.is_some() || iso3.is_some();
        let countries: Vec<&'static Country> = match (group, listed) {
            (None, false) => countries::all().iter().collect(),
            (Some(group), false) => group.countries(),
            (Some(group), true) => chosen
                .into_iter()
                .filter(|country| group.members.contains(&country.iso3))
                .collect(),
            (None, true) => chosen,
        };
        let mut seen = std::collections::HashSet::new();
        Ok(countries
            .into_iter()
            .filter(|country| seen.insert(country.id))
            .map(Jurisdiction::Known)
            .collect())
    }

    /// The named groups `jurisdictions(group:)` accepts, with their members.
    async fn jurisdiction_groups(&self) -> Vec<JurisdictionGroup> {
        countries::groups()
            .iter()
            .map(|group| JurisdictionGroup {
                name: group.name,
                aliases: group.aliases.to_vec(),
                members: group
                    .countries()
                    .into_iter()
                    .map(Jurisdiction::Known)
                    .collect(),
                other_members: group.non_jurisdiction_members.to_vec(),
            })
            .collect()
    }
}

/// What this module's fields cost: the rules the cost step reads
/// ([`super::cost_rules`]), beside the fields they price.
mod cost {
    use crate::graph::cost_rules::prelude::*;

    /// The rule of `parent.field`, when the field is one of this module's.
    pub(in crate::graph) fn price(pricing: &Pricing<'_>, rule: &mut FieldRule) -> bool {
        let Pricing {
            rules,
            parent,
            field,
            arguments,
            ..
        } = *pricing;
        let asks = |source, kind| pricing.asks(source, kind);
        match (parent, field) {
            ("Query", "jurisdiction") => {
                rule.known_items = named_jurisdictions(arguments);
            }
            ("Query", "jurisdictions") => {
                rule.known_items = named_jurisdictions(arguments);
                let listed = arguments.len("ids").unwrap_or(0) + arguments.len("iso3").unwrap_or(0);
                let group = arguments
                    .text("group")
                    .and_then(|name| countries::group(&name))
                    .map(|group| group.members.len() as u64);
                rule.list_bound = Some(match (listed, group) {
                    (0, Some(members)) => members,
                    (0, None) => countries::all().len() as u64,
                    (listed, _) => listed,
                });
            }
            ("Query", "jurisdictionGroups") => {
                rule.list_bound = Some(countries::groups().len() as u64);
            }
            ("JurisdictionGroup", "members") => {
                rule.list_bound = countries::groups()
                    .iter()
                    .map(|group| group.members.len() as u64)
                    .max();
            }
            ("Jurisdiction", "interventionsImplemented" | "interventionsAffecting") => {
                let limit = limit(arguments, MAX_JURISDICTION_LIMIT);
                rule.page_limit = Some(limit);
                let kind = DemandKind::SharedWithFollowUps {
                    alone: pages(limit, u64::from(GTA_PAGE)),
                };
                // Parents named above (`jurisdictions(iso3:)`, `_entities`'
                // representations): the loader's worst case for as many
                // distinct jurisdictions, in a group of that set (the worst
                // cases of two sets add up to at least their union's).
                rule.demand = match arguments.known_parents() {
                    Some(named) => {
                        let distinct: std::collections::BTreeSet<&String> = named.iter().collect();
                        Some(Demand {
                            source: Source::Gta,
                            group: format!(
                                "{parent}.{field}({})@{}",
                                arguments.canonical(),
                                named.join(",")
                            ),
                            kind: DemandKind::Fixed {
                                pages: kind.estimate(distinct.len() as u64),
                            },
                        })
                    }
                    None => asks(Source::Gta, kind),
                };
            }
            ("Jurisdiction", "screeningListEntries") => {
                let limit = limit(arguments, ITA_MAX_LIMIT);
                rule.list_bound = Some(limit);
                let params = Jurisdiction::screening_params(
                    parse(arguments, "sources"),
                    parse(arguments, "types"),
                );
                rule.demand = per_country(
                    Endpoint::ScreeningList,
                    params,
                    limit,
                    SCREENING_WINDOW.page,
                    false,
                );
            }
            // One row per country, a hundred countries a request.
            ("Jurisdiction", "deMinimis") => {
                rule.demand = per_country(
                    Endpoint::DeMinimis,
                    Ok(SearchParams::default()),
                    1,
                    ITA_PAGE,
                    true,
                );
            }
            ("Jurisdiction", "tradeFlows") => {
                let (rows, requests) = rules.flows(arguments);
                rule.list_bound = Some(rows);
                rule.known_items = Some(commodity_cost::any_of(
                    &commodity_cost::classification_of(arguments),
                ));
                // Parents named above (`jurisdictions(group: "G7")`): the
                // estimate is their plan, codes changing with the years
                // included; else the packing arithmetic.
                let named = arguments
                    .known_parents()
                    .and_then(|iso3| countries::resolve_all(iso3).ok());
                let planned = named.as_ref().and_then(|reporters| {
                    planned_requests(rules.comtrade, reporters, arguments)
                        .map(|pages| (pages, reporters.len()))
                });
                rule.demand = match planned {
                    Some((pages, _)) => Some(Demand {
                        source: Source::Comtrade,
                        // One group per parent set: the plans of two sets
                        // add up to at least the plan of their union.
                        group: format!(
                            "{parent}.{field}({})@{}",
                            arguments.canonical(),
                            arguments.known_parents().unwrap_or_default().join(",")
                        ),
                        kind: DemandKind::Fixed { pages },
                    }),
                    None => {
                        // Codes that change within the periods can split
                        // the packing, for parents not named here.
                        let (changing, alone) =
                            code_changes(rules.comtrade, arguments).unwrap_or((0, 0));
                        asks(
                            Source::Comtrade,
                            DemandKind::Packed {
                                per_request: rules.reporters_per_request(arguments),
                                times: requests,
                                changing,
                                alone,
                            },
                        )
                    }
                };
            }
            ("Jurisdiction", "tradeProfile") => {
                // Parents named above: their two plans; else the packing
                // arithmetic of the two shapes.
                let named = arguments
                    .known_parents()
                    .and_then(|iso3| countries::resolve_all(iso3).ok());
                let planned = named.as_ref().and_then(|reporters| {
                    planned_profile_requests(rules.comtrade, reporters, arguments)
                });
                rule.demand = match planned {
                    Some(pages) => Some(Demand {
                        source: Source::Comtrade,
                        group: format!(
                            "{parent}.{field}({})@{}",
                            arguments.canonical(),
                            arguments.known_parents().unwrap_or_default().join(",")
                        ),
                        kind: DemandKind::Fixed { pages },
                    }),
                    None => {
                        let (per_request, times, changing, alone) =
                            profile_packing(rules.comtrade, arguments).unwrap_or((1, 0, 0, 0));
                        asks(
                            Source::Comtrade,
                            DemandKind::Packed {
                                per_request,
                                times,
                                changing,
                                alone,
                            },
                        )
                    }
                };
            }
            (
                "Jurisdiction",
                "tradeLeads" | "tradeEvents" | "officeLocations" | "marketResearch"
                | "tradeArticles",
            ) => {
                let (endpoint, per_parent, params) = match field {
                    "officeLocations" => (
                        Endpoint::OfficeLocations,
                        OFFICES_PER_COUNTRY,
                        Ok(SearchParams::default()),
                    ),
                    _ => {
                        let endpoint = match field {
                            "tradeLeads" => Endpoint::TradeLeads,
                            "tradeEvents" => Endpoint::TradeEvents,
                            "marketResearch" => Endpoint::MarketResearch,
                            _ => Endpoint::TradeArticles,
                        };
                        let industries = if arguments.get("industries").is_some() {
                            parse(arguments, "industries")
                        } else {
                            None
                        };
                        let params =
                            Jurisdiction::ita_params(parse(arguments, "query"), industries);
                        (endpoint, limit(arguments, ITA_MAX_LIMIT), params)
                    }
                };
                rule.list_bound = Some(per_parent);
                rule.demand = per_country(endpoint, params, per_parent, ITA_PAGE, false);
            }
            _ => return false,
        }
        true
    }
}

pub(super) use cost::price;
