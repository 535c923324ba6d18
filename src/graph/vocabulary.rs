//! GTA's coded vocabularies (its "value mappings") as GraphQL enums, so clients
//! filter by name (`interventionTypes: [IMPORT_TARIFF]`) and never by GTA's
//! integer ids. Each enum knows its GTA id (what goes on the wire) and GTA's
//! label (what records come back with). The sample simulator speaks the same
//! vocabulary through these tables.

/// Defines one vocabulary enum with its GTA ids and labels.
macro_rules! gta_vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $id:literal => $label:literal,)* }) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = $label] $variant,)*
        }

        impl $name {
            /// Every value, in GTA's id order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// GTA's integer id, what the filters take.
            pub fn gta_id(self) -> u16 {
                match self {
                    $($name::$variant => $id,)*
                }
            }

            /// GTA's label, what records carry.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The value with this label (any case).
            pub fn from_label(label: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.label().eq_ignore_ascii_case(label))
            }
        }
    };
}

gta_vocabulary! {
    /// How GTA judges an intervention for foreign commercial interests (`gta_evaluation`).
    GtaEvaluation {
        Red = 1 => "Red",
        Amber = 2 => "Amber",
        Green = 3 => "Green",
        Harmful = 4 => "Harmful",
        Liberalising = 5 => "Liberalising",
    }
}

gta_vocabulary! {
    /// The trade flow an intervention affects (`affected_flow`).
    AffectedFlow {
        Inward = 1 => "Inward",
        Outward = 2 => "Outward",
        OutwardSubsidy = 3 => "Outward subsidy",
    }
}

gta_vocabulary! {
    /// GTA intervention types (`intervention_types`).
    InterventionType {
        CapitalInjectionAndEquityStakesIncludingBailouts = 1 => "Capital injection and equity stakes (including bailouts)",
        StateLoan = 2 => "State loan",
        FinancialGrant = 3 => "Financial grant",
        InKindGrant = 4 => "In-kind grant",
        ProductionSubsidy = 5 => "Production subsidy",
        InterestPaymentSubsidy = 6 => "Interest payment subsidy",
        LoanGuarantee = 7 => "Loan guarantee",
        TaxOrSocialInsuranceRelief = 8 => "Tax or social insurance relief",
        CompetitiveDevaluation = 9 => "Competitive devaluation",
        RepatriationAndSurrenderRequirements = 10 => "Repatriation & surrender requirements",
        ControlsOnCommercialTransactionsAndInvestmentInstruments = 11 => "Controls on commercial transactions and investment instruments",
        ControlsOnCreditOperations = 12 => "Controls on credit operations",
        ControlOnPersonalTransactions = 13 => "Control on personal transactions",
        ConsumptionSubsidy = 14 => "Consumption subsidy",
        TaxBasedExportIncentive = 15 => "Tax-based export incentive",
        ExportSubsidy = 16 => "Export subsidy",
        OtherExportIncentive = 17 => "Other export incentive",
        ExportTax = 18 => "Export tax",
        ExportBan = 19 => "Export ban",
        ExportTariffQuota = 20 => "Export tariff quota",
        ExportQuota = 21 => "Export quota",
        ImportBan = 22 => "Import ban",
        ImportIncentive = 23 => "Import incentive",
        IntellectualPropertyProtection = 24 => "Intellectual property protection",
        FdiEntryAndOwnershipRule = 25 => "FDI: Entry and ownership rule",
        FdiTreatmentAndOperationsNes = 26 => "FDI: Treatment and operations, nes",
        FdiFinancialIncentive = 27 => "FDI: Financial incentive",
        LocalContentRequirement = 28 => "Local content requirement",
        LocalOperationsRequirement = 29 => "Local operations requirement",
        LocalLabourRequirement = 30 => "Local labour requirement",
        LabourMarketAccess = 31 => "Labour market access",
        PostMigrationTreatment = 32 => "Post-migration treatment",
        TradePaymentMeasure = 33 => "Trade payment measure",
        TradeBalancingMeasure = 34 => "Trade balancing measure",
        ExportLicensingRequirement = 35 => "Export licensing requirement",
        ImportLicensingRequirement = 36 => "Import licensing requirement",
        ExportRelatedNonTariffMeasureNes = 37 => "Export-related non-tariff measure, nes",
        ImportRelatedNonTariffMeasureNes = 38 => "Import-related non-tariff measure, nes",
        ForeignCustomerLimit = 39 => "Foreign customer limit",
        PublicProcurementPreferenceMargin = 40 => "Public procurement preference margin",
        PublicProcurementLocalisation = 41 => "Public procurement localisation",
        PublicProcurementAccess = 42 => "Public procurement access",
        PublicProcurementNes = 43 => "Public procurement, nes",
        ImportTariffQuota = 44 => "Import tariff quota",
        ImportQuota = 45 => "Import quota",
        SanitaryAndPhytosanitaryMeasure = 46 => "Sanitary and phytosanitary measure",
        ImportTariff = 47 => "Import tariff",
        InternalTaxationOfImports = 48 => "Internal taxation of imports",
        TechnicalBarrierToTrade = 49 => "Technical barrier to trade",
        ImportMonitoring = 50 => "Import monitoring",
        AntiDumping = 51 => "Anti-dumping",
        Safeguard = 52 => "Safeguard",
        AntiSubsidy = 53 => "Anti-subsidy",
        TradeFinance = 54 => "Trade finance",
        FinancialAssistanceInForeignMarket = 55 => "Financial assistance in foreign market",
        AntiCircumvention = 56 => "Anti-circumvention",
        LocalContentIncentive = 57 => "Local content incentive",
        SpecialSafeguard = 58 => "Special safeguard",
        StateAidNes = 59 => "State aid, nes",
        InstrumentUnclear = 60 => "Instrument unclear",
        PriceStabilisation = 61 => "Price stabilisation",
        StateAidUnspecified = 62 => "State aid, unspecified",
        LocalSupplyRequirementForExports = 63 => "Local supply requirement for exports",
        LocalValueAddedRequirement = 64 => "Local value added requirement",
        LocalValueAddedIncentive = 65 => "Local value added incentive",
        LocalOperationsIncentive = 66 => "Local operations incentive",
        LocalLabourIncentive = 67 => "Local labour incentive",
        LocalisationNes = 68 => "Localisation, nes",
        VoluntaryExportRestraintArrangements = 69 => "Voluntary export-restraint arrangements",
        VoluntaryExportPriceRestraints = 70 => "Voluntary export-price restraints",
        MinimumImportPrice = 71 => "Minimum import price",
        ImportPriceBenchmark = 72 => "Import price benchmark",
        OtherImportCharges = 73 => "Other import charges",
        ExportPriceBenchmark = 74 => "Export price benchmark",
    }
}

gta_vocabulary! {
    /// UNCTAD MAST chapters as GTA uses them (`mast_chapters`).
    MastChapter {
        ASanitaryAndPhytosanitaryMeasure = 1 => "A: Sanitary and phytosanitary measure",
        BTechnicalBarriersToTrade = 2 => "B: Technical barriers to trade",
        CapitalControlMeasures = 3 => "Capital control measures",
        DContingentTradeProtectiveMeasures = 4 => "D: Contingent trade-protective measures",
        ENonAutomaticLicensingQuotasEtc = 5 => "E: Non-automatic licensing, quotas etc.",
        FPriceControlMeasuresIncludingAdditionalTaxesAndCharges = 6 => "F: Price-control measures, including additional taxes and charges",
        FdiMeasures = 7 => "FDI measures",
        GFinanceMeasures = 8 => "G: Finance measures",
        ITradeRelatedInvestmentMeasures = 9 => "I: Trade-related investment measures",
        LSubsidiesExcludingExportSubsidies = 10 => "L: Subsidies (excl. export subsidies)",
        MGovernmentProcurementRestrictions = 11 => "M: Government procurement restrictions",
        MigrationMeasures = 12 => "Migration measures",
        NIntellectualProperty = 13 => "N: Intellectual Property",
        PExportRelatedMeasuresIncludingSubsidies = 14 => "P: Export-related measures (incl. subsidies)",
        TariffMeasures = 15 => "Tariff measures",
        InstrumentUnclear = 16 => "Instrument unclear",
        CPreShipmentInspectionAndOtherFormalities = 17 => "C: Pre-shipment inspection and other formalities",
    }
}

gta_vocabulary! {
    /// Which firms an intervention applies to (`eligible_firms`).
    EligibleFirms {
        All = 1 => "all",
        Smes = 2 => "SMEs",
        FirmSpecific = 3 => "firm-specific",
        StateControlled = 4 => "state-controlled",
        StateTradingEnterprise = 5 => "state trading enterprise",
        SectorSpecific = 6 => "sector-specific",
        LocationSpecific = 7 => "location-specific",
        ProcessingTrade = 8 => "processing trade",
    }
}

gta_vocabulary! {
    /// The level of government that implemented an intervention (`implementation_level`).
    ImplementationLevel {
        Supranational = 1 => "Supranational",
        National = 2 => "National",
        Subnational = 3 => "Subnational",
        Sez = 4 => "SEZ",
        Ifi = 5 => "IFI",
        Nfi = 6 => "NFI",
    }
}
