//! Orders after checkout: what a customer sees of their own, and how an administrator moves one along
//! (PAID → PROCESSING → SHIPPED → DELIVERED, or cancelling an unpaid one). Another customer's order is "not
//! found": its existence is not revealed.

use crate::AppState;
use crate::auth::now;
use crate::domain::{Actor, OrderStatus};
use crate::payments::stripe::StripeError;
use crate::store::{
    ChangeOutcome, Order, OrderEmail, OrderKey, OrderStore, StatusChange, StoreError, User,
};

/// Why an order could not be shown or moved.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// No such order, or another customer's.
    #[error("no such order")]
    NotFound,
    #[error("an order {from} cannot move to {to}")]
    InvalidMove { from: OrderStatus, to: OrderStatus },
    /// Stripe could not cancel or describe the order's PaymentIntent; nothing changed.
    #[error("the payment provider failed: {0}")]
    PaymentProvider(StripeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const PAGE_SIZE: u32 = 20;

pub async fn for_customer(
    store: &dyn OrderStore,
    user: &User,
    page: u32,
) -> Result<Vec<Order>, OrderError> {
    let offset = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
    Ok(store.orders_for_user(&user.id, PAGE_SIZE, offset).await?)
}

/// The order with this number, if `viewer` owns it or is an administrator.
pub async fn visible_to(
    store: &dyn OrderStore,
    viewer: &User,
    number: &str,
) -> Result<Order, OrderError> {
    let order = store
        .order(OrderKey::Number(number.trim()))
        .await?
        .ok_or(OrderError::NotFound)?;
    if order.user_id == viewer.id || viewer.role == crate::domain::Role::Admin {
        Ok(order)
    } else {
        Err(OrderError::NotFound)
    }
}

pub async fn list_all(
    store: &dyn OrderStore,
    status: Option<OrderStatus>,
    page: u32,
) -> Result<Vec<Order>, OrderError> {
    let offset = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
    Ok(store.list_orders(status, PAGE_SIZE, offset).await?)
}

/// An administrator's move. Cancelling an unpaid order cancels its PaymentIntent first, so it cannot be paid
/// afterwards.
/// An administrator (`by`: their account id, for the audit log) moves an order along.
pub async fn admin_move(
    state: &AppState,
    number: &str,
    to: OrderStatus,
    by: &str,
) -> Result<Order, OrderError> {
    let store = state.store();
    let order = store
        .order(OrderKey::Number(number.trim()))
        .await?
        .ok_or(OrderError::NotFound)?;
    if !order.status.can_move_to(to, Actor::Admin) {
        return Err(OrderError::InvalidMove {
            from: order.status,
            to,
        });
    }
    let outcome = if to == OrderStatus::Cancelled {
        cancel_unpaid(
            state,
            &order.id,
            order.payment_id.as_deref(),
            Actor::Admin,
            Some(by),
        )
        .await?
    } else {
        store
            .change_order_status(&StatusChange {
                order_id: order.id.clone(),
                from: OrderStatus::sources(to, Actor::Admin),
                to,
                payment_id: None,
                event: None,
                email: (to == OrderStatus::Shipped).then_some(OrderEmail::Shipped),
                by: Some(by.to_string()),
                now: now(),
            })
            .await?
    };
    match outcome {
        ChangeOutcome::Changed {
            from,
            stock_released,
        } => {
            tracing::info!(order = %order.number, %from, %to, "order status changed by an administrator");
            if stock_released {
                state.catalog().invalidate();
            }
            if to == OrderStatus::Shipped {
                state.wake_mailer();
            }
        }
        ChangeOutcome::NotApplicable { current } => {
            return Err(OrderError::InvalidMove { from: current, to });
        }
        ChangeOutcome::Duplicate => {}
    }
    store
        .order(OrderKey::Id(&order.id))
        .await?
        .ok_or(OrderError::NotFound)
}

/// Cancels an unpaid order and gives its stock back. When it has a PaymentIntent, that is cancelled at Stripe
/// first; if Stripe says the payment already went through (or is under way), the order is left for the webhook
/// to settle. Safe to run from several processes at once: the status change is conditional.
pub async fn cancel_unpaid(
    state: &AppState,
    order_id: &str,
    payment_id: Option<&str>,
    actor: Actor,
    by: Option<&str>,
) -> Result<ChangeOutcome, OrderError> {
    if let (Some(stripe), Some(intent)) = (state.stripe(), payment_id) {
        match stripe.cancel_payment_intent(intent).await {
            Ok(_) => {}
            Err(StripeError::Api { .. }) => {
                // Already cancelled, or past cancelling: ask what it is.
                let current = stripe.retrieve_payment_intent(intent).await.map_err(|e| {
                    tracing::warn!(order_id, error = %e, "Stripe call failed");
                    OrderError::PaymentProvider(e)
                })?;
                if current.status != "canceled" {
                    tracing::info!(order_id, status = %current.status, "not cancelled: the payment is under way");
                    return Ok(ChangeOutcome::NotApplicable {
                        current: OrderStatus::Pending,
                    });
                }
            }
            Err(err) => {
                tracing::warn!(order_id, error = %err, "Stripe call failed");
                return Err(OrderError::PaymentProvider(err));
            }
        }
    }
    Ok(state
        .store()
        .change_order_status(&StatusChange {
            order_id: order_id.to_string(),
            from: OrderStatus::sources(OrderStatus::Cancelled, actor),
            to: OrderStatus::Cancelled,
            payment_id: None,
            event: None,
            email: None,
            by: by.map(str::to_string),
            now: now(),
        })
        .await?)
}

/// Cancels unpaid orders past their deadline; returns how many were cancelled.
pub async fn expire_unpaid(state: &AppState) -> Result<usize, OrderError> {
    let due = state.store().expiring_orders(now(), 100).await?;
    let mut cancelled = 0;
    for order in due {
        match cancel_unpaid(
            state,
            &order.id,
            order.payment_id.as_deref(),
            Actor::Expiry,
            None,
        )
        .await
        {
            Ok(ChangeOutcome::Changed { .. }) => {
                tracing::info!(order = %order.number, "unpaid order expired: cancelled, stock released");
                state.catalog().invalidate();
                cancelled += 1;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(order = %order.number, error = %err, "could not expire an unpaid order")
            }
        }
    }
    Ok(cancelled)
}
