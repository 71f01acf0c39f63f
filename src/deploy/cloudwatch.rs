//! Trigger datapoints from CloudWatch: the service's Application Load Balancer target group
//! (`AWS/ApplicationELB`, dimensions LoadBalancer and TargetGroup), read with one `GetMetricData` per trigger.
//! Ratios are computed here from plain sums and averages, each datapoint carrying the samples it rests on
//! (requests, or targets), so a quiet minute is inconclusive rather than healthy.
//!
//! - `error_rate`: `HTTPCode_Target_5XX_Count` / `RequestCount` (Sum), samples = requests;
//! - `p99_latency`: `TargetResponseTime` p99 in seconds, samples = requests;
//! - `unhealthy_targets`: `UnHealthyHostCount` / (`HealthyHostCount` + `UnHealthyHostCount`) (Average),
//!   samples = targets.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::triggers::{Datapoint, MetricSource, Trigger};

const NAMESPACE: &str = "AWS/ApplicationELB";

pub struct CloudWatch {
    client: Client,
    load_balancer: String,
    target_group: String,
}

impl CloudWatch {
    pub fn new(sdk: &aws_config::SdkConfig, load_balancer: &str, target_group: &str) -> Self {
        CloudWatch {
            client: Client::new(sdk),
            load_balancer: load_balancer.to_string(),
            target_group: target_group.to_string(),
        }
    }

    fn query(&self, id: &str, metric: &str, stat: &str, period: i32) -> MetricDataQuery {
        let dimension =
            |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
        MetricDataQuery::builder()
            .id(id)
            .return_data(true)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(NAMESPACE)
                            .metric_name(metric)
                            .dimensions(dimension("LoadBalancer", &self.load_balancer))
                            .dimensions(dimension("TargetGroup", &self.target_group))
                            .build(),
                    )
                    .period(period)
                    .stat(stat)
                    .build(),
            )
            .build()
    }

    /// The series of each query over the trigger's window, by id, keyed by timestamp (seconds).
    async fn series(
        &self,
        trigger: &Trigger,
        queries: Vec<MetricDataQuery>,
    ) -> Result<BTreeMap<String, BTreeMap<i64, f64>>, String> {
        let now = SystemTime::now();
        let start = now
            .checked_sub(trigger.window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let answer = self
            .client
            .get_metric_data()
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(now))
            .set_metric_data_queries(Some(queries))
            .send()
            .await
            .map_err(|e| format!("CloudWatch GetMetricData: {:#}", crate::aws::describe(e)))?;
        Ok(answer
            .metric_data_results()
            .iter()
            .map(|r| {
                (
                    r.id().unwrap_or_default().to_string(),
                    r.timestamps()
                        .iter()
                        .map(DateTime::secs)
                        .zip(r.values().iter().copied())
                        .collect(),
                )
            })
            .collect())
    }
}

/// `numerator[t] / denominator[t]` at every timestamp of `denominator`, resting on `samples[t]`; oldest first.
fn ratios(
    numerator: &BTreeMap<i64, f64>,
    denominator: &BTreeMap<i64, f64>,
    samples: impl Fn(i64, f64) -> f64,
) -> Vec<Datapoint> {
    denominator
        .iter()
        .map(|(t, &total)| {
            let part = numerator.get(t).copied().unwrap_or(0.0);
            Datapoint {
                value: if total > 0.0 { part / total } else { f64::NAN },
                samples: samples(*t, total).max(0.0) as u64,
            }
        })
        .collect()
}

impl MetricSource for CloudWatch {
    async fn datapoints(&self, trigger: &Trigger) -> Result<Vec<Datapoint>, String> {
        let period = i32::try_from(trigger.period.as_secs())
            .unwrap_or(60)
            .max(60);
        let empty = BTreeMap::new();
        match trigger.name.as_str() {
            "error_rate" => {
                let series = self
                    .series(
                        trigger,
                        vec![
                            self.query("requests", "RequestCount", "Sum", period),
                            self.query("errors", "HTTPCode_Target_5XX_Count", "Sum", period),
                        ],
                    )
                    .await?;
                let requests = series.get("requests").unwrap_or(&empty);
                let errors = series.get("errors").unwrap_or(&empty);
                Ok(ratios(errors, requests, |_, total| total))
            }
            "p99_latency" => {
                let series = self
                    .series(
                        trigger,
                        vec![
                            self.query("requests", "RequestCount", "Sum", period),
                            self.query("p99", "TargetResponseTime", "p99", period),
                        ],
                    )
                    .await?;
                let requests = series.get("requests").unwrap_or(&empty);
                Ok(series
                    .get("p99")
                    .unwrap_or(&empty)
                    .iter()
                    .map(|(t, &value)| Datapoint {
                        value,
                        samples: requests.get(t).copied().unwrap_or(0.0).max(0.0) as u64,
                    })
                    .collect())
            }
            "unhealthy_targets" => {
                let series = self
                    .series(
                        trigger,
                        vec![
                            self.query("healthy", "HealthyHostCount", "Average", period),
                            self.query("unhealthy", "UnHealthyHostCount", "Average", period),
                        ],
                    )
                    .await?;
                let healthy = series.get("healthy").unwrap_or(&empty);
                let unhealthy = series.get("unhealthy").unwrap_or(&empty);
                let all: BTreeMap<i64, f64> = healthy
                    .keys()
                    .chain(unhealthy.keys())
                    .map(|t| {
                        let sum = healthy.get(t).copied().unwrap_or(0.0)
                            + unhealthy.get(t).copied().unwrap_or(0.0);
                        (*t, sum)
                    })
                    .collect();
                Ok(ratios(unhealthy, &all, |_, total| total.ceil()))
            }
            other => Err(format!("CloudWatch has no query for the trigger {other:?}")),
        }
    }
}
