//! Reviews: one per customer and product (a second submission replaces the first), `verified` when the customer
//! bought the product (a PAID, SHIPPED or DELIVERED order holds it). Submissions are rate-limited per customer
//! by the route (`auth::rate_limit`). Rating figures follow through the database's triggers.

use crate::AppState;
use crate::auth::now;
use crate::domain::review::ReviewInput;
use crate::services::catalog::{CatalogError, REVIEWS_PER_PAGE, live_product};
use crate::store::{Product, Review, StoreError, StoreResult, User};

/// Why a review could not be written, read or deleted.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The product is not sold (or not at all).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("this customer has no review of this product")]
    NoReview,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes (or replaces) the customer's review; returns it and whether it is new.
pub async fn submit(
    state: &AppState,
    user: &User,
    slug: &str,
    input: &ReviewInput,
) -> Result<(Review, bool), ReviewError> {
    let product = live_product(state, slug).await?;
    let store = state.store();
    let verified = store.has_purchased(&user.id, &product.id).await?;
    let (review, created) = store
        .upsert_review(&user.id, &product.id, input, verified, now())
        .await?;
    // Product pages and listings show the new figures at once here; other processes within the cache's TTL.
    state.catalog().invalidate();
    tracing::info!(user = %user.id, product = %product.slug, created, verified, "review saved");
    Ok((review, created))
}

/// Deletes the customer's review of the product (404 when there is none).
pub async fn delete(state: &AppState, user: &User, slug: &str) -> Result<(), ReviewError> {
    let product = live_product(state, slug).await?;
    if !state.store().delete_review(&user.id, &product.id).await? {
        return Err(ReviewError::NoReview);
    }
    state.catalog().invalidate();
    Ok(())
}

/// The customer's own review of a product, if any.
pub async fn own(state: &AppState, user: &User, product: &Product) -> StoreResult<Option<Review>> {
    state.store().review_by_user(&user.id, &product.id).await
}

/// One page of a product's reviews, newest first, with the product (for the total).
pub async fn page(
    state: &AppState,
    slug: &str,
    page: u32,
) -> Result<(Product, Vec<Review>), ReviewError> {
    let product = live_product(state, slug).await?;
    let offset = page.saturating_sub(1).saturating_mul(REVIEWS_PER_PAGE);
    let reviews = state
        .store()
        .product_reviews(&product.id, REVIEWS_PER_PAGE, offset)
        .await?;
    Ok((product, reviews))
}
