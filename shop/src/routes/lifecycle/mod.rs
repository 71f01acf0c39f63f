//! The account lifecycle's pages and API: a forgotten password (`/mot-de-passe/*`), the profile and the password
//! of a signed-in customer, an email change confirmed from the new address, the data export and the deletion of
//! the account (`/compte/*`, `/api/v1/account*`).

mod api;
mod data;
mod links;
mod settings;

pub use api::*;
pub use data::*;
pub use links::*;
pub use settings::*;

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::accounts::{clear_session, signed_in_redirect};
use super::extract::{ApiJson, PageForm};
use super::guards::{ApiWriter, CsrfForm, SignedIn};
use super::openapi::Data;
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
