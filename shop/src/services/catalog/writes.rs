//! The catalogue's writes, an administrator's: what a product or category form or JSON body may hold, checked
//! field by field, and the writes themselves (each recorded in the audit log).

use serde::Deserialize;

use super::CatalogError;
use crate::AppState;
use crate::auth::now;
use crate::domain::{FieldError, Money, Rule, Slug};
use crate::services::images::{check_uploaded, image_source, image_sources};
use crate::store::{
    Category, CategoryPatch, NewCategory, NewProduct, Product, ProductPatch, StoreError,
};

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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
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

/// Each field's broken rule, so that a form can show them all at once.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn check<T>(&mut self, checked: Result<T, FieldError>) -> Option<T> {
        checked.map_err(|e| self.0.push(e)).ok()
    }

    /// The value when no rule was broken, else every broken rule.
    fn or_all<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

/// The first broken rule: what the API answers.
fn first(errors: Vec<FieldError>) -> FieldError {
    errors
        .into_iter()
        .next()
        .unwrap_or_else(|| FieldError::new("body", Rule::Required))
}

fn category_slug(value: &str) -> Result<String, FieldError> {
    Slug::parse("category", value).map(|s| s.as_str().to_string())
}

impl CreateProduct {
    pub fn validate(&self) -> Result<NewProduct, FieldError> {
        self.checked().map_err(first)
    }

    /// Every broken rule, in the fields' order.
    pub fn checked(&self) -> Result<NewProduct, Vec<FieldError>> {
        let mut p = Problems::default();
        let name = p.check(text("name", &self.name, 200));
        let slug = match (self.slug.as_deref(), name.as_deref()) {
            (Some(s), _) => p.check(Slug::parse("slug", s)),
            (None, Some(name)) => p.check(Slug::from_name("slug", name)),
            (None, None) => None,
        };
        let description = p.check(text("description", &self.description, 5000));
        let price_cents = p.check(price("price_cents", self.price_cents));
        let compare_price = p.check(
            self.compare_price_cents
                .map(|c| price("compare_price_cents", c))
                .transpose(),
        );
        let images = p.check(image_sources(&self.images));
        let category = p.check(self.category.as_deref().map(category_slug).transpose());
        let stock = p.check(stock(self.stock));
        let product = (|| {
            Some(NewProduct {
                name: name?,
                slug: slug?.as_str().to_string(),
                description: description?,
                price: price_cents?,
                compare_price: compare_price?,
                images: images?,
                category_slug: category?,
                stock: stock?,
                featured: self.featured,
            })
        })();
        p.or_all(product)
    }
}

impl UpdateProduct {
    pub fn validate(&self) -> Result<ProductPatch, FieldError> {
        self.checked().map_err(first)
    }

    /// Every broken rule, in the fields' order.
    pub fn checked(&self) -> Result<ProductPatch, Vec<FieldError>> {
        let mut p = Problems::default();
        let patch = ProductPatch {
            name: p
                .check(
                    self.name
                        .as_deref()
                        .map(|n| text("name", n, 200))
                        .transpose(),
                )
                .flatten(),
            description: p
                .check(
                    self.description
                        .as_deref()
                        .map(|d| text("description", d, 5000))
                        .transpose(),
                )
                .flatten(),
            price: p
                .check(
                    self.price_cents
                        .map(|c| price("price_cents", c))
                        .transpose(),
                )
                .flatten(),
            compare_price: match self.compare_price_cents {
                Some(Some(c)) => p.check(price("compare_price_cents", c)).map(Some),
                Some(None) => Some(None),
                None => None,
            },
            images: p
                .check(self.images.as_deref().map(image_sources).transpose())
                .flatten(),
            category_slug: match &self.category {
                Some(Some(c)) => p.check(category_slug(c)).map(Some),
                Some(None) => Some(None),
                None => None,
            },
            stock: p.check(self.stock.map(stock).transpose()).flatten(),
            featured: self.featured,
        };
        p.or_all(Some(patch))
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
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
