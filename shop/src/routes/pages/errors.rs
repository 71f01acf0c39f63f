//! Error pages, the sentence a form shows for an error, and the HTML form of every error.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::RequestContext;
use crate::domain::FieldError;
use crate::error::{AppError, InvalidField, error_headers};
use crate::web::{CachePolicy, set_cache_control};

use super::*;

/// `15 janvier 2024`, as the original shop wrote dates.
/// An error as a form shows it: a broken rule names its field in French ("Code postal : format invalide").
/// A form's errors, each with its field, for forms that show every error at once: in the summary at the top and
/// next to its field (`aria-describedby`).
#[derive(Debug, Default)]
pub struct FieldMessages(Vec<(&'static str, String)>);

impl FieldMessages {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// Adds a broken rule, worded as the summary words it ("Email : adresse email invalide"); the password
    /// policy's refusals are whole sentences already.
    pub fn push_rule(&mut self, err: FieldError) {
        let invalid = InvalidField::from(err);
        let field = invalid.field;
        let whole_sentence = invalid.message.starts_with(char::is_uppercase);
        let message = if matches!(field, "password" | "new_password") && whole_sentence {
            invalid.message
        } else {
            form_error_text(&AppError::Validation(invalid))
        };
        self.push(field, message);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every broken rule of a form checked whole, in its order.
    pub fn of_rules(rules: impl IntoIterator<Item = FieldError>) -> Self {
        let mut messages = FieldMessages::default();
        for rule in rules {
            messages.push_rule(rule);
        }
        messages
    }

    /// The message for `field`, when it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Every message, in the form's order, for the summary.
    pub fn summary(&self) -> Vec<String> {
        self.0.iter().map(|(_, m)| m.clone()).collect()
    }
}

pub fn form_error_text(err: &AppError) -> String {
    let AppError::Validation(e) = err else {
        return err.public_message();
    };
    format!(
        "{} : {}",
        field_label(e.field).unwrap_or(e.field),
        e.message
    )
}

/// A form field's name as a shopper reads it, for the fields the shop's forms have.
pub fn field_label(field: &str) -> Option<&'static str> {
    let label = match field {
        "rating" => "Note",
        "title" => "Titre",
        "comment" => "Commentaire",
        "email" => "Email",
        "password" => "Mot de passe",
        "current_password" => "Mot de passe actuel",
        "new_password" => "Nouveau mot de passe",
        "password_confirm" | "new_password_confirm" => "Confirmation du mot de passe",
        "name" | "last_name" => "Nom",
        "first_name" => "Prénom",
        "label" => "Nom de l'adresse",
        "street" => "Adresse",
        "apartment" => "Complément d'adresse",
        "city" => "Ville",
        "postal_code" => "Code postal",
        "country" => "Pays",
        "phone" => "Téléphone",
        "method" | "shipping_method" => "Mode de livraison",
        "address_id" => "Adresse enregistrée",
        "quantity" => "Quantité",
        "slug" => "Adresse de la page",
        "description" => "Description",
        "price" | "price_cents" => "Prix",
        "compare_price" | "compare_price_cents" => "Prix d'origine",
        "category" => "Catégorie",
        "stock" => "Stock",
        "images" => "Photos",
        "image" => "Photo",
        _ => return None,
    };
    Some(label)
}

#[derive(Template)]
#[template(path = "error.html")]
pub(super) struct ErrorPage<'a> {
    pub(super) layout: Layout<'a>,
    pub(super) heading: &'a str,
    pub(super) message: String,
    pub(super) resend: Option<super::resend::Resend>,
}

/// What an error page shows; carried from a failed page handler to [`render_error_pages`], which has the request
/// context to draw the full layout.
#[derive(Debug, Clone)]
pub struct ErrorPageInfo {
    pub(super) status: StatusCode,
    pub(super) message: String,
    /// A heading of its own, where the status's would mislead (an expired form is not a refused access).
    pub(super) heading: Option<&'static str>,
    /// A form that failed this way is offered again with what was typed: nothing in it was wrong, it has to be
    /// sent again (an expired token) or later (a wait).
    pub(super) offers_resend: bool,
}

impl ErrorPageInfo {
    pub(super) fn of(err: &AppError) -> Self {
        ErrorPageInfo {
            status: err.status(),
            message: err.public_message(),
            heading: matches!(err, AppError::Csrf).then_some("Formulaire expiré"),
            offers_resend: matches!(
                err,
                AppError::Csrf | AppError::TooManyRequests(_) | AppError::Busy
            ),
        }
    }
}

pub(super) fn error_page(
    state: &AppState,
    ctx: Option<&RequestContext>,
    info: &ErrorPageInfo,
    resend: Option<super::resend::Resend>,
) -> Response {
    let status = info.status;
    let heading = info.heading.unwrap_or(match status {
        StatusCode::NOT_FOUND => "Page introuvable",
        StatusCode::FORBIDDEN => "Accès refusé",
        StatusCode::TOO_MANY_REQUESTS => "Trop de tentatives",
        StatusCode::SERVICE_UNAVAILABLE => "Service momentanément indisponible",
        s if s.is_server_error() => "Une erreur est survenue",
        _ => "Requête invalide",
    });
    let message = match status {
        StatusCode::NOT_FOUND => "La page que vous cherchez n'existe pas ou plus.".to_string(),
        s if s.is_server_error() => {
            "Nous n'avons pas pu afficher cette page. Réessayez dans un instant.".to_string()
        }
        _ => info.message.clone(),
    };
    let layout = match ctx {
        Some(ctx) => Layout::new(state, ctx, heading),
        None => Layout::bare(state, heading),
    };
    let page = ErrorPage {
        layout,
        heading,
        message,
        // The form needs the request's token.
        resend: resend.filter(|_| ctx.is_some()),
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (status, heading.to_string()).into_response()
        }
    };
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

/// An error from a page handler: rendered as the French error page (sign-in required becomes a redirect to the
/// sign-in page).
pub struct PageError(AppError);

/// Every error a handler meets becomes the page's error through [`AppError`] (its status and French text).
impl<E: Into<AppError>> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        if matches!(self.0, AppError::Unauthenticated) {
            return Redirect::to("/connexion").into_response();
        }
        let info = ErrorPageInfo::of(&self.0);
        let mut response = info.status.into_response();
        error_headers(&self.0, &mut response);
        response.extensions_mut().insert(info);
        response
    }
}

/// Turns the marker left by [`PageError`] into the full error page, drawn with the request's context.
pub async fn render_error_pages(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ctx = request.extensions().get::<RequestContext>().cloned();
    let api = request.uri().path().starts_with("/api/");
    let (request, sent) = match super::resend::keep_form(request, &state).await {
        Ok(kept) => kept,
        Err(refused) => return refused,
    };
    let response = next.run(request).await;
    let Some(info) = response
        .extensions()
        .get::<ErrorPageInfo>()
        .cloned()
        .or_else(|| (!api).then(|| unwritten_error(&response)).flatten())
    else {
        return response;
    };
    let resend = sent
        .filter(|_| info.offers_resend)
        .map(|sent| super::resend::Resend::of(&sent));
    let mut ctx = ctx;
    if let Some(ctx) = ctx.as_mut().filter(|_| !api) {
        // The menu: a page reads it inside this layer (`auth::menu_layer`, or with its listing), so an error page
        // reads it here; without it (the database is what failed) the page goes without.
        if let Ok(categories) = crate::services::catalog::categories(&state).await {
            ctx.menu_categories = categories;
        }
    }
    let mut page = error_page(&state, ctx.as_ref(), &info, resend);
    let carried = crate::auth::Quota::HEADERS.into_iter().chain([
        axum::http::header::WWW_AUTHENTICATE.as_str(),
        axum::http::header::ALLOW.as_str(),
    ]);
    for name in carried {
        if let Some(v) = response.headers().get(name) {
            page.headers_mut()
                .insert(axum::http::HeaderName::from_static(name), v.clone());
        }
    }
    page
}

/// A page route's error that no handler wrote (an extractor's plain-text rejection, such as a path segment that
/// is not UTF-8; a method the route lacks): the error page says it in French. The API's are JSON already
/// (`api::json_errors`).
fn unwritten_error(response: &Response) -> Option<ErrorPageInfo> {
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    ((status.is_client_error() || status.is_server_error()) && plain).then(|| ErrorPageInfo {
        status,
        message: match status {
            StatusCode::METHOD_NOT_ALLOWED => "Cette adresse ne s'utilise pas ainsi.",
            _ => "La requête est mal formée.",
        }
        .to_string(),
        heading: None,
        offers_resend: false,
    })
}

/// Unknown paths: the JSON envelope under `/api`, the 404 page elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return AppError::NotFound("Route inconnue").into_response();
    }
    // Drawn by `render_error_pages`, with the menu.
    PageError(AppError::NotFound("Page introuvable")).into_response()
}
