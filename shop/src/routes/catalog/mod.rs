//! Catalogue: `/api/v1/categories`, `/api/v1/products` (public reads with ETag; admin writes) and the catalogue,
//! category, search and product pages.

use serde::Serialize;

use crate::error::AppError;

mod admin;
mod admin_categories;
mod api;
mod pages;

pub use admin::*;
pub use admin_categories::*;
pub use api::*;
pub use pages::*;

fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or_default())
        .map_err(|_| AppError::bad_request("invalid_query", "Chaîne de requête mal formée"))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_scripts_cannot_close_the_tag() {
        let v = serde_json::json!({"name": "</script><script>alert(1)</script>&\u{2028}"});
        let out = script_safe_json(&v);
        assert!(
            !out.contains('<')
                && !out.contains('>')
                && !out.contains('&')
                && !out.contains('\u{2028}')
        );
    }
}
