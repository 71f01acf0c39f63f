//! What the store returns and accepts. Rows are mapped into these before leaving the store.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::{Money, Quantity, Role};

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub image: Option<String>,
    pub product_count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryRef {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// Where a catalogue page lives and when it last changed, for the sitemap.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub struct Location {
    pub slug: String,
    pub updated_at: NaiveDateTime,
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

/// An uploaded image, as recorded (its files are in the image store).
#[derive(Debug, Clone, Serialize)]
pub struct ImageRecord {
    pub id: String,
    pub width: u32,
    pub height: u32,
    /// The original's type: `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// The original's size.
    pub bytes: u64,
    #[serde(serialize_with = "crate::domain::time::serialize_utc")]
    pub created_at: NaiveDateTime,
}

/// An upload to record.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub bytes: u64,
}

/// One administrator write, as the audit log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    /// The administrator's email (`None` once their account is gone).
    pub actor: Option<String>,
    /// `product.create`, `product.update`, `product.archive`, `category.update`, `order.status`…
    pub action: String,
    /// The product or category slug, or the order number.
    pub subject: String,
    /// Each field changed: `{"stock": {"from": 3, "to": 10}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    #[serde(serialize_with = "crate::domain::time::serialize_utc")]
    pub at: NaiveDateTime,
}

/// A review as its author's data export lists it.
#[derive(Debug, Clone, Serialize)]
pub struct UserReview {
    pub product_slug: String,
    pub product_name: String,
    pub rating: i32,
    pub title: Option<String>,
    pub comment: Option<String>,
    pub verified: bool,
    pub created_at: NaiveDateTime,
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
    /// The owner of the address confirmed it (the activation link, a password reset, an email change). An
    /// account registered from the shop cannot sign in with its password before.
    pub activated: bool,
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
    pub quantity: Quantity,
}

/// A customer's saved address: its text, and what the address book adds to it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[sqlx(rename_all = "camelCase")]
pub struct Address {
    pub id: String,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub fields: crate::domain::address::AddressFields,
    pub is_default: bool,
    #[serde(serialize_with = "crate::domain::time::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::time::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

/// One line of an order being placed: the price the customer was shown, re-checked when stock is reserved.
#[derive(Debug, Clone)]
pub struct NewOrderLine {
    pub product_id: String,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub image: Option<String>,
}

/// The ways to find one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey<'a> {
    Id(&'a str),
    /// The number customers read (`VIV-…`).
    Number(&'a str),
    /// The payment provider's id for the order's payment (a Stripe PaymentIntent).
    PaymentId(&'a str),
    /// The key a customer's checkout was sent with (keys are per customer).
    IdempotencyKey {
        user_id: &'a str,
        key: &'a str,
    },
}

impl OrderKey<'_> {
    /// Which key it is, for traces (the value itself may be personal).
    pub fn kind(&self) -> &'static str {
        match self {
            OrderKey::Id(_) => "id",
            OrderKey::Number(_) => "number",
            OrderKey::PaymentId(_) => "payment id",
            OrderKey::IdempotencyKey { .. } => "idempotency key",
        }
    }
}

/// An order to place: lines, amounts computed by the checkout service, and the address snapshot (JSON).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub number: String,
    pub user_id: String,
    pub email: String,
    pub idempotency_key: Option<String>,
    pub lines: Vec<NewOrderLine>,
    pub subtotal: Money,
    pub shipping: Money,
    pub total: Money,
    pub vat: Money,
    pub vat_rate_bp: i32,
    pub shipping_method: String,
    pub address_json: String,
    pub expires_at: NaiveDateTime,
    pub now: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderItem {
    pub product_id: String,
    /// The product's current slug, when it is still in the catalogue.
    pub product_slug: Option<String>,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub image: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: String,
    pub number: String,
    pub user_id: String,
    pub email: Option<String>,
    pub status: crate::domain::OrderStatus,
    pub subtotal: Money,
    pub shipping: Money,
    pub total: Money,
    pub vat: Money,
    pub vat_rate_bp: i32,
    pub currency: String,
    pub shipping_method: Option<String>,
    /// The address as it was when the order was placed.
    pub address: serde_json::Value,
    pub payment_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub items: Vec<OrderItem>,
}

/// Emails the shop sends about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OrderEmail {
    Confirmation,
    Shipped,
}

/// What a queued email is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EmailKind {
    Order(OrderEmail),
    /// Sent once to a new newsletter subscriber, with the unsubscribe link.
    NewsletterWelcome,
    /// Sent to a new newsletter sign-up: the link that confirms it (double opt-in).
    NewsletterConfirm,
    /// Sent to the owner of an address someone tried to register again.
    AccountExists,
    /// Sent to an account's previous address once its email was changed.
    EmailChanged,
    /// A link of an [`AccountToken`](LinkPurpose): a password reset, or the confirmation of a new email address.
    Link(LinkPurpose),
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Order(OrderEmail::Confirmation) => "ORDER_CONFIRMATION",
            EmailKind::Order(OrderEmail::Shipped) => "ORDER_SHIPPED",
            EmailKind::NewsletterWelcome => "NEWSLETTER_WELCOME",
            EmailKind::NewsletterConfirm => "NEWSLETTER_CONFIRM",
            EmailKind::AccountExists => "ACCOUNT_EXISTS",
            EmailKind::EmailChanged => "EMAIL_CHANGED",
            EmailKind::Link(purpose) => purpose.as_str(),
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "ORDER_CONFIRMATION" => Some(EmailKind::Order(OrderEmail::Confirmation)),
            "ORDER_SHIPPED" => Some(EmailKind::Order(OrderEmail::Shipped)),
            "NEWSLETTER_WELCOME" => Some(EmailKind::NewsletterWelcome),
            "NEWSLETTER_CONFIRM" => Some(EmailKind::NewsletterConfirm),
            "ACCOUNT_EXISTS" => Some(EmailKind::AccountExists),
            "EMAIL_CHANGED" => Some(EmailKind::EmailChanged),
            "PASSWORD_RESET" => Some(EmailKind::Link(LinkPurpose::PasswordReset)),
            "EMAIL_CHANGE" => Some(EmailKind::Link(LinkPurpose::EmailChange)),
            "ACCOUNT_ACTIVATION" => Some(EmailKind::Link(LinkPurpose::Activation)),
            _ => None,
        }
    }
}

/// A status change, applied in one transaction with everything that goes with it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub order_id: String,
    /// The statuses the order may be in for the change to apply.
    pub from: Vec<crate::domain::OrderStatus>,
    pub to: crate::domain::OrderStatus,
    /// Recorded on the order when it has none yet.
    pub payment_id: Option<String>,
    /// The Stripe event causing the change: recorded once; a second delivery changes nothing.
    pub event: Option<PaymentEventRef>,
    /// Queued in the same transaction when the change applies.
    pub email: Option<OrderEmail>,
    /// The administrator making the change (recorded in the audit log); `None` for Stripe and the jobs.
    pub by: Option<String>,
    pub now: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct PaymentEventRef {
    pub id: String,
    pub kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    Changed {
        from: crate::domain::OrderStatus,
        stock_released: bool,
    },
    /// The event was handled before.
    Duplicate,
    /// The order is in a status the change does not apply to (it stays there).
    NotApplicable { current: crate::domain::OrderStatus },
}

/// An email waiting to be sent, claimed by one worker.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub id: String,
    pub kind: EmailKind,
    /// The order an order email is about (`None` for the others).
    pub order_id: Option<String>,
    /// The link a link email carries (`None` for the others).
    pub token_id: Option<String>,
    pub recipient: String,
    pub attempts: i32,
}

/// What a link sent by email to a customer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkPurpose {
    PasswordReset,
    /// Sets the account's email to the address the link was sent to.
    EmailChange,
    /// Confirms a new account's address, and signs its owner in.
    Activation,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::PasswordReset => "PASSWORD_RESET",
            LinkPurpose::EmailChange => "EMAIL_CHANGE",
            LinkPurpose::Activation => "ACCOUNT_ACTIVATION",
        }
    }
}

/// A link to send: the row is written with its email in one transaction, and replaces the customer's earlier
/// unused links of the same purpose.
#[derive(Debug, Clone)]
pub struct NewAccountLink {
    pub user_id: String,
    pub purpose: LinkPurpose,
    /// Where the email goes: the account's address, or the new one for an email change.
    pub recipient: String,
    pub expires: NaiveDateTime,
    /// The local page to go on to once the link is used (an activation from the checkout: `/commande`).
    pub next: Option<String>,
    pub now: NaiveDateTime,
}

/// A link as the email worker finds it when it sends it.
#[derive(Debug, Clone)]
pub struct ArmedLink {
    pub purpose: LinkPurpose,
    pub expires: NaiveDateTime,
    pub next: Option<String>,
}

/// What a registration did. The shop answers the same either way: only the address's owner learns which, by
/// email.
#[derive(Debug, Clone)]
pub enum Registered {
    /// A new account, waiting for its activation link (queued with it).
    Created(User),
    /// The address has an account: its owner was told (at most one such email an hour).
    Exists,
}

/// What a newsletter confirmation link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewsletterConfirmation {
    Confirmed,
    AlreadyConfirmed,
    /// No sign-up for this address (unsubscribed, or forgotten unconfirmed).
    Gone,
}

/// What deleting an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    Erased,
    /// An order is not delivered yet: its address is still needed, nothing was changed.
    OrdersInProgress,
    /// There is no such account (or it was deleted already).
    NotFound,
}

/// An unpaid order past its deadline.
#[derive(Debug, Clone)]
pub struct ExpiringOrder {
    pub id: String,
    pub number: String,
    pub payment_id: Option<String>,
}
