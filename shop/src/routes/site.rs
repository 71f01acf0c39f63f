//! The files crawlers and security researchers read: robots.txt, the sitemap (an index and its files) and
//! security.txt (RFC 9116). No session, no cookie; shared caches may keep them briefly.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;

use crate::AppState;
use crate::error::AppError;
use crate::services::sitemap::{self, Entry, SitemapFile};
use crate::web::{CachePolicy, set_cache_control};

/// How long a published security.txt stays valid (RFC 9116 asks for less than a year).
const SECURITY_TXT_VALIDITY_DAYS: i64 = 180;

/// The scheme and host absolute links start with: the configured public URL, or in its absence (development) the
/// host the request named, when it is a plain host name.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config().public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn text(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    set_cache_control(&mut response, CachePolicy::PublicShort);
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found\n").into_response()
}

fn xml(template: &impl Template) -> Result<Response, AppError> {
    let body = template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("sitemap rendering failed: {e}")))?;
    Ok(text(body, "application/xml; charset=utf-8"))
}

pub async fn robots(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /compte\nDisallow: /connexion\n\nSitemap: {}/sitemap.xml\n",
        base_url(&state, &headers)
    );
    text(body, "text/plain; charset=utf-8")
}

#[derive(Template)]
#[template(path = "sitemap_index.xml")]
struct SitemapIndex {
    base: String,
    files: Vec<String>,
}

/// `/sitemap.xml`: the index of the sitemap's files.
pub async fn sitemap_index(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let files = sitemap::files(&state).await?;
    xml(&SitemapIndex {
        base: base_url(&state, &headers),
        files: files.into_iter().map(SitemapFile::name).collect(),
    })
}

#[derive(Template)]
#[template(path = "sitemap.xml")]
struct Sitemap {
    base: String,
    entries: Vec<Entry>,
}

/// `/sitemaps/{file}`: one file of the sitemap; 404 for a name the index does not list.
pub async fn sitemap_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let Some(file) = SitemapFile::parse(&name) else {
        return Ok(not_found());
    };
    let Some(entries) = sitemap::entries(&state, file).await? else {
        return Ok(not_found());
    };
    xml(&Sitemap {
        base: base_url(&state, &headers),
        entries,
    })
}

/// `/.well-known/security.txt`: whom to tell about a vulnerability, valid for 180 days from now (the file is
/// written per request, so it never expires while the shop runs). 404 when no contact is configured.
pub async fn security_txt(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(contact) = &state.config().security_contact else {
        return not_found();
    };
    text(
        security_txt_body(
            contact,
            &base_url(&state, &headers),
            crate::auth::now() + chrono::Duration::days(SECURITY_TXT_VALIDITY_DAYS),
        ),
        "text/plain; charset=utf-8",
    )
}

fn security_txt_body(contact: &str, base: &str, expires: NaiveDateTime) -> String {
    format!(
        "Contact: {contact}\nExpires: {}\nPreferred-Languages: fr, en\nCanonical: {base}/.well-known/security.txt\n",
        expires.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_txt_has_the_required_fields() {
        let expires = chrono::NaiveDate::from_ymd_opt(2027, 5, 31)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .unwrap();
        assert_eq!(
            security_txt_body("mailto:securite@vivr.fr", "https://www.vivr.fr", expires),
            "Contact: mailto:securite@vivr.fr\nExpires: 2027-05-31T09:30:00Z\nPreferred-Languages: fr, en\n\
             Canonical: https://www.vivr.fr/.well-known/security.txt\n"
        );
    }
}
