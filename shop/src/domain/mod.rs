//! Validated value types. Every value that comes from a user or a client is parsed into one of these at the edge,
//! so the rest of the shop never sees an unchecked price, email, slug or password.

pub mod address;
pub mod checkout;
mod email;
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
pub use password::{PasswordPolicyError, check_password_policy};
pub use quantity::Quantity;
pub use role::Role;
pub use search::fold_for_search;
pub use slug::Slug;
pub use stock::StockProblem;

/// A value that failed validation: which field, and the rule it broke (in French, shown to users as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
