//! The customer's wishlist: products kept for later, most recent first. Adding twice or removing what is not
//! there changes nothing (both answer with the list as it is).

use crate::AppState;
use crate::auth::now;
use crate::services::catalog::{CatalogError, live_product};
use crate::store::{Product, StoreResult, User};

pub async fn list(state: &AppState, user: &User) -> StoreResult<Vec<Product>> {
    state.store().wishlist(&user.id).await
}

/// Adds a live product; returns whether it was new to the list.
pub async fn add(state: &AppState, user: &User, slug: &str) -> Result<bool, CatalogError> {
    let product = live_product(state, slug).await?;
    Ok(state
        .store()
        .wishlist_add(&user.id, &product.id, now())
        .await?)
}

/// Removes a product; returns whether it was in the list. (Archived products are not listed, so there is
/// nothing to remove.)
pub async fn remove(state: &AppState, user: &User, slug: &str) -> Result<bool, CatalogError> {
    let product = live_product(state, slug).await?;
    Ok(state.store().wishlist_remove(&user.id, &product.id).await?)
}

pub async fn contains(state: &AppState, user: &User, product: &Product) -> StoreResult<bool> {
    state.store().in_wishlist(&user.id, &product.id).await
}
