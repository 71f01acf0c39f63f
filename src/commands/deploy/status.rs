//! `vivr deploy status`: the service's deployments, its known-good revision and the triggers' readings.

use serde::Serialize;

use crate::deploy::machine::{Event, short_revision};
use crate::deploy::platform::{KnownGood, Platform};
use crate::deploy::triggers::{MetricSource, Reading};
use crate::exit::Outcome;
use crate::output::{Ctx, Report, Style, table};

use super::*;

#[derive(Debug, Serialize)]
pub(super) struct StatusReport {
    environment: String,
    cluster: String,
    service: String,
    deployments: Vec<crate::deploy::platform::Deployment>,
    known_good: Option<KnownGood>,
    triggers: Vec<Reading>,
}

impl Report for StatusReport {
    fn text(&self) -> String {
        let mut t = table([
            "deployment",
            "status",
            "revision",
            "rollout",
            "running",
            "failed",
        ]);
        for d in &self.deployments {
            t.add_row([
                d.id.clone(),
                format!("{:?}", d.status).to_uppercase(),
                short_revision(&d.revision).to_string(),
                format!("{:?}", d.rollout),
                format!("{}/{}", d.running, d.desired),
                d.failed.to_string(),
            ]);
        }
        let mut text = format!(
            "{} / {} ({})\n{t}\n",
            self.cluster, self.service, self.environment
        );
        text += &match &self.known_good {
            Some(g) => format!(
                "Last known good: {} ({}), deployed {} by {}.\n",
                short_revision(&g.revision),
                g.image,
                g.at,
                g.by
            ),
            None => {
                "Last known good: none recorded (no `vivr deploy` has succeeded here).\n".into()
            }
        };
        for reading in &self.triggers {
            text += &format!(
                "{}\n",
                Event::Trigger {
                    reading: reading.clone()
                }
                .text()
            );
        }
        text
    }
}

pub(super) async fn status(target: &Target, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let setup = setup(target).await?;
    let state = setup.ecs().service().await?;
    let metrics = setup.metrics();
    let mut triggers = Vec::new();
    for trigger in setup.config.triggers() {
        triggers.push(match metrics.datapoints(&trigger).await {
            // Warm-up does not apply to a service already running.
            Ok(points) => trigger.evaluate(&points, trigger.warmup),
            Err(err) => trigger.unreadable(&err),
        });
    }
    let report = StatusReport {
        environment: setup.config.environment.clone(),
        cluster: setup.config.cluster.clone(),
        service: setup.config.service.clone(),
        deployments: state.deployments,
        known_good: state.known_good,
        triggers,
    };
    ctx.emit(&report, Style::from(target.format))
}
