//! Validated value types. Every value that comes from a user or a client is parsed into one of these at the edge,
//! so the rest of the shop never sees an unchecked price, email, slug or password.

pub mod address;
pub mod checkout;
pub mod company;
mod email;
pub mod image;
mod money;
mod order;
mod password;
mod quantity;
pub mod review;
mod role;
mod search;
mod slug;
mod stock;
pub mod time;

pub use email::Email;
pub use money::{Money, line_total};
pub use order::{Actor, OrderStatus};
pub use password::{
    MAX_PASSWORD_LEN, MIN_PASSWORD_CHARS, PasswordRefusal, Weakness, check_password_policy,
};
pub use quantity::Quantity;
pub use role::Role;
pub use search::{
    QueryWord, SEARCH_ANALYZER_VERSION, SearchDocument, closest_word, fold_for_search, query_words,
    search_words,
};
pub use slug::Slug;
pub use stock::StockProblem;

/// A value that failed validation: which field, and the rule it broke. The words a customer reads are chosen at
/// the edge (`error/rules.rs`); `Display` here is for logs and the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct FieldError {
    pub field: &'static str,
    pub rule: Rule,
}

impl FieldError {
    pub fn new(field: &'static str, rule: Rule) -> Self {
        Self { field, rule }
    }
}

/// The rules a value can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("is required")]
    Required,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    /// Control characters, in a one-line value.
    #[error("holds control characters")]
    ControlCharacters,
    /// Characters that have no place in the value (control characters other than line breaks in free text).
    #[error("holds characters that are not allowed")]
    InvalidCharacters,
    #[error("is not a whole number")]
    NotInteger,
    #[error("is neither true nor false")]
    NotBoolean,
    /// Not an amount in euros such as 49,90.
    #[error("is not an amount in euros")]
    NotEuroAmount,
    #[error("is not between {min} and {max}")]
    Between { min: i64, max: i64 },
    #[error("is not a whole number from {min} to {max}")]
    IntegerBetween { min: i64, max: i64 },
    #[error("is below {0}")]
    AtLeast(i64),
    /// A quantity below zero (zero removes the line).
    #[error("is negative")]
    NegativeQuantity,
    /// A price below zero (in cents).
    #[error("is a negative price")]
    NegativePrice,
    #[error("is above {max} cents")]
    PriceAbove { max: i64 },
    /// None of these values.
    #[error("is none of {}", .0.join(", "))]
    OneOf(&'static [&'static str]),
    #[error("is not an email address")]
    NotEmail,
    #[error("is not a phone number")]
    NotPhone,
    #[error("is not a slug (lowercase letters without accents, digits, single hyphens)")]
    NotSlug,
    #[error("holds more than {max} items")]
    TooMany { max: usize },
    /// A country the shop does not deliver to.
    #[error("is not a country the shop delivers to")]
    UndeliverableCountry,
    #[error("does not have {digits} digits for {}", country.code())]
    PostalCodeDigits {
        digits: usize,
        country: checkout::Country,
    },
    #[error("does not start with 980 (Monaco)")]
    MonacoPostalCode,
    /// Above the value of this other field (`min_price` above `max_price`).
    #[error("is above {0}")]
    Above(&'static str),
    /// Names nothing that exists (an unknown id or slug).
    #[error("names nothing that exists")]
    Unknown,
    #[error("{0}")]
    Password(PasswordRefusal),
    /// Not the reference of an uploaded image (`/images/<id>/<width>x<height>`).
    #[error("is not an uploaded image's reference (/images/<id>/<width>x<height>)")]
    NotImageSource,
    /// An upload that is not an image the shop takes.
    #[error("{0}")]
    Image(image::ImageProblem),
    /// Differs from this other field (a password typed twice).
    #[error("does not match {0}")]
    Mismatch(&'static str),
}
