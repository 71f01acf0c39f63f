//! The catalogue's admin pages: products here (`/admin/produits`: list, create, edit, stock, archive), categories
//! in `admin_categories.rs` (`/admin/categories`: list, create, edit, delete). They call the same service
//! functions as the JSON API, so every write is checked by the same rules and recorded in the audit log. A form
//! sent back shows every error at once, beside its field, with what was typed.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::query_pairs;
use crate::AppState;
use crate::auth::RequestContext;
use crate::domain::{FieldError, Rule};
use crate::error::AppError;
use crate::routes::guards::{Admin, CsrfForm};
use crate::routes::pages::{
    ConfirmPage, Confirmation, FieldMessages, Layout, PageError, Picture, render,
};
use crate::services::catalog::{
    self as service, CatalogError, CreateProduct, UpdateProduct, parse_euros,
};
use crate::store::Product;
use crate::web::CachePolicy;

/// Products a page of the admin list shows.
const PER_PAGE: u32 = 50;

/// The form's name for an API field (the form takes euros where the API takes cents).
fn form_field(field: &'static str) -> &'static str {
    match field {
        "price_cents" => "price",
        "compare_price_cents" => "compare_price",
        other => other,
    }
}

fn problems_of(errors: Vec<FieldError>) -> FieldMessages {
    let mut problems = FieldMessages::default();
    for mut err in errors {
        err.field = form_field(err.field);
        problems.push_rule(err);
    }
    problems
}

/// A catalogue error as the form's problems, or the error page for anything else.
pub(super) fn refused(err: CatalogError) -> Result<FieldMessages, PageError> {
    match err {
        CatalogError::Invalid(field) => Ok(problems_of(vec![field])),
        CatalogError::Store(crate::store::StoreError::Conflict(_)) => {
            let mut problems = FieldMessages::default();
            problems.push(
                "slug",
                "Adresse de la page (slug) : déjà prise par un autre produit ou catégorie",
            );
            Ok(problems)
        }
        other => Err(AppError::from(other).into()),
    }
}

/// The product form, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    compare_price: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    stock: String,
    featured: Option<String>,
    /// One photo reference a line.
    #[serde(default)]
    images: String,
}

pub(super) fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

impl ProductForm {
    fn of(product: &Product) -> Self {
        ProductForm {
            name: product.name.clone(),
            slug: product.slug.clone(),
            description: product.description.clone(),
            price: super::pages::euros_input(Some(product.price)),
            compare_price: super::pages::euros_input(product.compare_price),
            category: product
                .category
                .as_ref()
                .map(|c| c.slug.clone())
                .unwrap_or_default(),
            stock: product.stock.to_string(),
            featured: product.featured.then(|| "on".to_string()),
            images: product.images.join("\n"),
        }
    }

    fn image_list(&self) -> Vec<String> {
        self.images
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The euros and the stock as the API's numbers, or the fields' problems.
    fn numbers(&self, problems: &mut Vec<FieldError>) -> (i64, Option<i64>, i64) {
        let euros = |field: &'static str, value: &str| match parse_euros(field, value) {
            Ok(money) => Ok(money.cents()),
            Err(CatalogError::Parameter(e) | CatalogError::Invalid(e)) => Err(e),
            Err(_) => Err(FieldError::new(field, Rule::NotEuroAmount)),
        };
        let price = if self.price.trim().is_empty() {
            Err(FieldError::new("price", Rule::Required))
        } else {
            euros("price", &self.price)
        };
        let compare = optional(&self.compare_price)
            .map(|v| euros("compare_price", &v))
            .transpose();
        let stock = match self.stock.trim() {
            "" => Ok(0),
            typed => typed
                .parse::<i64>()
                .map_err(|_| FieldError::new("stock", Rule::NotInteger)),
        };
        let mut keep = |checked: Result<_, FieldError>| checked.map_err(|e| problems.push(e)).ok();
        (
            keep(price.map(Some)).flatten().unwrap_or(0),
            keep(compare).flatten(),
            keep(stock.map(Some)).flatten().unwrap_or(0),
        )
    }

    /// What the API would be sent; `Err` with every problem of the form.
    fn create(&self) -> Result<CreateProduct, FieldMessages> {
        let mut problems = Vec::new();
        let (price_cents, compare_price_cents, stock) = self.numbers(&mut problems);
        let input = CreateProduct {
            name: self.name.clone(),
            slug: optional(&self.slug),
            description: self.description.clone(),
            price_cents,
            compare_price_cents,
            images: self.image_list(),
            category: optional(&self.category),
            stock,
            featured: self.featured.is_some(),
        };
        if let Err(more) = input.checked() {
            // A field the form already refused (an amount that is not one) is said once.
            let said: Vec<&'static str> = problems.iter().map(|p| form_field(p.field)).collect();
            problems.extend(
                more.into_iter()
                    .filter(|e| !said.contains(&form_field(e.field))),
            );
        }
        if problems.is_empty() {
            Ok(input)
        } else {
            Err(problems_of(problems))
        }
    }

    /// The edit form replaces every field (its slug stays).
    fn update(&self) -> Result<UpdateProduct, FieldMessages> {
        let create = self.create()?;
        Ok(UpdateProduct {
            name: Some(create.name),
            description: Some(create.description),
            price_cents: Some(create.price_cents),
            compare_price_cents: Some(create.compare_price_cents),
            images: Some(create.images),
            category: Some(create.category),
            stock: Some(create.stock),
            featured: Some(create.featured),
        })
    }
}

struct ProductRow {
    picture: Picture,
    slug: String,
    name: String,
    price: String,
    category: String,
    stock: i32,
}

#[derive(Template)]
#[template(path = "admin_products.html")]
struct ProductsPage<'a> {
    layout: Layout<'a>,
    notice: Option<&'static str>,
    search: String,
    rows: Vec<ProductRow>,
    page: u32,
    total: i64,
    has_more: bool,
}

pub(super) fn notice(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("cree") => Some("Produit créé."),
        Some("enregistre") => Some("Modifications enregistrées."),
        Some("stock") => Some("Stock enregistré."),
        Some("archive") => Some("Produit retiré du catalogue ; les commandes passées le gardent."),
        Some("categorie-creee") => Some("Catégorie créée."),
        Some("categorie-enregistree") => Some("Catégorie enregistrée."),
        Some("categorie-supprimee") => Some("Catégorie supprimée."),
        _ => None,
    }
}

pub(super) fn done_of(pairs: &[(String, String)]) -> Option<&str> {
    pairs
        .iter()
        .find(|(k, _)| k == "fait")
        .map(|(_, v)| v.as_str())
}

/// `/admin/produits?search=&page=`: the products on sale, newest first, 50 a page, each with its stock.
pub async fn page_admin_products(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref())?;
    let listed: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "search" | "page"))
        .cloned()
        .collect();
    let query = service::parse_product_query(&listed, PER_PAGE).map_err(AppError::from)?;
    let page = service::list_products(&state, &query)
        .await
        .map_err(AppError::from)?;
    let view = ProductsPage {
        layout: Layout::new(&state, &ctx, "Produits — administration"),
        notice: notice(done_of(&pairs)),
        search: listed
            .iter()
            .find(|(k, _)| k == "search")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        rows: page
            .items
            .iter()
            .map(|p| ProductRow {
                picture: Picture::new(&state, p.images.first().map(String::as_str), 80),
                slug: p.slug.clone(),
                name: p.name.clone(),
                price: p.price.display_fr(),
                category: p
                    .category
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                stock: p.stock,
            })
            .collect(),
        page: query.page,
        total: page.total,
        has_more: i64::from(query.page) * i64::from(PER_PAGE) < page.total,
    };
    render(&view, CachePolicy::NoStore)
}

#[derive(Template)]
#[template(path = "admin_product.html")]
struct ProductEditPage<'a> {
    layout: Layout<'a>,
    /// `None` for a new product.
    slug: Option<String>,
    notice: Option<&'static str>,
    errors: Vec<String>,
    problems: FieldMessages,
    form: ProductForm,
    categories: Vec<(String, String)>,
    pictures: Vec<Picture>,
}

async fn product_form_page(
    state: &AppState,
    ctx: &RequestContext,
    slug: Option<String>,
    form: ProductForm,
    problems: FieldMessages,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let categories = service::categories(state)
        .await
        .map_err(AppError::from)?
        .iter()
        .map(|c| (c.slug.clone(), c.name.clone()))
        .collect();
    let pictures = form
        .image_list()
        .iter()
        .map(|i| Picture::new(state, Some(i), 120))
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = match &slug {
        Some(_) => format!("{} — modifier", form.name),
        None => "Nouveau produit".to_string(),
    };
    let view = ProductEditPage {
        layout: Layout::new(state, ctx, title),
        slug,
        notice,
        errors: problems.summary(),
        problems,
        form,
        categories,
        pictures,
    };
    let mut response = render(&view, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `/admin/produits/nouveau`.
pub async fn page_admin_new_product(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    product_form_page(
        &state,
        &ctx,
        None,
        ProductForm::default(),
        FieldMessages::default(),
        None,
    )
    .await
}

pub async fn page_admin_create_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, PageError> {
    let problems = match form.create() {
        Ok(input) => match service::create_product(&state, &input, &admin.id).await {
            Ok(product) => {
                return Ok(
                    Redirect::to(&format!("/admin/produits/{}?fait=cree", product.slug))
                        .into_response(),
                );
            }
            Err(err) => refused(err)?,
        },
        Err(problems) => problems,
    };
    product_form_page(&state, &ctx, None, form, problems, None).await
}

/// `/admin/produits/{slug}`: the edit form, filled in.
pub async fn page_admin_product(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref())?;
    let product = service::live_product(&state, &slug)
        .await
        .map_err(AppError::from)?;
    let form = ProductForm::of(&product);
    product_form_page(
        &state,
        &ctx,
        Some(slug),
        form,
        FieldMessages::default(),
        notice(done_of(&pairs)),
    )
    .await
}

pub async fn page_admin_update_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    CsrfForm(mut form): CsrfForm<ProductForm>,
) -> Result<Response, PageError> {
    // The slug is the product's address: kept.
    form.slug = slug.clone();
    let problems = match form.update() {
        Ok(patch) => match service::update_product(&state, &slug, &patch, &admin.id).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/admin/produits/{slug}?fait=enregistre"))
                        .into_response(),
                );
            }
            Err(err) => refused(err)?,
        },
        Err(problems) => problems,
    };
    product_form_page(&state, &ctx, Some(slug), form, problems, None).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockForm {
    stock: String,
}

/// `POST /admin/produits/{slug}/stock`: the list's quick stock edit.
pub async fn page_admin_stock(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<StockForm>,
) -> Result<Response, PageError> {
    let stock = form
        .stock
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::from(FieldError::new("stock", Rule::NotInteger)))?;
    let patch = UpdateProduct {
        stock: Some(stock),
        ..UpdateProduct::default()
    };
    service::update_product(&state, &slug, &patch, &admin.id)
        .await
        .map_err(AppError::from)?;
    Ok(Redirect::to("/admin/produits?fait=stock").into_response())
}

/// `POST /admin/produits/{slug}/archiver`: off the catalogue; its orders keep it.
pub async fn page_admin_archive_product(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    CsrfForm(confirmation): CsrfForm<Confirmation>,
) -> Result<Response, PageError> {
    if !confirmation.given() {
        let product = service::live_product(&state, &slug)
            .await
            .map_err(AppError::from)?;
        return ConfirmPage {
            layout: Layout::new(&state, &ctx, "Retirer un produit"),
            heading: format!("Retirer « {} » du catalogue ?", product.name),
            question:
                "Le produit ne sera plus en vente ; il disparaît des listes et de la recherche."
                    .into(),
            detail: Some(
                "Les commandes déjà passées le gardent. Le journal des modifications le note.",
            ),
            action: format!("/admin/produits/{slug}/archiver"),
            fields: Vec::new(),
            confirm_label: "Retirer du catalogue",
            back_href: "/admin/produits",
            back_label: "Garder le produit",
        }
        .render();
    }
    service::delete_product(&state, &slug, &admin.id)
        .await
        .map_err(AppError::from)?;
    Ok(Redirect::to("/admin/produits?fait=archive").into_response())
}
