//! Jurisdictions an upstream reports that GTA does not list: Comtrade
//! publishes Curaçao (531), Sint Maarten (534) and Bonaire (535) since 2010,
//! when the Netherlands Antilles (530) ended, and Gibraltar (292) throughout;
//! its partner lists also name territories with an ISO code of their own
//! (Åland, the Channel Islands' Jersey and Guernsey, the Isle of Man,
//! Christmas Island...), which appear as partners of flows (`partners.rs`
//! gives their partner codes).
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
    // Partners only: no Comtrade reporter, a partner code in v1's list (and
    // the legacy list where it has one; see partners.rs).
    Country { id: GtaId(10), iso2: "AQ", iso3: "ATA", name: "Antarctica", short_name: "Antarctica", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (10) only" },
    Country { id: GtaId(74), iso2: "BV", iso3: "BVT", name: "Bouvet Island", short_name: "Bouvet Island", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (74) only" },
    Country { id: GtaId(86), iso2: "IO", iso3: "IOT", name: "British Indian Ocean Territory", short_name: "British Indian Ocean Territory", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (86) only" },
    Country { id: GtaId(162), iso2: "CX", iso3: "CXR", name: "Christmas Island", short_name: "Christmas Island", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (162) only" },
    Country { id: GtaId(166), iso2: "CC", iso3: "CCK", name: "Cocos (Keeling) Islands", short_name: "Cocos Islands", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (166) only" },
    Country { id: GtaId(239), iso2: "GS", iso3: "SGS", name: "South Georgia and the South Sandwich Islands", short_name: "South Georgia", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (239) only" },
    Country { id: GtaId(248), iso2: "AX", iso3: "ALA", name: "Åland Islands", short_name: "Åland Islands", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a v1 Comtrade partner (248) only" },
    Country { id: GtaId(260), iso2: "TF", iso3: "ATF", name: "French Southern Territories", short_name: "French Southern Territories", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (260 'Fr. South Antarctic Terr.') only" },
    Country { id: GtaId(334), iso2: "HM", iso3: "HMD", name: "Heard Island and McDonald Islands", short_name: "Heard and McDonald Islands", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (334) only" },
    Country { id: GtaId(581), iso2: "UM", iso3: "UMI", name: "United States Minor Outlying Islands", short_name: "US Minor Outlying Islands", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a Comtrade partner (581) only" },
    Country { id: GtaId(831), iso2: "GG", iso3: "GGY", name: "Guernsey", short_name: "Guernsey", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a v1 Comtrade partner (831) only" },
    Country { id: GtaId(832), iso2: "JE", iso3: "JEY", name: "Jersey", short_name: "Jersey", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a v1 Comtrade partner (832) only" },
    Country { id: GtaId(833), iso2: "IM", iso3: "IMN", name: "Isle of Man", short_name: "Isle of Man", comtrade_legacy: Absent, comtrade_v1: Absent, note: "not a GTA jurisdiction; a v1 Comtrade partner (833) only" },
];
