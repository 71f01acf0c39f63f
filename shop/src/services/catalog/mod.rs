//! The catalogue: listing with filters, product detail, and the admin writes, with their validation.

use std::sync::Arc;

use crate::AppState;
use crate::domain::{FieldError, Money, Rule, Slug, query_words};
use crate::services::images::ImageCheck;
use crate::store::{Category, Product, ProductPage, ProductQuery, ProductSort, Review, StoreError};

/// Why a catalogue read or an admin write was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A query-string parameter that is malformed or out of range.
    #[error(transparent)]
    Parameter(FieldError),
    /// A field of an admin write that breaks a rule.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("no such category")]
    UnknownCategory,
    /// No such product, or one no longer sold.
    #[error("no such product")]
    UnknownProduct,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ImageCheck> for CatalogError {
    fn from(err: ImageCheck) -> Self {
        match err {
            ImageCheck::Unknown(field) => CatalogError::Invalid(field),
            ImageCheck::Store(err) => CatalogError::Store(err),
        }
    }
}

pub const MAX_LIMIT: u32 = 100;
pub const MAX_PAGE: u32 = 10_000;
mod writes;

pub use writes::*;

const MAX_SEARCH_LEN: usize = 100;
const MAX_SEARCH_WORDS: usize = 8;
pub const REVIEWS_PER_PAGE: u32 = 10;
pub const RELATED_PRODUCTS: u32 = 4;

fn invalid(field: &'static str, rule: Rule) -> CatalogError {
    CatalogError::Parameter(FieldError::new(field, rule))
}

fn parse_bool(field: &'static str, value: &str) -> Result<Option<bool>, CatalogError> {
    match value {
        "" => Ok(None),
        "true" | "1" | "on" | "oui" => Ok(Some(true)),
        "false" | "0" | "non" => Ok(Some(false)),
        _ => Err(invalid(field, Rule::NotBoolean)),
    }
}

fn parse_bounded(field: &'static str, value: &str, max: u32) -> Result<u32, CatalogError> {
    let n: u32 = value
        .parse()
        .map_err(|_| invalid(field, Rule::NotInteger))?;
    if n == 0 || n > max {
        return Err(invalid(
            field,
            Rule::Between {
                min: 1,
                max: i64::from(max),
            },
        ));
    }
    Ok(n)
}

/// Parses an amount in euros as shoppers type it ("49", "49.9", "49,99", "50 €", "1 000", "1 000,50 EUR",
/// "1.000,50") into exact cents, without going through a float. Spaces inside the number group thousands; with
/// both a point and a comma, the last one is the decimal separator. An ambiguous "1.999" is refused.
pub fn parse_euros(field: &'static str, value: &str) -> Result<Money, CatalogError> {
    let bad = || invalid(field, Rule::NotEuroAmount);
    let lower = value.trim().to_lowercase();
    let number = ["€", "euros", "euro", "eur"]
        .iter()
        .find_map(|unit| lower.strip_suffix(unit))
        .unwrap_or(&lower);
    let mut value: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if let (Some(point), Some(comma)) = (value.rfind('.'), value.rfind(',')) {
        let grouping = if point < comma { '.' } else { ',' };
        value.retain(|c| c != grouping);
    }
    let value = value.replace(',', ".");
    let (whole, frac) = value.split_once('.').unwrap_or((&value, ""));
    if whole.is_empty()
        || whole.len() > 7
        || frac.len() > 2
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let euros: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Money::parse_price(field, euros * 100 + cents).map_err(CatalogError::Parameter)
}

/// Reads the catalogue's query string. Unknown parameters are ignored; known ones must be valid.
pub fn parse_product_query(
    params: &[(String, String)],
    default_limit: u32,
) -> Result<ProductQuery, CatalogError> {
    let mut query = ProductQuery {
        limit: default_limit,
        ..ProductQuery::default()
    };
    let mut sorted = false;
    for (key, value) in params {
        match key.as_str() {
            "page" => query.page = parse_bounded("page", value, MAX_PAGE)?,
            "limit" => query.limit = parse_bounded("limit", value, MAX_LIMIT)?,
            "category" if !value.is_empty() => {
                query.category =
                    Some(Slug::parse("category", value).map_err(CatalogError::Parameter)?)
            }
            "search" | "q" => {
                if value.chars().count() > MAX_SEARCH_LEN {
                    return Err(invalid(
                        "search",
                        Rule::TooLong {
                            max: MAX_SEARCH_LEN,
                        },
                    ));
                }
                query.search = query_words(value, MAX_SEARCH_WORDS);
            }
            "min_price" if !value.is_empty() => {
                query.min_price = Some(parse_euros("min_price", value)?)
            }
            "max_price" if !value.is_empty() => {
                query.max_price = Some(parse_euros("max_price", value)?)
            }
            "featured" => query.featured = parse_bool("featured", value)?,
            "in_stock" => query.in_stock = parse_bool("in_stock", value)?,
            "on_sale" => query.on_sale = parse_bool("on_sale", value)?,
            "sort" if !value.is_empty() => {
                sorted = true;
                query.sort = ProductSort::parse(value).ok_or_else(|| {
                    invalid(
                        "sort",
                        Rule::OneOf(&[
                            "relevance",
                            "newest",
                            "price-asc",
                            "price-desc",
                            "popular",
                            "rating",
                        ]),
                    )
                })?
            }
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (query.min_price, query.max_price)
        && min > max
    {
        return Err(invalid("min_price", Rule::Above("max_price")));
    }
    if !sorted && !query.search.is_empty() {
        query.sort = ProductSort::Relevance;
    }
    Ok(query)
}

pub async fn list_products(
    state: &AppState,
    query: &ProductQuery,
) -> Result<Arc<ProductPage>, CatalogError> {
    let cache = state.catalog();
    Ok(cache
        .listings
        .get_or_load(query, cache.generation(), || {
            state.store().list_products(query)
        })
        .await?)
}

/// A listing page and the menu's categories. With the catalogue cache on each comes from it (every page shares
/// the menu); with it off, one statement reads both.
pub async fn listing_and_menu(
    state: &AppState,
    query: &ProductQuery,
) -> Result<(Arc<ProductPage>, Arc<Vec<Category>>), CatalogError> {
    if state.catalog().is_off() {
        let (page, menu) = state.store().list_products_and_categories(query).await?;
        return Ok((Arc::new(page), Arc::new(menu)));
    }
    Ok((list_products(state, query).await?, categories(state).await?))
}

/// Every category, with its number of live products.
pub async fn categories(state: &AppState) -> Result<Arc<Vec<Category>>, CatalogError> {
    let cache = state.catalog();
    Ok(cache
        .categories
        .get_or_load(&(), cache.generation(), || state.store().list_categories())
        .await?)
}

pub async fn category(state: &AppState, slug: &str) -> Result<Category, CatalogError> {
    find_category(&categories(state).await?, slug)
}

/// The category of that slug among those already read (a page's menu), or 404.
pub fn find_category(categories: &[Category], slug: &str) -> Result<Category, CatalogError> {
    categories
        .iter()
        .find(|c| c.slug == slug)
        .cloned()
        .ok_or(CatalogError::UnknownCategory)
}

/// A product of the catalogue (not archived), or 404.
pub async fn live_product(state: &AppState, slug: &str) -> Result<Product, CatalogError> {
    state
        .store()
        .product_by_slug(slug)
        .await?
        .ok_or(CatalogError::UnknownProduct)
}

pub struct ProductDetail {
    pub product: Product,
    pub reviews: Vec<Review>,
    pub related: Vec<Product>,
}

pub async fn product_detail(
    state: &AppState,
    slug: &str,
) -> Result<Arc<ProductDetail>, CatalogError> {
    let cache = state.catalog();
    cache
        .details
        .get_or_load(&slug.to_string(), cache.generation(), || {
            load_product_detail(state, slug)
        })
        .await
}

async fn load_product_detail(state: &AppState, slug: &str) -> Result<ProductDetail, CatalogError> {
    let store = state.store();
    let product = live_product(state, slug).await?;
    let (reviews, related) = tokio::try_join!(
        store.product_reviews(&product.id, REVIEWS_PER_PAGE, 0),
        store.related_products(&product, RELATED_PRODUCTS),
    )?;
    Ok(ProductDetail {
        product,
        reviews,
        related,
    })
}

// ----- admin writes -----

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn euros_parse_exactly() {
        assert_eq!(parse_euros("p", "49,99").unwrap().cents(), 4999);
        assert_eq!(parse_euros("p", "49.9").unwrap().cents(), 4990);
        assert_eq!(parse_euros("p", "50").unwrap().cents(), 5000);
        for (typed, cents) in [
            ("50 €", 5000),
            ("50€", 5000),
            (" 49,90 EUR ", 4990),
            ("12 euros", 1200),
            ("1 000", 100_000),
            ("1\u{202f}000,50\u{a0}€", 100_050),
            ("1.000,50", 100_050),
            ("1,000.50", 100_050),
        ] {
            assert_eq!(parse_euros("p", typed).unwrap().cents(), cents, "{typed}");
        }
        for bad in [
            "", "-1", "1.999", "abc", "1e3", "12345678", "€", "1,000,50", "50 $",
        ] {
            assert!(parse_euros("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_validation_names_the_parameter() {
        let err = parse_product_query(&params(&[("limit", "101")]), 12).unwrap_err();
        assert!(matches!(err, CatalogError::Parameter(ref e) if e.field == "limit"));
        let err = parse_product_query(&params(&[("page", "x")]), 12).unwrap_err();
        assert!(matches!(err, CatalogError::Parameter(ref e) if e.field == "page"));
        let err = parse_product_query(&params(&[("sort", "cheapest")]), 12).unwrap_err();
        assert!(matches!(err, CatalogError::Parameter(ref e) if e.field == "sort"));
        let err = parse_product_query(&params(&[("min_price", "100"), ("max_price", "10")]), 12)
            .unwrap_err();
        assert!(matches!(err, CatalogError::Parameter(ref e) if e.field == "min_price"));
        let q = parse_product_query(
            &params(&[("search", "Céramique  BLANCHE"), ("sort", "price-asc")]),
            12,
        )
        .unwrap();
        let words: Vec<&str> = q.search.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(words, ["ceramique", "blanche"]);
        assert_eq!(q.sort, ProductSort::PriceAsc);
    }
}
