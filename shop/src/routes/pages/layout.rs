//! The layout every page shares, product cards, and rendering a template into a response.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::store::Product;
use crate::web::{CachePolicy, set_cache_control};

use super::*;

/// What every page's frame needs.
pub struct Layout<'a> {
    pub title: String,
    pub description: &'a str,
    pub user_name: Option<&'a str>,
    pub csrf_token: &'a str,
    pub nonce: &'a str,
    pub css: &'a str,
    pub favicon: &'a str,
    pub search: &'a str,
    /// Items in the visitor's cart, for the header's mini-cart.
    pub cart_count: i64,
    /// The categories the phone menu lists.
    pub categories: &'a [crate::store::Category],
}

pub(super) const DEFAULT_DESCRIPTION: &str =
    "VIVR, décoration intérieure élégante : luminaires, mobilier, textile et accessoires.";

impl<'a> Layout<'a> {
    pub fn new(state: &'a AppState, ctx: &'a RequestContext, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            description: DEFAULT_DESCRIPTION,
            user_name: ctx.user.as_ref().map(|u| u.display_name()),
            csrf_token: &ctx.csrf_token,
            nonce: &ctx.nonce,
            css: state.assets().url("app.css"),
            favicon: state.assets().url("favicon.svg"),
            search: "",
            cart_count: ctx.cart_count,
            categories: &ctx.menu_categories,
        }
    }

    /// How long returns are free (the delivery and returns page explains how).
    pub fn return_days(&self) -> u32 {
        crate::domain::checkout::RETURN_DAYS
    }

    /// The banner over every page, from the figures the checkout and the delivery page use.
    pub fn promo(&self) -> String {
        format!(
            "Livraison gratuite dès {} d'achat · Retours gratuits sous {} jours",
            crate::domain::checkout::FREE_SHIPPING_FROM.display_fr_whole(),
            self.return_days()
        )
    }

    /// The frame for error pages rendered without a request context.
    pub(super) fn bare(state: &'a AppState, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            description: DEFAULT_DESCRIPTION,
            user_name: None,
            csrf_token: "",
            nonce: "",
            css: state.assets().url("app.css"),
            favicon: state.assets().url("favicon.svg"),
            search: "",
            cart_count: 0,
            categories: &[],
        }
    }
}

/// A product as a card in a grid.
pub struct Card {
    pub slug: String,
    pub name: String,
    pub picture: super::Picture,
    /// In the first row of a grid: loaded at once, not lazily.
    pub eager: bool,
    pub price: String,
    pub compare_price: Option<String>,
    pub discount: Option<i64>,
    pub rating: Option<String>,
    pub in_stock: bool,
    /// Already in the visitor's cart: the card says so instead of offering to add it.
    pub in_cart: bool,
}

pub fn rating_text(product: &Product) -> Option<String> {
    (product.rating_count > 0).then(|| {
        format!(
            "{:.1}/5 ({} avis)",
            product.rating_average(),
            product.rating_count
        )
        .replace('.', ",")
    })
}

impl Card {
    /// A product as a card, for the visitor `ctx` (whose cart says whether it is already in it).
    pub fn new(state: &AppState, ctx: &RequestContext, product: &Product) -> Self {
        Card {
            in_cart: ctx.cart_slugs.contains(&product.slug),
            slug: product.slug.clone(),
            name: product.name.clone(),
            picture: super::Picture::new(state, product.images.first().map(String::as_str), 300),
            eager: false,
            price: product.price.display_fr(),
            compare_price: product
                .discount_percent()
                .and(product.compare_price)
                .map(|c| c.display_fr()),
            discount: product.discount_percent(),
            rating: rating_text(product),
            in_stock: product.stock > 0,
        }
    }
}

impl Card {
    /// The cards of a grid, the first row (four on a desktop, two rows on a phone) loaded at once.
    pub fn grid(state: &AppState, ctx: &RequestContext, products: &[Product]) -> Vec<Card> {
        let mut cards: Vec<Card> = products.iter().map(|p| Card::new(state, ctx, p)).collect();
        for card in cards.iter_mut().take(4) {
            card.eager = true;
        }
        cards
    }
}

/// Renders a template into a page response with the given cache policy.
pub fn render(template: &impl Template, policy: CachePolicy) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template rendering failed: {e}")))?;
    let mut response = Html(html).into_response();
    set_cache_control(&mut response, policy);
    Ok(response)
}
