//! The order lifecycle: PENDING → PAID → PROCESSING → SHIPPED → DELIVERED, with CANCELLED and REFUNDED. Which
//! moves are allowed, and who may make them, is decided here and nowhere else.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed, stock reserved, waiting for the payment.
    Pending,
    Paid,
    Processing,
    Shipped,
    Delivered,
    /// Not paid (payment failed, cancelled or expired): its stock went back on sale.
    Cancelled,
    Refunded,
}

/// Who asks for a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Stripe, through a verified webhook: the only source of truth for money.
    Payment,
    /// A shop administrator.
    Admin,
    /// The expiry job, for unpaid orders past their deadline.
    Expiry,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Processing => "PROCESSING",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Refunded => "REFUNDED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
    }

    /// How the shop shows the status to customers.
    pub fn label_fr(self) -> &'static str {
        match self {
            OrderStatus::Pending => "En attente de paiement",
            OrderStatus::Paid => "Payée",
            OrderStatus::Processing => "En préparation",
            OrderStatus::Shipped => "Expédiée",
            OrderStatus::Delivered => "Livrée",
            OrderStatus::Cancelled => "Annulée",
            OrderStatus::Refunded => "Remboursée",
        }
    }

    /// What an administrator's button says to move an order to this status.
    pub fn action_fr(self) -> &'static str {
        match self {
            OrderStatus::Processing => "Passer en préparation",
            OrderStatus::Shipped => "Marquer comme expédiée",
            OrderStatus::Delivered => "Marquer comme livrée",
            OrderStatus::Cancelled => "Annuler la commande",
            other => other.label_fr(),
        }
    }

    /// The statuses an order may move to from this one, and who may move it there.
    pub fn can_move_to(self, to: OrderStatus, actor: Actor) -> bool {
        use OrderStatus::*;
        match actor {
            Actor::Payment => matches!(
                (self, to),
                (Pending, Paid)
                    | (Pending, Cancelled)
                    | (Paid | Processing | Shipped | Delivered, Refunded)
            ),
            Actor::Admin => matches!(
                (self, to),
                (Paid, Processing)
                    | (Processing, Shipped)
                    | (Shipped, Delivered)
                    | (Pending, Cancelled)
            ),
            Actor::Expiry => matches!((self, to), (Pending, Cancelled)),
        }
    }

    /// Statuses from which `actor` may move an order to `to`.
    pub fn sources(to: OrderStatus, actor: Actor) -> Vec<OrderStatus> {
        Self::ALL
            .into_iter()
            .filter(|from| from.can_move_to(to, actor))
            .collect()
    }

    /// Whether reaching `self` from `from` gives the order's stock back: an unpaid order that ends, or a refund
    /// before the parcel left.
    pub fn releases_stock_from(self, from: OrderStatus) -> bool {
        match self {
            OrderStatus::Cancelled => true,
            OrderStatus::Refunded => matches!(from, OrderStatus::Paid | OrderStatus::Processing),
            _ => false,
        }
    }

    /// Counts as a purchase (for "achat vérifié" on reviews).
    pub fn is_purchase(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_moves_are_allowed() {
        use OrderStatus::*;
        assert!(Pending.can_move_to(Paid, Actor::Payment));
        assert!(
            !Pending.can_move_to(Paid, Actor::Admin),
            "only Stripe says paid"
        );
        assert!(!Cancelled.can_move_to(Paid, Actor::Payment));
        assert!(Paid.can_move_to(Processing, Actor::Admin));
        assert!(!Paid.can_move_to(Shipped, Actor::Admin), "no skipping");
        assert!(
            !Delivered.can_move_to(Shipped, Actor::Admin),
            "no going back"
        );
        assert!(
            !Paid.can_move_to(Cancelled, Actor::Admin),
            "paid orders are refunded"
        );
        assert!(Pending.can_move_to(Cancelled, Actor::Expiry));
        assert!(!Paid.can_move_to(Cancelled, Actor::Expiry));
        assert_eq!(OrderStatus::sources(Refunded, Actor::Payment).len(), 4);
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("shipped"), Some(Shipped));
        assert_eq!(OrderStatus::parse("LOST"), None);
    }

    #[test]
    fn stock_comes_back_only_before_shipping() {
        use OrderStatus::*;
        assert!(Cancelled.releases_stock_from(Pending));
        assert!(Refunded.releases_stock_from(Paid));
        assert!(!Refunded.releases_stock_from(Shipped));
        assert!(!Paid.releases_stock_from(Pending));
    }
}
