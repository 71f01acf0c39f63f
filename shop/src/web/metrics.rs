//! Prometheus metrics: requests by route and status, latency histograms by route, database pool, build info.
//! Routes are labelled by their pattern (`/api/v1/products/{slug}`), never the raw path, to bound cardinality.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    backend: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    pool_size: Gauge,
    pool_idle: Gauge,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~8 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

impl Metrics {
    pub fn new(backend: &str) -> Self {
        let mut registry = Registry::with_prefix("vivr");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let pool_size = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections open",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Database connections idle",
            pool_idle.clone(),
        );
        registry.register(
            "build",
            "Build information",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                backend: backend.to_string(),
            }),
        );
        Metrics {
            registry,
            requests,
            latency,
            pool_size,
            pool_idle,
        }
    }
}

pub async fn metrics_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// A method as a label: the standard ones by name, anything a client invents as `OTHER`, so that labels stay a
/// fixed, small set.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// The text exposition format, with the pool gauges read at scrape time.
pub fn metrics_text(state: &AppState) -> String {
    let metrics = state.metrics();
    let stats = state.store().pool_stats();
    metrics.pool_size.set(i64::from(stats.size));
    metrics.pool_idle.set(i64::from(stats.idle));
    let mut out = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &metrics.registry) {
        tracing::error!(error = %err, "could not encode metrics");
    }
    out
}
