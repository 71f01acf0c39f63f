//! The page that asks before an action that cannot be undone (deleting an address, cancelling an order). It works
//! without JavaScript: the action's form posts once without `confirm`, gets this page, and posts again with it.

use askama::Template;
use axum::response::Response;
use serde::Deserialize;

use super::*;
use crate::web::CachePolicy;

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub layout: Layout<'a>,
    pub heading: String,
    pub question: String,
    pub detail: Option<&'static str>,
    /// Where the confirmed form posts, and the fields it sends again besides `confirm`.
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
    pub confirm_label: &'static str,
    pub back_href: &'static str,
    pub back_label: &'static str,
}

impl ConfirmPage<'_> {
    pub fn render(&self) -> Result<Response, PageError> {
        render(self, CachePolicy::NoStore)
    }
}

/// The `confirm` field of a form that needs it: `oui` once the customer has said yes on a [`ConfirmPage`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    #[serde(default)]
    confirm: Option<String>,
}

impl Confirmation {
    pub fn given(&self) -> bool {
        confirmed(self.confirm.as_deref())
    }
}

/// Whether a form's `confirm` field says yes.
pub fn confirmed(confirm: Option<&str>) -> bool {
    confirm == Some("oui")
}
