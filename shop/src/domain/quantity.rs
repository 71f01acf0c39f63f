//! How many of one product a cart line or an order line holds.

use std::fmt;

use serde::Serialize;

use super::{FieldError, Rule};

/// A count of one product: a whole number, never negative (a cart line set to 0 is removed).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i32, minimum = 0)]
pub struct Quantity(i32);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);

    /// A count from a client, refused when negative.
    pub fn new(field: &'static str, count: i32) -> Result<Self, FieldError> {
        if count < 0 {
            Err(FieldError::new(field, Rule::NegativeQuantity))
        } else {
            Ok(Quantity(count))
        }
    }

    /// A count as a form sends it: text holding a whole number, never negative.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let count = raw
            .trim()
            .parse::<i32>()
            .map_err(|_| FieldError::new(field, Rule::NotInteger))?;
        Self::new(field, count)
    }

    /// A count read back from the database (written as a `Quantity`; a negative value reads as 0).
    pub fn from_stored(count: i32) -> Self {
        Quantity(count.max(0))
    }

    pub const fn get(self) -> i32 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The two counts together; `None` past what a count can hold.
    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        self.0.checked_add(other.0).map(Quantity)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_and_never_negative() {
        assert_eq!(Quantity::parse("quantity", " 3 ").unwrap().get(), 3);
        assert_eq!(Quantity::parse("quantity", "0").unwrap(), Quantity::ZERO);
        assert!(Quantity::parse("quantity", "-1").is_err());
        assert!(Quantity::parse("quantity", "1.5").is_err());
        assert_eq!(
            Quantity::parse("quantity", "x").unwrap_err().rule,
            Rule::NotInteger
        );
        assert_eq!(
            Quantity::parse("quantity", "-1").unwrap_err().rule,
            Rule::NegativeQuantity
        );
        assert_eq!(Quantity::from_stored(-4), Quantity::ZERO);
        assert_eq!(
            Quantity::from_stored(i32::MAX).checked_add(Quantity::from_stored(1)),
            None
        );
    }
}
