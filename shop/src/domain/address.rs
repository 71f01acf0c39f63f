//! A shipping address as a customer enters it, validated field by field.

use serde::{Deserialize, Serialize};

use super::checkout::Country;
use super::{FieldError, Rule};

/// An address as text: as a client sends it (every field a string, so a form and a JSON body read alike), and as
/// a saved address keeps it (the `Address` table's columns). [`AddressInput::parse`] makes it a valid address.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, sqlx::FromRow, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
#[sqlx(rename_all = "camelCase")]
pub struct AddressFields {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub apartment: Option<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A validated address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressInput {
    pub label: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub street: String,
    pub apartment: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: Country,
    pub phone: Option<String>,
}

fn required(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, Rule::Required));
    }
    limited(field, value, max)
}

fn optional(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        Some(value) => limited(field, value, max).map(Some),
        None => Ok(None),
    }
}

fn limited(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(field, Rule::TooLong { max }));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, Rule::ControlCharacters));
    }
    Ok(value.to_string())
}

/// A field's value, or its error added to the form's.
fn kept<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn phone(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let phone = optional("phone", raw, 20)?;
    if let Some(phone) = &phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '.' | '-' | '(' | ')'));
        if !allowed || !(6..=15).contains(&digits) {
            return Err(FieldError::new("phone", Rule::NotPhone));
        }
    }
    Ok(phone)
}

impl AddressInput {
    /// The address, or the first rule it breaks (the API names one field).
    pub fn parse(fields: &AddressFields) -> Result<Self, FieldError> {
        Self::checked(fields).map_err(|mut errors| errors.swap_remove(0))
    }

    /// The address, or every rule it breaks, in the form's order (a page shows them all at once).
    pub fn checked(fields: &AddressFields) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let label = kept(&mut errors, optional("label", fields.label.as_deref(), 50));
        let first_name = kept(&mut errors, required("first_name", &fields.first_name, 100));
        let last_name = kept(&mut errors, required("last_name", &fields.last_name, 100));
        let street = kept(&mut errors, required("street", &fields.street, 200));
        let apartment = kept(
            &mut errors,
            optional("apartment", fields.apartment.as_deref(), 100),
        );
        let country = Country::parse("country", &fields.country);
        // The postal code's format depends on the country: checked only against a known one.
        let postal_code = match &country {
            Ok(country) => kept(
                &mut errors,
                country.check_postal_code("postal_code", &fields.postal_code),
            ),
            Err(_) => Some(String::new()),
        };
        let city = kept(&mut errors, required("city", &fields.city, 100));
        let country = kept(&mut errors, country);
        let phone = kept(&mut errors, phone(fields.phone.as_deref()));
        match (
            label,
            first_name,
            last_name,
            street,
            apartment,
            postal_code,
            city,
            country,
            phone,
        ) {
            (
                Some(label),
                Some(first_name),
                Some(last_name),
                Some(street),
                Some(apartment),
                Some(postal_code),
                Some(city),
                Some(country),
                Some(phone),
            ) if errors.is_empty() => Ok(AddressInput {
                label,
                first_name,
                last_name,
                street,
                apartment,
                city,
                postal_code,
                country,
                phone,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> AddressFields {
        AddressFields {
            first_name: "Camille".into(),
            last_name: "Durand".into(),
            street: "12 rue des Lilas".into(),
            city: "Lyon".into(),
            postal_code: "69003".into(),
            country: "FR".into(),
            ..AddressFields::default()
        }
    }

    #[test]
    fn valid_and_invalid_addresses() {
        let ok = AddressInput::parse(&fields()).unwrap();
        assert_eq!(ok.country, Country::France);
        assert_eq!(ok.apartment, None);
        let mut f = fields();
        f.city = "  ".into();
        assert_eq!(AddressInput::parse(&f).unwrap_err().field, "city");
        let mut f = fields();
        f.phone = Some("06 12 34 56 78".into());
        assert!(AddressInput::parse(&f).is_ok());
        f.phone = Some("call me".into());
        assert_eq!(AddressInput::parse(&f).unwrap_err().field, "phone");
        let mut f = fields();
        f.street = "x".repeat(201);
        assert_eq!(AddressInput::parse(&f).unwrap_err().field, "street");
        let mut f = fields();
        f.country = "CH".into();
        assert_eq!(AddressInput::parse(&f).unwrap_err().field, "country");
    }

    #[test]
    fn every_broken_rule_at_once_in_the_form_order() {
        let f = AddressFields {
            first_name: " ".into(),
            postal_code: "7500".into(),
            country: "FR".into(),
            phone: Some("appelez-moi".into()),
            ..AddressFields::default()
        };
        let broken: Vec<&str> = AddressInput::checked(&f)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            broken,
            [
                "first_name",
                "last_name",
                "street",
                "postal_code",
                "city",
                "phone"
            ]
        );
        // An unknown country: the postal code cannot be judged, the country is named.
        let f = AddressFields {
            country: "CH".into(),
            postal_code: "8000".into(),
            ..fields()
        };
        let broken: Vec<&str> = AddressInput::checked(&f)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(broken, ["country"]);
    }
}

#[cfg(test)]
mod flatten_tests {
    use std::collections::BTreeMap;

    use super::AddressFields;

    #[derive(serde::Deserialize)]
    struct Outer {
        #[allow(dead_code)]
        token: String,
        #[serde(flatten)]
        fields: AddressFields,
        #[serde(flatten)]
        unknown: BTreeMap<String, serde_json::Value>,
    }

    /// Flattening ignores the inner `deny_unknown_fields`: forms that flatten `AddressFields` collect the rest
    /// in a map and refuse it themselves (`routes::extract::refuse_unknown`).
    #[test]
    fn fields_not_in_the_address_land_in_the_catch_all() {
        let ok: Outer = serde_urlencoded::from_str("token=t&city=Lyon").unwrap();
        assert_eq!(ok.fields.city, "Lyon");
        assert!(ok.unknown.is_empty());
        let tampered: Outer =
            serde_urlencoded::from_str("token=t&city=Lyon&price_cents=1").unwrap();
        assert_eq!(tampered.unknown.keys().collect::<Vec<_>>(), ["price_cents"]);
        let tampered: Outer = serde_json::from_str(r#"{"token":"t","quantity":3}"#).unwrap();
        assert_eq!(tampered.unknown.keys().collect::<Vec<_>>(), ["quantity"]);
    }
}
