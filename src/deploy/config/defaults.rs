//! What a deploy file may leave out: serde's defaults, and the deployment audit's three rollback triggers.

use std::time::Duration;

use crate::deploy::triggers::{NoData, Trigger};

pub(super) fn desired() -> i32 {
    2
}
pub(super) fn grace() -> u64 {
    60
}
pub(super) fn yes() -> bool {
    true
}
pub(super) fn timeout() -> u64 {
    900
}
pub(super) fn bake() -> u64 {
    300
}
pub(super) fn poll() -> u64 {
    15
}
pub(super) fn keep() -> u32 {
    10
}
pub(super) fn port() -> u16 {
    3000
}
pub(super) fn stops() -> usize {
    3
}
pub(super) fn crash_grace() -> u64 {
    300
}

/// The three triggers of the deployment audit, on 60-second datapoints.
pub const DEFAULT_TRIGGERS: [&str; 3] = ["error_rate", "p99_latency", "unhealthy_targets"];

/// One of [`DEFAULT_TRIGGERS`] as the audit sets it; `None` for another name.
pub(super) fn trigger(name: &str) -> Option<Trigger> {
    let minute = Duration::from_secs(60);
    let (threshold, window, min_samples) = match name {
        // 5xx answers / requests.
        "error_rate" => (0.05, 2 * minute, 20),
        // Seconds.
        "p99_latency" => (5.0, 2 * minute, 20),
        // Unhealthy / all targets.
        "unhealthy_targets" => (0.5, minute, 1),
        _ => return None,
    };
    Some(Trigger {
        name: name.to_string(),
        threshold,
        window,
        period: minute,
        min_samples,
        warmup: minute,
        no_data: NoData::Inconclusive,
    })
}
