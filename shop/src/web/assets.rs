//! Static files, embedded in the binary and served under content-hashed names (`app.3f2a…css`), so they can be
//! cached for a year: a new build changes the name.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{CachePolicy, set_cache_control};
use crate::AppState;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "checkout.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/checkout.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
    (
        "placeholder.svg",
        "image/svg+xml",
        include_bytes!("../../static/placeholder.svg"),
    ),
];

struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
}

pub struct Assets {
    by_hashed_name: HashMap<String, Asset>,
    urls: HashMap<&'static str, String>,
}

impl Assets {
    pub fn load() -> Self {
        let mut by_hashed_name = HashMap::new();
        let mut urls = HashMap::new();
        for (name, content_type, bytes) in FILES {
            let hash = hex::encode(Sha256::digest(bytes).get(..6).unwrap_or_default());
            let hashed = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{name}.{hash}"),
            };
            urls.insert(*name, format!("/static/{hashed}"));
            by_hashed_name.insert(
                hashed,
                Asset {
                    content_type,
                    bytes,
                },
            );
        }
        Assets {
            by_hashed_name,
            urls,
        }
    }

    /// The URL of a static file by its plain name (`"app.css"`).
    pub fn url(&self, name: &str) -> &str {
        self.urls
            .get(name)
            .map(String::as_str)
            .unwrap_or("/static/missing")
    }
}

pub async fn static_asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match state.assets().by_hashed_name.get(&file) {
        Some(asset) => {
            let mut response = asset.bytes.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
            set_cache_control(&mut response, CachePolicy::Immutable);
            response
        }
        None => {
            let mut response = (StatusCode::NOT_FOUND, "not found").into_response();
            set_cache_control(&mut response, CachePolicy::NoStore);
            response
        }
    }
}
