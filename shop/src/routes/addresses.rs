//! Saved addresses: `/compte/adresses` (plain forms) and `/api/v1/addresses`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use std::collections::BTreeMap;

use super::extract::{ApiJson, refuse_unknown};
use super::guards::ApiWriter;
use super::guards::{CsrfForm, SignedIn};
use super::openapi::Data;
use super::pages::{ConfirmPage, Confirmation, FieldMessages, Layout, PageError, render};
use super::personal_data;
use crate::AppState;
use crate::auth::{CurrentUser, RequestContext};
use crate::domain::address::{AddressFields, AddressInput};
use crate::domain::checkout::Country;
use crate::error::AppError;
use crate::services::addresses as service;
use crate::store::Address;
use crate::web::CachePolicy;

// ----- API -----

#[utoipa::path(get, operation_id = "listAddresses", path = "/api/v1/addresses", tag = "addresses", security(("session" = [])),
    responses((status = 200, description = "The customer's addresses, the default first", body = Data<Vec<Address>>)))]
pub async fn api_list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    Ok(personal_data(
        StatusCode::OK,
        service::list(state.store(), &user.id).await?,
    ))
}

/// An address and whether it becomes the default. Unknown fields are refused.
#[derive(Deserialize)]
pub struct AddressBody {
    #[serde(flatten)]
    fields: AddressFields,
    #[serde(default)]
    is_default: bool,
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

/// The address's fields and `is_default`, in one object that refuses any other field (a derived schema would say
/// `allOf` the fields, whose `additionalProperties: false` would refuse `is_default` too).
impl utoipa::PartialSchema for AddressBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{Object, Schema, Type};
        let mut object = match AddressFields::schema() {
            RefOr::T(Schema::Object(object)) => object,
            _ => Object::new(),
        };
        object.description = Some(
            "An address and whether it becomes the default. Unknown fields are refused.".into(),
        );
        object.properties.insert(
            "is_default".into(),
            RefOr::T(Schema::Object(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some(
                        "The address checkout offers first (false when absent)",
                    ))
                    .build(),
            )),
        );
        RefOr::T(Schema::Object(object))
    }
}

impl utoipa::ToSchema for AddressBody {}

#[utoipa::path(post, operation_id = "createAddress", path = "/api/v1/addresses", tag = "addresses", request_body = AddressBody, security(("session" = [], "csrf" = [])),
    responses((status = 201, description = "The address saved", body = Data<Address>)))]
pub async fn api_create(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    ApiJson(body): ApiJson<AddressBody>,
) -> Result<Response, AppError> {
    refuse_unknown(&body.unknown)?;
    let address = service::create(state.store(), &user.id, &body.fields, body.is_default).await?;
    Ok(personal_data(StatusCode::CREATED, address))
}

#[utoipa::path(put, operation_id = "updateAddress", path = "/api/v1/addresses/{id}", tag = "addresses", params(("id" = String, Path, description = "The address's id")), request_body = AddressBody, security(("session" = [], "csrf" = [])),
    responses((status = 200, description = "The address as it now is", body = Data<Address>)))]
pub async fn api_update(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddressBody>,
) -> Result<Response, AppError> {
    refuse_unknown(&body.unknown)?;
    let address =
        service::update(state.store(), &user.id, &id, &body.fields, body.is_default).await?;
    Ok(personal_data(StatusCode::OK, address))
}

#[utoipa::path(delete, operation_id = "deleteAddress", path = "/api/v1/addresses/{id}", tag = "addresses", params(("id" = String, Path, description = "The address's id")), security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Deleted")))]
pub async fn api_delete(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    service::delete(state.store(), &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- pages -----

struct AddressCard {
    address: Address,
    /// The address as form values (what was typed, after a refused edit), and the suffix that keeps this form's
    /// ids unique.
    fields: AddressFields,
    suffix: String,
    countries: Vec<(&'static str, &'static str, bool)>,
    is_default: bool,
    /// A refused edit's errors, beside its fields.
    problems: FieldMessages,
    /// The card whose edit was refused: its form stays open.
    open: bool,
}

#[derive(Template)]
#[template(path = "addresses.html")]
struct AddressesPage<'a> {
    layout: Layout<'a>,
    errors: Vec<String>,
    /// The new address's errors, beside its fields.
    problems: FieldMessages,
    cards: Vec<AddressCard>,
    fields: AddressFields,
    countries: Vec<(&'static str, &'static str, bool)>,
}

fn countries(selected: &str) -> Vec<(&'static str, &'static str, bool)> {
    let selected = Country::parse("country", selected).unwrap_or(Country::France);
    Country::ALL
        .into_iter()
        .map(|c| (c.code(), c.name_fr(), c == selected))
        .collect()
}

/// A form sent back to be corrected: what was typed, the errors beside its fields, and the summary's.
#[derive(Default)]
struct Refused {
    /// The saved address being edited, with its default flag as sent; `None` for the new address.
    editing: Option<(String, bool)>,
    fields: AddressFields,
    problems: FieldMessages,
    errors: Vec<String>,
}

async fn addresses_page(
    state: &AppState,
    ctx: &RequestContext,
    user_id: &str,
    refused: Refused,
    status: StatusCode,
) -> Result<Response, PageError> {
    let saved = service::list(state.store(), user_id).await?;
    let (mut new_fields, mut new_problems) = (AddressFields::default(), FieldMessages::default());
    let mut edit = None;
    match refused.editing {
        Some((id, is_default)) => edit = Some((id, is_default, refused.fields, refused.problems)),
        None => (new_fields, new_problems) = (refused.fields, refused.problems),
    }
    let cards = saved
        .into_iter()
        .map(|a| {
            let (fields, is_default, problems, open) = match edit.take_if(|(id, ..)| *id == a.id) {
                Some((_, is_default, fields, problems)) => (fields, is_default, problems, true),
                None => (
                    a.fields.clone(),
                    a.is_default,
                    FieldMessages::default(),
                    false,
                ),
            };
            AddressCard {
                countries: countries(&fields.country),
                fields,
                suffix: format!("-{}", a.id),
                is_default,
                problems,
                open,
                address: a,
            }
        })
        .collect();
    let page = AddressesPage {
        layout: Layout::new(state, ctx, "Mes adresses"),
        errors: refused.errors,
        problems: new_problems,
        cards,
        countries: countries(&new_fields.country),
        fields: new_fields,
    };
    let mut response = render(&page, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page_list(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/compte/adresses").into_response());
    };
    addresses_page(&state, &ctx, &user.id, Refused::default(), StatusCode::OK).await
}

/// The address form: the default flag and the address. Unknown fields are refused.
#[derive(Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    is_default: Option<String>,
    #[serde(flatten)]
    fields: AddressFields,
    #[serde(flatten)]
    unknown: BTreeMap<String, String>,
}

impl AddressForm {
    fn split(self) -> Result<(AddressFields, bool), AppError> {
        refuse_unknown(&self.unknown)?;
        Ok((self.fields, self.is_default.is_some()))
    }
}

/// The address book again after a write: back to the list when it was saved; otherwise the form sent, with
/// every broken rule beside its field (422) or the conflict in the summary, and what was typed kept.
async fn write(
    state: &AppState,
    user_id: &str,
    ctx: &RequestContext,
    editing: Option<&str>,
    form: AddressForm,
) -> Result<Response, PageError> {
    let (fields, is_default) = form.split()?;
    let refused = |problems: FieldMessages, errors: Vec<String>, fields: AddressFields| Refused {
        editing: editing.map(|id| (id.to_string(), is_default)),
        fields,
        problems,
        errors,
    };
    if let Err(broken) = AddressInput::checked(&fields) {
        let problems = FieldMessages::of_rules(broken);
        let errors = problems.summary();
        let refused = refused(problems, errors, fields);
        return addresses_page(
            state,
            ctx,
            user_id,
            refused,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = match editing {
        Some(id) => service::update(state.store(), user_id, id, &fields, is_default).await,
        None => service::create(state.store(), user_id, &fields, is_default).await,
    };
    match result.map_err(AppError::from) {
        Ok(_) => Ok(Redirect::to("/compte/adresses").into_response()),
        Err(err @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let errors = vec![super::pages::form_error_text(&err)];
            let refused = refused(FieldMessages::default(), errors, fields);
            addresses_page(state, ctx, user_id, refused, err.status()).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn page_create(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Result<Response, PageError> {
    write(&state, &user.id, &ctx, None, form).await
}

pub async fn page_update(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Result<Response, PageError> {
    write(&state, &user.id, &ctx, Some(&id), form).await
}

pub async fn page_delete(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    Path(id): Path<String>,
    CsrfForm(confirmation): CsrfForm<Confirmation>,
) -> Result<Response, PageError> {
    if !confirmation.given() {
        let address = service::get(state.store(), &user.id, &id).await?;
        let f = &address.fields;
        return ConfirmPage {
            layout: Layout::new(&state, &ctx, "Supprimer une adresse"),
            heading: "Supprimer cette adresse ?".into(),
            question: format!(
                "{} : {} {}, {}, {} {}.",
                f.label.as_deref().unwrap_or("Adresse"),
                f.first_name,
                f.last_name,
                f.street,
                f.postal_code,
                f.city
            ),
            detail: Some(
                "Les commandes déjà passées gardent l'adresse à laquelle elles ont été livrées.",
            ),
            action: format!("/compte/adresses/{}/supprimer", address.id),
            fields: Vec::new(),
            confirm_label: "Supprimer l'adresse",
            back_href: "/compte/adresses",
            back_label: "Garder l'adresse",
        }
        .render();
    }
    service::delete(state.store(), &user.id, &id).await?;
    Ok(Redirect::to("/compte/adresses").into_response())
}
