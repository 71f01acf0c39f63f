//! The categories' admin pages (`/admin/categories`: list, create, edit, delete), as the products' (see
//! `admin.rs`).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::{done_of, notice, optional, refused};
use super::query_pairs;
use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::routes::guards::{Admin, CsrfForm};
use crate::routes::pages::{
    ConfirmPage, Confirmation, FieldMessages, Layout, PageError, Picture, render,
};
use crate::services::catalog::{self as service, CreateCategory, UpdateCategory};
use crate::store::Category;
use crate::web::CachePolicy;

/// The category form, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    image: String,
}

impl CategoryForm {
    fn of(category: &Category) -> Self {
        CategoryForm {
            name: category.name.clone(),
            slug: category.slug.clone(),
            description: category.description.clone().unwrap_or_default(),
            image: category.image.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_categories.html")]
struct CategoriesPage<'a> {
    layout: Layout<'a>,
    notice: Option<&'static str>,
    categories: Vec<Category>,
    /// The category being edited (its slug), or `None` for the list and its creation form.
    editing: Option<String>,
    errors: Vec<String>,
    problems: FieldMessages,
    form: CategoryForm,
    picture: Option<Picture>,
}

async fn categories_page(
    state: &AppState,
    ctx: &RequestContext,
    editing: Option<String>,
    form: CategoryForm,
    problems: FieldMessages,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let categories = service::categories(state)
        .await
        .map_err(AppError::from)?
        .as_ref()
        .clone();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = CategoriesPage {
        layout: Layout::new(state, ctx, "Catégories — administration"),
        notice,
        categories,
        picture: optional(&form.image).map(|i| Picture::new(state, Some(&i), 120)),
        editing,
        errors: problems.summary(),
        problems,
        form,
    };
    let mut response = render(&view, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `/admin/categories`: every category, and the form to create one.
pub async fn page_admin_categories(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref())?;
    categories_page(
        &state,
        &ctx,
        None,
        CategoryForm::default(),
        FieldMessages::default(),
        notice(done_of(&pairs)),
    )
    .await
}

pub async fn page_admin_create_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<CategoryForm>,
) -> Result<Response, PageError> {
    let input = CreateCategory {
        name: form.name.clone(),
        slug: optional(&form.slug),
        description: optional(&form.description),
        image: optional(&form.image),
    };
    let problems = match service::create_category(&state, &input, &admin.id).await {
        Ok(_) => return Ok(Redirect::to("/admin/categories?fait=categorie-creee").into_response()),
        Err(err) => refused(err)?,
    };
    categories_page(&state, &ctx, None, form, problems, None).await
}

/// `/admin/categories/{slug}`: the edit form.
pub async fn page_admin_category(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref())?;
    let category = service::category(&state, &slug)
        .await
        .map_err(AppError::from)?;
    categories_page(
        &state,
        &ctx,
        Some(slug),
        CategoryForm::of(&category),
        FieldMessages::default(),
        notice(done_of(&pairs)),
    )
    .await
}

pub async fn page_admin_update_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    CsrfForm(mut form): CsrfForm<CategoryForm>,
) -> Result<Response, PageError> {
    form.slug = slug.clone();
    let patch = UpdateCategory {
        name: Some(form.name.clone()),
        description: Some(optional(&form.description)),
        image: Some(optional(&form.image)),
    };
    let problems = match service::update_category(&state, &slug, &patch, &admin.id).await {
        Ok(_) => {
            return Ok(Redirect::to(&format!(
                "/admin/categories/{slug}?fait=categorie-enregistree"
            ))
            .into_response());
        }
        Err(err) => refused(err)?,
    };
    categories_page(&state, &ctx, Some(slug), form, problems, None).await
}

/// `POST /admin/categories/{slug}/supprimer`: its products stay, without a category.
pub async fn page_admin_delete_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    Path(slug): Path<String>,
    CsrfForm(confirmation): CsrfForm<Confirmation>,
) -> Result<Response, PageError> {
    if !confirmation.given() {
        let category = service::category(&state, &slug)
            .await
            .map_err(AppError::from)?;
        return ConfirmPage {
            layout: Layout::new(&state, &ctx, "Supprimer une catégorie"),
            heading: format!("Supprimer la catégorie « {} » ?", category.name),
            question: format!(
                "Ses {} produit(s) restent en vente, sans catégorie.",
                category.product_count
            ),
            detail: None,
            action: format!("/admin/categories/{slug}/supprimer"),
            fields: Vec::new(),
            confirm_label: "Supprimer la catégorie",
            back_href: "/admin/categories",
            back_label: "Garder la catégorie",
        }
        .render();
    }
    service::delete_category(&state, &slug, &admin.id)
        .await
        .map_err(AppError::from)?;
    Ok(Redirect::to("/admin/categories?fait=categorie-supprimee").into_response())
}
