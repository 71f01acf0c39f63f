//! The catalogue: listing with filters, product detail, and the admin writes, with their validation.

use std::sync::Arc;

use serde::Deserialize;

use crate::AppState;
use crate::auth::now;
use crate::domain::{FieldError, Money, Rule, Slug, query_words};
use crate::services::images::{ImageCheck, check_uploaded, image_source, image_sources};
use crate::store::{
    Category, CategoryPatch, NewCategory, NewProduct, Product, ProductPage, ProductPatch,
    ProductQuery, ProductSort, Review, StoreError,
};

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

/// Every category, with its number of live products.
pub async fn categories(state: &AppState) -> Result<Arc<Vec<Category>>, CatalogError> {
    let cache = state.catalog();
    Ok(cache
        .categories
        .get_or_load(&(), cache.generation(), || state.store().list_categories())
        .await?)
}

pub async fn category(state: &AppState, slug: &str) -> Result<Category, CatalogError> {
    categories(state)
        .await?
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

fn text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, Rule::Required));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, Rule::TooLong { max }));
    }
    Ok(value.to_string())
}

fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

fn stock(value: i64) -> Result<i32, FieldError> {
    if !(0..=1_000_000).contains(&value) {
        return Err(FieldError::new(
            "stock",
            Rule::Between {
                min: 0,
                max: 1_000_000,
            },
        ));
    }
    Ok(value as i32)
}

fn price(field: &'static str, cents: i64) -> Result<Money, FieldError> {
    Money::parse_price(field, cents)
}

/// `null` and absent differ in a PATCH: absent keeps the value, `null` clears it.
fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    pub name: String,
    pub slug: Option<String>,
    pub description: String,
    pub price_cents: i64,
    pub compare_price_cents: Option<i64>,
    #[serde(default)]
    pub images: Vec<String>,
    pub category: Option<String>,
    #[serde(default)]
    pub stock: i64,
    #[serde(default)]
    pub featured: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub compare_price_cents: Option<Option<i64>>,
    pub images: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    pub stock: Option<i64>,
    pub featured: Option<bool>,
}

impl CreateProduct {
    pub fn validate(&self) -> Result<NewProduct, FieldError> {
        let name = text("name", &self.name, 200)?;
        let slug = match self.slug.as_deref() {
            Some(s) => Slug::parse("slug", s)?,
            None => Slug::from_name("slug", &name)?,
        };
        Ok(NewProduct {
            slug: slug.as_str().to_string(),
            description: text("description", &self.description, 5000)?,
            price: price("price_cents", self.price_cents)?,
            compare_price: self
                .compare_price_cents
                .map(|c| price("compare_price_cents", c))
                .transpose()?,
            images: image_sources(&self.images)?,
            category_slug: self
                .category
                .as_deref()
                .map(|c| Slug::parse("category", c).map(|s| s.as_str().to_string()))
                .transpose()?,
            stock: stock(self.stock)?,
            featured: self.featured,
            name,
        })
    }
}

impl UpdateProduct {
    pub fn validate(&self) -> Result<ProductPatch, FieldError> {
        Ok(ProductPatch {
            name: self
                .name
                .as_deref()
                .map(|n| text("name", n, 200))
                .transpose()?,
            description: self
                .description
                .as_deref()
                .map(|d| text("description", d, 5000))
                .transpose()?,
            price: self
                .price_cents
                .map(|c| price("price_cents", c))
                .transpose()?,
            compare_price: match self.compare_price_cents {
                Some(Some(c)) => Some(Some(price("compare_price_cents", c)?)),
                Some(None) => Some(None),
                None => None,
            },
            images: self.images.as_deref().map(image_sources).transpose()?,
            category_slug: match &self.category {
                Some(Some(c)) => Some(Some(Slug::parse("category", c)?.as_str().to_string())),
                Some(None) => Some(None),
                None => None,
            },
            stock: self.stock.map(stock).transpose()?,
            featured: self.featured,
        })
    }
}

/// The catalogue's writes below are an administrator's (`by`: their account id), recorded in the audit log.
pub async fn create_product(
    state: &AppState,
    input: &CreateProduct,
    by: &str,
) -> Result<Product, CatalogError> {
    let new = input.validate()?;
    check_uploaded(state, "images", &new.images).await?;
    Ok(catalogue_changed(
        state,
        state.store().create_product(&new, now(), Some(by)).await,
    )?)
}

/// Admin writes go through here: whatever happened, cached reads are dropped.
fn catalogue_changed<T>(state: &AppState, result: Result<T, StoreError>) -> Result<T, StoreError> {
    state.catalog().invalidate();
    result
}

pub async fn update_product(
    state: &AppState,
    slug: &str,
    input: &UpdateProduct,
    by: &str,
) -> Result<Product, CatalogError> {
    let patch = input.validate()?;
    check_uploaded(state, "images", patch.images.iter().flatten()).await?;
    catalogue_changed(
        state,
        state
            .store()
            .update_product(slug, &patch, now(), Some(by))
            .await,
    )
    .map_err(|e| match e {
        StoreError::NotFound => CatalogError::UnknownProduct,
        other => other.into(),
    })
}

pub async fn delete_product(state: &AppState, slug: &str, by: &str) -> Result<(), CatalogError> {
    let archived = state.store().archive_product(slug, now(), Some(by)).await;
    catalogue_changed(state, archived).map_err(|e| match e {
        StoreError::NotFound => CatalogError::UnknownProduct,
        other => other.into(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub image: Option<Option<String>>,
}

pub async fn create_category(
    state: &AppState,
    input: &CreateCategory,
    by: &str,
) -> Result<Category, CatalogError> {
    let name = text("name", &input.name, 100)?;
    let slug = match input.slug.as_deref() {
        Some(s) => Slug::parse("slug", s)?,
        None => Slug::from_name("slug", &name)?,
    };
    let new = NewCategory {
        name,
        slug: slug.as_str().to_string(),
        description: optional_text("description", input.description.as_deref(), 1000)?,
        image: input
            .image
            .as_deref()
            .map(|u| image_source("image", u))
            .transpose()?,
    };
    check_uploaded(state, "image", &new.image).await?;
    Ok(catalogue_changed(
        state,
        state.store().create_category(&new, now(), Some(by)).await,
    )?)
}

pub async fn update_category(
    state: &AppState,
    slug: &str,
    input: &UpdateCategory,
    by: &str,
) -> Result<Category, CatalogError> {
    let patch = CategoryPatch {
        name: input
            .name
            .as_deref()
            .map(|n| text("name", n, 100))
            .transpose()?,
        description: input
            .description
            .as_ref()
            .map(|d| optional_text("description", d.as_deref(), 1000))
            .transpose()?,
        image: input
            .image
            .as_ref()
            .map(|i| i.as_deref().map(|u| image_source("image", u)).transpose())
            .transpose()?,
    };
    check_uploaded(state, "image", patch.image.iter().flatten()).await?;
    catalogue_changed(
        state,
        state
            .store()
            .update_category(slug, &patch, now(), Some(by))
            .await,
    )
    .map_err(|e| match e {
        StoreError::NotFound => CatalogError::UnknownCategory,
        other => other.into(),
    })
}

pub async fn delete_category(state: &AppState, slug: &str, by: &str) -> Result<(), CatalogError> {
    let deleted = state.store().delete_category(slug, now(), Some(by)).await;
    catalogue_changed(state, deleted).map_err(|e| match e {
        StoreError::NotFound => CatalogError::UnknownCategory,
        other => other.into(),
    })
}

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
