//! Jurisdictions an upstream reports that GTA does not list: Comtrade
//! publishes Curaçao (531), Sint Maarten (534) and Bonaire (535) since 2010,
//! when the Netherlands Antilles (530) ended, and Gibraltar (292) throughout.
//! They get nodes like GTA's jurisdictions, so their flows can be asked for
//! and link back; their `id` is their UN M49 code, which no GTA
//! jurisdiction uses, and GTA fields answer nothing for them without a
//! request (GTA records no measures under an id it does not have).
//! `tests/crosswalk.rs` checks that every reporter of both Comtrade lists has
//! a node.

use super::{ComtradeReporter::*, Country, GtaId, ReporterCode};

/// Jurisdictions outside GTA's list, by M49 code.
pub(super) static COMTRADE_ONLY: &[Country] = &[
    Country { id: GtaId(292), iso2: "GI", iso3: "GIB", name: "Gibraltar", short_name: "Gibraltar", comtrade_legacy: Own(ReporterCode(292)), comtrade_v1: Own(ReporterCode(292)), note: "not a GTA jurisdiction; Comtrade reporter 292" },
    Country { id: GtaId(531), iso2: "CW", iso3: "CUW", name: "Curaçao", short_name: "Curaçao", comtrade_legacy: Own(ReporterCode(531)), comtrade_v1: Own(ReporterCode(531)), note: "not a GTA jurisdiction; Comtrade reporter 531 from 2010 (within the Netherlands Antilles, 530, before)" },
    Country { id: GtaId(534), iso2: "SX", iso3: "SXM", name: "Sint Maarten (Dutch part)", short_name: "Sint Maarten", comtrade_legacy: Own(ReporterCode(534)), comtrade_v1: Own(ReporterCode(534)), note: "not a GTA jurisdiction; Comtrade reporter 534 'Saint Maarten' from 2010 (within the Netherlands Antilles, 530, before)" },
    Country { id: GtaId(535), iso2: "BQ", iso3: "BES", name: "Bonaire, Sint Eustatius and Saba", short_name: "Bonaire", comtrade_legacy: Own(ReporterCode(535)), comtrade_v1: Own(ReporterCode(535)), note: "not a GTA jurisdiction; Comtrade reporter 535 'Bonaire' from 2010 (within the Netherlands Antilles, 530, before)" },
];
