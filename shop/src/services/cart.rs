//! The cart: kept server-side (it survives restarts and follows the customer across devices once signed in),
//! priced from the database on every read — a client never sends a price — with quantities from 1 up to the
//! product's stock.

use serde::Serialize;

use crate::auth::now;
use crate::domain::{Money, Quantity, StockProblem, line_total};
use crate::store::{CartLine, CartOwner, CartStore, CatalogStore, Product, StoreError};

/// Why a cart change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("no product with this slug is sold")]
    UnknownProduct,
    #[error("a quantity added must be at least 1")]
    ZeroQuantity,
    #[error(transparent)]
    Stock(#[from] StockProblem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line as shown: the live product, the quantity, and whether the stock still covers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub slug: String,
    pub name: String,
    pub image: Option<String>,
    pub unit_price_cents: i64,
    pub quantity: Quantity,
    pub line_total_cents: i64,
    pub stock: i32,
    /// False when the stock fell below the quantity since it was added (checkout refuses until it is fixed).
    pub available: bool,
}

#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct CartView {
    pub lines: Vec<LineView>,
    pub item_count: i64,
    pub subtotal_cents: i64,
    pub currency: &'static str,
    /// True when every line can be ordered as it is.
    pub orderable: bool,
}

impl CartView {
    pub fn subtotal(&self) -> Money {
        Money::from_cents(self.subtotal_cents)
    }
}

fn view(lines: Vec<CartLine>) -> CartView {
    let lines: Vec<LineView> = lines
        .into_iter()
        .map(|CartLine { product, quantity }| LineView {
            line_total_cents: line_total(product.price, quantity).cents(),
            unit_price_cents: product.price.cents(),
            available: product.stock >= quantity.get(),
            image: product.images.first().cloned(),
            stock: product.stock,
            slug: product.slug,
            name: product.name,
            quantity,
        })
        .collect();
    CartView {
        item_count: lines.iter().map(|l| i64::from(l.quantity.get())).sum(),
        subtotal_cents: lines.iter().map(|l| l.line_total_cents).sum(),
        orderable: !lines.is_empty() && lines.iter().all(|l| l.available),
        currency: "EUR",
        lines,
    }
}

/// The owner's cart; an owner without one has an empty cart.
pub async fn load(store: &dyn CartStore, owner: Option<&CartOwner>) -> Result<CartView, CartError> {
    match owner {
        Some(owner) => Ok(view(store.cart_lines(owner).await?)),
        None => Ok(view(Vec::new())),
    }
}

/// Empties the owner's cart.
pub async fn clear(store: &dyn CartStore, owner: &CartOwner) -> Result<CartView, CartError> {
    store.clear_cart(owner).await?;
    Ok(view(Vec::new()))
}

async fn live_product<S: CatalogStore + ?Sized>(
    store: &S,
    slug: &str,
) -> Result<Product, CartError> {
    store
        .product_by_slug(slug)
        .await?
        .ok_or(CartError::UnknownProduct)
}

fn check_quantity(product: &Product, quantity: Quantity) -> Result<(), CartError> {
    if quantity.is_zero() {
        return Err(CartError::ZeroQuantity);
    }
    Ok(StockProblem::check(&product.name, product.stock, quantity)?)
}

/// Adds `quantity` of a product to what the cart holds (the total must stay within the stock).
pub async fn add<S: CartStore + CatalogStore + ?Sized>(
    store: &S,
    owner: &CartOwner,
    slug: &str,
    quantity: Quantity,
) -> Result<CartView, CartError> {
    let product = live_product(store, slug).await?;
    if quantity.is_zero() {
        return Err(CartError::ZeroQuantity);
    }
    let held = store
        .cart_lines(owner)
        .await?
        .into_iter()
        .find(|l| l.product.id == product.id)
        .map(|l| l.quantity)
        .unwrap_or(Quantity::ZERO);
    // Past what a count holds is past any stock: refused below like any other excess.
    let total = held
        .checked_add(quantity)
        .unwrap_or(Quantity::from_stored(i32::MAX));
    check_quantity(&product, total)?;
    write_line(store, owner, &product, total).await
}

/// Stores a line's quantity and returns the cart as it now is.
async fn write_line<S: CartStore + CatalogStore + ?Sized>(
    store: &S,
    owner: &CartOwner,
    product: &Product,
    quantity: Quantity,
) -> Result<CartView, CartError> {
    store
        .set_cart_line(owner, &product.id, quantity, now())
        .await?;
    Ok(view(store.cart_lines(owner).await?))
}

/// Sets a line's quantity; 0 removes it.
pub async fn set<S: CartStore + CatalogStore + ?Sized>(
    store: &S,
    owner: &CartOwner,
    slug: &str,
    quantity: Quantity,
) -> Result<CartView, CartError> {
    let product = live_product(store, slug).await?;
    if !quantity.is_zero() {
        check_quantity(&product, quantity)?;
    }
    write_line(store, owner, &product, quantity).await
}

pub async fn remove<S: CartStore + CatalogStore + ?Sized>(
    store: &S,
    owner: &CartOwner,
    slug: &str,
) -> Result<CartView, CartError> {
    set(store, owner, slug, Quantity::ZERO).await
}
