//! Trigger datapoints from a Prometheus server that scrapes the service's tasks (`/metrics`), read with one
//! `query_range` per series over the trigger's window, a step of one period. The queries are written against
//! vivr's own metrics and the server's `up`, narrowed by the configuration's label selector (`job="vivr"`):
//!
//! - `error_rate`: 5xx responses / responses over each period, samples = responses;
//! - `p99_latency`: `histogram_quantile(0.99, …)` of the request-duration buckets, samples = responses;
//! - `unhealthy_targets`: the share of scrape targets down (`1 - avg(up)`), samples = targets.
//!
//! Plain `http://` only (a server inside the VPC); a managed Prometheus behind SigV4 is not supported.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::triggers::{Datapoint, MetricSource, Trigger};

pub struct Prometheus {
    url: String,
    selector: String,
}

impl Prometheus {
    /// `url`: the server (`http://prometheus:9090`); `selector`: label matchers without braces (`job="vivr"`).
    pub fn new(url: &str, selector: &str) -> Self {
        Prometheus {
            url: url.trim_end_matches('/').to_string(),
            selector: selector.to_string(),
        }
    }

    /// `name{selector,extra}`.
    fn series(&self, name: &str, extra: &str) -> String {
        let matchers: Vec<&str> = [self.selector.as_str(), extra]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect();
        format!("{name}{{{}}}", matchers.join(","))
    }

    /// The values of `query` over the window, by timestamp (seconds).
    async fn range(&self, query: &str, trigger: &Trigger) -> Result<BTreeMap<i64, f64>, String> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let start = now.saturating_sub(trigger.window);
        let step = trigger.period.max(Duration::from_secs(1));
        let url = url::Url::parse_with_params(
            &format!("{}/api/v1/query_range", self.url),
            [
                ("query", query.to_string()),
                ("start", start.as_secs().to_string()),
                ("end", now.as_secs().to_string()),
                ("step", format!("{}s", step.as_secs())),
            ],
        )
        .map_err(|e| format!("Prometheus URL {}: {e}", self.url))?;
        let (status, body) =
            tokio::time::timeout(Duration::from_secs(10), crate::probe::get(url.as_str()))
                .await
                .map_err(|_| "Prometheus did not answer within 10 s".to_string())?
                .map_err(|e| format!("Prometheus: {e:#}"))?;
        let answer: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
            format!("Prometheus answered {status} with something other than its JSON")
        })?;
        if answer.get("status").and_then(|v| v.as_str()) != Some("success") {
            return Err(format!(
                "Prometheus refused the query ({status}): {}",
                answer
                    .get("error")
                    .and_then(|v| v.as_str())
                    .unwrap_or("no reason given")
            ));
        }
        let mut values = BTreeMap::new();
        let series = answer
            .pointer("/data/result")
            .and_then(|r| r.as_array())
            .map_or(&[][..], Vec::as_slice);
        for one in series {
            let pairs = one
                .get("values")
                .and_then(|v| v.as_array())
                .map_or(&[][..], Vec::as_slice);
            for pair in pairs {
                let at = pair.get(0).and_then(|t| t.as_f64()).map(|t| t as i64);
                let value = pair
                    .get(1)
                    .and_then(|v| v.as_str())
                    .and_then(|v| v.parse::<f64>().ok());
                if let (Some(at), Some(value)) = (at, value) {
                    *values.entry(at).or_insert(0.0) += value;
                }
            }
        }
        Ok(values)
    }
}

/// Each timestamp of `samples`: `values[t]` (missing: not a number) resting on `samples[t]`.
fn align(values: &BTreeMap<i64, f64>, samples: &BTreeMap<i64, f64>) -> Vec<Datapoint> {
    samples
        .iter()
        .map(|(t, count)| Datapoint {
            value: values.get(t).copied().unwrap_or(f64::NAN),
            samples: count.max(0.0).round() as u64,
        })
        .collect()
}

impl MetricSource for Prometheus {
    async fn datapoints(&self, trigger: &Trigger) -> Result<Vec<Datapoint>, String> {
        let period = format!("{}s", trigger.period.as_secs().max(1));
        let requests = format!(
            "sum(increase({}[{period}]))",
            self.series("vivr_http_requests_total", "")
        );
        match trigger.name.as_str() {
            "error_rate" => {
                let errors = format!(
                    "sum(increase({}[{period}]))",
                    self.series("vivr_http_requests_total", "status=~\"5..\"")
                );
                let total = self.range(&requests, trigger).await?;
                let failed = self.range(&errors, trigger).await?;
                // No 5xx series at all is no error, not no data.
                let ratios: BTreeMap<i64, f64> = total
                    .iter()
                    .map(|(t, n)| {
                        let bad = failed.get(t).copied().unwrap_or(0.0);
                        (*t, if *n > 0.0 { bad / n } else { f64::NAN })
                    })
                    .collect();
                Ok(align(&ratios, &total))
            }
            "p99_latency" => {
                let p99 = format!(
                    "histogram_quantile(0.99, sum by (le) (increase({}[{period}])))",
                    self.series("vivr_http_request_duration_seconds_bucket", "")
                );
                let total = self.range(&requests, trigger).await?;
                Ok(align(&self.range(&p99, trigger).await?, &total))
            }
            "unhealthy_targets" => {
                let down = format!("1 - avg({})", self.series("up", ""));
                let targets = format!("count({})", self.series("up", ""));
                let count = self.range(&targets, trigger).await?;
                Ok(align(&self.range(&down, trigger).await?, &count))
            }
            other => Err(format!("Prometheus has no query for the trigger {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_carry_the_configured_selector() {
        let p = Prometheus::new("http://prometheus:9090/", "job=\"vivr\"");
        assert_eq!(p.url, "http://prometheus:9090");
        assert_eq!(
            p.series("vivr_http_requests_total", "status=~\"5..\""),
            "vivr_http_requests_total{job=\"vivr\",status=~\"5..\"}"
        );
        assert_eq!(Prometheus::new("http://p", "").series("up", ""), "up{}");
    }

    #[test]
    fn datapoints_rest_on_their_samples_and_a_missing_value_is_not_a_number() {
        let values = BTreeMap::from([(60, 0.5)]);
        let samples = BTreeMap::from([(60, 10.0), (120, 3.0)]);
        let points = align(&values, &samples);
        assert_eq!(points[0].value, 0.5);
        assert_eq!(points[0].samples, 10);
        assert!(points[1].value.is_nan());
        assert_eq!(points[1].samples, 3);
    }
}
