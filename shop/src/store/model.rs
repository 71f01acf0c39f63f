//! What the store returns and accepts. Rows are mapped into these before leaving the store.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::{Money, Role};

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub name: String,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub image: Option<String>,
    pub product_count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRef {
    pub id: String,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub price: Money,
    pub compare_price: Option<Money>,
    pub images: Vec<String>,
    pub stock: i32,
    pub featured: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub category: Option<CategoryRef>,
    pub rating_count: i64,
    pub rating_sum: i64,
}

impl Product {
    /// Mean rating over every review, to one decimal; 0 when there are none.
    pub fn rating_average(&self) -> f64 {
        if self.rating_count == 0 {
            0.0
        } else {
            // Integer arithmetic, then one division for display.
            ((self.rating_sum * 10 + self.rating_count / 2) / self.rating_count) as f64 / 10.0
        }
    }

    pub fn discount_percent(&self) -> Option<i64> {
        self.compare_price
            .and_then(|c| self.price.discount_percent(c))
    }
}

#[derive(Debug, Clone)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: String,
    pub rating: i32,
    pub title: Option<String>,
    pub comment: Option<String>,
    pub verified: bool,
    pub created_at: NaiveDateTime,
    /// The reviewer's display name (never the email address).
    pub author: String,
}

#[derive(Debug, Clone)]
pub struct NewCategory {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub image: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub price: Money,
    pub compare_price: Option<Money>,
    pub images: Vec<String>,
    pub category_slug: Option<String>,
    pub stock: i32,
    pub featured: bool,
}

/// A demo product with its fixed creation time, so that "newest" sorts the demo catalogue the same every time.
#[derive(Debug, Clone)]
pub struct SeedProduct {
    pub product: NewProduct,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    pub categories: u64,
    pub products: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub compare_price: Option<Option<Money>>,
    pub images: Option<Vec<String>>,
    pub category_slug: Option<Option<String>>,
    pub stock: Option<i32>,
    pub featured: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
}

impl User {
    /// What the shop shows as the user's name: the name, or the part of the email before the `@`.
    pub fn display_name(&self) -> &str {
        match self.name.as_deref() {
            Some(name) if !name.trim().is_empty() => name,
            _ => self.email.split('@').next().unwrap_or(&self.email),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: String,
    pub expires: NaiveDateTime,
    pub now: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub expires: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub count: i64,
    pub window_start: NaiveDateTime,
}

/// Whose cart: a signed-in user's, or an anonymous visitor's (the SHA-256 of the cart cookie's token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartOwner {
    User(String),
    Visitor(String),
}

impl CartOwner {
    /// The `"Cart"` column that identifies this owner, and its value.
    pub(super) fn column(&self) -> (&'static str, &str) {
        match self {
            CartOwner::User(id) => ("userId", id),
            CartOwner::Visitor(hash) => ("tokenHash", hash),
        }
    }
}

/// A cart line as stored: the live product (its current price and stock) and the quantity asked for.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub product: Product,
    pub quantity: i32,
}
