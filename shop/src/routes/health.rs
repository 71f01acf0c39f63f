//! Liveness, readiness and metrics. Readiness answers within ~1.5 s even when the database hangs, so an
//! orchestrator sees 503 quickly and routes traffic elsewhere; it recovers by itself when the database returns.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::web::{CachePolicy, metrics_text, set_cache_control};

const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

pub async fn live() -> Response {
    let mut response = Json(json!({"status": "ok"})).into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

/// What readiness found wrong; empty when ready.
pub async fn readiness_problems(state: &AppState) -> Vec<String> {
    let store = state.store();
    let mut problems = Vec::new();
    if state.is_shutting_down() {
        problems.push("server: shutting down".to_string());
    }
    let check = async {
        match &state.config().schema_probe {
            Some(probe) => probe.problems().await,
            None => Ok(store.ping().await.map(|()| Vec::new())?),
        }
    };
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Err(_) => problems.push(format!(
            "database: no answer within {} ms",
            CHECK_TIMEOUT.as_millis()
        )),
        Ok(Err(err)) => {
            tracing::warn!(
                error = format!("{err:#}"),
                "readiness: database check failed"
            );
            problems.push("database: unreachable".to_string());
        }
        Ok(Ok(found)) => problems.extend(found),
    }
    problems
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let problems = readiness_problems(&state).await;
    let (status, body) = if problems.is_empty() {
        (
            StatusCode::OK,
            json!({"status": "ok", "database": state.store().backend().as_str()}),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "problems": problems}),
        )
    };
    let mut response = (status, Json(body)).into_response();
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = metrics_text(&state).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    set_cache_control(&mut response, CachePolicy::NoStore);
    response
}
