//! HTTP plumbing shared by every route: security headers with a per-request CSP nonce, caching helpers (ETag,
//! Cache-Control), the embedded static assets, and metrics.

mod assets;
mod caching;
mod edge;
mod metrics;
mod security;

pub use assets::{Assets, static_asset};
pub use caching::{CachePolicy, json_with_etag, set_cache_control};
pub use edge::{
    REQUEST_ID, check_request_id, is_acceptable_request_id, panic_response, percent_decodes_to_nul,
    refuse_oversized_bodies,
};
pub use metrics::{Metrics, metrics_layer, metrics_text};
pub use security::{CspNonce, StripeElements, asset_origin, security_headers};
