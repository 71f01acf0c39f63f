//! What an order costs: the one shipping rule set and the VAT included in prices.
//!
//! **Shipping** (the original app had four conflicting rule sets; this is the only one):
//! - *standard*, 3–5 working days: 4,99 €, free when the goods total at least 50,00 €;
//! - *express*, 1–2 working days: 9,99 €, always.
//!
//! **Destinations and VAT.** Catalogue prices include VAT (TTC). Orders ship to France (metropolitan), Monaco,
//! Belgium and Luxembourg; the VAT included in the total (goods and shipping) is shown at the destination's
//! standard rate: 20 % for France and Monaco, 21 % for Belgium, 17 % for Luxembourg. The price a customer pays
//! does not depend on the destination. Switzerland and other non-EU destinations are refused at checkout: they
//! would need customs handling the shop does not do.

use serde::Serialize;

use super::{FieldError, Money, Rule};

/// Goods totals from this amount ship free with the standard method.
pub const FREE_SHIPPING_FROM: Money = Money::from_cents(5_000);

/// Free returns: the promise of the banner, longer than the 14 days the law requires.
pub const RETURN_DAYS: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShippingMethod {
    Standard,
    Express,
}

impl ShippingMethod {
    pub const ALL: [ShippingMethod; 2] = [ShippingMethod::Standard, ShippingMethod::Express];

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "standard" => Ok(ShippingMethod::Standard),
            "express" => Ok(ShippingMethod::Express),
            _ => Err(FieldError::new(
                field,
                Rule::OneOf(&["standard", "express"]),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ShippingMethod::Standard => "standard",
            ShippingMethod::Express => "express",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            ShippingMethod::Standard => "Livraison standard (3 à 5 jours ouvrés)",
            ShippingMethod::Express => "Livraison express (1 à 2 jours ouvrés)",
        }
    }

    /// The shipping price for a goods total.
    pub fn price(self, subtotal: Money) -> Money {
        match self {
            ShippingMethod::Standard if subtotal >= FREE_SHIPPING_FROM => Money::ZERO,
            ShippingMethod::Standard => Money::from_cents(499),
            ShippingMethod::Express => Money::from_cents(999),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Country {
    #[serde(rename = "FR")]
    France,
    #[serde(rename = "MC")]
    Monaco,
    #[serde(rename = "BE")]
    Belgium,
    #[serde(rename = "LU")]
    Luxembourg,
}

impl Country {
    pub const ALL: [Country; 4] = [
        Country::France,
        Country::Monaco,
        Country::Belgium,
        Country::Luxembourg,
    ];

    /// An ISO 3166 code (`FR`) or the French name (`France`), as forms and clients send them.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(raw) || c.name_fr().eq_ignore_ascii_case(raw))
            .ok_or_else(|| FieldError::new(field, Rule::UndeliverableCountry))
    }

    pub fn code(self) -> &'static str {
        match self {
            Country::France => "FR",
            Country::Monaco => "MC",
            Country::Belgium => "BE",
            Country::Luxembourg => "LU",
        }
    }

    pub fn name_fr(self) -> &'static str {
        match self {
            Country::France => "France",
            Country::Monaco => "Monaco",
            Country::Belgium => "Belgique",
            Country::Luxembourg => "Luxembourg",
        }
    }

    /// The standard VAT rate in basis points (2000 = 20 %).
    pub fn vat_rate_bp(self) -> i32 {
        match self {
            Country::France | Country::Monaco => 2000,
            Country::Belgium => 2100,
            Country::Luxembourg => 1700,
        }
    }

    /// Postal codes: five digits in France and Monaco (980xx), four in Belgium and Luxembourg.
    pub fn check_postal_code(self, field: &'static str, raw: &str) -> Result<String, FieldError> {
        let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        let code = code.trim_start_matches("L-").to_string();
        let digits = match self {
            Country::France | Country::Monaco => 5,
            Country::Belgium | Country::Luxembourg => 4,
        };
        if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                Rule::PostalCodeDigits {
                    digits,
                    country: self,
                },
            ));
        }
        if self == Country::Monaco && !code.starts_with("980") {
            return Err(FieldError::new(field, Rule::MonacoPostalCode));
        }
        Ok(code)
    }
}

/// The VAT included in a tax-inclusive amount, rounded half up to the cent.
pub fn vat_included(total: Money, rate_bp: i32) -> Money {
    let rate = i64::from(rate_bp);
    let divisor = 10_000 + rate;
    Money::from_cents((total.cents() * rate + divisor / 2) / divisor)
}

/// `20 %`, `5,5 %`
pub fn rate_display_fr(rate_bp: i32) -> String {
    if rate_bp % 100 == 0 {
        format!("{}\u{a0}%", rate_bp / 100)
    } else {
        format!("{},{}\u{a0}%", rate_bp / 100, (rate_bp % 100) / 10)
    }
}

/// What an order costs, computed on the server from the database prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub subtotal: Money,
    pub shipping: Money,
    pub total: Money,
    /// Included in `total`.
    pub vat: Money,
    pub vat_rate_bp: i32,
    pub method: ShippingMethod,
    pub country: Country,
}

pub fn quote(subtotal: Money, method: ShippingMethod, country: Country) -> Quote {
    let shipping = method.price(subtotal);
    let total = Money::from_cents(subtotal.cents() + shipping.cents());
    Quote {
        subtotal,
        shipping,
        total,
        vat: vat_included(total, country.vat_rate_bp()),
        vat_rate_bp: country.vat_rate_bp(),
        method,
        country,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shipping_rule_set() {
        let below = Money::from_cents(4_999);
        assert_eq!(ShippingMethod::Standard.price(below).cents(), 499);
        assert_eq!(
            ShippingMethod::Standard.price(FREE_SHIPPING_FROM).cents(),
            0
        );
        assert_eq!(
            ShippingMethod::Express.price(FREE_SHIPPING_FROM).cents(),
            999
        );
        assert!(ShippingMethod::parse("shipping_method", "free").is_err());
    }

    #[test]
    fn vat_is_the_included_part_of_the_total() {
        // 120,00 € TTC at 20 % holds 20,00 € of VAT.
        assert_eq!(vat_included(Money::from_cents(12_000), 2000).cents(), 2_000);
        // 89,99 € + 9,99 € express = 99,98 €, of which 99,98 − 99,98 / 1,2 = 16,66 € is VAT.
        let q = quote(
            Money::from_cents(8_999),
            ShippingMethod::Express,
            Country::France,
        );
        assert_eq!(q.total.cents(), 9_998);
        assert_eq!(q.vat.cents(), 1_666);
        let q = quote(
            Money::from_cents(4_000),
            ShippingMethod::Standard,
            Country::Belgium,
        );
        assert_eq!(
            (q.shipping.cents(), q.total.cents(), q.vat.cents()),
            (499, 4_499, 781)
        );
        assert_eq!(rate_display_fr(2000), "20\u{a0}%");
        assert_eq!(rate_display_fr(550), "5,5\u{a0}%");
    }

    #[test]
    fn destinations_and_postal_codes() {
        assert_eq!(Country::parse("country", "fr").unwrap(), Country::France);
        assert_eq!(
            Country::parse("country", "Belgique").unwrap(),
            Country::Belgium
        );
        let err = Country::parse("country", "CH").unwrap_err();
        assert_eq!(err.field, "country");
        assert_eq!(
            Country::France.check_postal_code("p", "75 001").unwrap(),
            "75001"
        );
        assert!(Country::France.check_postal_code("p", "7500").is_err());
        assert!(Country::Monaco.check_postal_code("p", "75001").is_err());
        assert_eq!(
            Country::Luxembourg
                .check_postal_code("p", "L-1234")
                .unwrap(),
            "1234"
        );
    }
}
