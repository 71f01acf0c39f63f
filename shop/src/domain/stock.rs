//! Why a product cannot be had in the quantity asked. The cart checks it when a line is written, checkout before
//! the order, and the store again inside the order's transaction; the edge (`error.rs`) says it in French.

use super::{Money, Quantity};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockProblem {
    /// The product left the catalogue (deleted or archived).
    #[error("{product}: no longer sold")]
    Unavailable { product: String },
    /// Its price is no longer the one the customer was shown.
    #[error("{product}: price changed to {price}")]
    PriceChanged { product: String, price: Money },
    #[error("{product}: out of stock")]
    OutOfStock { product: String },
    #[error("{product}: only {available} available")]
    Insufficient { product: String, available: i32 },
}

impl StockProblem {
    /// Whether `quantity` of a product with `stock` can be had.
    pub fn check(product: &str, stock: i32, quantity: Quantity) -> Result<(), StockProblem> {
        let quantity = quantity.get();
        if stock < 1 && quantity > 0 {
            Err(StockProblem::OutOfStock {
                product: product.to_string(),
            })
        } else if quantity > stock {
            Err(StockProblem::Insufficient {
                product: product.to_string(),
                available: stock,
            })
        } else {
            Ok(())
        }
    }

    /// The stable code clients see (`error.code` in the API).
    pub fn code(&self) -> &'static str {
        match self {
            StockProblem::Unavailable { .. } => "product_unavailable",
            StockProblem::PriceChanged { .. } => "price_changed",
            StockProblem::OutOfStock { .. } => "out_of_stock",
            StockProblem::Insufficient { .. } => "insufficient_stock",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_is_checked_against_the_quantity() {
        let q = Quantity::from_stored;
        assert_eq!(StockProblem::check("Lampe", 3, q(3)), Ok(()));
        assert_eq!(StockProblem::check("Lampe", 3, q(0)), Ok(()));
        assert_eq!(
            StockProblem::check("Lampe", 0, q(1)).map_err(|p| p.code()),
            Err("out_of_stock")
        );
        assert_eq!(
            StockProblem::check("Lampe", 2, q(3)),
            Err(StockProblem::Insufficient {
                product: "Lampe".into(),
                available: 2
            })
        );
    }
}
