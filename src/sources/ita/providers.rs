//! Business service providers: lawyers, logistics firms, consultants and
//! other companies that ITA's offices abroad list for U.S. exporters.
//!
//! data.trade.gov: `GET /business_service_providers/v1/search` with `q`,
//! `categories`, `ita_offices`, `size`, `offset`
//! (`fixtures/ita/CURRENT_API.md`). The seeds' api.trade.gov served
//! `/v2/business_service_providers/search` with `q`, `ita_offices` and
//! `categories` among its filters (GovWizely/webservices,
//! `app/controllers/api/v2/business_service_providers_controller.rb`).

use serde::Deserialize;

use super::model::Identifiable;

/// A company an ITA office recommends.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BusinessServiceProvider {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// The office that lists it, by name (its post, "Mexico City").
    #[serde(default)]
    pub ita_office: Option<String>,
    #[serde(default)]
    pub ita_contact_email: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub company_address: Option<String>,
    #[serde(default)]
    pub company_description: Option<String>,
    #[serde(default)]
    pub company_email: Option<String>,
    #[serde(default)]
    pub company_phone: Option<String>,
    #[serde(default)]
    pub company_website: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_title: Option<String>,
}

impl Identifiable for BusinessServiceProvider {
    const IDENTIFYING: &'static [&'static str] = &["id", "company_name"];
    fn identifiable(&self) -> bool {
        self.id.is_some() || self.company_name.is_some()
    }
}

impl BusinessServiceProvider {
    /// The country the provider serves, ISO alpha-2: the one its office's
    /// name ends with ("Mexico City, Mexico"), else its address's last
    /// part, else an office named after its country ("Singapore").
    pub fn iso2(&self) -> Option<String> {
        let last_part = |text: &str| {
            text.rsplit(',')
                .next()
                .and_then(|tail| crate::countries::by_name(tail.trim()))
                .map(|country| country.iso2.to_owned())
        };
        self.ita_office
            .as_deref()
            .filter(|office| office.contains(','))
            .and_then(last_part)
            .or_else(|| self.company_address.as_deref().and_then(last_part))
            .or_else(|| {
                self.ita_office
                    .as_deref()
                    .and_then(|office| crate::countries::by_name(office.trim()))
                    .map(|country| country.iso2.to_owned())
            })
    }
}
