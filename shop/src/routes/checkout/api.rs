//! Checkout's JSON API: `GET /api/v1/checkout/quote` and `POST /api/v1/checkout`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::CurrentUser;
use crate::domain::address::AddressFields;
use crate::domain::checkout::{Country, FREE_SHIPPING_FROM, ShippingMethod, rate_display_fr};
use crate::error::AppError;
use crate::routes::extract::ApiJson;
use crate::routes::guards::ApiWriter;
use crate::routes::openapi::Data;
use crate::routes::orders::OrderJson;
use crate::routes::personal_data;
use crate::services::checkout::{
    self as service, AddressChoice, Checkout, CheckoutRequest, Payment, cart_version,
    parse_idempotency_key, parse_method, quote_cart,
};
use crate::store::CartOwner;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteQuery {
    /// `standard` (the default) or `express`
    #[serde(default)]
    #[param(value_type = Option<ShippingMethod>)]
    shipping_method: Option<String>,
    /// Where the order ships: FR (the default), MC, BE or LU
    #[serde(default)]
    #[param(value_type = Option<Country>)]
    country: Option<String>,
}

/// What the cart costs with a method and a destination (amounts in cents, VAT included).
#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteJson {
    subtotal_cents: i64,
    shipping_cents: i64,
    total_cents: i64,
    /// Included in `total_cents`.
    vat_cents: i64,
    /// In basis points: 2000 is 20 %.
    vat_rate_bp: i32,
    currency: &'static str,
    shipping_method: ShippingMethod,
    country: Country,
    free_shipping_from_cents: i64,
    /// The cart's lines as quoted: checkout refuses an order when the cart changed since.
    cart_version: String,
    display: QuoteDisplay,
}

/// The amounts as the checkout page shows them, for the script that keeps its summary current.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteDisplay {
    subtotal: String,
    shipping: String,
    total: String,
    vat: String,
    vat_rate: String,
    shipping_method: &'static str,
}

#[utoipa::path(get, operation_id = "quoteCheckout", path = "/api/v1/checkout/quote", tag = "checkout", params(QuoteQuery), security(("session" = [])),
    responses((status = 200, description = "The cart's total with that method and destination", body = Data<QuoteJson>)))]
/// What the signed-in customer's cart would cost with a method and destination.
pub async fn api_quote(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<QuoteQuery>,
) -> Result<Response, AppError> {
    let method = parse_method(q.shipping_method.as_deref()).map_err(AppError::invalid_parameter)?;
    let country = match q.country.as_deref() {
        Some(c) => Country::parse("country", c).map_err(AppError::invalid_parameter)?,
        None => Country::France,
    };
    let lines = state.store().cart_lines(&CartOwner::User(user.id)).await?;
    let quote = quote_cart(&lines, method, country);
    let body = QuoteJson {
        subtotal_cents: quote.subtotal.cents(),
        shipping_cents: quote.shipping.cents(),
        total_cents: quote.total.cents(),
        vat_cents: quote.vat.cents(),
        vat_rate_bp: quote.vat_rate_bp,
        currency: "EUR",
        shipping_method: quote.method,
        country: quote.country,
        free_shipping_from_cents: FREE_SHIPPING_FROM.cents(),
        cart_version: cart_version(&lines),
        display: QuoteDisplay {
            subtotal: quote.subtotal.display_fr(),
            shipping: quote.shipping.display_fr(),
            total: quote.total.display_fr(),
            vat: quote.vat.display_fr(),
            vat_rate: rate_display_fr(quote.vat_rate_bp),
            shipping_method: method.label_fr(),
        },
    };
    Ok(personal_data(StatusCode::OK, body))
}

/// An order from the cart: to a saved address (`address_id`) or a new one (`address`), one of the two.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// A saved address's id
    #[serde(default)]
    address_id: Option<String>,
    /// A new address
    #[serde(default)]
    address: Option<AddressFields>,
    /// Keep the new address in the address book
    #[serde(default)]
    save_address: bool,
    /// `standard` (the default) or `express`
    #[serde(default)]
    #[schema(value_type = Option<ShippingMethod>)]
    shipping_method: Option<String>,
    /// The quote's `cart_version`: the order is refused (409) if the cart changed since
    #[serde(default)]
    cart_version: Option<String>,
}

/// The payment as the API shows it; when the provider failed, with the sentence the customer reads.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum PaymentJson<'a> {
    /// No payment provider in this environment (the demo default).
    NotConfigured,
    /// The order is past payment (paid, cancelled …).
    NotDue,
    /// Pay with Stripe's Payment Element.
    Stripe {
        payment_intent: &'a str,
        client_secret: &'a str,
        publishable_key: &'a str,
    },
    /// The provider failed just now; the order is kept and payment can be retried.
    Unavailable { message: &'static str },
}

impl<'a> From<&'a Payment> for PaymentJson<'a> {
    fn from(payment: &'a Payment) -> Self {
        match payment {
            Payment::NotConfigured => PaymentJson::NotConfigured,
            Payment::NotDue => PaymentJson::NotDue,
            Payment::Stripe {
                payment_intent,
                client_secret,
                publishable_key,
            } => PaymentJson::Stripe {
                payment_intent,
                client_secret,
                publishable_key,
            },
            Payment::Unavailable => PaymentJson::Unavailable {
                message: crate::error::PAYMENT_RETRY_LATER,
            },
        }
    }
}

/// An order placed (or found again by its idempotency key) and how to pay it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckoutJson<'a> {
    order: OrderJson,
    /// False when the idempotency key returned an earlier order.
    created: bool,
    payment: PaymentJson<'a>,
}

fn checkout_json(checkout: &Checkout) -> Response {
    let status = if checkout.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    personal_data(
        status,
        CheckoutJson {
            order: OrderJson::from(&checkout.order),
            created: checkout.created,
            payment: PaymentJson::from(&checkout.payment),
        },
    )
}

#[utoipa::path(post, operation_id = "checkout", path = "/api/v1/checkout", tag = "checkout", request_body = CheckoutBody, security(("session" = [], "csrf" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "8 to 100 letters, digits or `-_.:`: the same key answers the same order", min_length = 8, max_length = 100, pattern = "^[A-Za-z0-9._:-]{8,100}$")),
    responses(
        (status = 201, description = "The order placed, and how to pay it", body = Data<CheckoutJson>),
        (status = 200, description = "The order this idempotency key placed earlier", body = Data<CheckoutJson>),
    ))]
/// Places an order from the cart. `Idempotency-Key` makes retries safe: the same key returns the same order.
pub async fn api_checkout(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<Response, AppError> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(v) => Some(parse_idempotency_key(v.to_str().unwrap_or_default())?),
        None => None,
    };
    let address = match (body.address_id, body.address) {
        (Some(id), None) => AddressChoice::Saved(id),
        (None, Some(fields)) => AddressChoice::New {
            fields,
            save: body.save_address,
        },
        _ => {
            return Err(AppError::Validation(crate::error::InvalidField::new(
                "address",
                "donnez soit address_id (une adresse enregistrée), soit address (une nouvelle adresse)",
            )));
        }
    };
    let request = CheckoutRequest {
        address,
        method: parse_method(body.shipping_method.as_deref())?,
        idempotency_key,
        cart_version: body.cart_version,
    };
    let checkout = service::place(&state, &user, request).await?;
    Ok(checkout_json(&checkout))
}
