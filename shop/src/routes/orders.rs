//! Orders: the customer's pages (`/compte/commandes`) and API (`/api/v1/orders`), and the administrators' page
//! (`/admin/commandes`) and API (`/api/v1/admin/orders`) that move an order along its lifecycle.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::extract::ApiJson;
use super::guards::{Admin, CsrfForm, CsrfHeader};
use super::openapi::Data;
use super::pages::{ConfirmPage, Layout, PageError, confirmed, french_date, render};
use super::personal_data;
use crate::AppState;
use crate::auth::{CurrentUser, RequestContext};
use crate::domain::checkout::rate_display_fr;
use crate::domain::{OrderStatus, Quantity, Role, line_total};
use crate::error::{AppError, InvalidField};
use crate::services::orders as service;
use crate::store::Order;
use crate::web::CachePolicy;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemJson {
    product_slug: Option<String>,
    name: String,
    unit_price_cents: i64,
    quantity: Quantity,
    line_total_cents: i64,
    image: Option<String>,
}

/// An order as the API shows it: amounts in cents (EUR, VAT included) with the formatted total.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderJson {
    id: String,
    number: String,
    status: OrderStatus,
    status_label: &'static str,
    currency: String,
    subtotal_cents: i64,
    shipping_cents: i64,
    total_cents: i64,
    vat_cents: i64,
    vat_rate_bp: i32,
    total: String,
    shipping_method: Option<String>,
    /// The address the order ships to, as it was when the order was placed.
    #[schema(value_type = Object)]
    address: serde_json::Value,
    #[serde(serialize_with = "crate::domain::time::serialize_utc")]
    created_at: chrono::NaiveDateTime,
    /// When an unpaid order gives its stock back.
    #[serde(serialize_with = "crate::domain::time::serialize_utc_opt")]
    expires_at: Option<chrono::NaiveDateTime>,
    items: Vec<ItemJson>,
}

impl From<&Order> for OrderJson {
    fn from(o: &Order) -> Self {
        OrderJson {
            id: o.id.clone(),
            number: o.number.clone(),
            status: o.status,
            status_label: o.status.label_fr(),
            currency: o.currency.clone(),
            subtotal_cents: o.subtotal.cents(),
            shipping_cents: o.shipping.cents(),
            total_cents: o.total.cents(),
            vat_cents: o.vat.cents(),
            vat_rate_bp: o.vat_rate_bp,
            total: o.total.display_fr(),
            shipping_method: o.shipping_method.clone(),
            address: o.address.clone(),
            created_at: o.created_at,
            expires_at: (o.status == OrderStatus::Pending)
                .then_some(o.expires_at)
                .flatten(),
            items: o
                .items
                .iter()
                .map(|i| ItemJson {
                    product_slug: i.product_slug.clone(),
                    name: i.name.clone(),
                    unit_price_cents: i.unit_price.cents(),
                    quantity: i.quantity,
                    line_total_cents: line_total(i.unit_price, i.quantity).cents(),
                    image: i.image.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The page, from 1
    #[serde(default)]
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    page: Option<String>,
    /// Only the orders in that status (administrators' list only)
    #[serde(default)]
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
}

/// A `page` query parameter: 1 when absent, else a whole number from 1 to 10000.
pub(super) fn page_number(raw: Option<&str>) -> Result<u32, AppError> {
    match raw {
        None => Ok(1),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                AppError::InvalidParameter(InvalidField::new(
                    "page",
                    "doit être un entier entre 1 et 10000",
                ))
            }),
    }
}

fn status_filter(raw: Option<&str>) -> Result<Option<OrderStatus>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => OrderStatus::parse(v).map(Some).ok_or_else(|| {
            AppError::InvalidParameter(InvalidField::new(
                "status",
                "doit être PENDING, PAID, PROCESSING, SHIPPED, DELIVERED, CANCELLED ou REFUNDED",
            ))
        }),
    }
}

// ----- customer API -----

#[utoipa::path(get, operation_id = "listOrders", path = "/api/v1/orders", tag = "orders", params(ListQuery), security(("session" = [])),
    responses((status = 200, description = "The customer's orders, newest first, 20 a page", body = Data<Vec<OrderJson>>)))]
pub async fn api_orders(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let page = page_number(q.page.as_deref())?;
    let orders = service::for_customer(state.store(), &user, page).await?;
    Ok(personal_data(
        axum::http::StatusCode::OK,
        orders.iter().map(OrderJson::from).collect::<Vec<_>>(),
    ))
}

#[utoipa::path(get, operation_id = "getOrder", path = "/api/v1/orders/{number}", tag = "orders", params(("number" = String, Path, description = "The order's number")), security(("session" = [])),
    responses((status = 200, description = "The order (its customer's, or any for an administrator)", body = Data<OrderJson>)))]
pub async fn api_order(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(number): Path<String>,
) -> Result<Response, AppError> {
    let order = service::visible_to(state.store(), &user, &number).await?;
    Ok(personal_data(
        axum::http::StatusCode::OK,
        OrderJson::from(&order),
    ))
}

// ----- admin API -----

fn admin(ctx: &RequestContext) -> Result<&crate::store::User, AppError> {
    let user = ctx.user.as_ref().ok_or(AppError::Unauthenticated)?;
    if user.role != Role::Admin {
        tracing::warn!(user = %user.id, "admin route refused to a non-admin");
        return Err(AppError::Forbidden);
    }
    Ok(user)
}

#[utoipa::path(get, operation_id = "listAllOrders", path = "/api/v1/admin/orders", tag = "orders", params(ListQuery), security(("session" = [])),
    responses((status = 200, description = "Every order, newest first, 20 a page", body = Data<Vec<OrderJson>>)))]
pub async fn api_admin_orders(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let page = page_number(q.page.as_deref())?;
    let status = status_filter(q.status.as_deref())?;
    let orders = service::list_all(state.store(), status, page).await?;
    Ok(personal_data(
        axum::http::StatusCode::OK,
        orders.iter().map(OrderJson::from).collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// PROCESSING, SHIPPED, DELIVERED or CANCELLED, as the order's lifecycle allows from where it is
    #[schema(value_type = OrderStatus)]
    status: String,
}

fn target_status(raw: &str) -> Result<OrderStatus, AppError> {
    OrderStatus::parse(raw).ok_or_else(|| {
        AppError::Validation(InvalidField::new(
            "status",
            "doit être PROCESSING, SHIPPED, DELIVERED ou CANCELLED",
        ))
    })
}

#[utoipa::path(patch, operation_id = "moveOrder", path = "/api/v1/admin/orders/{number}", tag = "orders", params(("number" = String, Path, description = "The order's number")), request_body = StatusBody, security(("session" = [], "csrf" = [])),
    responses((status = 200, description = "The order in its new status", body = Data<OrderJson>)))]
pub async fn api_admin_move(
    State(state): State<AppState>,
    Admin(admin): Admin,
    _: CsrfHeader,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Response, AppError> {
    let to = target_status(&body.status)?;
    let order = service::admin_move(&state, &number, to, &admin.id).await?;
    Ok(personal_data(
        axum::http::StatusCode::OK,
        OrderJson::from(&order),
    ))
}

// ----- pages -----

pub struct ItemRow {
    pub slug: Option<String>,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: String,
    pub total: String,
}

pub struct OrderRow {
    pub number: String,
    pub date: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub total: String,
    pub item_count: i64,
}

impl OrderRow {
    fn of(o: &Order) -> Self {
        OrderRow {
            number: o.number.clone(),
            date: french_date(o.created_at),
            status: o.status.label_fr(),
            status_code: o.status.as_str(),
            total: o.total.display_fr(),
            item_count: o.items.iter().map(|i| i64::from(i.quantity.get())).sum(),
        }
    }
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage<'a> {
    layout: Layout<'a>,
    orders: Vec<OrderRow>,
}

fn sign_in_first(path: &str) -> Response {
    Redirect::to(&format!("/connexion?next={path}")).into_response()
}

pub async fn page_orders(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/commandes"));
    };
    let orders = service::for_customer(state.store(), &user, 1).await?;
    let page = OrdersPage {
        layout: Layout::new(&state, &ctx, "Mes commandes"),
        orders: orders.iter().map(OrderRow::of).collect(),
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage<'a> {
    layout: Layout<'a>,
    order: OrderRow,
    items: Vec<ItemRow>,
    subtotal: String,
    shipping: String,
    /// The delivery method chosen, as the checkout page named it.
    shipping_label: String,
    vat: String,
    vat_rate: String,
    address_lines: Vec<String>,
    pending: bool,
    /// Stripe is configured: a pending order can be paid from here.
    can_pay: bool,
    expires: Option<String>,
}

fn address_lines(address: &serde_json::Value) -> Vec<String> {
    let field = |k: &str| {
        address
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut lines = vec![
        format!("{} {}", field("firstName"), field("lastName"))
            .trim()
            .to_string(),
        field("street"),
    ];
    let apartment = field("apartment");
    if !apartment.is_empty() {
        lines.push(apartment);
    }
    lines.push(
        format!("{} {}", field("postalCode"), field("city"))
            .trim()
            .to_string(),
    );
    lines.push(field("country"));
    lines.retain(|l| !l.is_empty());
    lines
}

pub async fn page_order(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/commandes"));
    };
    let order = service::visible_to(state.store(), &user, &number).await?;
    let pending = order.status == OrderStatus::Pending;
    let page = OrderPage {
        layout: Layout::new(&state, &ctx, format!("Commande {}", order.number)),
        items: order
            .items
            .iter()
            .map(|i| ItemRow {
                slug: i.product_slug.clone(),
                name: i.name.clone(),
                quantity: i.quantity,
                unit_price: i.unit_price.display_fr(),
                total: line_total(i.unit_price, i.quantity).display_fr(),
            })
            .collect(),
        subtotal: order.subtotal.display_fr(),
        shipping: order.shipping.display_fr(),
        shipping_label: order
            .shipping_method
            .as_deref()
            .and_then(|m| crate::domain::checkout::ShippingMethod::parse("shipping_method", m).ok())
            .map_or("Livraison", |m| m.label_fr())
            .to_string(),
        vat: order.vat.display_fr(),
        vat_rate: rate_display_fr(order.vat_rate_bp),
        address_lines: address_lines(&order.address),
        pending,
        can_pay: pending && state.stripe().is_some() && order.user_id == user.id,
        expires: order.expires_at.filter(|_| pending).map(|t| {
            let paris = crate::domain::time::in_paris(t);
            format!("{} à {}", french_date(t), paris.format("%H:%M"))
        }),
        order: OrderRow::of(&order),
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Template)]
#[template(path = "admin_orders.html")]
struct AdminOrdersPage<'a> {
    layout: Layout<'a>,
    orders: Vec<AdminRow>,
    filter: String,
    statuses: Vec<&'static str>,
    message: Option<String>,
}

struct AdminRow {
    row: OrderRow,
    email: String,
    /// The moves an administrator can make from this status.
    moves: Vec<(&'static str, &'static str)>,
}

pub async fn page_admin_orders(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if ctx.user.is_none() {
        return Ok(sign_in_first("/admin/commandes"));
    }
    admin(&ctx)?;
    let status = status_filter(q.status.as_deref())?;
    let page = page_number(q.page.as_deref())?;
    admin_page(&state, &ctx, status, page, None).await
}

async fn admin_page(
    state: &AppState,
    ctx: &RequestContext,
    status: Option<OrderStatus>,
    page: u32,
    message: Option<String>,
) -> Result<Response, PageError> {
    let orders = service::list_all(state.store(), status, page).await?;
    let page = AdminOrdersPage {
        layout: Layout::new(state, ctx, "Commandes (administration)"),
        orders: orders
            .iter()
            .map(|o| AdminRow {
                row: OrderRow::of(o),
                email: o.email.clone().unwrap_or_default(),
                moves: OrderStatus::ALL
                    .into_iter()
                    .filter(|to| o.status.can_move_to(*to, crate::domain::Actor::Admin))
                    .map(|to| (to.as_str(), to.action_fr()))
                    .collect(),
            })
            .collect(),
        filter: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        statuses: OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
        message,
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Deserialize)]
pub struct MoveForm {
    status: String,
    /// `oui` once the administrator confirmed a cancellation.
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn page_admin_move(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: RequestContext,
    Path(number): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let to = target_status(&form.status)?;
    if to == OrderStatus::Cancelled && !confirmed(form.confirm.as_deref()) {
        // The order must exist before anyone is asked about it.
        service::visible_to(state.store(), &admin, &number)
            .await
            .map_err(AppError::from)?;
        return ConfirmPage {
            layout: Layout::new(&state, &ctx, "Annuler une commande"),
            heading: format!("Annuler la commande {number} ?"),
            question: "La commande passe au statut « Annulée » : son paiement en attente est annulé et ses articles \
                       sont remis en vente."
                .into(),
            detail: Some("Cette action est définitive."),
            action: format!("/admin/commandes/{number}/statut"),
            fields: vec![("status", to.as_str().to_string())],
            confirm_label: "Annuler la commande",
            back_href: "/admin/commandes",
            back_label: "Ne pas annuler",
        }
        .render();
    }
    match service::admin_move(&state, &number, to, &admin.id)
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to("/admin/commandes").into_response()),
        Err(err @ AppError::Conflict { .. }) => {
            let status = err.status();
            let mut response = admin_page(&state, &ctx, None, 1, Some(err.to_string())).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(err) => Err(err.into()),
    }
}
