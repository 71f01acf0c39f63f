//! The audit log, for administrators: `/admin/journal` and `GET /api/v1/admin/audit`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::guards::Admin;
use super::openapi::Data;
use super::orders::page_number;
use super::pages::{Layout, PageError, french_date, render};
use super::personal_data;
use crate::AppState;
use crate::auth::RequestContext;
use crate::error::AppError;
use crate::store::AuditEntry;
use crate::web::CachePolicy;

/// Events a page shows.
const PER_PAGE: u32 = 50;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The page, from 1
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    page: Option<String>,
    /// A product or category slug, or an order number (`sujet` on the page).
    #[serde(alias = "sujet")]
    subject: Option<String>,
}

impl AuditQuery {
    fn subject(&self) -> Option<&str> {
        self.subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// One page of events, and whether older ones follow.
async fn entries(
    state: &AppState,
    q: &AuditQuery,
) -> Result<(u32, Vec<AuditEntry>, bool), AppError> {
    let page = page_number(q.page.as_deref())?;
    let mut entries = state
        .store()
        .audit_log(q.subject(), PER_PAGE + 1, (page - 1) * PER_PAGE)
        .await?;
    let has_more = entries.len() > PER_PAGE as usize;
    entries.truncate(PER_PAGE as usize);
    Ok((page, entries, has_more))
}

#[utoipa::path(get, operation_id = "listAuditEntries", path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery), security(("session" = [])),
    responses((status = 200, description = "The administrators' writes, newest first, 50 a page", body = Data<Vec<AuditEntry>>)))]
/// `GET /api/v1/admin/audit?subject=&page=`: the newest first, 50 a page.
pub async fn api_audit(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let (_, entries, _) = entries(&state, &q).await?;
    Ok(personal_data(StatusCode::OK, entries))
}

/// An event as the page shows it.
struct Row {
    when: String,
    who: String,
    action: &'static str,
    subject: String,
    /// The query that shows this subject's events only (`sujet=…`).
    filter: String,
    /// `(field, from, to)`, values as text.
    changes: Vec<(String, String, String)>,
}

fn subject_query(subject: &str) -> String {
    serde_urlencoded::to_string([("sujet", subject)]).unwrap_or_default()
}

fn action_fr(action: &str) -> &'static str {
    match action {
        "product.create" => "Produit créé",
        "product.update" => "Produit modifié",
        "product.archive" => "Produit retiré (archivé)",
        "product.delete" => "Produit supprimé",
        "category.create" => "Catégorie créée",
        "category.update" => "Catégorie modifiée",
        "category.delete" => "Catégorie supprimée",
        "order.status" => "Statut de commande",
        _ => "Modification",
    }
}

fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl From<&AuditEntry> for Row {
    fn from(e: &AuditEntry) -> Self {
        let time = crate::domain::time::in_paris(e.at).format("%H:%M");
        let changes = e
            .changes
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .map(|(field, change)| {
                        (
                            field.clone(),
                            shown(change.get("from").unwrap_or_default()),
                            shown(change.get("to").unwrap_or_default()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Row {
            when: format!("{} à {time}", french_date(e.at)),
            who: e
                .actor
                .clone()
                .unwrap_or_else(|| "compte supprimé".to_string()),
            action: action_fr(&e.action),
            subject: e.subject.clone(),
            filter: subject_query(&e.subject),
            changes,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_journal.html")]
struct JournalPage<'a> {
    layout: Layout<'a>,
    subject: String,
    /// `&sujet=…` for the paging links when a subject is chosen.
    filter: String,
    entries: Vec<Row>,
    page: u32,
    has_more: bool,
}

/// `/admin/journal?sujet=&page=`.
pub async fn page_journal(
    State(state): State<AppState>,
    _: Admin,
    ctx: RequestContext,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let (page, entries, has_more) = entries(&state, &q).await?;
    let view = JournalPage {
        layout: Layout::new(&state, &ctx, "Journal des modifications"),
        subject: q.subject().unwrap_or_default().to_string(),
        filter: q
            .subject()
            .map(|s| format!("&{}", subject_query(s)))
            .unwrap_or_default(),
        entries: entries.iter().map(Row::from).collect(),
        page,
        has_more,
    };
    render(&view, CachePolicy::NoStore)
}
