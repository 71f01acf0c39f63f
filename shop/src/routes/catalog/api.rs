//! The catalogue's JSON API: public reads with ETags, and the administrators' writes.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::error::AppError;
use crate::routes::extract::ApiJson;
use crate::routes::guards::{Admin, CsrfHeader};
use crate::routes::openapi::Data;
use crate::routes::personal_data;
use crate::services::catalog::{
    self as service, CreateCategory, CreateProduct, UpdateCategory, UpdateProduct,
};
use crate::store::Category;
use crate::views::{Pagination, ProductView, ReviewView};
use crate::web::json_with_etag;

use super::*;

// ----- public API -----

#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoriesBody<'a> {
    pub(super) data: &'a [Category],
}

#[utoipa::path(get, operation_id = "listCategories", path = "/api/v1/categories", tag = "catalogue",
    responses((status = 200, description = "Every category, with its number of live products", body = CategoriesBody)))]
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

#[utoipa::path(get, operation_id = "getCategory", path = "/api/v1/categories/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The category's slug")),
    responses((status = 200, description = "The category", body = Data<Category>)))]
pub async fn api_category(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let category = service::category(&state, &slug).await?;
    Ok(json_with_etag(&headers, to_json(&Data { data: category })?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductsBody<'a> {
    pub(super) data: Vec<ProductView<'a>>,
    pub(super) pagination: Pagination,
    /// When the search found nothing and a typo was corrected: the search the results are for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) corrected_search: Option<String>,
}

/// The catalogue's query string, as `api_products` reads it (`services::catalog::parse_product_query`): unknown
/// parameters are ignored, known ones must be valid.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ProductListParams {
    /// The page, from 1
    #[param(minimum = 1, maximum = 10000)]
    page: Option<u32>,
    /// Products a page (12 by default)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// A category's slug
    category: Option<String>,
    /// Words to search for, in any order (at most 100 characters); `q` is accepted too
    #[param(max_length = 100)]
    search: Option<String>,
    /// The lowest price, in euros as typed: "50", "49,90", "1 000 €"
    min_price: Option<String>,
    /// The highest price, in euros as typed
    max_price: Option<String>,
    /// Only products the shop features
    featured: Option<bool>,
    /// Only products in stock
    in_stock: Option<bool>,
    /// Only products with a reduced price
    on_sale: Option<bool>,
    /// The order: `relevance` (the default with a search), `newest` (otherwise), `price-asc`, `price-desc`,
    /// `popular`, `rating`
    #[param(inline, value_type = Option<String>, pattern = "^(relevance|newest|price-asc|price-desc|popular|rating)?$")]
    sort: Option<String>,
}

#[utoipa::path(get, operation_id = "listProducts", path = "/api/v1/products", tag = "catalogue", params(ProductListParams),
    responses((status = 200, description = "A page of the catalogue", body = ProductsBody)))]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewsBody<'a> {
    pub(super) items: Vec<ReviewView<'a>>,
    pub(super) page: u32,
    pub(super) limit: u32,
    pub(super) total: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductDetailBody<'a> {
    #[serde(flatten)]
    pub(super) product: ProductView<'a>,
    pub(super) reviews: ReviewsBody<'a>,
    pub(super) related: Vec<ProductView<'a>>,
}

#[utoipa::path(get, operation_id = "getProduct", path = "/api/v1/products/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The product's slug")),
    responses((status = 200, description = "The product, its first reviews and related products", body = Data<ProductDetailBody>)))]
pub async fn api_product(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let detail = service::product_detail(&state, &slug).await?;
    let body = Data {
        data: ProductDetailBody {
            product: ProductView::from(&detail.product),
            reviews: ReviewsBody {
                items: detail.reviews.iter().map(ReviewView::from).collect(),
                page: 1,
                limit: service::REVIEWS_PER_PAGE,
                total: detail.product.rating_count,
            },
            related: detail.related.iter().map(ProductView::from).collect(),
        },
    };
    Ok(json_with_etag(&headers, to_json(&body)?))
}

// ----- admin API -----

#[utoipa::path(post, operation_id = "createProduct", path = "/api/v1/products", tag = "catalogue", request_body = CreateProduct,
    security(("session" = [], "csrf" = [])),
    responses((status = 201, description = "The product created", body = Data<ProductView>)))]
pub async fn api_create_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    ApiJson(input): ApiJson<CreateProduct>,
) -> Result<Response, AppError> {
    let product = service::create_product(&state, &input, &admin.id).await?;
    tracing::info!(admin = %admin.id, product = %product.slug, "product created");
    Ok(personal_data(
        StatusCode::CREATED,
        ProductView::from(&product),
    ))
}

#[utoipa::path(patch, operation_id = "updateProduct", path = "/api/v1/products/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The product's slug")), request_body = UpdateProduct,
    security(("session" = [], "csrf" = [])),
    responses((status = 200, description = "The product as it now is", body = Data<ProductView>)))]
pub async fn api_update_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateProduct>,
) -> Result<Response, AppError> {
    let product = service::update_product(&state, &slug, &input, &admin.id).await?;
    tracing::info!(admin = %admin.id, product = %product.slug, "product updated");
    Ok(personal_data(StatusCode::OK, ProductView::from(&product)))
}

#[utoipa::path(delete, operation_id = "deleteProduct", path = "/api/v1/products/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The product's slug")),
    security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Taken out of the catalogue (archived: its orders keep it)")))]
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

#[utoipa::path(post, operation_id = "createCategory", path = "/api/v1/categories", tag = "catalogue", request_body = CreateCategory,
    security(("session" = [], "csrf" = [])),
    responses((status = 201, description = "The category created", body = Data<Category>)))]
pub async fn api_create_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    ApiJson(input): ApiJson<CreateCategory>,
) -> Result<Response, AppError> {
    let category = service::create_category(&state, &input, &admin.id).await?;
    Ok(personal_data(StatusCode::CREATED, &category))
}

#[utoipa::path(patch, operation_id = "updateCategory", path = "/api/v1/categories/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The category's slug")), request_body = UpdateCategory,
    security(("session" = [], "csrf" = [])),
    responses((status = 200, description = "The category as it now is", body = Data<Category>)))]
pub async fn api_update_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateCategory>,
) -> Result<Response, AppError> {
    let category = service::update_category(&state, &slug, &input, &admin.id).await?;
    Ok(personal_data(StatusCode::OK, &category))
}

#[utoipa::path(delete, operation_id = "deleteCategory", path = "/api/v1/categories/{slug}", tag = "catalogue", params(("slug" = String, Path, description = "The category's slug")),
    security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Deleted; its products stay, without a category")))]
pub async fn api_delete_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete_category(&state, &slug, &admin.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
