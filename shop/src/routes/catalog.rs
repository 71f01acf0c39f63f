//! Catalogue: `/api/v1/categories`, `/api/v1/products` (public reads with ETag; admin writes) and the catalogue,
//! category, search and product pages.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::ApiJson;
use super::guards::{Admin, CsrfHeader};
use super::pages::{Card, Layout, PageError, french_date, rating_text, render};
use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::services::catalog::{
    self as service, CreateCategory, CreateProduct, UpdateCategory, UpdateProduct,
};
use crate::services::{reviews, wishlist};
use crate::store::{Category, CategoryRef, ProductQuery, ProductSort};
use crate::views::{Pagination, ProductView, ReviewView};
use crate::web::{CachePolicy, json_with_etag, set_cache_control};

fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or_default())
        .map_err(|_| AppError::bad_request("invalid_query", "Chaîne de requête mal formée"))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::Internal(e.into()))
}

// ----- public API -----

#[derive(Serialize)]
struct CategoriesBody<'a> {
    data: &'a [Category],
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
struct ProductsBody<'a> {
    data: Vec<ProductView<'a>>,
    pagination: Pagination,
}

pub async fn api_products(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let query = service::parse_product_query(&query_pairs(raw.as_deref())?, 12)?;
    let page = service::list_products(&state, &query).await?;
    let body = ProductsBody {
        data: page.items.iter().map(ProductView::from).collect(),
        pagination: Pagination::new(query.page, query.limit, page.total),
    };
    Ok(json_with_etag(&headers, to_json(&body)?))
}

#[derive(Serialize)]
struct ReviewsBody<'a> {
    items: Vec<ReviewView<'a>>,
    page: u32,
    limit: u32,
    total: i64,
}

#[derive(Serialize)]
struct ProductDetailBody<'a> {
    #[serde(flatten)]
    product: ProductView<'a>,
    reviews: ReviewsBody<'a>,
    related: Vec<ProductView<'a>>,
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

fn written<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, AppError> {
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
    let product = service::create_product(&state, &input).await?;
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
    let product = service::update_product(&state, &slug, &input).await?;
    tracing::info!(admin = %admin.id, product = %product.slug, "product updated");
    written(StatusCode::OK, &ProductView::from(&product))
}

pub async fn api_delete_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete_product(&state, &slug).await?;
    tracing::info!(admin = %admin.id, product = %slug, "product removed from the catalogue");
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn api_create_category(
    State(state): State<AppState>,
    _: Admin,
    _: CsrfHeader,
    ApiJson(input): ApiJson<CreateCategory>,
) -> Result<Response, AppError> {
    let category = service::create_category(&state, &input).await?;
    written(StatusCode::CREATED, &category)
}

pub async fn api_update_category(
    State(state): State<AppState>,
    _: Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<UpdateCategory>,
) -> Result<Response, AppError> {
    let category = service::update_category(&state, &slug, &input).await?;
    written(StatusCode::OK, &category)
}

pub async fn api_delete_category(
    State(state): State<AppState>,
    _: Admin,
    _: CsrfHeader,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    service::delete_category(&state, &slug).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- pages -----

pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage<'a> {
    layout: Layout<'a>,
    heading: String,
    intro: Option<String>,
    form_action: &'a str,
    show_search: bool,
    show_category: bool,
    search: String,
    category_options: Vec<SelectOption>,
    sort_options: Vec<SelectOption>,
    min_price: String,
    max_price: String,
    in_stock: bool,
    cards: Vec<Card>,
    total: i64,
    page: u32,
    total_pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn euros_input(cents: Option<crate::domain::Money>) -> String {
    cents
        .map(|m| format!("{},{:02}", m.cents() / 100, m.cents() % 100))
        .unwrap_or_default()
}

/// The same filters with another page number, for the pagination links.
fn page_href(base: &str, params: &[(String, String)], page: u32) -> String {
    let mut kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "page" && !v.is_empty())
        .cloned()
        .collect();
    kept.push(("page".into(), page.to_string()));
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    )
}

struct ListingSpec<'a> {
    heading: String,
    intro: Option<String>,
    form_action: &'a str,
    fixed_category: Option<String>,
    show_search: bool,
}

async fn listing_page(
    state: &AppState,
    ctx: &RequestContext,
    raw: Option<&str>,
    spec: ListingSpec<'_>,
) -> Result<Response, PageError> {
    let params = query_pairs(raw)?;
    let mut query: ProductQuery = service::parse_product_query(&params, 24)?;
    if let Some(slug) = &spec.fixed_category {
        query.category =
            Some(crate::domain::Slug::parse("category", slug).map_err(AppError::InvalidParameter)?);
    }
    let (page, categories) = tokio::try_join!(
        service::list_products(state, &query),
        service::categories(state)
    )?;
    let pagination = Pagination::new(query.page, query.limit, page.total);
    let search_value = params
        .iter()
        .rev()
        .find(|(k, _)| k == "search" || k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let selected_category = query.category.as_ref().map(|c| c.as_str().to_string());
    let layout = Layout::new(state, ctx, spec.heading.clone());
    let page_view = ProductsPage {
        heading: spec.heading,
        intro: spec.intro,
        form_action: spec.form_action,
        show_search: spec.show_search,
        show_category: spec.fixed_category.is_none(),
        category_options: categories
            .iter()
            .map(|c| SelectOption {
                value: c.slug.clone(),
                label: c.name.clone(),
                selected: selected_category.as_deref() == Some(&c.slug),
            })
            .collect(),
        sort_options: ProductSort::ALL
            .iter()
            .map(|s| SelectOption {
                value: s.as_str().into(),
                label: s.label_fr().into(),
                selected: *s == query.sort,
            })
            .collect(),
        min_price: euros_input(query.min_price),
        max_price: euros_input(query.max_price),
        in_stock: query.in_stock == Some(true),
        cards: page.items.iter().map(|p| Card::new(state, p)).collect(),
        total: page.total,
        page: query.page,
        total_pages: pagination.total_pages,
        prev_href: (query.page > 1).then(|| page_href(spec.form_action, &params, query.page - 1)),
        next_href: (i64::from(query.page) < pagination.total_pages)
            .then(|| page_href(spec.form_action, &params, query.page + 1)),
        search: search_value,
        layout,
    };
    render(&page_view, CachePolicy::PrivatePage)
}

pub async fn page_catalogue(
    State(state): State<AppState>,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let spec = ListingSpec {
        heading: "Tous nos produits".into(),
        intro: None,
        form_action: "/produits",
        fixed_category: None,
        show_search: true,
    };
    listing_page(&state, &ctx, raw.as_deref(), spec).await
}

pub async fn page_search(
    State(state): State<AppState>,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query_pairs(raw.as_deref())?;
    let term = params
        .iter()
        .rev()
        .find(|(k, _)| k == "q" || k == "search")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let heading = if term.is_empty() {
        "Recherche".to_string()
    } else {
        format!("Résultats pour « {term} »")
    };
    let spec = ListingSpec {
        heading,
        intro: None,
        form_action: "/recherche",
        fixed_category: None,
        show_search: true,
    };
    listing_page(&state, &ctx, raw.as_deref(), spec).await
}

pub async fn page_category(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let category = service::category(&state, &slug).await?;
    let action = format!("/categories/{}", category.slug);
    let spec = ListingSpec {
        heading: category.name.clone(),
        intro: category.description.clone(),
        form_action: &action,
        fixed_category: Some(category.slug.clone()),
        show_search: false,
    };
    listing_page(&state, &ctx, raw.as_deref(), spec).await
}

pub struct ReviewItem {
    pub author: String,
    pub verified: bool,
    pub rating: i32,
    pub stars: String,
    pub title: Option<String>,
    pub comment: Option<String>,
    pub date: String,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage<'a> {
    layout: Layout<'a>,
    json_ld: String,
    slug: String,
    name: String,
    category: Option<CategoryRef>,
    images: Vec<String>,
    price: String,
    compare_price: Option<String>,
    discount: Option<i64>,
    rating_text: String,
    stock: i32,
    description: String,
    review_count: i64,
    reviews: Vec<ReviewItem>,
    cards: Vec<Card>,
    /// The signed-in customer's part: their review form and wishlist button (`None` for visitors).
    mine: Option<MyProduct>,
    errors: Vec<String>,
}

/// What the product page shows the signed-in customer.
pub struct MyProduct {
    pub review: ReviewFormValues,
    /// Whether they already reviewed the product (the form then updates the review).
    pub reviewed: bool,
    pub in_wishlist: bool,
}

/// The review form's values: the saved review, or what was just submitted.
#[derive(Default, Clone)]
pub struct ReviewFormValues {
    pub rating: String,
    pub title: String,
    pub comment: String,
}

/// JSON for a `<script>` block: `<`, `>`, `&` and the line separators escaped, so no product text can close the
/// tag (the original's stored-XSS hole, D5).
fn script_safe_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

pub async fn page_product(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    product_page(&state, &ctx, &slug, None, StatusCode::OK).await
}

/// The product page; `submitted` carries a review form sent back with its errors.
pub async fn product_page(
    state: &AppState,
    ctx: &RequestContext,
    slug: &str,
    submitted: Option<(ReviewFormValues, Vec<String>)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let detail = service::product_detail(state, slug).await?;
    let p = &detail.product;
    let mut errors = Vec::new();
    let mine = match &ctx.user {
        None => None,
        Some(user) => {
            let (own, in_wishlist) = tokio::try_join!(
                reviews::own(state, user, p),
                wishlist::contains(state, user, p)
            )?;
            let saved = own.as_ref().map(|r| ReviewFormValues {
                rating: r.rating.to_string(),
                title: r.title.clone().unwrap_or_default(),
                comment: r.comment.clone().unwrap_or_default(),
            });
            let review = match submitted {
                Some((values, submitted_errors)) => {
                    errors = submitted_errors;
                    values
                }
                None => saved.unwrap_or_default(),
            };
            Some(MyProduct {
                review,
                reviewed: own.is_some(),
                in_wishlist,
            })
        }
    };
    let json_ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "description": p.description,
        "image": p.images,
        "sku": p.id,
        "brand": {"@type": "Brand", "name": "VIVR"},
        "offers": {
            "@type": "Offer",
            "priceCurrency": "EUR",
            "price": format!("{}.{:02}", p.price.cents() / 100, p.price.cents() % 100),
            "availability": if p.stock > 0 { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
        },
    });
    let images = if p.images.is_empty() {
        vec![state.assets().url("placeholder.svg").to_string()]
    } else {
        p.images.clone()
    };
    let page = ProductPage {
        layout: Layout::new(state, ctx, p.name.clone()),
        json_ld: script_safe_json(&json_ld),
        slug: p.slug.clone(),
        name: p.name.clone(),
        category: p.category.clone(),
        images,
        price: p.price.display_fr(),
        compare_price: p
            .discount_percent()
            .and(p.compare_price)
            .map(|c| c.display_fr()),
        discount: p.discount_percent(),
        rating_text: rating_text(p).unwrap_or_else(|| "Pas encore noté".to_string()),
        stock: p.stock,
        description: p.description.clone(),
        review_count: p.rating_count,
        reviews: detail
            .reviews
            .iter()
            .map(|r| ReviewItem {
                author: r.author.clone(),
                verified: r.verified,
                rating: r.rating,
                stars: "★".repeat(r.rating.clamp(0, 5) as usize)
                    + &"☆".repeat((5 - r.rating.clamp(0, 5)) as usize),
                title: r.title.clone(),
                comment: r.comment.clone(),
                date: french_date(r.created_at),
            })
            .collect(),
        cards: detail.related.iter().map(|r| Card::new(state, r)).collect(),
        mine,
        errors,
    };
    let mut response = render(&page, CachePolicy::PrivatePage)?;
    if status != StatusCode::OK {
        *response.status_mut() = status;
        set_cache_control(&mut response, CachePolicy::NoStore);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_scripts_cannot_close_the_tag() {
        let v = serde_json::json!({"name": "</script><script>alert(1)</script>&\u{2028}"});
        let out = script_safe_json(&v);
        assert!(
            !out.contains('<')
                && !out.contains('>')
                && !out.contains('&')
                && !out.contains('\u{2028}')
        );
    }
}
