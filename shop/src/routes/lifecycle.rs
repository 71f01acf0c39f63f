//! The account lifecycle's pages and API: a forgotten password (`/mot-de-passe/*`), the profile and the password
//! of a signed-in customer, an email change confirmed from the new address, the data export and the deletion of
//! the account (`/compte/*`, `/api/v1/account*`).

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::accounts::{clear_session, session_cookies, with_cookies};
use super::extract::{ApiJson, PageForm};
use super::guards::{ApiWriter, CsrfForm, SignedIn};
use super::orders::OrderJson;
use super::pages::{
    FieldMessages, Form, FormField, FormPage, Layout, NEW_PASSWORD_HINT, PageError,
};
use super::personal_data;
use crate::AppState;
use crate::auth::{ClientIp, CurrentUser, RequestContext};
use crate::error::AppError;
use crate::services::accounts::{self as accounts_service, safe_redirect_target};
use crate::services::lifecycle::{self as service, AccountData, LifecycleError};
use crate::store::LinkPurpose;
use crate::views::{ProductView, UserView};
use crate::web::{CachePolicy, set_cache_control};

const RESET_SENT: &str = "Si un compte VIVR utilise cette adresse, un email vient de lui être envoyé avec un lien \
                          pour choisir un nouveau mot de passe. Le lien est valable 30 minutes ; pensez à regarder \
                          dans les courriers indésirables.";
const EMAIL_LINK_SENT: &str = "Un lien de confirmation vient d'être envoyé à votre nouvelle adresse : elle \
                               remplacera l'actuelle quand vous l'ouvrirez (lien valable 24 heures).";
const INVALID_LINK: &str = "Ce lien n'est plus valable : il a déjà servi, un lien plus récent l'a remplacé, ou il \
                            a expiré.";

/// The notices `/compte?fait=…` shows after a change.
pub fn account_notice(done: &str) -> Option<&'static str> {
    match done {
        "mot-de-passe" => Some(
            "Votre nouveau mot de passe est enregistré. Vos sessions ouvertes ailleurs ont été fermées.",
        ),
        "profil" => Some("Vos informations sont enregistrées."),
        "email-envoye" => Some(EMAIL_LINK_SENT),
        "email" => Some("Votre nouvelle adresse email est enregistrée."),
        "active" => Some("Votre compte est activé : bienvenue chez VIVR !"),
        _ => None,
    }
}

/// A lifecycle error as a form shows it: beside its field when it has one.
fn push_error(problems: &mut FieldMessages, field_for_password: &'static str, err: LifecycleError) {
    match err {
        LifecycleError::Invalid(field) => problems.push_rule(field),
        LifecycleError::WrongPassword => {
            problems.push(field_for_password, "Mot de passe actuel incorrect.")
        }
        other => problems.push("form", AppError::from(other).public_message()),
    }
}

/// The status a form page answers with for its errors.
fn status_of(problems: &FieldMessages) -> StatusCode {
    if problems.get("form").is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn sign_in_first(path: &str) -> Response {
    Redirect::to(&format!("/connexion?next={path}")).into_response()
}

// ----- forgotten password -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn forgot_page<'a>(state: &'a AppState, ctx: &'a RequestContext, email: String) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Mot de passe oublié"),
        "Mot de passe oublié",
    );
    page.intro = vec![
        "Indiquez l'adresse email de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de \
         passe."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/mot-de-passe/oublie",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![FormField::email("email", "Email", email)],
        submit: "Recevoir le lien",
        danger: false,
    });
    page.links = vec![("/connexion", "Retour à la connexion")];
    page
}

pub async fn page_forgot(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    forgot_page(&state, &ctx, String::new()).respond(StatusCode::OK)
}

/// `POST /mot-de-passe/oublie`: the same page whether the address has an account or not.
pub async fn page_forgot_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, PageError> {
    match service::request_password_reset(&state, &form.email) {
        Ok(()) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Mot de passe oublié"),
                "Mot de passe oublié",
            );
            page.notice = Some(RESET_SENT.to_string());
            page.links = vec![("/connexion", "Retour à la connexion")];
            page.respond(StatusCode::OK)
        }
        Err(err) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "email", err);
            let status = status_of(&problems);
            forgot_page(&state, &ctx, form.email)
                .with_problems(problems)
                .respond(status)
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
    /// Where an activation goes on to.
    next: Option<String>,
}

fn invalid_link_page<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
    heading: &'static str,
    again: (&'static str, &'static str),
) -> Result<Response, PageError> {
    let mut page = FormPage::new(Layout::new(state, ctx, heading), heading);
    page.intro = vec![INVALID_LINK.to_string()];
    page.links = vec![again];
    page.respond(StatusCode::BAD_REQUEST)
}

fn invalid_reset_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Nouveau mot de passe",
        ("/mot-de-passe/oublie", "Demander un nouveau lien"),
    )
}

fn reset_page<'a>(state: &'a AppState, ctx: &'a RequestContext, token: &str) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Nouveau mot de passe"),
        "Choisir un nouveau mot de passe",
    );
    page.intro = vec![
        "Une fois le nouveau mot de passe enregistré, vos sessions ouvertes sur d'autres appareils seront fermées."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/mot-de-passe/nouveau",
        csrf: true,
        hidden: vec![("token", token.trim().to_string())],
        fields: vec![
            FormField::password("password", "Nouveau mot de passe", "new-password")
                .with_hint(NEW_PASSWORD_HINT),
            FormField::password(
                "password_confirm",
                "Confirmer le mot de passe",
                "new-password",
            ),
        ],
        submit: "Enregistrer le mot de passe",
        danger: false,
    });
    page
}

/// `GET /mot-de-passe/nouveau?token=…`, the reset email's link.
pub async fn page_reset(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::PasswordReset).await {
        Ok(_) => reset_page(&state, &ctx, &q.token).respond(StatusCode::OK),
        Err(LifecycleError::InvalidLink) => invalid_reset_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /mot-de-passe/nouveau`: sets the password, ends every session, and signs this browser in.
pub async fn page_reset_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    let mut problems = FieldMessages::default();
    let result = if form.password == form.password_confirm {
        service::reset_password(&state, &form.token, SecretString::from(form.password)).await
    } else {
        // The link is checked even so: an expired one says so rather than asking to type again.
        service::link_user(&state, &form.token, LinkPurpose::PasswordReset)
            .await
            .and_then(|_| {
                Err(LifecycleError::Invalid(crate::domain::FieldError::new(
                    "password_confirm",
                    crate::domain::Rule::Mismatch("password"),
                )))
            })
    };
    match result {
        Ok(user) => {
            let signed_in = accounts_service::open_session(&state, user).await?;
            let (cookies, _) = session_cookies(&state, &ctx, &signed_in).await?;
            let mut response = with_cookies(
                Redirect::to("/compte?fait=mot-de-passe").into_response(),
                cookies,
            );
            set_cache_control(&mut response, CachePolicy::NoStore);
            Ok(response)
        }
        Err(LifecycleError::InvalidLink) => invalid_reset_link(&state, &ctx),
        Err(err @ LifecycleError::Invalid(_)) => {
            push_error(&mut problems, "password", err);
            reset_page(&state, &ctx, &form.token)
                .with_problems(problems)
                .respond(StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}

// ----- a signed-in customer: password, profile -----

fn password_page<'a>(state: &'a AppState, ctx: &'a RequestContext) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Changer de mot de passe"),
        "Changer de mot de passe",
    );
    page.intro = vec![
        "Vos sessions ouvertes sur d'autres appareils seront fermées ; celle-ci reste ouverte."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/compte/mot-de-passe",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![
            FormField::password(
                "current_password",
                "Mot de passe actuel",
                "current-password",
            ),
            FormField::password("new_password", "Nouveau mot de passe", "new-password")
                .with_hint(NEW_PASSWORD_HINT),
            FormField::password(
                "new_password_confirm",
                "Confirmer le nouveau mot de passe",
                "new-password",
            ),
        ],
        submit: "Changer le mot de passe",
        danger: false,
    });
    page.links = vec![("/compte", "Retour à mon compte")];
    page
}

pub async fn page_password(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    if ctx.user.is_none() {
        return Ok(sign_in_first("/compte/mot-de-passe"));
    }
    password_page(&state, &ctx).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

pub async fn page_password_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let new = SecretString::from(form.new_password);
    let confirm = SecretString::from(form.new_password_confirm);
    let mut problems = FieldMessages::default();
    for problem in service::password_change_problems(&user, &new, Some(&confirm)) {
        problems.push_rule(problem);
    }
    if problems.is_empty() {
        let current = SecretString::from(form.current_password);
        match service::change_password(&state, ip, &user, ctx.session_hash.as_deref(), current, new)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/compte?fait=mot-de-passe").into_response()),
            Err(err @ (LifecycleError::Invalid(_) | LifecycleError::WrongPassword)) => {
                push_error(&mut problems, "current_password", err)
            }
            Err(err) => return Err(AppError::from(err).into()),
        }
    }
    password_page(&state, &ctx)
        .with_problems(problems)
        .respond(StatusCode::UNPROCESSABLE_ENTITY)
}

fn profile_page<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
    name: String,
    email: String,
) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Mes informations"),
        "Mes informations",
    );
    page.form = Some(Form {
        action: "/compte/profil",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![
            FormField {
                name: "name",
                label: "Nom",
                kind: "text",
                autocomplete: "name",
                max_length: 100,
                required: false,
                value: name,
                hint: None,
            },
            FormField::email("email", "Email", email).with_hint(
                "Une nouvelle adresse est enregistrée quand vous ouvrez le lien que nous y envoyons.",
            ),
        ],
        submit: "Enregistrer",
        danger: false,
    });
    page.links = vec![("/compte", "Retour à mon compte")];
    page
}

pub async fn page_profile(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/profil"));
    };
    profile_page(&state, &ctx, user.name.unwrap_or_default(), user.email).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

pub async fn page_profile_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, PageError> {
    let mut problems = FieldMessages::default();
    for problem in service::profile_problems(Some(&form.name), &form.email) {
        problems.push_rule(problem);
    }
    if problems.is_empty() {
        match service::update_profile(&state, &user, Some(&form.name), &form.email).await {
            Ok(change) => {
                let done = if change.email_pending.is_some() {
                    "email-envoye"
                } else {
                    "profil"
                };
                return Ok(Redirect::to(&format!("/compte?fait={done}")).into_response());
            }
            Err(err @ LifecycleError::Invalid(_)) => push_error(&mut problems, "email", err),
            Err(err) => return Err(AppError::from(err).into()),
        }
    }
    profile_page(&state, &ctx, form.name, form.email)
        .with_problems(problems)
        .respond(StatusCode::UNPROCESSABLE_ENTITY)
}

// ----- email change, from the link sent to the new address -----

fn invalid_email_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Nouvelle adresse email",
        ("/compte/profil", "Changer d'adresse de nouveau"),
    )
}

/// `GET /compte/email/confirmer?token=…`: asks for a click (a mail scanner opening the link changes nothing).
pub async fn page_email_link(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::EmailChange).await {
        Ok(_) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Nouvelle adresse email"),
                "Nouvelle adresse email",
            );
            page.intro = vec![
                "Confirmez que votre compte VIVR utilise désormais l'adresse à laquelle ce lien a été envoyé."
                    .to_string(),
            ];
            page.form = Some(Form {
                action: "/compte/email/confirmer",
                csrf: false,
                hidden: vec![("token", q.token.trim().to_string())],
                fields: Vec::new(),
                submit: "Confirmer la nouvelle adresse",
                danger: false,
            });
            page.respond(StatusCode::OK)
        }
        Err(LifecycleError::InvalidLink) => invalid_email_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// `POST /compte/email/confirmer`: the link's token is the authorisation (no session or CSRF token needed: the
/// new address may be read on another device).
pub async fn page_email_confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<ForgotToken>,
) -> Result<Response, PageError> {
    match service::confirm_email_change(&state, &form.token).await {
        Ok(_) => Ok(Redirect::to("/compte?fait=email").into_response()),
        Err(LifecycleError::InvalidLink) => invalid_email_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotToken {
    #[serde(default)]
    token: String,
}

// ----- activation, from the link sent when the account was created -----

fn invalid_activation_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Activer mon compte",
        (
            "/connexion",
            "Se connecter : un nouveau lien vous sera envoyé",
        ),
    )
}

/// `GET /compte/activer?token=…`: asks for a click (a mail scanner opening the link activates nothing).
pub async fn page_activation_link(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::Activation).await {
        Ok(_) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Activer mon compte"),
                "Activer mon compte",
            );
            page.intro =
                vec!["Un clic, et votre compte VIVR est prêt : vous serez connecté.".to_string()];
            let mut hidden = vec![("token", q.token.trim().to_string())];
            if let Some(next) = &q.next {
                hidden.push(("next", safe_redirect_target(Some(next))));
            }
            page.form = Some(Form {
                action: "/compte/activer",
                csrf: false,
                hidden,
                fields: Vec::new(),
                submit: "Activer mon compte",
                danger: false,
            });
            page.respond(StatusCode::OK)
        }
        Err(LifecycleError::InvalidLink) => invalid_activation_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// `POST /compte/activer`: the link's token is the authorisation; the account is activated and this browser
/// signed in.
pub async fn page_activate(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<ActivationForm>,
) -> Result<Response, PageError> {
    match service::activate(&state, &form.token).await {
        Ok(user) => {
            let signed_in = accounts_service::open_session(&state, user).await?;
            let (cookies, _) = session_cookies(&state, &ctx, &signed_in).await?;
            let to = match form.next.as_deref() {
                Some(next) => safe_redirect_target(Some(next)),
                None => "/compte?fait=active".to_string(),
            };
            let mut response = with_cookies(Redirect::to(&to).into_response(), cookies);
            set_cache_control(&mut response, CachePolicy::NoStore);
            Ok(response)
        }
        Err(LifecycleError::InvalidLink) => invalid_activation_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

// ----- data export and deletion -----

/// A review in the export.
#[derive(Serialize)]
struct ExportReview<'a> {
    product: &'a str,
    product_name: &'a str,
    rating: i32,
    title: Option<&'a str>,
    comment: Option<&'a str>,
    verified: bool,
    created_at: String,
}

/// Everything the shop holds about the customer, as JSON (GDPR art. 20).
fn export_json(data: &AccountData) -> serde_json::Value {
    serde_json::json!({
        "exported_at": crate::domain::time::rfc3339_utc(crate::auth::now()),
        "profile": UserView::from(&data.user),
        "newsletter": data.newsletter,
        "addresses": data.addresses,
        "orders": data.orders.iter().map(OrderJson::from).collect::<Vec<_>>(),
        "reviews": data.reviews.iter().map(|r| ExportReview {
            product: &r.product_slug,
            product_name: &r.product_name,
            rating: r.rating,
            title: r.title.as_deref(),
            comment: r.comment.as_deref(),
            verified: r.verified,
            created_at: crate::domain::time::rfc3339_utc(r.created_at),
        }).collect::<Vec<_>>(),
        "wishlist": data.wishlist.iter().map(ProductView::from).collect::<Vec<_>>(),
    })
}

/// `GET /compte/donnees`: the export as a file to download.
pub async fn page_export(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/donnees"));
    };
    let data = service::export(&state, &user)
        .await
        .map_err(AppError::from)?;
    let body = serde_json::to_string_pretty(&export_json(&data))
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut response = (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"vivr-mes-donnees.json\""),
    );
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

fn delete_page<'a>(state: &'a AppState, ctx: &'a RequestContext) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Supprimer mon compte"),
        "Supprimer mon compte",
    );
    page.intro = vec![
        "La suppression est définitive. Vos adresses, votre panier, vos envies, vos avis, votre inscription à la \
         newsletter et vos sessions sont effacés ; votre nom et votre email aussi."
            .to_string(),
        "Vos commandes sont conservées pour la comptabilité, sans rien qui vous désigne : ni nom, ni email, ni \
         adresse postale (seuls le pays et le code postal restent)."
            .to_string(),
        "Vous pouvez d'abord télécharger vos données.".to_string(),
    ];
    page.form = Some(Form {
        action: "/compte/supprimer",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![FormField::password(
            "password",
            "Votre mot de passe, pour confirmer",
            "current-password",
        )],
        submit: "Supprimer définitivement mon compte",
        danger: true,
    });
    page.links = vec![
        ("/compte/donnees", "Télécharger mes données (JSON)"),
        ("/compte", "Annuler : retour à mon compte"),
    ];
    page
}

pub async fn page_delete(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    if ctx.user.is_none() {
        return Ok(sign_in_first("/compte/supprimer"));
    }
    delete_page(&state, &ctx).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
}

pub async fn page_delete_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, PageError> {
    match service::delete_account(&state, ip, &user, SecretString::from(form.password)).await {
        Ok(()) => {
            let signed_out = RequestContext {
                user: None,
                session_hash: None,
                ..ctx.clone()
            };
            let mut page = FormPage::new(
                Layout::new(&state, &signed_out, "Compte supprimé"),
                "Compte supprimé",
            );
            page.notice = Some(
                "Votre compte est supprimé, et vos données personnelles effacées. Merci d'avoir été client de \
                 VIVR."
                    .to_string(),
            );
            page.links = vec![("/", "Retour à l'accueil")];
            let mut response = page.respond(StatusCode::OK)?;
            clear_session(&state, &mut response);
            Ok(response)
        }
        Err(err @ (LifecycleError::WrongPassword | LifecycleError::Invalid(_))) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "password", err);
            delete_page(&state, &ctx)
                .with_problems(problems)
                .respond(StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err @ (LifecycleError::OrdersInProgress | LifecycleError::AdminAccount)) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "password", err);
            let status = status_of(&problems);
            delete_page(&state, &ctx)
                .with_problems(problems)
                .respond(status)
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}

// ----- API -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    email: String,
}

/// `POST /api/v1/auth/password/forgot`: 202, whether the address has an account or not.
pub async fn api_forgot(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ForgotBody>,
) -> Result<Response, AppError> {
    service::request_password_reset(&state, &body.email)?;
    Ok(personal_data(
        StatusCode::ACCEPTED,
        serde_json::json!({ "message": RESET_SENT }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    password: String,
}

/// `POST /api/v1/auth/password/reset`: 204; every session of the account ends (sign in with the new password).
pub async fn api_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Response, AppError> {
    service::reset_password(&state, &body.token, SecretString::from(body.password)).await?;
    Ok(no_content())
}

fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `PUT /api/v1/account/password`: 204; the account's other sessions end.
pub async fn api_password(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, AppError> {
    service::change_password(
        &state,
        ip,
        &user,
        ctx.session_hash.as_deref(),
        SecretString::from(body.current_password),
        SecretString::from(body.new_password),
    )
    .await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    name: Option<String>,
    email: Option<String>,
}

/// `PATCH /api/v1/account`: the name changes at once; a new email is confirmed from a link sent to it
/// (`email_pending`).
pub async fn api_profile(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Response, AppError> {
    let name = match body.name {
        Some(name) => Some(name),
        None => user.name.clone(),
    };
    let email = body.email.unwrap_or_else(|| user.email.clone());
    let change = service::update_profile(&state, &user, name.as_deref(), &email).await?;
    let current = service::current_user(&state, &user).await?;
    Ok(personal_data(
        StatusCode::OK,
        serde_json::json!({ "user": UserView::from(&current), "email_pending": change.email_pending }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

/// `POST /api/v1/account/email/confirm` with the emailed link's token.
pub async fn api_email_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Response, AppError> {
    let user = service::confirm_email_change(&state, &body.token).await?;
    Ok(personal_data(
        StatusCode::OK,
        serde_json::json!({ "user": UserView::from(&user) }),
    ))
}

/// `GET /api/v1/account/export`.
pub async fn api_export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let data = service::export(&state, &user).await?;
    Ok(personal_data(StatusCode::OK, export_json(&data)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    password: String,
}

/// `DELETE /api/v1/account` with the password: 204, and the session cookie cleared.
pub async fn api_delete(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<DeleteBody>,
) -> Result<Response, AppError> {
    service::delete_account(&state, ip, &user, SecretString::from(body.password)).await?;
    let mut response = no_content();
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies().clear_session_cookie());
    Ok(response)
}
