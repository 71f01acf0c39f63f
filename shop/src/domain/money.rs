//! Money as integer cents of EUR. Never a float: storage, arithmetic and JSON all use whole cents.

use std::fmt;

use serde::Serialize;

use super::{FieldError, Rule};

/// An amount in euro cents. Non-negative amounts only: vivr stores prices, never balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

/// The largest price the catalogue accepts (1,000,000.00 €): larger values are typing mistakes.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    /// Wraps cents read back from the database (already validated when written).
    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    /// Validates a price coming from a client.
    pub fn parse_price(field: &'static str, cents: i64) -> Result<Self, FieldError> {
        if cents < 0 {
            return Err(FieldError::new(field, Rule::NegativePrice));
        }
        if cents > MAX_PRICE_CENTS {
            return Err(FieldError::new(
                field,
                Rule::PriceAbove {
                    max: MAX_PRICE_CENTS,
                },
            ));
        }
        Ok(Money(cents))
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// The French display form: `1 234,50 €`, with narrow no-break spaces as the locale prints them.
    pub fn display_fr(self) -> String {
        self.to_string()
    }

    /// As [`Money::display_fr`], without the cents when there are none (`50 €`), as a banner writes a threshold.
    pub fn display_fr_whole(self) -> String {
        let full = self.display_fr();
        if self.0 % 100 == 0 {
            full.replacen(",00", "", 1)
        } else {
            full
        }
    }

    /// The two amounts together; `None` past what cents can hold.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The amount for `quantity` of something at this unit price; `None` past what cents can hold.
    pub fn times(self, quantity: super::Quantity) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity.get())).map(Money)
    }

    /// The sum of amounts; `None` past what cents can hold.
    pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |total, amount| total.checked_add(amount))
    }

    /// Percentage saved against a "was" price, rounded half up, when the compare price is higher.
    pub fn discount_percent(self, compare: Money) -> Option<i64> {
        if compare.0 > self.0 && compare.0 > 0 {
            let saved = compare.0 - self.0;
            Some((saved * 100 + compare.0 / 2) / compare.0)
        } else {
            None
        }
    }
}

/// A line's amount: `quantity` at `unit`. Prices are capped and quantities bounded by the stock, so it does not
/// overflow; a value from elsewhere that would shows as the largest amount rather than wrapping.
pub fn line_total(unit: Money, quantity: super::Quantity) -> Money {
    unit.times(quantity).unwrap_or(Money(i64::MAX))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NNBSP: char = '\u{202f}';
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let euros = (abs / 100).to_string();
        let mut grouped = String::with_capacity(euros.len() + euros.len() / 3 * 3);
        for (i, digit) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push(NNBSP);
            }
            grouped.push(digit);
        }
        write!(f, "{sign}{grouped},{:02}{NNBSP}€", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_whole_amount_can_be_written_without_its_cents() {
        assert_eq!(Money::from_cents(5_000).display_fr_whole(), "50\u{202f}€");
        assert_eq!(
            Money::from_cents(4_999).display_fr_whole(),
            "49,99\u{202f}€"
        );
    }

    use super::*;

    #[test]
    fn formats_like_the_french_locale() {
        assert_eq!(Money::from_cents(8999).to_string(), "89,99\u{202f}€");
        assert_eq!(
            Money::from_cents(123_456).to_string(),
            "1\u{202f}234,56\u{202f}€"
        );
        assert_eq!(Money::from_cents(5).to_string(), "0,05\u{202f}€");
        assert_eq!(
            Money::from_cents(100_000_000).to_string(),
            "1\u{202f}000\u{202f}000,00\u{202f}€"
        );
    }

    #[test]
    fn validates_prices() {
        assert!(Money::parse_price("price_cents", -1).is_err());
        assert!(Money::parse_price("price_cents", MAX_PRICE_CENTS + 1).is_err());
        assert_eq!(
            Money::parse_price("price_cents", 0).map(Money::cents),
            Ok(0)
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        use crate::domain::Quantity;
        let price = Money::from_cents(1999);
        assert_eq!(
            price.times(Quantity::from_stored(3)),
            Some(Money::from_cents(5997))
        );
        assert_eq!(
            Money::sum([price, Money::from_cents(1)]),
            Some(Money::from_cents(2000))
        );
        assert_eq!(Money::sum([]), Some(Money::ZERO));
        assert_eq!(
            Money::from_cents(i64::MAX).checked_add(Money::from_cents(1)),
            None
        );
        assert_eq!(
            Money::from_cents(i64::MAX / 2).times(Quantity::from_stored(3)),
            None
        );
    }

    #[test]
    fn discount_badge_matches_the_original_rounding() {
        // 89.99 against 129.99: the original shows -31 %.
        assert_eq!(
            Money::from_cents(8999).discount_percent(Money::from_cents(12999)),
            Some(31)
        );
        assert_eq!(
            Money::from_cents(59900).discount_percent(Money::from_cents(79900)),
            Some(25)
        );
        assert_eq!(
            Money::from_cents(100).discount_percent(Money::from_cents(100)),
            None
        );
    }
}
