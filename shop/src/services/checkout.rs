//! Checkout: from the signed-in customer's cart to a PENDING order and its Stripe PaymentIntent.
//!
//! Prices come from the database, shipping and VAT from `domain::checkout` (one rule set). The order, its line
//! snapshots and the stock reservation are written in one transaction by the store; a repeated submission with
//! the same idempotency key returns the first order, and its PaymentIntent is created once (its Stripe
//! idempotency key is derived from the order, and the order keeps the first PaymentIntent it is given).

use chrono::TimeDelta;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::now;
use crate::domain::address::{AddressFields, AddressInput};
use crate::domain::checkout::{Country, Quote, ShippingMethod, quote};
use crate::domain::{FieldError, Money, OrderStatus, StockProblem, line_total};
use crate::payments::stripe::StripeError;
use crate::services::addresses::{self, AddressError};
use crate::store::{
    CartLine, CartOwner, NewOrder, NewOrderLine, Order, OrderKey, StoreError, User,
};

/// Why an order was not placed, or its payment not prepared.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart is empty")]
    CartEmpty,
    /// The cart is not the one the customer was shown ([`CheckoutRequest::cart_version`]).
    #[error("the cart changed since the customer saw it")]
    CartChanged,
    #[error("an idempotency key is 8 to 100 characters among letters, digits and - _ . :")]
    IdempotencyKey,
    #[error(transparent)]
    Stock(StockProblem),
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The order an idempotency key named could not be read back.
    #[error("the order placed with this idempotency key is gone")]
    OrderGone,
    /// Stripe failed; the order stands and its payment can be retried.
    #[error("the payment provider failed: {0}")]
    PaymentProvider(StripeError),
    #[error("PaymentIntent {intent} does not match order {order}")]
    PaymentMismatch { intent: String, order: String },
    #[error("Stripe returned no client secret for {intent}")]
    NoClientSecret { intent: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the order goes: a saved address, or one entered at checkout (optionally saved for next time).
#[derive(Debug, Clone)]
pub enum AddressChoice {
    Saved(String),
    New { fields: AddressFields, save: bool },
}

#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub address: AddressChoice,
    pub method: ShippingMethod,
    /// The same key on a retry returns the same order.
    pub idempotency_key: Option<String>,
    /// The cart as the customer saw it ([`cart_version`]); when given and the cart changed since, the order is
    /// refused so the customer can review it.
    pub cart_version: Option<String>,
}

/// How the customer pays for an order.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum Payment {
    /// No payment provider in this environment (the demo default).
    NotConfigured,
    /// The order is past payment (paid, cancelled …).
    NotDue,
    Stripe {
        payment_intent: String,
        client_secret: String,
        publishable_key: String,
    },
    /// The provider failed just now; the order is kept and payment can be retried.
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    /// False when the idempotency key returned an earlier order.
    pub created: bool,
    pub payment: Payment,
}

/// Client-chosen idempotency keys: 8 to 100 characters among letters, digits and `-_.:`.
pub fn parse_idempotency_key(raw: &str) -> Result<String, CheckoutError> {
    let key = raw.trim();
    let ok = (8..=100).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(CheckoutError::IdempotencyKey)
    }
}

/// A fingerprint of the cart's lines (product, quantity, unit price), shown with the checkout form.
pub fn cart_version(lines: &[CartLine]) -> String {
    let mut hash = Sha256::new();
    for line in lines {
        hash.update(format!(
            "{}:{}:{};",
            line.product.id,
            line.quantity,
            line.product.price.cents()
        ));
    }
    hex::encode(hash.finalize().get(..8).unwrap_or_default())
}

/// `VIV-261124-7QZ3KD`: the date in Paris (the customer's day) and six random characters of Crockford's base 32
/// (no I, L, O, U).
pub fn new_order_number(at: chrono::NaiveDateTime) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let suffix: String = (0..6)
        .filter_map(|_| ALPHABET.get(rng.random_range(0..ALPHABET.len())))
        .map(|b| char::from(*b))
        .collect();
    let day = crate::domain::time::in_paris(at).format("%y%m%d");
    format!("VIV-{day}-{suffix}")
}

fn subtotal(lines: &[CartLine]) -> Money {
    Money::sum(
        lines
            .iter()
            .map(|l| line_total(l.product.price, l.quantity)),
    )
    .unwrap_or(Money::from_cents(i64::MAX))
}

/// The quote for the customer's cart as it is, for a method and destination.
pub fn quote_cart(lines: &[CartLine], method: ShippingMethod, country: Country) -> Quote {
    quote(subtotal(lines), method, country)
}

fn cart_refusal(lines: &[CartLine]) -> Option<CheckoutError> {
    if lines.is_empty() {
        return Some(CheckoutError::CartEmpty);
    }
    lines
        .iter()
        .find_map(|l| StockProblem::check(&l.product.name, l.product.stock, l.quantity).err())
        .map(CheckoutError::Stock)
}

async fn resolve_address(
    state: &AppState,
    user: &User,
    choice: &AddressChoice,
) -> Result<AddressInput, CheckoutError> {
    let input = match choice {
        AddressChoice::Saved(id) => {
            addresses::as_input(&addresses::get(state.store(), &user.id, id).await?)
        }
        AddressChoice::New { fields, .. } => {
            AddressInput::parse(fields).map_err(AddressError::from)
        }
    };
    Ok(input?)
}

/// The order to write for these lines, priced and addressed, expiring unpaid after the configured delay.
fn new_order(
    state: &AppState,
    user: &User,
    lines: &[CartLine],
    address: &AddressInput,
    request: &CheckoutRequest,
) -> NewOrder {
    let quote = quote_cart(lines, request.method, address.country);
    let placed_at = now();
    NewOrder {
        number: new_order_number(placed_at),
        user_id: user.id.clone(),
        email: user.email.clone(),
        idempotency_key: request.idempotency_key.clone(),
        lines: lines
            .iter()
            .map(|l| NewOrderLine {
                product_id: l.product.id.clone(),
                name: l.product.name.clone(),
                unit_price: l.product.price,
                quantity: l.quantity,
                image: l.product.images.first().cloned(),
            })
            .collect(),
        subtotal: quote.subtotal,
        shipping: quote.shipping,
        total: quote.total,
        vat: quote.vat,
        vat_rate_bp: quote.vat_rate_bp,
        shipping_method: quote.method.as_str().to_string(),
        address_json: addresses::snapshot(address, &user.email).to_string(),
        expires_at: placed_at
            + TimeDelta::from_std(state.config().order_expiry).unwrap_or(TimeDelta::minutes(30)),
        now: placed_at,
    }
}

/// Places the order (or finds the one this idempotency key placed) and prepares its payment.
pub async fn place(
    state: &AppState,
    user: &User,
    request: CheckoutRequest,
) -> Result<Checkout, CheckoutError> {
    let store = state.store();
    if let Some(key) = &request.idempotency_key
        && let Some(order) = store
            .order(OrderKey::IdempotencyKey {
                user_id: &user.id,
                key,
            })
            .await?
    {
        return existing(state, order).await;
    }
    let lines = store.cart_lines(&CartOwner::User(user.id.clone())).await?;
    if let Some(refusal) = cart_refusal(&lines) {
        return Err(refusal);
    }
    if let Some(seen) = &request.cart_version
        && *seen != cart_version(&lines)
    {
        return Err(CheckoutError::CartChanged);
    }
    let address = resolve_address(state, user, &request.address).await?;
    let mut new = new_order(state, user, &lines, &address, &request);
    let placed_at = new.now;
    let mut attempts = 0;
    let order = loop {
        match store.place_order(&new).await {
            Ok(order) => break order,
            // Six random characters a day: a collision is rare, and a new number settles it.
            Err(StoreError::Conflict("order number")) if attempts < 3 => {
                attempts += 1;
                new.number = new_order_number(placed_at);
            }
            // A concurrent submission with the same key won the race: answer with its order.
            Err(StoreError::Conflict("idempotency key")) => {
                let key = request.idempotency_key.as_deref().unwrap_or_default();
                let order = store
                    .order(OrderKey::IdempotencyKey {
                        user_id: &user.id,
                        key,
                    })
                    .await?
                    .ok_or(CheckoutError::OrderGone)?;
                return existing(state, order).await;
            }
            Err(err) => return Err(err.into()),
        }
    };
    tracing::info!(order = %order.number, total_cents = order.total.cents(), "order placed");
    state.catalog().invalidate();
    if let AddressChoice::New { fields, save: true } = &request.address
        && let Err(err) = addresses::create(store, &user.id, fields, false).await
    {
        // The order stands; only the convenience copy failed.
        tracing::warn!(order = %order.number, error = %err, "the checkout address could not be saved");
    }
    let payment = payment_or_retry(state, &order).await?;
    Ok(Checkout {
        order,
        created: true,
        payment,
    })
}

async fn existing(state: &AppState, order: Order) -> Result<Checkout, CheckoutError> {
    let payment = payment_or_retry(state, &order).await?;
    Ok(Checkout {
        order,
        created: false,
        payment,
    })
}

/// The order is placed whatever the provider does: a provider failure becomes [`Payment::Unavailable`].
async fn payment_or_retry(state: &AppState, order: &Order) -> Result<Payment, CheckoutError> {
    match prepare_payment(state, order).await {
        Err(CheckoutError::PaymentProvider(_)) => Ok(Payment::Unavailable),
        other => other,
    }
}

fn provider_failed(order: &Order, err: StripeError) -> CheckoutError {
    tracing::warn!(order = %order.number, error = %err, "Stripe call failed");
    CheckoutError::PaymentProvider(err)
}

/// The order's PaymentIntent, created on first need. Two concurrent calls for one order end with one
/// PaymentIntent on it: Stripe returns the same one for the same idempotency key, and should a second one appear
/// anyway, the order keeps the first recorded and the other is cancelled.
pub async fn prepare_payment(state: &AppState, order: &Order) -> Result<Payment, CheckoutError> {
    let Some(stripe) = state.stripe() else {
        return Ok(Payment::NotConfigured);
    };
    if order.status != OrderStatus::Pending {
        return Ok(Payment::NotDue);
    }
    let intent = match &order.payment_id {
        Some(id) => stripe
            .retrieve_payment_intent(id)
            .await
            .map_err(|e| provider_failed(order, e))?,
        None => {
            let created = stripe
                .create_payment_intent(&order.id, &order.number, order.total.cents())
                .await
                .map_err(|e| provider_failed(order, e))?;
            let kept = state
                .store()
                .set_order_payment(&order.id, &created.id)
                .await?;
            if kept == created.id {
                created
            } else {
                if let Err(err) = stripe.cancel_payment_intent(&created.id).await {
                    tracing::warn!(order = %order.number, error = %err, "a duplicate PaymentIntent could not be cancelled");
                }
                stripe
                    .retrieve_payment_intent(&kept)
                    .await
                    .map_err(|e| provider_failed(order, e))?
            }
        }
    };
    if intent.amount != order.total.cents() || !intent.currency.eq_ignore_ascii_case("eur") {
        tracing::error!(order = %order.number, intent = %intent.id, "PaymentIntent amount or currency differs from the order");
        return Err(CheckoutError::PaymentMismatch {
            intent: intent.id,
            order: order.number.clone(),
        });
    }
    let client_secret = intent
        .client_secret
        .ok_or_else(|| CheckoutError::NoClientSecret {
            intent: intent.id.clone(),
        })?;
    Ok(Payment::Stripe {
        payment_intent: intent.id,
        client_secret,
        publishable_key: stripe.config().publishable_key.clone(),
    })
}

/// The shipping method a form or client names, defaulting to standard.
pub fn parse_method(raw: Option<&str>) -> Result<ShippingMethod, FieldError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(value) => ShippingMethod::parse("shipping_method", value),
        None => Ok(ShippingMethod::Standard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_carry_the_customers_day_in_paris() {
        let late =
            chrono::NaiveDateTime::parse_from_str("2026-11-30 23:30", "%Y-%m-%d %H:%M").unwrap();
        let number = new_order_number(late);
        assert!(number.starts_with("VIV-261201-"), "{number}");
        assert_eq!(number.len(), "VIV-261201-7QZ3KD".len());
    }
}
