//! Checkout: `/commande` (a plain form: works without JavaScript), the payment page that mounts Stripe's Payment
//! Element, and `/api/v1/checkout`. Only signed-in customers check out.

mod api;

pub use api::*;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::refuse_unknown;
use super::guards::CsrfForm;
use super::pages::{FieldMessages, Layout, PageError, render};
use crate::AppState;
use crate::auth::{RequestContext, random_token};
use crate::domain::address::{AddressFields, AddressInput};
use crate::domain::checkout::{Country, FREE_SHIPPING_FROM, ShippingMethod, rate_display_fr};
use crate::domain::{Money, OrderStatus, Quantity, line_total};
use crate::error::AppError;
use crate::services::checkout::{
    self as service, AddressChoice, CheckoutRequest, Payment, cart_version, parse_idempotency_key,
    parse_method, quote_cart,
};
use crate::services::{addresses, orders};
use crate::store::{Address, CartLine, CartOwner, User};
use crate::web::{CachePolicy, StripeElements};

struct SummaryLine {
    name: String,
    quantity: Quantity,
    total: String,
}

struct MethodOption {
    value: &'static str,
    label: &'static str,
    price: String,
    checked: bool,
}

struct AddressOption {
    id: String,
    text: String,
    /// The address's country code, for the script that re-quotes when another address is chosen.
    country: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    layout: Layout<'a>,
    errors: Vec<String>,
    /// The new address's errors, beside its fields.
    problems: FieldMessages,
    empty: bool,
    lines: Vec<SummaryLine>,
    subtotal: String,
    shipping: String,
    total: String,
    /// The total shown, sent back with the order: the server places it only if it is still the total.
    total_cents: i64,
    vat: String,
    vat_rate: String,
    method_label: &'static str,
    free_from: String,
    methods: Vec<MethodOption>,
    saved: Vec<AddressOption>,
    new_checked: bool,
    fields: AddressFields,
    countries: Vec<(&'static str, &'static str, bool)>,
    save_address: bool,
    idempotency_key: String,
    cart_version: String,
    payment_configured: bool,
    expiry_minutes: u64,
    script: &'a str,
}

/// What the customer already chose (after a refused submission), to fill the form again.
#[derive(Default)]
struct Choices {
    address_id: Option<String>,
    fields: AddressFields,
    method: Option<ShippingMethod>,
    save_address: bool,
    idempotency_key: Option<String>,
}

fn address_text(a: &AddressFields) -> String {
    let mut text = format!("{} {}, {}", a.first_name, a.last_name, a.street);
    if let Some(apt) = &a.apartment {
        text.push_str(&format!(", {apt}"));
    }
    text.push_str(&format!(", {} {} ({})", a.postal_code, a.city, a.country));
    match &a.label {
        Some(label) => format!("{label} : {text}"),
        None => text,
    }
}

/// What the checkout page says about the last submission: in the summary, and beside the new address's fields.
#[derive(Default)]
struct Said {
    errors: Vec<String>,
    problems: FieldMessages,
}

impl Said {
    fn message(message: String) -> Self {
        Said {
            errors: vec![message],
            problems: FieldMessages::default(),
        }
    }

    fn beside_fields(problems: FieldMessages) -> Self {
        Said {
            errors: problems.summary(),
            problems,
        }
    }
}

async fn checkout_page(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    lines: Vec<CartLine>,
    choices: Choices,
    said: Said,
    status: StatusCode,
) -> Result<Response, PageError> {
    let Said { errors, problems } = said;
    let saved = addresses::list(state.store(), &user.id).await?;
    let (selected, new_checked, country) = destination(&saved, &choices);
    let method = choices.method.unwrap_or(ShippingMethod::Standard);
    let quote = quote_cart(&lines, method, country);
    let page = CheckoutPage {
        layout: Layout::new(state, ctx, "Commande"),
        errors,
        problems,
        empty: lines.is_empty(),
        subtotal: quote.subtotal.display_fr(),
        shipping: quote.shipping.display_fr(),
        total: quote.total.display_fr(),
        total_cents: quote.total.cents(),
        vat: quote.vat.display_fr(),
        vat_rate: rate_display_fr(quote.vat_rate_bp),
        method_label: method.label_fr(),
        free_from: FREE_SHIPPING_FROM.display_fr(),
        methods: ShippingMethod::ALL
            .into_iter()
            .map(|m| MethodOption {
                value: m.as_str(),
                label: m.label_fr(),
                price: match m.price(quote.subtotal) {
                    Money::ZERO => "offerte".to_string(),
                    price => price.display_fr(),
                },
                checked: m == method,
            })
            .collect(),
        saved: saved
            .iter()
            .map(|a| AddressOption {
                id: a.id.clone(),
                text: address_text(&a.fields),
                country: a.fields.country.clone(),
                checked: !new_checked && Some(a.id.as_str()) == selected.as_deref(),
            })
            .collect(),
        new_checked,
        countries: Country::ALL
            .into_iter()
            .map(|c| (c.code(), c.name_fr(), c == country))
            .collect(),
        fields: choices.fields,
        save_address: choices.save_address,
        idempotency_key: choices.idempotency_key.unwrap_or_else(random_token),
        cart_version: cart_version(&lines),
        lines: lines
            .iter()
            .map(|l| SummaryLine {
                name: l.product.name.clone(),
                quantity: l.quantity,
                total: line_total(l.product.price, l.quantity).display_fr(),
            })
            .collect(),
        payment_configured: state.stripe().is_some(),
        expiry_minutes: state.config().order_expiry.as_secs() / 60,
        script: state.assets().url("checkout.js"),
    };
    let mut response = render(&page, CachePolicy::NoStore)?;
    *response.status_mut() = status;
    Ok(response)
}

/// Where the order goes: the saved address chosen (or the default one), or the new address typed. Returns the
/// selected saved address id, whether "a new address" is the choice, and the destination country.
fn destination(saved: &[Address], choices: &Choices) -> (Option<String>, bool, Country) {
    let selected = choices
        .address_id
        .clone()
        .or_else(|| saved.iter().find(|a| a.is_default).map(|a| a.id.clone()));
    let new_checked = selected.as_deref().is_none_or(|s| s == "new") || saved.is_empty();
    let country = if new_checked {
        Country::parse("country", &choices.fields.country).unwrap_or(Country::France)
    } else {
        saved
            .iter()
            .find(|a| Some(a.id.as_str()) == selected.as_deref())
            .and_then(|a| Country::parse("country", &a.fields.country).ok())
            .unwrap_or(Country::France)
    };
    (selected, new_checked, country)
}

pub async fn page_checkout(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/commande").into_response());
    };
    let lines = state
        .store()
        .cart_lines(&CartOwner::User(user.id.clone()))
        .await?;
    checkout_page(
        &state,
        &ctx,
        &user,
        lines,
        Choices::default(),
        Said::default(),
        StatusCode::OK,
    )
    .await
}

/// The checkout form. Unknown fields (a price, a quantity) are refused: the order is priced from the database.
#[derive(Deserialize)]
pub struct CheckoutForm {
    idempotency_key: String,
    cart_version: String,
    #[serde(default)]
    address_id: Option<String>,
    #[serde(default)]
    shipping_method: Option<String>,
    #[serde(default)]
    save_address: Option<String>,
    /// `update`: recompute the summary for the choices made, order nothing.
    #[serde(default)]
    action: Option<String>,
    /// The total the page showed (cents).
    #[serde(default)]
    quoted_total_cents: Option<String>,
    #[serde(flatten)]
    fields: AddressFields,
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, String>,
}

pub async fn page_checkout_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<CheckoutForm>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/commande").into_response());
    };
    refuse_unknown(&form.unknown)?;
    let method = parse_method(form.shipping_method.as_deref()).map_err(AppError::from)?;
    let choices = Choices {
        address_id: form.address_id.clone(),
        fields: form.fields.clone(),
        method: Some(method),
        save_address: form.save_address.is_some(),
        idempotency_key: Some(form.idempotency_key.clone()),
    };
    let lines = state
        .store()
        .cart_lines(&CartOwner::User(user.id.clone()))
        .await?;
    // Without JavaScript, choosing a method or a country and pressing "update" shows the new summary.
    if form.action.as_deref() == Some("update") {
        return checkout_page(
            &state,
            &ctx,
            &user,
            lines,
            choices,
            Said::default(),
            StatusCode::OK,
        )
        .await;
    }
    if let Some(message) = total_changed(&state, &user, &lines, &choices, &form).await? {
        let status = StatusCode::CONFLICT;
        let said = Said::message(message);
        return checkout_page(&state, &ctx, &user, lines, choices, said, status).await;
    }
    // A new address: every broken rule at once, each beside its field; what was typed stays.
    if form.address_id.as_deref().is_none_or(|id| id == "new")
        && let Err(broken) = AddressInput::checked(&form.fields)
    {
        let said = Said::beside_fields(FieldMessages::of_rules(broken));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return checkout_page(&state, &ctx, &user, lines, choices, said, status).await;
    }
    let address = match form.address_id.as_deref() {
        Some(id) if id != "new" => AddressChoice::Saved(id.to_string()),
        _ => AddressChoice::New {
            fields: form.fields,
            save: choices.save_address,
        },
    };
    let request = CheckoutRequest {
        address,
        method,
        idempotency_key: Some(parse_idempotency_key(&form.idempotency_key)?),
        cart_version: Some(form.cart_version),
    };
    match service::place(&state, &user, request)
        .await
        .map_err(AppError::from)
    {
        Ok(checkout) => {
            let target = match checkout.payment {
                Payment::Stripe { .. } => format!("/commande/{}/paiement", checkout.order.number),
                _ => format!("/compte/commandes/{}", checkout.order.number),
            };
            Ok(Redirect::to(&target).into_response())
        }
        Err(err @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let lines = state
                .store()
                .cart_lines(&CartOwner::User(user.id.clone()))
                .await?;
            // A refused submission placed nothing: the next one is a new attempt.
            let choices = Choices {
                idempotency_key: None,
                ..choices
            };
            let said = Said::message(super::pages::form_error_text(&err));
            checkout_page(&state, &ctx, &user, lines, choices, said, err.status()).await
        }
        Err(err) => Err(err.into()),
    }
}

/// The total charged must be the total shown next to the button (EU consumer law): when the choices changed it
/// since the page was drawn, what to tell the customer before they confirm again.
async fn total_changed(
    state: &AppState,
    user: &User,
    lines: &[CartLine],
    choices: &Choices,
    form: &CheckoutForm,
) -> Result<Option<String>, PageError> {
    let saved = addresses::list(state.store(), &user.id).await?;
    let (_, _, country) = destination(&saved, choices);
    let method = choices.method.unwrap_or(ShippingMethod::Standard);
    let charged = quote_cart(lines, method, country).total;
    let shown = form
        .quoted_total_cents
        .as_deref()
        .and_then(|c| c.trim().parse::<i64>().ok());
    Ok((shown != Some(charged.cents()) && !lines.is_empty()).then(|| {
        format!(
            "Le total de votre commande est {} avec les choix indiqués : vérifiez-le, puis confirmez.",
            charged.display_fr()
        )
    }))
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage<'a> {
    layout: Layout<'a>,
    number: String,
    total: String,
    publishable_key: String,
    client_secret: String,
    return_path: String,
    script: &'a str,
}

/// The payment page: Stripe's Payment Element for a pending order of the signed-in customer.
pub async fn page_payment(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/compte/commandes").into_response());
    };
    let order = orders::visible_to(state.store(), &user, &number).await?;
    let order_page = format!("/compte/commandes/{}", order.number);
    if order.user_id != user.id || order.status != OrderStatus::Pending {
        return Ok(Redirect::to(&order_page).into_response());
    }
    let (publishable_key, client_secret) = match service::prepare_payment(&state, &order).await? {
        Payment::Stripe {
            publishable_key,
            client_secret,
            ..
        } => (publishable_key, client_secret),
        _ => return Ok(Redirect::to(&order_page).into_response()),
    };
    let page = PaymentPage {
        layout: Layout::new(
            &state,
            &ctx,
            format!("Paiement de la commande {}", order.number),
        ),
        number: order.number.clone(),
        total: order.total.display_fr(),
        publishable_key,
        client_secret,
        return_path: order_page,
        script: state.assets().url("checkout.js"),
    };
    let mut response = render(&page, CachePolicy::NoStore)?;
    response.extensions_mut().insert(StripeElements);
    Ok(response)
}
