//! Rows as the databases return them, mapped into the store's model types before they leave the store, and the
//! small helpers every aggregate uses (ids, timestamps, constraint errors).

use chrono::NaiveDateTime;

use super::StoreError;
use super::model::*;
use crate::domain::{Money, OrderStatus, Quantity, Role};

/// A product's row; also the objects of a listing's JSON array (`ListingRow`).
#[derive(sqlx::FromRow, serde::Deserialize)]
#[sqlx(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub(super) struct ProductRow {
    id: String,
    name: String,
    slug: String,
    description: String,
    price_cents: i64,
    compare_price_cents: Option<i64>,
    images: String,
    stock: i32,
    #[serde(deserialize_with = "json_flag")]
    featured: bool,
    #[serde(deserialize_with = "json_timestamp")]
    created_at: NaiveDateTime,
    #[serde(deserialize_with = "json_timestamp")]
    updated_at: NaiveDateTime,
    category_id: Option<String>,
    category_name: Option<String>,
    category_slug: Option<String>,
    rating_count: i64,
    rating_sum: i64,
}

/// A product of a listing's page, with the listing's total (PostgreSQL).
#[derive(sqlx::FromRow)]
pub(super) struct ListingRow {
    #[sqlx(flatten)]
    pub(super) product: ProductRow,
    #[sqlx(rename = "listingTotal")]
    pub(super) listing_total: i64,
}

/// A page of a listing as one row: its total, and its products as a JSON array of `ProductRow`s (SQLite).
#[derive(sqlx::FromRow)]
pub(super) struct ListingJson {
    total: i64,
    items: String,
    /// The menu's categories as a JSON array, when asked for with the page.
    #[sqlx(default)]
    menu: Option<String>,
}

impl ListingJson {
    /// The page, and the menu's categories if they were asked for.
    pub(super) fn into_page(self) -> Result<(ProductPage, Option<Vec<Category>>), StoreError> {
        let rows: Vec<ProductRow> = from_json(&self.items)?;
        let page = ProductPage {
            items: rows.into_iter().map(Into::into).collect(),
            total: self.total,
        };
        Ok((page, self.menu.as_deref().map(categories_json).transpose()?))
    }
}

/// The menu's categories from the JSON array a listing statement wrote (`query::MENU_JSON`).
fn categories_json(json: &str) -> Result<Vec<Category>, StoreError> {
    let rows: Vec<CategoryRow> = from_json(json)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|err| StoreError::Database(sqlx::Error::Decode(Box::new(err))))
}

/// A flag as the databases write it into JSON: `true` (PostgreSQL) or `1` (SQLite).
fn json_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match <Flag as serde::Deserialize>::deserialize(d)? {
        Flag::Bool(flag) => flag,
        Flag::Int(n) => n != 0,
    })
}

/// A timestamp as the databases write it into JSON: `2026-12-03T10:00:00.123456` (PostgreSQL) or the text
/// SQLite keeps, `2026-12-03 10:00:00.123`.
fn json_timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    let format = if text.as_bytes().get(10) == Some(&b'T') {
        "%Y-%m-%dT%H:%M:%S%.f"
    } else {
        "%Y-%m-%d %H:%M:%S%.f"
    };
    NaiveDateTime::parse_from_str(&text, format).map_err(serde::de::Error::custom)
}

#[derive(sqlx::FromRow)]
pub(super) struct CartRow {
    #[sqlx(flatten)]
    product: ProductRow,
    quantity: i32,
}

impl From<CartRow> for CartLine {
    fn from(row: CartRow) -> Self {
        CartLine {
            product: row.product.into(),
            quantity: Quantity::from_stored(row.quantity),
        }
    }
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        let category = match (row.category_id, row.category_name, row.category_slug) {
            (Some(id), Some(name), Some(slug)) => Some(CategoryRef { id, name, slug }),
            _ => None,
        };
        // `images` is a JSON array in a text column (the original schema). A corrupt value shows no image rather
        // than failing the whole page.
        let images = serde_json::from_str::<Vec<String>>(&row.images).unwrap_or_else(|err| {
            tracing::warn!(product = %row.slug, error = %err, "Product.images is not a JSON array of strings");
            Vec::new()
        });
        Product {
            id: row.id,
            name: row.name,
            slug: row.slug,
            description: row.description,
            price: Money::from_cents(row.price_cents),
            compare_price: row.compare_price_cents.map(Money::from_cents),
            images,
            stock: row.stock,
            featured: row.featured,
            created_at: row.created_at,
            updated_at: row.updated_at,
            category,
            rating_count: row.rating_count,
            rating_sum: row.rating_sum,
        }
    }
}

/// A category's row; also the objects of a menu's JSON array.
#[derive(sqlx::FromRow, serde::Deserialize)]
#[sqlx(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub(super) struct CategoryRow {
    id: String,
    name: String,
    slug: String,
    description: Option<String>,
    image: Option<String>,
    product_count: i64,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Category {
            id: row.id,
            name: row.name,
            slug: row.slug,
            description: row.description,
            image: row.image,
            product_count: row.product_count,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct ReviewRow {
    id: String,
    rating: i32,
    title: Option<String>,
    comment: Option<String>,
    verified: bool,
    created_at: NaiveDateTime,
    author_name: Option<String>,
}

impl From<ReviewRow> for Review {
    fn from(row: ReviewRow) -> Self {
        let author = row
            .author_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Anonyme".to_string());
        Review {
            id: row.id,
            rating: row.rating,
            title: row.title,
            comment: row.comment,
            verified: row.verified,
            created_at: row.created_at,
            author,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    role: String,
    password: Option<String>,
    created_at: NaiveDateTime,
    email_verified: Option<NaiveDateTime>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            name: row.name,
            role: Role::from_db(&row.role),
            password_hash: row.password,
            created_at: row.created_at,
            activated: row.email_verified.is_some(),
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    expires: NaiveDateTime,
    session_created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
}

impl From<SessionRow> for SessionRecord {
    fn from(row: SessionRow) -> Self {
        SessionRecord {
            user: row.user.into(),
            expires: row.expires,
            created_at: row.session_created_at,
            last_seen_at: row.last_seen_at,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct RateRow {
    pub(super) count: i32,
    pub(super) window_start: NaiveDateTime,
}

/// A new random id in the shape of Prisma's cuid (a `c` and 24 base-36 characters), so ids written by vivr
/// look like the ones already in an original database.
pub(super) fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut id = String::with_capacity(25);
    id.push('c');
    for _ in 0..24 {
        if let Some(b) = ALPHABET.get(rng.random_range(0..ALPHABET.len())) {
            id.push(char::from(*b));
        }
    }
    id
}

/// Timestamps are stored with millisecond precision (Prisma's `TIMESTAMP(3)`), in both databases.
pub(super) fn millis(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

pub(super) fn unique_violation(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(err),
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct OrderRow {
    pub(super) id: String,
    order_number: String,
    user_id: String,
    email: Option<String>,
    status: String,
    subtotal_cents: i64,
    shipping_cents: i64,
    total_cents: i64,
    vat_cents: i64,
    vat_rate_bp: i32,
    currency: String,
    shipping_method: Option<String>,
    address: String,
    payment_id: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

impl OrderRow {
    pub(super) fn into_order(self, items: Vec<OrderItem>) -> Order {
        let status = OrderStatus::parse(&self.status).unwrap_or_else(|| {
            tracing::warn!(order = %self.order_number, status = %self.status, "unknown order status");
            OrderStatus::Pending
        });
        // The original app stored the address as JSON text; a corrupt value is shown as the raw text.
        let address = serde_json::from_str(&self.address)
            .unwrap_or_else(|_| serde_json::Value::String(self.address.clone()));
        Order {
            id: self.id,
            number: self.order_number,
            user_id: self.user_id,
            email: self.email,
            status,
            subtotal: Money::from_cents(self.subtotal_cents),
            shipping: Money::from_cents(self.shipping_cents),
            total: Money::from_cents(self.total_cents),
            vat: Money::from_cents(self.vat_cents),
            vat_rate_bp: self.vat_rate_bp,
            currency: self.currency,
            shipping_method: self.shipping_method,
            address,
            payment_id: self.payment_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            items,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct OrderItemRow {
    product_id: String,
    product_slug: Option<String>,
    name: String,
    price_cents: i64,
    quantity: i32,
    image: Option<String>,
}

impl From<OrderItemRow> for OrderItem {
    fn from(r: OrderItemRow) -> Self {
        OrderItem {
            product_id: r.product_id,
            product_slug: r.product_slug,
            name: r.name,
            unit_price: Money::from_cents(r.price_cents),
            quantity: Quantity::from_stored(r.quantity),
            image: r.image,
        }
    }
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct EmailRow {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) order_id: Option<String>,
    pub(super) token_id: Option<String>,
    pub(super) recipient: String,
    pub(super) attempts: i32,
}

#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub(super) struct StockRow {
    pub(super) name: String,
    pub(super) stock: i32,
    pub(super) price_cents: i64,
    pub(super) archived: bool,
}
