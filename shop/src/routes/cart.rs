//! The cart: `/panier` (works without JavaScript: plain forms) and `/api/v1/cart`. A visitor gets a cart cookie on
//! the first addition; once signed in, the cart is the user's (see the merge in `accounts`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::ApiJson;
use super::guards::{CsrfForm, CsrfHeader, NoFields};
use super::openapi::Data;
use super::pages::{Layout, PageError, render};
use crate::AppState;
use crate::auth::{RequestContext, hash_token, random_token};
use crate::domain::{Money, Quantity};
use crate::error::AppError;
use crate::services::cart::{self as service, CartView};
use crate::store::CartOwner;
use crate::web::CachePolicy;

/// The owner to write to: the signed-in user, the visitor's cookie, or a new visitor cookie (returned to set).
/// Whose cart a write changes, and the cookie to send: a new visitor gets one; a returning visitor's is renewed,
/// so its 30 days count from the last change (as the clean-up of abandoned carts does).
fn owner_for_write(state: &AppState, ctx: &RequestContext) -> (CartOwner, Option<HeaderValue>) {
    match ctx.cart_owner() {
        Some(owner @ CartOwner::Visitor(_)) => {
            use secrecy::ExposeSecret;
            let renewed = ctx
                .cart_token
                .as_ref()
                .map(|t| state.cookies().cart_cookie(t.expose_secret()));
            (owner, renewed)
        }
        Some(owner) => (owner, None),
        None => {
            let token = random_token();
            let cookie = state.cookies().cart_cookie(&token);
            (CartOwner::Visitor(hash_token(&token)), Some(cookie))
        }
    }
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

// ----- API -----

fn cart_response(cart: &CartView) -> Response {
    super::personal_data(StatusCode::OK, cart)
}

#[utoipa::path(get, operation_id = "getCart", path = "/api/v1/cart", tag = "cart",
    responses((status = 200, description = "The cart: the signed-in customer's, or the visitor's cookie's (empty without one)", body = Data<CartView>)))]
pub async fn api_cart(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, AppError> {
    let cart = service::load(state.store(), ctx.cart_owner().as_ref()).await?;
    Ok(cart_response(&cart))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// The product's slug
    slug: String,
    /// How many to add to what the cart holds
    #[schema(minimum = 0)]
    quantity: i32,
}

#[utoipa::path(post, operation_id = "addToCart", path = "/api/v1/cart/items", tag = "cart", request_body = AddBody, security(("csrf" = [])),
    responses((status = 200, description = "The cart as it now is; a visitor's first write sets the cart cookie", body = Data<CartView>)))]
pub async fn api_add(
    State(state): State<AppState>,
    _: CsrfHeader,
    ctx: RequestContext,
    ApiJson(body): ApiJson<AddBody>,
) -> Result<Response, AppError> {
    let (owner, cookie) = owner_for_write(&state, &ctx);
    let quantity = Quantity::new("quantity", body.quantity)?;
    let cart = service::add(state.store(), &owner, &body.slug, quantity).await?;
    Ok(with_cookie(cart_response(&cart), cookie))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBody {
    /// The line's new quantity; 0 removes it
    #[schema(minimum = 0)]
    quantity: i32,
}

#[utoipa::path(put, operation_id = "setCartLine", path = "/api/v1/cart/items/{slug}", tag = "cart", params(("slug" = String, Path, description = "The product's slug")), request_body = SetBody, security(("csrf" = [])),
    responses((status = 200, description = "The cart as it now is; a visitor's first write sets the cart cookie", body = Data<CartView>)))]
pub async fn api_set(
    State(state): State<AppState>,
    _: CsrfHeader,
    ctx: RequestContext,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<Response, AppError> {
    let (owner, cookie) = owner_for_write(&state, &ctx);
    let quantity = Quantity::new("quantity", body.quantity)?;
    let cart = service::set(state.store(), &owner, &slug, quantity).await?;
    Ok(with_cookie(cart_response(&cart), cookie))
}

#[utoipa::path(delete, operation_id = "clearCart", path = "/api/v1/cart", tag = "cart", security(("csrf" = [])),
    responses((status = 200, description = "The cart, empty", body = Data<CartView>)))]
/// `DELETE /api/v1/cart`: empties the cart (an empty cart stays empty).
pub async fn api_clear(
    State(state): State<AppState>,
    _: CsrfHeader,
    ctx: RequestContext,
) -> Result<Response, AppError> {
    let cart = match ctx.cart_owner() {
        Some(owner) => service::clear(state.store(), &owner).await?,
        None => service::load(state.store(), None).await?,
    };
    Ok(cart_response(&cart))
}

#[utoipa::path(delete, operation_id = "removeCartLine", path = "/api/v1/cart/items/{slug}", tag = "cart", params(("slug" = String, Path, description = "The product's slug")), security(("csrf" = [])),
    responses((status = 200, description = "The cart without that product", body = Data<CartView>)))]
pub async fn api_remove(
    State(state): State<AppState>,
    _: CsrfHeader,
    ctx: RequestContext,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let Some(owner) = ctx.cart_owner() else {
        return Err(AppError::NotFound("Panier vide"));
    };
    let cart = service::remove(state.store(), &owner, &slug).await?;
    Ok(cart_response(&cart))
}

// ----- Pages -----

struct LineRow {
    slug: String,
    name: String,
    unit_price: String,
    quantity: Quantity,
    total: String,
    stock: i32,
    /// The most the quantity field accepts: the stock, or the current quantity when the stock fell below it.
    max: i32,
    available: bool,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage<'a> {
    layout: Layout<'a>,
    cart: CartView,
    lines: Vec<LineRow>,
    subtotal: String,
    error: Option<String>,
}

fn cart_page(
    state: &AppState,
    ctx: &RequestContext,
    cart: CartView,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut layout = Layout::new(state, ctx, "Mon panier");
    layout.cart_count = cart.item_count;
    let lines = cart
        .lines
        .iter()
        .map(|l| LineRow {
            slug: l.slug.clone(),
            name: l.name.clone(),
            unit_price: Money::from_cents(l.unit_price_cents).display_fr(),
            quantity: l.quantity,
            total: Money::from_cents(l.line_total_cents).display_fr(),
            stock: l.stock,
            max: l.stock.max(l.quantity.get()),
            available: l.available,
        })
        .collect();
    let page = CartPage {
        layout,
        subtotal: cart.subtotal().display_fr(),
        lines,
        cart,
        error,
    };
    let mut response = render(&page, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page_cart(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let cart = service::load(state.store(), ctx.cart_owner().as_ref()).await?;
    cart_page(&state, &ctx, cart, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LineForm {
    slug: String,
    #[serde(default)]
    quantity: Option<String>,
}

/// What a cart form asks.
#[derive(Clone, Copy)]
pub enum FormAction {
    Add,
    Set,
    Remove,
}

async fn page_change(
    state: AppState,
    ctx: RequestContext,
    form: LineForm,
    action: FormAction,
) -> Result<Response, PageError> {
    let (owner, cookie) = owner_for_write(&state, &ctx);
    let quantity = match (action, form.quantity.as_deref()) {
        (FormAction::Remove, _) => Ok(Quantity::ZERO),
        (_, Some(raw)) => Quantity::parse("quantity", raw).map_err(AppError::from),
        (_, None) => Err(AppError::Validation(crate::error::InvalidField::new(
            "quantity",
            "est requise",
        ))),
    };
    let result = match quantity {
        Ok(quantity) => match action {
            FormAction::Add => service::add(state.store(), &owner, &form.slug, quantity).await,
            FormAction::Set | FormAction::Remove => {
                service::set(state.store(), &owner, &form.slug, quantity).await
            }
        }
        .map_err(AppError::from),
        Err(err) => Err(err),
    };
    match result {
        // Post/redirect/get: a reload does not add the item again.
        Ok(_) => Ok(with_cookie(Redirect::to("/panier").into_response(), cookie)),
        Err(
            err @ (AppError::Validation(_) | AppError::Conflict { .. } | AppError::NotFound(_)),
        ) => {
            let status = err.status();
            let cart = service::load(state.store(), Some(&owner)).await?;
            Ok(with_cookie(
                cart_page(&state, &ctx, cart, Some(err.to_string()), status)?,
                cookie,
            ))
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn page_add(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<LineForm>,
) -> Result<Response, PageError> {
    page_change(state, ctx, form, FormAction::Add).await
}

pub async fn page_set(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<LineForm>,
) -> Result<Response, PageError> {
    page_change(state, ctx, form, FormAction::Set).await
}

pub async fn page_remove(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<LineForm>,
) -> Result<Response, PageError> {
    page_change(state, ctx, form, FormAction::Remove).await
}

/// "Vider le panier".
pub async fn page_clear(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    if let Some(owner) = ctx.cart_owner() {
        service::clear(state.store(), &owner)
            .await
            .map_err(AppError::from)?;
    }
    Ok(Redirect::to("/panier").into_response())
}
