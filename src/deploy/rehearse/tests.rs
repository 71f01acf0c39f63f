use super::*;

const METRICS: &str = r#"# HELP vivr_http_requests HTTP requests by route and status.
# TYPE vivr_http_requests counter
vivr_http_requests_total{method="GET",route="/",status="200"} 90
vivr_http_requests_total{method="GET",route="/panier",status="500"} 10
vivr_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/"} 50
vivr_http_request_duration_seconds_bucket{le="0.002",method="GET",route="/"} 95
vivr_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/"} 100
"#;

#[test]
fn counters_and_buckets_are_read_from_vivrs_metrics() {
    let scrape = parse(METRICS);
    assert_eq!(scrape.requests, 100.0);
    assert_eq!(scrape.errors, 10.0);
    assert_eq!(
        scrape.buckets,
        [(0.001, 50.0), (0.002, 95.0), (f64::INFINITY, 100.0)]
    );
    let point = between(&Scrape::default(), &scrape, "error_rate");
    assert_eq!((point.value, point.samples), (0.1, 100));
    assert_eq!(
        between(&Scrape::default(), &scrape, "p99_latency").value,
        f64::INFINITY
    );
    let none = between(&scrape, &scrape, "error_rate");
    assert_eq!(none.samples, 0);
    assert!(none.value.is_nan());
}
