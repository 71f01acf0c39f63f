//! The catalogue's pages: listings (all products, a category, a search) and the product page.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::routes::pages::{Card, Layout, PageError, Picture, french_date, rating_text, render};
use crate::services::catalog::{self as service};
use crate::services::{reviews, wishlist};
use crate::store::{CategoryRef, Product, ProductQuery, ProductSort, Review, User};
use crate::views::Pagination;
use crate::web::{CachePolicy, set_cache_control};

use super::*;

// ----- pages -----

pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "products.html")]
pub(super) struct ProductsPage<'a> {
    pub(super) layout: Layout<'a>,
    pub(super) heading: String,
    pub(super) intro: Option<String>,
    pub(super) form_action: &'a str,
    pub(super) show_search: bool,
    pub(super) show_category: bool,
    pub(super) search: String,
    /// The search shown instead, when the one typed found nothing and a typo was corrected.
    pub(super) corrected: Option<String>,
    pub(super) category_options: Vec<SelectOption>,
    pub(super) sort_options: Vec<SelectOption>,
    pub(super) min_price: String,
    pub(super) max_price: String,
    pub(super) in_stock: bool,
    pub(super) cards: Vec<Card>,
    pub(super) total: i64,
    pub(super) page: u32,
    pub(super) total_pages: i64,
    pub(super) prev_href: Option<String>,
    pub(super) next_href: Option<String>,
    /// The first page's address, for a page number past the last.
    pub(super) first_href: String,
    /// When nothing matches: the categories to browse instead, and the most popular products.
    pub(super) suggested_categories: Vec<CategoryRef>,
    pub(super) best_sellers: Vec<Card>,
}

pub(super) fn euros_input(cents: Option<crate::domain::Money>) -> String {
    cents
        .map(|m| format!("{},{:02}", m.cents() / 100, m.cents() % 100))
        .unwrap_or_default()
}

/// The same filters with another page number, for the pagination links.
pub(super) fn page_href(base: &str, params: &[(String, String)], page: u32) -> String {
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

pub(super) struct ListingSpec<'a> {
    pub(super) heading: String,
    pub(super) intro: Option<String>,
    pub(super) form_action: &'a str,
    pub(super) fixed_category: Option<String>,
    /// A filter the page itself stands for (the promotions page lists reduced products only).
    pub(super) fixed_on_sale: Option<bool>,
    pub(super) show_search: bool,
}

/// A listing page. Its route is one of those that read the menu's categories themselves (`routes::listings`):
/// here, in the same statement as the listing when the catalogue cache is off.
pub(super) async fn listing_page(
    state: &AppState,
    mut ctx: RequestContext,
    raw: Option<&str>,
    mut spec: ListingSpec<'_>,
) -> Result<Response, PageError> {
    let params = query_pairs(raw)?;
    let mut query: ProductQuery = service::parse_product_query(&params, 24)?;
    if let Some(slug) = &spec.fixed_category {
        query.category = Some(
            crate::domain::Slug::parse("category", slug).map_err(AppError::invalid_parameter)?,
        );
    }
    if spec.fixed_on_sale.is_some() {
        query.on_sale = spec.fixed_on_sale;
    }
    let (listing, menu) =
        crate::services::search::shopper_listing_and_menu(state, &mut query).await?;
    // A category's page: its name and introduction, or 404 when there is no such category.
    if let Some(slug) = &spec.fixed_category {
        let category = service::find_category(&menu, slug)?;
        spec.heading = category.name;
        spec.intro = category.description;
    }
    ctx.menu_categories = menu;
    let ctx = &ctx;
    let categories = &ctx.menu_categories;
    let page = listing.page;
    let pagination = Pagination::new(query.page, query.limit, page.total);
    let search_value = params
        .iter()
        .rev()
        .find(|(k, _)| k == "search" || k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let selected_category = query.category.as_ref().map(|c| c.as_str().to_string());
    let (suggested_categories, best_sellers) = if page.total == 0 {
        suggestions(state, ctx, categories).await?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut layout = Layout::new(state, ctx, spec.heading.clone());
    layout.search = &search_value;
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
        cards: Card::grid(state, ctx, &page.items),
        total: page.total,
        page: query.page,
        total_pages: pagination.total_pages,
        prev_href: (query.page > 1).then(|| page_href(spec.form_action, &params, query.page - 1)),
        next_href: (i64::from(query.page) < pagination.total_pages)
            .then(|| page_href(spec.form_action, &params, query.page + 1)),
        first_href: page_href(spec.form_action, &params, 1),
        suggested_categories,
        best_sellers,
        search: search_value.clone(),
        corrected: listing.corrected,
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
        fixed_on_sale: None,
        show_search: true,
    };
    listing_page(&state, ctx, raw.as_deref(), spec).await
}

/// What a listing with no result offers instead: the categories that have products, and the most popular
/// products of the whole catalogue.
async fn suggestions(
    state: &AppState,
    ctx: &RequestContext,
    categories: &[crate::store::Category],
) -> Result<(Vec<CategoryRef>, Vec<Card>), PageError> {
    let popular = ProductQuery {
        sort: ProductSort::Popular,
        limit: 4,
        ..ProductQuery::default()
    };
    let popular = service::list_products(state, &popular).await?;
    Ok((
        categories
            .iter()
            .filter(|c| c.product_count > 0)
            .map(|c| CategoryRef {
                id: c.id.clone(),
                name: c.name.clone(),
                slug: c.slug.clone(),
            })
            .collect(),
        popular
            .items
            .iter()
            .map(|p| Card::new(state, ctx, p))
            .collect(),
    ))
}

/// `/nouveautes`: the catalogue, newest first unless the visitor sorts otherwise.
pub async fn page_new_arrivals(
    State(state): State<AppState>,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let spec = ListingSpec {
        heading: "Nouveautés".into(),
        intro: Some("Les dernières pièces arrivées chez VIVR.".into()),
        form_action: "/nouveautes",
        fixed_category: None,
        fixed_on_sale: None,
        show_search: false,
    };
    listing_page(&state, ctx, raw.as_deref(), spec).await
}

/// `/promotions`: reduced products only (a former price above the price).
pub async fn page_promotions(
    State(state): State<AppState>,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let spec = ListingSpec {
        heading: "Promotions".into(),
        intro: Some("Nos pièces à prix réduit, tant qu'il y en a.".into()),
        form_action: "/promotions",
        fixed_category: None,
        fixed_on_sale: Some(true),
        show_search: false,
    };
    listing_page(&state, ctx, raw.as_deref(), spec).await
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
        fixed_on_sale: None,
        show_search: true,
    };
    listing_page(&state, ctx, raw.as_deref(), spec).await
}

pub async fn page_category(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // Not a category's slug at all: no such category (its name and introduction come with the listing).
    crate::domain::Slug::parse("category", &slug)
        .map_err(|_| service::CatalogError::UnknownCategory)?;
    let action = format!("/categories/{slug}");
    let spec = ListingSpec {
        heading: String::new(),
        intro: None,
        form_action: &action,
        fixed_category: Some(slug.clone()),
        fixed_on_sale: None,
        show_search: false,
    };
    listing_page(&state, ctx, raw.as_deref(), spec).await
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
pub(super) struct ProductPage<'a> {
    pub(super) layout: Layout<'a>,
    pub(super) json_ld: String,
    pub(super) slug: String,
    pub(super) name: String,
    pub(super) category: Option<CategoryRef>,
    /// Each photo, its text for screen readers, and whether it is loaded at once (the first).
    pub(super) images: Vec<(Picture, String, bool)>,
    pub(super) price: String,
    pub(super) compare_price: Option<String>,
    pub(super) discount: Option<i64>,
    pub(super) rating_text: String,
    pub(super) stock: i32,
    pub(super) description: String,
    pub(super) review_count: i64,
    pub(super) reviews: Vec<ReviewItem>,
    pub(super) cards: Vec<Card>,
    /// The signed-in customer's part: their review form and wishlist button (`None` for visitors).
    pub(super) mine: Option<MyProduct>,
    pub(super) errors: Vec<String>,
    /// What the customer just did to their review, said once after the redirect.
    pub(super) notice: Option<&'static str>,
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
pub(super) fn script_safe_json(value: &serde_json::Value) -> String {
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
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // `?avis=publie` or `?avis=supprime`: where the review form sends the customer back.
    let notice = query_pairs(raw.as_deref())?
        .iter()
        .rev()
        .find(|(k, _)| k == "avis")
        .and_then(|(_, v)| match v.as_str() {
            "publie" => Some("Merci : votre avis est publié."),
            "supprime" => Some("Votre avis est supprimé."),
            _ => None,
        });
    product_page(&state, &ctx, &slug, None, notice, StatusCode::OK).await
}

/// What the signed-in customer has of this product: the review form (theirs, or the one sent back with its
/// errors), and whether it is in their wishlist.
async fn my_product(
    state: &AppState,
    user: &User,
    product: &Product,
    submitted: Option<(ReviewFormValues, Vec<String>)>,
) -> Result<(MyProduct, Vec<String>), PageError> {
    let (own, in_wishlist) = tokio::try_join!(
        reviews::own(state, user, product),
        wishlist::contains(state, user, product)
    )?;
    let (review, errors) = match submitted {
        Some((values, errors)) => (values, errors),
        None => {
            let saved = own.as_ref().map(|r| ReviewFormValues {
                rating: r.rating.to_string(),
                title: r.title.clone().unwrap_or_default(),
                comment: r.comment.clone().unwrap_or_default(),
            });
            (saved.unwrap_or_default(), Vec::new())
        }
    };
    let mine = MyProduct {
        review,
        reviewed: own.is_some(),
        in_wishlist,
    };
    Ok((mine, errors))
}

/// schema.org's Product, for search engines.
fn product_json_ld(state: &AppState, p: &Product) -> serde_json::Value {
    let images: Vec<String> = p
        .images
        .iter()
        .map(|source| Picture::largest_url(state, source))
        .collect();
    serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "description": p.description,
        "image": images,
        "sku": p.id,
        "brand": {"@type": "Brand", "name": "VIVR"},
        "offers": {
            "@type": "Offer",
            "priceCurrency": "EUR",
            "price": format!("{}.{:02}", p.price.cents() / 100, p.price.cents() % 100),
            "availability": if p.stock > 0 { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
        },
    })
}

impl From<&Review> for ReviewItem {
    fn from(r: &Review) -> Self {
        ReviewItem {
            author: r.author.clone(),
            verified: r.verified,
            rating: r.rating,
            stars: "★".repeat(r.rating.clamp(0, 5) as usize)
                + &"☆".repeat((5 - r.rating.clamp(0, 5)) as usize),
            title: r.title.clone(),
            comment: r.comment.clone(),
            date: french_date(r.created_at),
        }
    }
}

/// The product page; `submitted` carries a review form sent back with its errors.
pub async fn product_page(
    state: &AppState,
    ctx: &RequestContext,
    slug: &str,
    submitted: Option<(ReviewFormValues, Vec<String>)>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let detail = service::product_detail(state, slug).await?;
    let p = &detail.product;
    let (mine, errors) = match &ctx.user {
        None => (None, Vec::new()),
        Some(user) => {
            let (mine, errors) = my_product(state, user, p, submitted).await?;
            (Some(mine), errors)
        }
    };
    let json_ld = product_json_ld(state, p);
    let sources: Vec<Option<&str>> = if p.images.is_empty() {
        vec![None]
    } else {
        p.images.iter().map(|i| Some(i.as_str())).collect()
    };
    let images = sources
        .into_iter()
        .enumerate()
        .map(|(i, source)| {
            let alt = format!("{}, photo {}", p.name, i + 1);
            (Picture::new(state, source, 600), alt, i == 0)
        })
        .collect();
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
        reviews: detail.reviews.iter().map(ReviewItem::from).collect(),
        cards: detail
            .related
            .iter()
            .map(|r| Card::new(state, ctx, r))
            .collect(),
        mine,
        errors,
        notice,
    };
    let mut response = render(&page, CachePolicy::PrivatePage)?;
    if status != StatusCode::OK {
        *response.status_mut() = status;
        set_cache_control(&mut response, CachePolicy::NoStore);
    }
    Ok(response)
}
