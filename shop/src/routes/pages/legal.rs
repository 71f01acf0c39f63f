//! The pages French law requires of a shop selling to consumers: mentions légales, CGV (with the 14-day
//! withdrawal right and the withdrawal form), privacy policy, cookies, delivery and returns, contact. Their facts
//! come from the configuration (`LegalInfo`) and from the shop's own rules (shipping prices, countries, cookie
//! names, session lifetime), so the pages cannot drift from what the shop does.

use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::{Layout, PageError, render};
use crate::AppState;
use crate::auth::{RequestContext, VISITOR_CART_LIFETIME};
use crate::config::LegalInfo;
use crate::domain::Money;
use crate::domain::checkout::{Country, FREE_SHIPPING_FROM, RETURN_DAYS, ShippingMethod};
use crate::error::AppError;
use crate::web::CachePolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalPageKind {
    Notices,
    Terms,
    Privacy,
    Cookies,
    DeliveryReturns,
    Contact,
}

impl LegalPageKind {
    /// Every legal page; the router declares each one's path.
    pub const ALL: [LegalPageKind; 6] = [
        LegalPageKind::Notices,
        LegalPageKind::Terms,
        LegalPageKind::Privacy,
        LegalPageKind::Cookies,
        LegalPageKind::DeliveryReturns,
        LegalPageKind::Contact,
    ];

    pub fn path(self) -> &'static str {
        match self {
            LegalPageKind::Notices => "/mentions-legales",
            LegalPageKind::Terms => "/cgv",
            LegalPageKind::Privacy => "/confidentialite",
            LegalPageKind::Cookies => "/cookies",
            LegalPageKind::DeliveryReturns => "/livraison-retours",
            LegalPageKind::Contact => "/contact",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            LegalPageKind::Notices => "Mentions légales",
            LegalPageKind::Terms => "Conditions générales de vente",
            LegalPageKind::Privacy => "Politique de confidentialité",
            LegalPageKind::Cookies => "Cookies",
            LegalPageKind::DeliveryReturns => "Livraison et retours",
            LegalPageKind::Contact => "Contact",
        }
    }
}

/// One fact about the seller: its value, or a placeholder naming the variable that sets it.
pub struct Fact {
    pub text: String,
    pub missing: bool,
}

impl Fact {
    fn of(value: &Option<String>, variable: &str) -> Self {
        match value {
            Some(text) => Fact {
                text: text.clone(),
                missing: false,
            },
            None => Fact {
                text: format!("[à renseigner : {variable}]"),
                missing: true,
            },
        }
    }
}

/// The seller as the pages present it.
pub struct Seller {
    pub name: Fact,
    pub form: Fact,
    pub siren: Fact,
    pub vat_number: Option<String>,
    pub address: Fact,
    pub email: Fact,
    pub phone: Option<String>,
    pub publisher: Fact,
    pub host: Fact,
    pub mediator: Fact,
    pub mediator_url: Fact,
}

impl Seller {
    fn of(legal: &LegalInfo) -> Self {
        Seller {
            name: Fact::of(&legal.company_name, "VIVR_LEGAL_COMPANY_NAME"),
            form: Fact::of(&legal.company_form, "VIVR_LEGAL_COMPANY_FORM"),
            siren: Fact::of(&legal.siren, "VIVR_LEGAL_SIREN"),
            vat_number: legal.vat_number.clone(),
            address: Fact::of(&legal.address, "VIVR_LEGAL_ADDRESS"),
            email: Fact::of(&legal.email, "VIVR_LEGAL_EMAIL"),
            phone: legal.phone.clone(),
            publisher: Fact::of(&legal.publisher, "VIVR_LEGAL_PUBLISHER"),
            host: Fact::of(&legal.host, "VIVR_LEGAL_HOST"),
            mediator: Fact::of(&legal.mediator, "VIVR_LEGAL_MEDIATOR"),
            mediator_url: Fact::of(&legal.mediator_url, "VIVR_LEGAL_MEDIATOR_URL"),
        }
    }
}

/// A cookie the shop sets, as the cookies page lists it.
pub struct CookieRow {
    pub name: &'static str,
    pub purpose: &'static str,
    pub lifetime: String,
}

#[derive(Template)]
#[template(path = "legal.html")]
struct LegalPage<'a> {
    layout: Layout<'a>,
    kind: LegalPageKind,
    seller: Seller,
    shipping: Vec<(&'static str, String)>,
    free_from: String,
    countries: String,
    return_days: u32,
    cookies: Vec<CookieRow>,
}

/// The legal page the path names (the router sends each of `LegalPageKind::path` here).
pub async fn legal(
    State(state): State<AppState>,
    ctx: RequestContext,
    uri: Uri,
) -> Result<Response, PageError> {
    let kind = LegalPageKind::ALL
        .into_iter()
        .find(|k| k.path() == uri.path())
        .ok_or(AppError::NotFound("page"))?;
    legal_page(&state, &ctx, kind)
}

fn legal_page(
    state: &AppState,
    ctx: &RequestContext,
    kind: LegalPageKind,
) -> Result<Response, PageError> {
    let config = state.config();
    let names = state.cookies();
    let days = |d: std::time::Duration| format!("{} jours", d.as_secs() / 86_400);
    let page = LegalPage {
        layout: Layout::new(state, ctx, format!("{} - VIVR", kind.title())),
        kind,
        seller: Seller::of(&config.legal),
        shipping: ShippingMethod::ALL
            .iter()
            .map(|m| (m.label_fr(), m.price(Money::ZERO).to_string()))
            .collect(),
        free_from: FREE_SHIPPING_FROM.to_string(),
        countries: Country::ALL
            .iter()
            .map(|c| c.name_fr())
            .collect::<Vec<_>>()
            .join(", "),
        return_days: RETURN_DAYS,
        cookies: vec![
            CookieRow {
                name: names.session,
                purpose: "Vous garder connecté(e) à votre compte.",
                lifetime: format!(
                    "{} sans visite, {} au plus",
                    days(config.session_idle),
                    days(config.session_absolute)
                ),
            },
            CookieRow {
                name: names.csrf,
                purpose: "Protéger vos formulaires contre leur envoi par un autre site (sécurité).",
                lifetime: "jusqu'à la fermeture du navigateur".into(),
            },
            CookieRow {
                name: names.cart,
                purpose: "Retrouver le panier d'un visiteur qui n'est pas connecté.",
                lifetime: format!(
                    "{} jours après sa dernière modification",
                    VISITOR_CART_LIFETIME.num_days()
                ),
            },
        ],
    };
    render(&page, CachePolicy::PrivatePage)
}
