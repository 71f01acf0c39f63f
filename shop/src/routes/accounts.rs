//! Accounts: `/api/v1/auth/*` and the sign-in, registration and account pages.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::guards::{ApiWriter, CsrfForm, NoFields};
use super::openapi::{Data, Message};
use super::pages::{FieldMessages, Layout, PageError, french_month_year, render};
use crate::AppState;
use crate::auth::{ClientIp, RequestContext, random_token};
use crate::domain::{FieldError, Role, Rule};
use crate::error::AppError;
use crate::services::accounts::{self as service, Registration, SignedIn, safe_redirect_target};
use crate::views::UserView;
use crate::web::{CachePolicy, set_cache_control};

/// What a new session needs: the session cookie, a rotated CSRF cookie (a new session gets new tokens), and —
/// when the visitor had a cart — that cart merged into the user's and its cookie cleared. Returns the cookies
/// with the CSRF token that matches the new CSRF cookie.
async fn session_cookies(
    state: &AppState,
    ctx: &RequestContext,
    signed_in: &SignedIn,
) -> Result<(Vec<HeaderValue>, String), AppError> {
    let cookies = state.cookies();
    let csrf_cookie = random_token();
    let mut values = vec![
        cookies.session_cookie(&signed_in.token, signed_in.lifetime),
        cookies.csrf_cookie(&csrf_cookie),
    ];
    if let Some(visitor) = &ctx.cart_token_hash {
        state
            .store()
            .merge_cart(visitor, &signed_in.user.id, crate::auth::now())
            .await?;
        values.push(cookies.clear_cart_cookie());
    }
    Ok((values, state.signing_key().token_for(&csrf_cookie)))
}

/// The page answer to a sign-in (a password, a reset link, an activation link): the session's cookies and a
/// redirect to `to`, never stored by caches.
pub(super) async fn signed_in_redirect(
    state: &AppState,
    ctx: &RequestContext,
    signed_in: &SignedIn,
    to: &str,
) -> Result<Response, AppError> {
    let (cookies, _) = session_cookies(state, ctx, signed_in).await?;
    let mut response = with_cookies(Redirect::to(to).into_response(), cookies);
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

fn with_cookies(mut response: Response, cookies: Vec<HeaderValue>) -> Response {
    for cookie in cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

pub(super) fn clear_session(state: &AppState, response: &mut Response) {
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookies().clear_session_cookie());
}

// ----- API -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    email: String,
    password: String,
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionBody<'a> {
    user: Option<UserView<'a>>,
    csrf_token: String,
}

fn session_response(
    status: StatusCode,
    user: Option<&crate::store::User>,
    csrf_token: String,
) -> Response {
    let body = Data {
        data: SessionBody {
            user: user.map(UserView::from),
            csrf_token,
        },
    };
    let mut response = (status, axum::Json(body)).into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

/// What registering answers, whether the address had an account or not.
pub const CHECK_YOUR_INBOX: &str = "Un email vient de vous être envoyé : ouvrez le lien qu'il contient pour \
                                    activer votre compte et vous connecter (si cette adresse a déjà un compte, \
                                    l'email vous le rappelle et vous aide à vous connecter).";

#[utoipa::path(post, operation_id = "register", path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterBody,
    responses((status = 202, description = "The same answer whether the address had an account or not: the email tells the rest", body = Data<Message>)))]
/// `POST /api/v1/auth/register`: 202 and the same answer whether the address has an account or not; the
/// account is activated from the emailed link (`POST /api/v1/auth/activate`).
pub async fn api_register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Response, AppError> {
    let registration = Registration {
        email: body.email,
        password: SecretString::from(body.password),
        name: body.name,
    };
    service::register(&state, registration, None).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(Data {
            data: Message {
                message: CHECK_YOUR_INBOX,
            },
        }),
    )
        .into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    token: String,
}

#[utoipa::path(post, operation_id = "activateAccount", path = "/api/v1/auth/activate", tag = "accounts", request_body = ActivateBody,
    responses((status = 200, description = "Activated and signed in: the session cookie is set", body = Data<SessionBody>)))]
/// `POST /api/v1/auth/activate` with the emailed link's token: the account is activated and signed in.
pub async fn api_activate(
    State(state): State<AppState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<ActivateBody>,
) -> Result<Response, AppError> {
    let user = crate::services::lifecycle::activate(&state, &body.token).await?;
    let signed_in = service::open_session(&state, user).await?;
    let (cookies, token) = session_cookies(&state, &ctx, &signed_in).await?;
    Ok(with_cookies(
        session_response(StatusCode::OK, Some(&signed_in.user), token),
        cookies,
    ))
}

#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "accounts", request_body = LoginBody,
    responses((status = 200, description = "Signed in: the session cookie is set, with a new CSRF cookie and its token", body = Data<SessionBody>)))]
pub async fn api_login(
    State(state): State<AppState>,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, AppError> {
    let signed_in =
        service::sign_in(&state, ip, &body.email, SecretString::from(body.password)).await?;
    let (cookies, token) = session_cookies(&state, &ctx, &signed_in).await?;
    Ok(with_cookies(
        session_response(StatusCode::OK, Some(&signed_in.user), token),
        cookies,
    ))
}

#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "accounts", security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Signed out: the session is closed and its cookie cleared")))]
pub async fn api_logout(
    State(state): State<AppState>,
    _: ApiWriter,
    ctx: RequestContext,
) -> Result<Response, AppError> {
    service::sign_out(&state, ctx.session_hash.as_deref()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session(&state, &mut response);
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

#[utoipa::path(get, operation_id = "getSession", path = "/api/v1/auth/session", tag = "accounts",
    responses((status = 200, description = "Who is signed in (`user` is null for a visitor), and the CSRF token", body = Data<SessionBody>)))]
/// Who is signed in, and the CSRF token to send with cookie-authenticated calls. Issues the CSRF cookie when the
/// client has none yet.
pub async fn api_session(State(state): State<AppState>, ctx: RequestContext) -> Response {
    match &ctx.csrf_cookie {
        Some(_) => session_response(StatusCode::OK, ctx.user.as_ref(), ctx.csrf_token.clone()),
        None => {
            let cookie = random_token();
            let mut response = session_response(
                StatusCode::OK,
                ctx.user.as_ref(),
                state.signing_key().token_for(&cookie),
            );
            response
                .headers_mut()
                .append(SET_COOKIE, state.cookies().csrf_cookie(&cookie));
            response
        }
    }
}

// ----- pages -----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout<'a>,
    errors: Vec<String>,
    /// A field left empty, said beside it.
    problems: FieldMessages,
    email: String,
    next: String,
}

impl LoginPage<'_> {
    /// "Créer un compte", going on to the same page afterwards.
    fn register_href(&self) -> String {
        keeping_next("/inscription", &self.next)
    }
}

/// `path` with `?next=` when the page after is not the default one (the account page).
fn keeping_next(path: &str, next: &str) -> String {
    if next == "/compte" {
        return path.to_string();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
    )
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

pub async fn page_login(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<NextParam>,
) -> Result<Response, PageError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(&safe_redirect_target(q.next.as_deref())).into_response());
    }
    let page = LoginPage {
        layout: Layout::new(&state, &ctx, "Connexion"),
        errors: Vec::new(),
        problems: FieldMessages::default(),
        email: String::new(),
        next: safe_redirect_target(q.next.as_deref()),
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn page_login_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_redirect_target(form.next.as_deref());
    // Both fields left empty are said at once, beside each, before any account is looked up.
    let missing = FieldMessages::of_rules(
        [("email", &form.email), ("password", &form.password)]
            .into_iter()
            .filter(|(_, value)| value.trim().is_empty())
            .map(|(field, _)| FieldError::new(field, Rule::Required)),
    );
    if !missing.is_empty() {
        let page = LoginPage {
            layout: Layout::new(&state, &ctx, "Connexion"),
            errors: missing.summary(),
            problems: missing,
            email: form.email,
            next,
        };
        let mut response = render(&page, CachePolicy::NoStore)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    match service::sign_in(&state, ip, &form.email, SecretString::from(form.password)).await {
        Ok(signed_in) => Ok(signed_in_redirect(&state, &ctx, &signed_in, &next).await?),
        Err(err @ service::AccountError::InvalidCredentials) => {
            let page = LoginPage {
                layout: Layout::new(&state, &ctx, "Connexion"),
                errors: vec![AppError::from(err).public_message()],
                problems: FieldMessages::default(),
                email: form.email,
                next,
            };
            let mut response = render(&page, CachePolicy::NoStore)?;
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    layout: Layout<'a>,
    errors: Vec<String>,
    /// The same errors by field, shown beside each field.
    problems: FieldMessages,
    email: String,
    name: String,
    /// Where the new customer goes once the account exists (the page that sent them to sign in).
    next: String,
}

impl RegisterPage<'_> {
    /// "Se connecter", going on to the same page afterwards.
    fn login_href(&self) -> String {
        keeping_next("/connexion", &self.next)
    }
}

pub async fn page_register(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<NextParam>,
) -> Result<Response, PageError> {
    let next = safe_redirect_target(q.next.as_deref());
    if ctx.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = RegisterPage {
        layout: Layout::new(&state, &ctx, "Créer un compte"),
        errors: Vec::new(),
        problems: FieldMessages::default(),
        email: String::new(),
        name: String::new(),
        next,
    };
    render(&page, CachePolicy::NoStore)
}

#[derive(Deserialize)]
pub struct RegisterForm {
    email: String,
    password: String,
    password_confirm: String,
    name: Option<String>,
    next: Option<String>,
}

pub async fn page_register_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<Response, PageError> {
    let next = safe_redirect_target(form.next.as_deref());
    let rerender = |problems: FieldMessages, status: StatusCode| -> Result<Response, PageError> {
        let page = RegisterPage {
            layout: Layout::new(&state, &ctx, "Créer un compte"),
            errors: problems.summary(),
            problems,
            email: form.email.clone(),
            name: form.name.clone().unwrap_or_default(),
            next: next.clone(),
        };
        let mut response = render(&page, CachePolicy::NoStore)?;
        *response.status_mut() = status;
        Ok(response)
    };
    let registration = Registration {
        email: form.email.clone(),
        password: SecretString::from(form.password.clone()),
        name: form.name.clone(),
    };
    // Every problem at once, each beside its field.
    let mut problems = FieldMessages::default();
    for problem in service::registration_problems(&registration) {
        problems.push_rule(problem);
    }
    if form.password != form.password_confirm {
        problems.push(
            "password_confirm",
            "Les mots de passe ne correspondent pas.",
        );
    }
    if !problems.is_empty() {
        return rerender(problems, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The activation link goes on to the page the customer was on (the checkout, say).
    let after = (next != "/compte").then_some(next.as_str());
    match service::register(&state, registration, after).await {
        Ok(()) => {
            let mut page = super::pages::FormPage::new(
                Layout::new(&state, &ctx, "Créer un compte"),
                "Vérifiez votre boîte mail",
            );
            page.notice = Some(CHECK_YOUR_INBOX.to_string());
            page.intro = vec![format!(
                "L'email part à l'adresse {} ; pensez à regarder dans les courriers indésirables.",
                form.email.trim()
            )];
            page.links = vec![("/", "Continuer mes achats")];
            page.respond(StatusCode::OK)
        }
        Err(service::AccountError::Invalid(e)) => {
            let mut problems = FieldMessages::default();
            problems.push_rule(e);
            rerender(problems, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    layout: Layout<'a>,
    /// What was just changed (`?fait=…`).
    notice: Option<&'static str>,
    display_name: String,
    email: String,
    member_since: String,
    is_admin: bool,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    fait: Option<String>,
}

pub async fn page_account(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/connexion?next=/compte").into_response());
    };
    let page = AccountPage {
        layout: Layout::new(&state, &ctx, "Mon compte"),
        notice: q.fait.as_deref().and_then(super::lifecycle::account_notice),
        display_name: user.display_name().to_string(),
        email: user.email.clone(),
        member_since: french_month_year(user.created_at),
        is_admin: user.role == Role::Admin,
    };
    render(&page, CachePolicy::NoStore)
}

pub async fn page_logout(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    service::sign_out(&state, ctx.session_hash.as_deref()).await?;
    let mut response = Redirect::to("/").into_response();
    clear_session(&state, &mut response);
    Ok(response)
}
