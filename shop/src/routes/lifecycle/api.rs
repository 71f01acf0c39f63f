//! The account lifecycle's JSON API.

use super::*;
use crate::routes::openapi::Message;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfileAnswer<'a> {
    user: UserView<'a>,
    /// The new email, until its owner follows the link sent to it.
    email_pending: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserAnswer<'a> {
    user: UserView<'a>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    email: String,
}

#[utoipa::path(post, operation_id = "forgotPassword", path = "/api/v1/auth/password/forgot", tag = "accounts", request_body = ForgotBody,
    responses((status = 202, description = "The same answer whether the address has an account or not", body = Data<Message>)))]
/// `POST /api/v1/auth/password/forgot`: 202, whether the address has an account or not.
pub async fn api_forgot(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ForgotBody>,
) -> Result<Response, AppError> {
    service::request_password_reset(&state, &body.email)?;
    Ok(personal_data(
        StatusCode::ACCEPTED,
        Message {
            message: RESET_SENT,
        },
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    password: String,
}

#[utoipa::path(post, operation_id = "resetPassword", path = "/api/v1/auth/password/reset", tag = "accounts", request_body = ResetBody,
    responses((status = 204, description = "The password changed; every session of the account ended")))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(put, operation_id = "changePassword", path = "/api/v1/account/password", tag = "accounts", request_body = PasswordBody, security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "The password changed; the account's other sessions ended")))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    name: Option<String>,
    email: Option<String>,
    /// Needed when `email` changes.
    current_password: Option<String>,
}

#[utoipa::path(patch, operation_id = "updateProfile", path = "/api/v1/account", tag = "accounts", request_body = ProfileBody, security(("session" = [], "csrf" = [])),
    responses((status = 200, description = "The profile as it now is, and the new email waiting for its confirmation", body = Data<ProfileAnswer>)))]
/// `PATCH /api/v1/account`: the name changes at once; a new email is confirmed from a link sent to it
/// (`email_pending`).
pub async fn api_profile(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Response, AppError> {
    let name = match body.name {
        Some(name) => Some(name),
        None => user.name.clone(),
    };
    let email = body.email.unwrap_or_else(|| user.email.clone());
    let password = body.current_password.map(SecretString::from);
    let change =
        service::update_profile(&state, ip, &user, name.as_deref(), &email, password).await?;
    let current = service::current_user(&state, &user).await?;
    Ok(personal_data(
        StatusCode::OK,
        ProfileAnswer {
            user: UserView::from(&current),
            email_pending: change.email_pending,
        },
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

#[utoipa::path(post, operation_id = "confirmEmailChange", path = "/api/v1/account/email/confirm", tag = "accounts", request_body = TokenBody,
    responses((status = 200, description = "The new email is the account's", body = Data<UserAnswer>)))]
/// `POST /api/v1/account/email/confirm` with the emailed link's token.
pub async fn api_email_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Response, AppError> {
    let user = service::confirm_email_change(&state, &body.token).await?;
    Ok(personal_data(
        StatusCode::OK,
        UserAnswer {
            user: UserView::from(&user),
        },
    ))
}

#[utoipa::path(get, operation_id = "exportAccountData", path = "/api/v1/account/export", tag = "accounts", security(("session" = [])),
    responses((status = 200, description = "Everything the shop holds about the customer (GDPR art. 20)", body = Data<Export>)))]
/// `GET /api/v1/account/export`.
pub async fn api_export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let data = service::export(&state, &user).await?;
    Ok(personal_data(
        StatusCode::OK,
        super::data::export_json(&data),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    password: String,
}

#[utoipa::path(delete, operation_id = "deleteAccount", path = "/api/v1/account", tag = "accounts", request_body = DeleteBody, security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Deleted (GDPR art. 17): personal data erased, orders kept anonymised; the session cookie cleared")))]
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
