//! The newsletter: the sign-up form in every page's footer (`POST /newsletter`), `POST /api/v1/newsletter`, the
//! confirmation link of the double opt-in (`/newsletter/confirmer`), and the unsubscribe link of the welcome email
//! (`/newsletter/desinscription`), which also takes RFC 8058 one-click POSTs from mail clients. Sign-ups are
//! rate-limited per client IP by the route.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::extract::{ApiJson, PageForm};
use super::guards::CsrfForm;
use super::openapi::Data;
use super::pages::{Layout, PageError, form_error_text, render};
use super::personal_data;
use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::services::newsletter as service;
use crate::web::CachePolicy;

const SUBSCRIBED: &str = "Merci ! Pour recevoir la newsletter, confirmez votre inscription : un email vient de \
                          vous être envoyé, avec le lien de confirmation.";

// ----- API -----

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Subscription {
    subscribed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeBody {
    email: String,
}

#[utoipa::path(post, operation_id = "subscribeNewsletter", path = "/api/v1/newsletter", tag = "newsletter", request_body = SubscribeBody,
    responses((status = 200, description = "The same answer whether the address is new or subscribed already: a confirmation link is emailed", body = Data<Subscription>)))]
/// `POST /api/v1/newsletter`: the same answer whether the address is new or already subscribed.
pub async fn api_subscribe(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SubscribeBody>,
) -> Result<Response, AppError> {
    service::subscribe(&state, &body.email).await?;
    Ok(personal_data(
        StatusCode::OK,
        Subscription {
            subscribed: true,
            message: Some(SUBSCRIBED),
        },
    ))
}

/// An emailed link's address and token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeBody {
    email: String,
    token: String,
}

#[utoipa::path(post, operation_id = "unsubscribeNewsletter", path = "/api/v1/newsletter/unsubscribe", tag = "newsletter", request_body = UnsubscribeBody,
    responses((status = 200, description = "Unsubscribed", body = Data<Subscription>)))]
/// `POST /api/v1/newsletter/unsubscribe` with the link's email and token.
pub async fn api_unsubscribe(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UnsubscribeBody>,
) -> Result<Response, AppError> {
    service::unsubscribe(&state, &body.email, &body.token).await?;
    Ok(personal_data(
        StatusCode::OK,
        Subscription {
            subscribed: false,
            message: None,
        },
    ))
}

// ----- pages -----

/// The button that does what an emailed link asks, so that a link opened by a mail scanner does nothing.
struct LinkForm {
    action: &'static str,
    button: &'static str,
    email: String,
    token: String,
}

#[derive(Template)]
#[template(path = "newsletter.html")]
struct NewsletterPage<'a> {
    layout: Layout<'a>,
    heading: &'a str,
    lines: Vec<&'a str>,
    errors: Vec<String>,
    /// A link's confirmation form (unsubscribe, confirm a sign-up).
    confirm: Option<LinkForm>,
    show_form: bool,
    email: String,
}

impl<'a> NewsletterPage<'a> {
    fn new(state: &'a AppState, ctx: &'a RequestContext, heading: &'a str) -> Self {
        NewsletterPage {
            layout: Layout::new(state, ctx, heading),
            heading,
            lines: Vec::new(),
            errors: Vec::new(),
            confirm: None,
            show_form: false,
            email: String::new(),
        }
    }

    fn respond(&self, status: StatusCode) -> Result<Response, PageError> {
        let mut response = render(self, CachePolicy::NoStore)?;
        *response.status_mut() = status;
        Ok(response)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeForm {
    #[serde(default)]
    email: String,
}

/// `POST /newsletter`.
pub async fn page_subscribe(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<SubscribeForm>,
) -> Result<Response, PageError> {
    match service::subscribe(&state, &form.email)
        .await
        .map_err(AppError::from)
    {
        Ok(()) => {
            let mut page = NewsletterPage::new(&state, &ctx, "Newsletter");
            page.lines = vec![SUBSCRIBED];
            page.respond(StatusCode::OK)
        }
        Err(err @ AppError::Validation(_)) => {
            let mut page = NewsletterPage::new(&state, &ctx, "Newsletter");
            page.errors = vec![form_error_text(&err)];
            page.show_form = true;
            page.email = form.email;
            page.respond(err.status())
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: String,
}

fn invalid_link<'a>(state: &'a AppState, ctx: &'a RequestContext) -> Result<Response, PageError> {
    let mut page = NewsletterPage::new(state, ctx, "Désinscription");
    page.lines = vec![
        "Ce lien de désinscription n'est pas valide. Utilisez le lien complet reçu par email.",
    ];
    page.respond(StatusCode::BAD_REQUEST)
}

/// `GET /newsletter/desinscription?email=…&token=…`: asks for confirmation (a link opened by a mail scanner
/// must not unsubscribe anyone).
pub async fn page_unsubscribe_confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(link): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let Ok(email) = service::check_link(state.signing_key(), &link.email, &link.token) else {
        return invalid_link(&state, &ctx);
    };
    let mut page = NewsletterPage::new(&state, &ctx, "Désinscription");
    page.lines = vec!["Vous ne recevrez plus la newsletter VIVR à cette adresse."];
    page.confirm = Some(LinkForm {
        action: "/newsletter/desinscription",
        button: "Me désinscrire",
        email: email.as_str().to_string(),
        token: link.token.trim().to_string(),
    });
    page.respond(StatusCode::OK)
}

/// `POST /newsletter/desinscription`: the confirmation form (email and token in the body), or a mail client's
/// one-click request (RFC 8058: the link's query string, and `List-Unsubscribe=One-Click` in the body). The
/// token is the authorisation; no session or CSRF token is involved.
pub async fn page_unsubscribe(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(link): Query<LinkQuery>,
    PageForm(body): PageForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let email = body.get("email").unwrap_or(&link.email);
    let token = body.get("token").unwrap_or(&link.token);
    match service::unsubscribe(&state, email, token).await {
        Ok(()) => {
            let mut page = NewsletterPage::new(&state, &ctx, "Désinscription");
            page.lines = vec!["C'est fait : vous ne recevrez plus la newsletter VIVR."];
            page.respond(StatusCode::OK)
        }
        Err(service::NewsletterError::InvalidLink) => invalid_link(&state, &ctx),
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: String,
}

fn invalid_confirmation<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
) -> Result<Response, PageError> {
    let mut page = NewsletterPage::new(state, ctx, "Newsletter");
    page.lines = vec![
        "Ce lien de confirmation n'est pas valide. Utilisez le lien complet reçu par email, ou inscrivez-vous de \
         nouveau.",
    ];
    page.show_form = true;
    page.respond(StatusCode::BAD_REQUEST)
}

/// `GET /newsletter/confirmer?email=…&token=…`: the confirmation email's link, which asks for a click (a mail
/// scanner opening the link must not confirm anything).
pub async fn page_confirm_link(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(link): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let Ok(email) = service::check_confirm_link(state.signing_key(), &link.email, &link.token)
    else {
        return invalid_confirmation(&state, &ctx);
    };
    let mut page = NewsletterPage::new(&state, &ctx, "Newsletter");
    page.lines =
        vec!["Confirmez votre inscription pour recevoir la newsletter VIVR à cette adresse."];
    page.confirm = Some(LinkForm {
        action: "/newsletter/confirmer",
        button: "Confirmer mon inscription",
        email: email.as_str().to_string(),
        token: link.token.trim().to_string(),
    });
    page.respond(StatusCode::OK)
}

/// `POST /newsletter/confirmer`: the link's email and token are the authorisation (no session or CSRF token).
pub async fn page_confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    match service::confirm(&state, &form.email, &form.token).await {
        Ok(()) => {
            let mut page = NewsletterPage::new(&state, &ctx, "Newsletter");
            page.lines = vec![
                "C'est confirmé : bienvenue ! Un email de bienvenue vous donne le lien pour vous désinscrire à tout \
                 moment.",
            ];
            page.respond(StatusCode::OK)
        }
        Err(service::NewsletterError::InvalidLink) => invalid_confirmation(&state, &ctx),
        Err(err @ service::NewsletterError::SignUpGone) => {
            let err = AppError::from(err);
            let mut page = NewsletterPage::new(&state, &ctx, "Newsletter");
            page.errors = vec![err.public_message()];
            page.show_form = true;
            page.respond(StatusCode::NOT_FOUND)
        }
        Err(err) => Err(err.into()),
    }
}

#[utoipa::path(post, operation_id = "confirmNewsletter", path = "/api/v1/newsletter/confirm", tag = "newsletter", request_body = UnsubscribeBody,
    responses((status = 200, description = "Subscribed: the welcome email is sent", body = Data<Subscription>)))]
/// `POST /api/v1/newsletter/confirm` with the link's email and token.
pub async fn api_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UnsubscribeBody>,
) -> Result<Response, AppError> {
    service::confirm(&state, &body.email, &body.token).await?;
    Ok(personal_data(
        StatusCode::OK,
        Subscription {
            subscribed: true,
            message: None,
        },
    ))
}
