//! Rollback triggers: "error rate above 5 % for 2 minutes" as data — a threshold, a window, the datapoints the
//! window needs, the smallest sample a datapoint must rest on, a warm-up, and what missing data means. A trigger
//! breaches only when every datapoint of its window breaches (CloudWatch's M of N with M = N); too few
//! datapoints, or datapoints resting on too few samples, are inconclusive — never healthy, and a failure only
//! when the trigger's no-data policy says so. Sources (CloudWatch, Prometheus, a container's `/metrics`) sit
//! behind [`MetricSource`].

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// `error_rate`, `p99_latency`, `unhealthy_targets`, or a name of the configuration's.
    pub name: String,
    /// A datapoint breaches when its value is above this.
    pub threshold: f64,
    /// How long the breach must last.
    pub window: Duration,
    /// The length of one datapoint.
    pub period: Duration,
    /// The samples (requests, health checks) a datapoint needs to count.
    pub min_samples: u64,
    /// Not evaluated before this long after the deploy started.
    pub warmup: Duration,
    pub no_data: NoData,
}

/// What a trigger without enough data means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// Reported, and the deploy goes on (the default: a quiet service is not a failing one).
    #[default]
    Inconclusive,
    /// Treated as a breach (for services that must have traffic).
    Breach,
}

/// One datapoint: the value over a period and the samples it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Datapoint {
    pub value: f64,
    pub samples: u64,
}

/// Where a trigger's datapoints come from.
pub trait MetricSource: Sync {
    /// The datapoints of `trigger` over the last `trigger.window`, oldest first.
    fn datapoints(
        &self,
        trigger: &Trigger,
    ) -> impl Future<Output = Result<Vec<Datapoint>, String>> + Send;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    WarmingUp,
    Healthy,
    Breached,
    Inconclusive { why: String },
}

/// A trigger's reading: its verdict and the newest conclusive value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub trigger: String,
    pub threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Trigger {
    /// The datapoints a window holds (at least one).
    pub fn needed(&self) -> usize {
        let period = self.period.as_secs().max(1);
        usize::try_from(self.window.as_secs().div_ceil(period))
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// The verdict on `points` (the window's datapoints, oldest first), `elapsed` after the deploy started.
    pub fn evaluate(&self, points: &[Datapoint], elapsed: Duration) -> Reading {
        let conclusive: Vec<&Datapoint> = points
            .iter()
            .filter(|p| p.samples >= self.min_samples && p.value.is_finite())
            .collect();
        let value = conclusive.last().map(|p| p.value);
        let needed = self.needed();
        let verdict = if elapsed < self.warmup {
            Verdict::WarmingUp
        } else if conclusive.len() < needed {
            let why = format!(
                "{} of the {needed} datapoint(s) of {} s rest on at least {} sample(s)",
                conclusive.len(),
                self.window.as_secs(),
                self.min_samples
            );
            self.no_data(why)
        } else if conclusive
            .iter()
            .rev()
            .take(needed)
            .all(|p| p.value > self.threshold)
        {
            Verdict::Breached
        } else {
            Verdict::Healthy
        };
        Reading {
            trigger: self.name.clone(),
            threshold: self.threshold,
            value,
            verdict,
        }
    }

    /// The verdict when the source failed `errors` times in a row (`why`: its last error).
    pub fn unreadable(&self, why: &str) -> Reading {
        Reading {
            trigger: self.name.clone(),
            threshold: self.threshold,
            value: None,
            verdict: self.no_data(format!("its source failed: {why}")),
        }
    }

    fn no_data(&self, why: String) -> Verdict {
        match self.no_data {
            NoData::Inconclusive => Verdict::Inconclusive { why },
            NoData::Breach => Verdict::Breached,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_rate() -> Trigger {
        Trigger {
            name: "error_rate".into(),
            threshold: 0.05,
            window: Duration::from_secs(120),
            period: Duration::from_secs(60),
            min_samples: 20,
            warmup: Duration::from_secs(60),
            no_data: NoData::Inconclusive,
        }
    }

    fn points(values: &[(f64, u64)]) -> Vec<Datapoint> {
        values
            .iter()
            .map(|&(value, samples)| Datapoint { value, samples })
            .collect()
    }

    const LATER: Duration = Duration::from_secs(600);

    #[test]
    fn a_breach_needs_every_datapoint_of_the_window_above_the_threshold() {
        let t = error_rate();
        assert_eq!(t.needed(), 2);
        let breached = t.evaluate(&points(&[(0.2, 100), (0.07, 100)]), LATER);
        assert_eq!(breached.verdict, Verdict::Breached);
        assert_eq!(breached.value, Some(0.07));
        let one_spike = t.evaluate(&points(&[(0.2, 100), (0.01, 100)]), LATER);
        assert_eq!(one_spike.verdict, Verdict::Healthy);
        let at_threshold = t.evaluate(&points(&[(0.05, 100), (0.05, 100)]), LATER);
        assert_eq!(at_threshold.verdict, Verdict::Healthy);
    }

    #[test]
    fn too_few_samples_or_datapoints_are_inconclusive_not_healthy() {
        let t = error_rate();
        let thin = t.evaluate(&points(&[(0.5, 3), (0.5, 4)]), LATER);
        assert!(
            matches!(&thin.verdict, Verdict::Inconclusive { why } if why.contains("0 of the 2")),
            "{thin:?}"
        );
        assert_eq!(thin.value, None);
        let short = t.evaluate(&points(&[(0.5, 100)]), LATER);
        assert!(matches!(short.verdict, Verdict::Inconclusive { .. }));
        let none = t.evaluate(&[], LATER);
        assert!(matches!(none.verdict, Verdict::Inconclusive { .. }));
        let nan = t.evaluate(&points(&[(f64::NAN, 100), (0.5, 100)]), LATER);
        assert!(matches!(nan.verdict, Verdict::Inconclusive { .. }));
    }

    #[test]
    fn the_no_data_policy_can_make_silence_a_breach() {
        let t = Trigger {
            no_data: NoData::Breach,
            ..error_rate()
        };
        assert_eq!(t.evaluate(&[], LATER).verdict, Verdict::Breached);
        assert_eq!(t.unreadable("throttled").verdict, Verdict::Breached);
        assert!(matches!(
            error_rate().unreadable("throttled").verdict,
            Verdict::Inconclusive { why } if why.contains("throttled")
        ));
    }

    #[test]
    fn nothing_is_judged_during_the_warm_up() {
        let t = error_rate();
        let early = t.evaluate(&points(&[(0.9, 100), (0.9, 100)]), Duration::from_secs(30));
        assert_eq!(early.verdict, Verdict::WarmingUp);
    }
}
