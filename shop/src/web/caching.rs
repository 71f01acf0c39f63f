//! Cache-Control per kind of response, and strong ETags with `304 Not Modified` for the public catalogue API.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Content-hashed static files: never change under their name.
    Immutable,
    /// The public catalogue API: shared caches may keep it briefly and revalidate with the ETag.
    PublicShort,
    /// Pages that may show who is signed in: the browser may keep them, revalidating each time.
    PrivatePage,
    /// Anything personal (account pages, sign-in answers, errors).
    NoStore,
}

impl CachePolicy {
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            CachePolicy::Immutable => "public, max-age=31536000, immutable",
            CachePolicy::PublicShort => "public, max-age=60, stale-while-revalidate=300",
            CachePolicy::PrivatePage => "private, no-cache",
            CachePolicy::NoStore => "no-store",
        })
    }
}

pub fn set_cache_control(response: &mut Response, policy: CachePolicy) {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, policy.header_value());
}

fn etag_matches(request_headers: &HeaderMap, etag: &str) -> bool {
    request_headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

/// A public JSON answer with a strong ETag over its bytes; `304` when the client already has it.
pub fn json_with_etag(request_headers: &HeaderMap, body: Vec<u8>) -> Response {
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", hex::encode(digest.get(..16).unwrap_or_default()));
    let mut response = if etag_matches(request_headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into_response();
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, v);
    }
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    set_cache_control(&mut response, CachePolicy::PublicShort);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(etag_matches(&h, "\"b\""));
        assert!(etag_matches(&h, "\"a\""));
        assert!(!etag_matches(&h, "\"c\""));
    }
}
