//! Contract tests for data.trade.gov's screening list, de minimis and
//! business service provider records. No payload of the current API is
//! recorded: the samples here are written from the field lists of
//! `fixtures/ita/CURRENT_API.md` (the typed models of Microsoft's
//! "tradegov" connector), every listed field present, then sparse and
//! oddly typed variants of them.

use serde_json::json;
use trade_graph::sources::ita::de_minimis::as_number;
use trade_graph::sources::ita::model::{decode_count, decode_search};
use trade_graph::sources::ita::screening::decode_sources;
use trade_graph::sources::ita::{BusinessServiceProvider, DeMinimis, ScreeningEntry};

fn bytes(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

/// `{total, sources, results}` with every field CURRENT_API.md lists for
/// an entry: `id, name, alt_names, type, source, country, entity_number,
/// remarks, programs, addresses (address, city, state, postal_code,
/// country), ids (type, country, number, expiration_date, issue_date),
/// source_information_url, source_list_url`.
#[test]
fn a_screening_answer_with_every_listed_field_decodes() {
    let body = bytes(json!({
        "total": 2,
        "sources": [{ "source": "Entity List (EL) - Bureau of Industry and Security", "source_last_updated": "2026-11-01", "last_imported": "2026-11-02" }],
        "results": [{
            "id": "e1", "name": "Example Trading FZE", "alt_names": ["Example Trading", "Exmpl Trdg"],
            "type": "Entity", "source": "Entity List (EL) - Bureau of Industry and Security",
            "country": "AE", "entity_number": "12345", "remarks": "Also at a second address.",
            "programs": ["EAR"],
            "addresses": [
                { "address": "Office 1, Free Zone", "city": "Dubai", "state": null, "postal_code": "00000", "country": "AE" },
                { "address": "2 Harbour Road", "city": "Hong Kong", "state": "", "postal_code": null, "country": "HK" }
            ],
            "ids": [{ "type": "Registration ID", "country": "AE", "number": "R-1", "expiration_date": "2030-01-01", "issue_date": "2020-01-01" }],
            "source_information_url": "https://www.bis.gov/entity-list-info",
            "source_list_url": "https://www.bis.gov/entity-list",
            "score": 95.0
        }, {
            // Sparse: the lists a record lacks come as null.
            "name": "DOE, John", "alt_names": null, "type": "Individual", "programs": null,
            "addresses": null, "ids": null, "entity_number": 678
        }]
    }));
    let answer = decode_search::<ScreeningEntry>(&body).unwrap();
    assert_eq!(answer.total, Some(2));
    assert_eq!(
        answer.sources_used[0].source,
        "Entity List (EL) - Bureau of Industry and Security"
    );
    assert_eq!(
        answer.sources_used[0].source_last_updated.as_deref(),
        Some("2026-11-01")
    );
    let entry = &answer.results[0];
    assert_eq!(entry.id.as_deref(), Some("e1"));
    assert_eq!(entry.name.as_deref(), Some("Example Trading FZE"));
    assert_eq!(entry.alt_names, ["Example Trading", "Exmpl Trdg"]);
    assert_eq!(entry.kind.as_deref(), Some("Entity"));
    assert_eq!(entry.source_code().as_deref(), Some("EL"));
    assert_eq!(entry.country.as_deref(), Some("AE"));
    assert_eq!(entry.entity_number.as_deref(), Some("12345"));
    assert_eq!(entry.remarks.as_deref(), Some("Also at a second address."));
    assert_eq!(entry.programs, ["EAR"]);
    assert_eq!(entry.addresses.len(), 2);
    assert_eq!(entry.addresses[0].postal_code.as_deref(), Some("00000"));
    assert_eq!(entry.addresses[1].city.as_deref(), Some("Hong Kong"));
    assert_eq!(entry.ids[0].kind.as_deref(), Some("Registration ID"));
    assert_eq!(entry.ids[0].number.as_deref(), Some("R-1"));
    assert_eq!(entry.ids[0].issue_date.as_deref(), Some("2020-01-01"));
    assert_eq!(entry.ids[0].expiration_date.as_deref(), Some("2030-01-01"));
    assert_eq!(
        entry.source_information_url.as_deref(),
        Some("https://www.bis.gov/entity-list-info")
    );
    assert_eq!(
        entry.source_list_url.as_deref(),
        Some("https://www.bis.gov/entity-list")
    );
    assert_eq!(entry.score, Some(95.0));
    assert_eq!(entry.iso2_codes(), ["AE", "HK"]);
    let sparse = &answer.results[1];
    assert!(sparse.alt_names.is_empty() && sparse.addresses.is_empty() && sparse.ids.is_empty());
    assert_eq!(sparse.entity_number.as_deref(), Some("678"));
    assert!(sparse.score.is_none());

    // `sources` as names.
    let names = bytes(json!({ "total": 0, "sources": ["SDN", "EL"], "results": [] }));
    let answer = decode_search::<ScreeningEntry>(&names).unwrap();
    assert_eq!(answer.sources_used.len(), 2);
}

/// A record whose identifying fields were renamed is a changed shape, not
/// an entry that matches nothing.
#[test]
fn a_renamed_screening_record_is_a_bad_response() {
    let body =
        bytes(json!({ "total": 1, "results": [{ "entity_name": "X", "entity_type": "Entity" }] }));
    let error = decode_search::<ScreeningEntry>(&body).unwrap_err();
    assert_eq!(error.code(), "UPSTREAM_BAD_RESPONSE");
    assert!(error.to_string().contains("results[0]"), "{error}");
}

#[test]
fn the_sources_list_decodes_in_the_shapes_it_may_take() {
    for body in [
        json!([{ "code": "SDN", "source": "Specially Designated Nationals (SDN) - Treasury Department" }]),
        json!({ "sources": ["Specially Designated Nationals (SDN) - Treasury Department"] }),
        json!({ "results": [{ "name": "Specially Designated Nationals (SDN) - Treasury Department", "source_last_updated": "2026-01-01" }] }),
    ] {
        let sources = decode_sources(&bytes(body.clone())).unwrap();
        assert_eq!(sources[0].code, "SDN", "{body}");
        assert_eq!(
            sources[0].name.as_deref(),
            Some("Specially Designated Nationals (SDN) - Treasury Department"),
            "{body}"
        );
    }
    assert_eq!(
        decode_sources(b"{\"unexpected\": 1}").unwrap_err().code(),
        "UPSTREAM_BAD_RESPONSE"
    );
}

/// The current search envelope `{total, count, offset, next_offset,
/// results, aggregations}` with de minimis rows: `id, country_name,
/// country_code, de_minimis_currency, de_minimis_value, vat_currency,
/// vat_amount, comment`; amounts as numbers or as text.
#[test]
fn de_minimis_rows_decode_with_amounts_as_numbers_or_text() {
    let body = bytes(json!({
        "total": 3, "count": 3, "offset": 0, "next_offset": null, "aggregations": {},
        "results": [
            { "id": 1, "country_name": "Canada", "country_code": "CA", "de_minimis_currency": "CAD", "de_minimis_value": 150, "vat_currency": "CAD", "vat_amount": 40, "comment": "CUSMA courier" },
            { "id": "2", "country_name": "Australia", "country_code": "AU", "de_minimis_currency": "AUD", "de_minimis_value": "1,000", "vat_currency": "AUD", "vat_amount": "0", "comment": null },
            { "country_name": "Kenya", "de_minimis_value": null }
        ]
    }));
    let answer = decode_search::<DeMinimis>(&body).unwrap();
    let rows = &answer.results;
    assert_eq!(rows[0].id.as_deref(), Some("1"));
    assert_eq!(rows[0].iso2().as_deref(), Some("CA"));
    assert_eq!(rows[0].de_minimis_currency.as_deref(), Some("CAD"));
    assert_eq!(as_number(rows[0].de_minimis_value.as_deref()), Some(150.0));
    assert_eq!(as_number(rows[0].vat_amount.as_deref()), Some(40.0));
    assert_eq!(rows[0].vat_currency.as_deref(), Some("CAD"));
    assert_eq!(rows[0].comment.as_deref(), Some("CUSMA courier"));
    assert_eq!(as_number(rows[1].de_minimis_value.as_deref()), Some(1000.0));
    assert_eq!(as_number(rows[1].vat_amount.as_deref()), Some(0.0));
    // A row with only its country's name still finds its country.
    assert_eq!(rows[2].iso2().as_deref(), Some("KE"));
    assert_eq!(as_number(rows[2].de_minimis_value.as_deref()), None);
}

/// Providers: `id, category, ita_office, ita_contact_email, company_name,
/// company_address, company_description, company_email, company_phone,
/// company_website, contact_name, contact_title`.
#[test]
fn providers_decode_with_every_listed_field() {
    let body = bytes(json!({
        "total": 1, "count": 1, "offset": 0, "next_offset": null,
        "results": [{
            "id": "p1", "category": "Legal Services", "ita_office": "Mexico City",
            "ita_contact_email": "office.mx@trade.gov", "company_name": "Despacho Ejemplo S.C.",
            "company_address": "Paseo de la Reforma 1, Mexico City, Mexico",
            "company_description": "Corporate law.", "company_email": "info@example.mx",
            "company_phone": "+52 55 0000 0000", "company_website": "https://example.mx",
            "contact_name": "Ana Silva", "contact_title": "Partner"
        }]
    }));
    let provider = &decode_search::<BusinessServiceProvider>(&body)
        .unwrap()
        .results[0];
    assert_eq!(provider.id.as_deref(), Some("p1"));
    assert_eq!(provider.category.as_deref(), Some("Legal Services"));
    assert_eq!(provider.ita_office.as_deref(), Some("Mexico City"));
    assert_eq!(
        provider.ita_contact_email.as_deref(),
        Some("office.mx@trade.gov")
    );
    assert_eq!(
        provider.company_name.as_deref(),
        Some("Despacho Ejemplo S.C.")
    );
    assert_eq!(
        provider.company_description.as_deref(),
        Some("Corporate law.")
    );
    assert_eq!(provider.company_email.as_deref(), Some("info@example.mx"));
    assert_eq!(provider.company_phone.as_deref(), Some("+52 55 0000 0000"));
    assert_eq!(
        provider.company_website.as_deref(),
        Some("https://example.mx")
    );
    assert_eq!(provider.contact_name.as_deref(), Some("Ana Silva"));
    assert_eq!(provider.contact_title.as_deref(), Some("Partner"));
    // The country from the address, the office naming only its post.
    assert_eq!(provider.iso2().as_deref(), Some("MX"));
}

/// `/count`: `{total, aggregations}` with `{value, count}` buckets.
#[test]
fn counts_decode() {
    let (total, facets) = decode_count(&bytes(json!({
        "total": 42,
        "aggregations": { "country_codes": [{ "value": "MX", "count": 30 }, { "value": "CA", "count": 12 }] }
    })))
    .unwrap();
    assert_eq!(total, Some(42));
    assert_eq!(facets[0].facet, "country_codes");
    assert_eq!(facets[0].buckets[1].count, 12);
    assert_eq!(
        decode_count(b"{\"results\": []}").unwrap_err().code(),
        "UPSTREAM_BAD_RESPONSE"
    );
}
