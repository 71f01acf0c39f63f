//! Stripe webhook events: the only way an order becomes PAID, CANCELLED by a failed payment, or REFUNDED.
//!
//! Each event is verified (signature, then amount, currency and PaymentIntent against the order), and applied
//! with its event id in one transaction, so a redelivered event — even twenty at once — changes nothing twice.

use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::now;
use crate::domain::{Actor, OrderStatus};
use crate::payments::webhook::{self, SignatureError};
use crate::store::{
    ChangeOutcome, Order, OrderEmail, OrderKey, PaymentEventRef, StatusChange, StoreError,
};

/// Why a delivery was refused (Stripe retries it later).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not configured")]
    NotConfigured,
    #[error("the signature was refused: {0}")]
    Signature(SignatureError),
    #[error("the event cannot be read: {0}")]
    Malformed(serde_json::Error),
    /// Its amount, currency or PaymentIntent is not the order's.
    #[error("the event does not match the order ({0})")]
    Mismatch(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

/// What a delivery did, as the webhook answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied {
        order: String,
        to: OrderStatus,
    },
    Duplicate,
    /// Accepted without effect (an event type the shop does not handle, a payment that is not the shop's, an
    /// order already past the change); the reason is logged and returned.
    Ignored(String),
}

impl WebhookOutcome {
    pub fn describe(&self) -> String {
        match self {
            WebhookOutcome::Applied { order, to } => format!("applied: {order} → {to}"),
            WebhookOutcome::Duplicate => "duplicate: already processed".into(),
            WebhookOutcome::Ignored(why) => format!("ignored: {why}"),
        }
    }
}

fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

fn mismatch(event: &Event, order: &Order, what: &'static str) -> WebhookError {
    tracing::error!(
        event = %event.id,
        kind = %event.kind,
        order = %order.number,
        mismatch = what,
        "Stripe event rejected: it does not match the order"
    );
    WebhookError::Mismatch(what)
}

/// Checks amount, currency and PaymentIntent of an event's object against the order.
fn check_against(
    event: &Event,
    order: &Order,
    intent: &str,
    amount: Option<i64>,
    currency: Option<&str>,
) -> Result<(), WebhookError> {
    if let Some(recorded) = &order.payment_id
        && recorded != intent
    {
        return Err(mismatch(event, order, "payment_intent"));
    }
    if !currency.is_some_and(|c| c.eq_ignore_ascii_case(&order.currency)) {
        return Err(mismatch(event, order, "currency"));
    }
    if amount != Some(order.total.cents()) {
        return Err(mismatch(event, order, "amount"));
    }
    Ok(())
}

/// Verifies and applies one webhook delivery.
pub async fn handle(
    state: &AppState,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<WebhookOutcome, WebhookError> {
    let event = verified_event(state, payload, signature)?;
    let Some((to, email)) = target(&event.kind) else {
        return Ok(ignored(
            &event,
            format!("event type {} is not handled", event.kind),
        ));
    };
    let (order, intent) = match order_of(state, &event, to).await? {
        Ok(found) => found,
        Err(why) => return Ok(ignored(&event, why)),
    };
    let object = &event.data.object;
    check_against(
        &event,
        &order,
        &intent,
        object.get("amount").and_then(Value::as_i64),
        str_field(object, "currency"),
    )?;
    apply(state, &event, order, intent, to, email).await
}

/// The delivery's event, once its signature holds against a configured secret.
fn verified_event(
    state: &AppState,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<Event, WebhookError> {
    let secrets = match state.config().stripe.as_ref() {
        Some(stripe) if !stripe.webhook_secrets.is_empty() => &stripe.webhook_secrets,
        // A 503 makes Stripe retry, so no event is lost while the configuration is fixed.
        _ => {
            tracing::error!("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not configured");
            return Err(WebhookError::NotConfigured);
        }
    };
    if let Err(err) = webhook::verify(payload, signature, secrets, chrono::Utc::now().timestamp()) {
        tracing::warn!(reason = %err, "Stripe webhook refused");
        return Err(WebhookError::Signature(err));
    }
    serde_json::from_slice(payload).map_err(WebhookError::Malformed)
}

/// The status an event type moves an order to, and the email that goes with it; `None` for other types.
fn target(kind: &str) -> Option<(OrderStatus, Option<OrderEmail>)> {
    match kind {
        "payment_intent.succeeded" => Some((OrderStatus::Paid, Some(OrderEmail::Confirmation))),
        "payment_intent.payment_failed" | "payment_intent.canceled" => {
            Some((OrderStatus::Cancelled, None))
        }
        "charge.refunded" => Some((OrderStatus::Refunded, None)),
        _ => None,
    }
}

/// The order an event is about, and its PaymentIntent; `Err(why)` when the event is not for one of the shop's
/// orders (it is then ignored).
async fn order_of(
    state: &AppState,
    event: &Event,
    to: OrderStatus,
) -> Result<Result<(Order, String), String>, WebhookError> {
    let object = &event.data.object;
    let store = state.store();
    if to == OrderStatus::Refunded {
        if object.get("refunded").and_then(Value::as_bool) != Some(true) {
            return Ok(Err("partial refund: the order keeps its status".into()));
        }
        let Some(intent) = str_field(object, "payment_intent") else {
            return Ok(Err("the charge has no PaymentIntent".into()));
        };
        return Ok(match store.order(OrderKey::PaymentId(intent)).await? {
            Some(order) => Ok((order, intent.to_string())),
            None => Err("no order holds this PaymentIntent".into()),
        });
    }
    let intent = str_field(object, "id").unwrap_or_default().to_string();
    let Some(order_id) = object.pointer("/metadata/order_id").and_then(Value::as_str) else {
        return Ok(Err(
            "not a payment of this shop (no order_id in its metadata)".into(),
        ));
    };
    Ok(match store.order(OrderKey::Id(order_id)).await? {
        Some(order) => Ok((order, intent)),
        None => Err(format!("no order {order_id}")),
    })
}

/// Moves the order, with the event recorded in the same transaction (a redelivery is a duplicate).
async fn apply(
    state: &AppState,
    event: &Event,
    order: Order,
    intent: String,
    to: OrderStatus,
    email: Option<OrderEmail>,
) -> Result<WebhookOutcome, WebhookError> {
    let outcome = state
        .store()
        .change_order_status(&StatusChange {
            order_id: order.id.clone(),
            from: OrderStatus::sources(to, Actor::Payment),
            to,
            payment_id: Some(intent),
            event: Some(PaymentEventRef {
                id: event.id.clone(),
                kind: event.kind.clone(),
            }),
            email,
            by: None,
            now: now(),
        })
        .await?;
    Ok(match outcome {
        ChangeOutcome::Changed {
            from,
            stock_released,
        } => {
            tracing::info!(event = %event.id, order = %order.number, %from, %to, stock_released, "payment event applied");
            if email.is_some() {
                state.wake_mailer();
            }
            if stock_released {
                state.catalog().invalidate();
            }
            WebhookOutcome::Applied {
                order: order.number,
                to,
            }
        }
        ChangeOutcome::Duplicate => {
            tracing::info!(event = %event.id, "Stripe event already processed");
            WebhookOutcome::Duplicate
        }
        ChangeOutcome::NotApplicable { current } => {
            if to == OrderStatus::Paid && current == OrderStatus::Cancelled {
                tracing::error!(order = %order.number, event = %event.id,
                    "payment succeeded for a cancelled order: refund it from the Stripe dashboard");
            }
            ignored(event, format!("order {} is {current}", order.number))
        }
    })
}

fn ignored(event: &Event, why: String) -> WebhookOutcome {
    tracing::info!(event = %event.id, kind = %event.kind, reason = %why, "Stripe event ignored");
    WebhookOutcome::Ignored(why)
}
