//! The catalogue's JSON API: public reads with ETags, and the administrators' writes.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::error::AppError;
use crate::routes::extract::ApiJson;
use crate::routes::guards::{Admin, CsrfHeader};
use crate::services::catalog::{
    self as service, CreateCategory, CreateProduct, UpdateCategory, UpdateProduct,
};
use crate::store::Category;
use crate::views::{Pagination, ProductView, ReviewView};
use crate::web::{CachePolicy, json_with_etag, set_cache_control};

use super::*;

// ----- public API -----

#[derive(Serialize)]
pub(super) struct CategoriesBody<'a> {
    pub(super) data: &'a [Category],
}

pub async fn api_categories(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let categories = service::categories(&state).await?;
    Ok(json_with_etag(
        &headers,
        to_json(&CategoriesBody { data: &categories })?,
    ))
}

pub async fn api_category(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let category = service::category(&state, &slug).await?;
    #[derive(Serialize)]
    struct Body<'a> {
        data: &'a Category,
    }
    Ok(json_with_etag(
        &headers,
        to_json(&Body { data: &category })?,
    ))
}

#[derive(Serialize)]
pub(super) struct ProductsBody<'a> {
    pub(super) data: Vec<ProductView<'a>>,
    pub(super) pagination: Pagination,
    /// When the search found nothing and a typo was corrected: the search the results are for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) corrected_search: Option<String>,
}

pub async fn api_products(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let mut query = service::parse_product_query(&query_pairs(raw.as_deref())?, 12)?;
    let listing = crate::services::search::shopper_listing(&state, &mut query).await?;
    let body = ProductsBody {
        data: listing.page.items.iter().map(ProductView::from).collect(),
        pagination: Pagination::new(query.page, query.limit, listing.page.total),
        corrected_search: listing.corrected,
    };
    Ok(json_with_etag(&headers, to_json(&body)?))
}

#[derive(Serialize)]
pub(super) struct ReviewsBody<'a> {
    pub(super) items: Vec<ReviewView<'a>>,
    pub(super) page: u32,
    pub(super) limit: u32,
    pub(super) total: i64,
}

#[derive(Serialize)]
pub(super) struct ProductDetailBody<'a> {
    #[serde(flatten)]
    pub(super) product: ProductView<'a>,
    pub(super) reviews: ReviewsBody<'a>,
    pub(super) related: Vec<ProductView<'a>>,
}

pub async fn api_product(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let detail = service::product_detail(&state, &slug).await?;
    let body = serde_json::json!({ "data": ProductDetailBody {
        product: ProductView::from(&detail.product),
        reviews: ReviewsBody {
            items: detail.reviews.iter().map(ReviewView::from).collect(),
            page: 1,
            limit: service::REVIEWS_PER_PAGE,
            total: detail.product.rating_count,
        },
        related: detail.related.iter().map(ProductView::from).collect(),
    }});
    Ok(json_with_etag(&headers, to_json(&body)?))
}

// ----- admin API -----

pub(super) fn written<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, AppError> {
    let mut response = (status, axum::Json(serde_json::json!({ "data": value }))).into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

pub async fn api_create_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    ApiJson(input): ApiJson<CreateProduct>,
) -> Result<Response, AppError> {
    let product = service::create_product(&state, &input, &admin.id).await?;
    tracing::info!(admin = %admin.id, product = %product.slug, "product created");
    written(StatusCode::CREATED, &ProductView::from(&product))
}

pub async fn api_update_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateProduct>,
) -> Result<Response, AppError> {
    let product = service::update_product(&state, &slug, &input, &admin.id).await?;
    tracing::info!(admin = %admin.id, product = %product.slug, "product updated");
    written(StatusCode::OK, &ProductView::from(&product))
}

pub async fn api_delete_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete_product(&state, &slug, &admin.id).await?;
    tracing::info!(admin = %admin.id, product = %slug, "product removed from the catalogue");
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn api_create_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    ApiJson(input): ApiJson<CreateCategory>,
) -> Result<Response, AppError> {
    let category = service::create_category(&state, &input, &admin.id).await?;
    written(StatusCode::CREATED, &category)
}

pub async fn api_update_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateCategory>,
) -> Result<Response, AppError> {
    let category = service::update_category(&state, &slug, &input, &admin.id).await?;
    written(StatusCode::OK, &category)
}

pub async fn api_delete_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete_category(&state, &slug, &admin.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
