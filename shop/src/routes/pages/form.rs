//! One page of one form (the account lifecycle's: forgotten password, new password, profile, deletion…): a
//! heading, sentences, the form's fields with every error beside its field, and links onward.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{FieldMessages, Layout, PageError, render};
use crate::web::CachePolicy;

/// One input of a [`FormPage`].
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    /// The input's `type`: `text`, `email`, `password`.
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub max_length: u32,
    pub required: bool,
    /// What the field shows: what was typed, kept when the form comes back with errors (never a password).
    pub value: String,
    pub hint: Option<&'static str>,
}

impl FormField {
    pub fn email(name: &'static str, label: &'static str, value: String) -> Self {
        FormField {
            name,
            label,
            kind: "email",
            autocomplete: "email",
            max_length: 254,
            required: true,
            value,
            hint: None,
        }
    }

    /// A password field; `autocomplete` is `current-password` or `new-password`.
    pub fn password(name: &'static str, label: &'static str, autocomplete: &'static str) -> Self {
        FormField {
            name,
            label,
            kind: "password",
            autocomplete,
            max_length: 128,
            required: true,
            value: String::new(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }
}

/// What a new password must be, said beside the field.
pub const NEW_PASSWORD_HINT: &str = "Au moins 8 caractères, difficile à deviner : une phrase de plusieurs mots \
                                     inhabituels convient très bien. Les mots de passe courants sont refusés.";

/// The form of a [`FormPage`].
pub struct Form {
    pub action: &'static str,
    /// Whether the form carries the CSRF token (not for a form whose emailed token is the authorisation).
    pub csrf: bool,
    pub hidden: Vec<(&'static str, String)>,
    pub fields: Vec<FormField>,
    pub submit: &'static str,
    /// A destructive action: the button says so by its colour as well as its words.
    pub danger: bool,
}

#[derive(Template)]
#[template(path = "form_page.html")]
pub struct FormPage<'a> {
    pub layout: Layout<'a>,
    pub heading: &'static str,
    /// A success, said at the top (`role="status"`).
    pub notice: Option<String>,
    pub errors: Vec<String>,
    pub problems: FieldMessages,
    pub intro: Vec<String>,
    pub form: Option<Form>,
    /// `(href, text)`.
    pub links: Vec<(&'static str, &'static str)>,
}

impl<'a> FormPage<'a> {
    pub fn new(layout: Layout<'a>, heading: &'static str) -> Self {
        FormPage {
            layout,
            heading,
            notice: None,
            errors: Vec::new(),
            problems: FieldMessages::default(),
            intro: Vec::new(),
            form: None,
            links: Vec::new(),
        }
    }

    /// The page with these errors, in the summary and beside their fields.
    pub fn with_problems(mut self, problems: FieldMessages) -> Self {
        self.errors = problems.summary();
        self.problems = problems;
        self
    }

    /// ` aria-describedby="…"` (the hint, the error) and ` aria-invalid="true"` for a field with an error. The
    /// ids are made of the field's static name only.
    pub fn described_by(&self, field: &FormField) -> String {
        let error = self.problems.get(field.name).is_some();
        let mut ids = Vec::new();
        if field.hint.is_some() {
            ids.push(format!("{}-aide", field.name));
        }
        if error {
            ids.push(format!("{}-erreur", field.name));
        }
        let mut attributes = String::new();
        if !ids.is_empty() {
            attributes.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
        }
        if error {
            attributes.push_str(" aria-invalid=\"true\"");
        }
        attributes
    }

    pub fn respond(&self, status: StatusCode) -> Result<Response, PageError> {
        let mut response = render(self, CachePolicy::NoStore)?;
        *response.status_mut() = status;
        Ok(response)
    }
}
