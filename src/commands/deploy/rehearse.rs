//! `vivr deploy rehearse`: a release tried against the local platform before it reaches ECS.

use std::time::Duration;

use serde::Serialize;

use crate::deploy::machine::{self, Ending, Plan};
use crate::deploy::task::TaskDefinition;
use crate::exit::Outcome;
use crate::output::{Ctx, Report};

use super::*;

#[derive(Debug, Serialize)]
pub(super) struct RehearsalReport {
    event: &'static str,
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    ending: Ending,
    #[serde(flatten)]
    learnt: crate::deploy::rehearse::Outcome,
}

impl Report for RehearsalReport {
    fn text(&self) -> String {
        let mut text = match (&self.passed, &self.reason) {
            (true, _) => format!("Rehearsal passed: {} ", self.image),
            (false, reason) => format!(
                "Rehearsal FAILED: {}: {}\n",
                self.image,
                reason.as_deref().unwrap_or("see above")
            ),
        };
        if !self.passed {
            text += "See runbooks/rollback.md#the-rehearsal-failed\n";
        }
        if self.passed {
            text += &format!(
                "turned healthy and served {} smoke request(s) ({} failed) within the triggers",
                self.learnt.load.requests, self.learnt.load.failures
            );
            text += &match &self.learnt.drained {
                Some((_, how)) => format!("; the current image drained ({how}).\n"),
                None => ".\n".into(),
            };
        }
        if let Some(logs) = self
            .learnt
            .logs
            .as_deref()
            .filter(|l| !l.trim().is_empty() && !self.passed)
        {
            text += &format!("Its last log lines:\n{logs}");
        }
        text
    }

    fn outcome(&self) -> Outcome {
        match (&self.ending, self.passed) {
            (Ending::Refused { .. }, _) => Outcome::Error,
            (_, true) => Outcome::Success,
            (_, false) => Outcome::CheckFailed,
        }
    }
}

pub(super) async fn rehearse(args: &RehearseArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    use crate::deploy::rehearse::{Rehearsal, triggers};
    let style = stream_style(args.format);
    let engine = crate::image::engine::Engine::connect().await?;
    let rehearsal = Rehearsal::begin(
        engine,
        &args.image,
        args.current.as_deref(),
        (args.requests, Duration::from_secs(args.duration)),
        Duration::from_secs(args.timeout),
    )
    .await?;
    let plan = Plan {
        // The engine runs the image's own configuration: the rehearsal registers nothing.
        definition: TaskDefinition {
            family: "rehearsal".into(),
            ..TaskDefinition::default()
        },
        image: args.image.clone(),
        actor: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        timeout: Duration::from_secs(args.timeout),
        bake: Duration::from_secs(args.duration),
        poll: Duration::from_secs(1),
        grace: Duration::from_secs(args.timeout),
        crash_stops: 1,
        triggers: triggers(),
        error_limit: 4,
        keep: 0,
        // A throwaway database: nothing to check.
        migrations: None,
    };
    let emit = printer(ctx, style);
    let ending = machine::deploy(&rehearsal, &rehearsal, &plan, &emit).await;
    let learnt = rehearsal.finish().await;
    let ending = ending?;
    let drained_ok = learnt.drained.as_ref().is_none_or(|(ok, _)| *ok);
    let reason = match &ending {
        Ending::Deployed { .. } if drained_ok => None,
        Ending::Deployed { .. } => Some(format!(
            "the current image did not drain on SIGTERM: {}",
            learnt.drained.as_ref().map_or("", |(_, how)| how.as_str())
        )),
        Ending::RolledBack { failure, .. } | Ending::RollbackFailed { failure, .. } => {
            Some(failure.to_string())
        }
        Ending::Refused { reason } => Some(reason.clone()),
    };
    let report = RehearsalReport {
        event: "result",
        image: args.image.clone(),
        current: args.current.clone(),
        passed: reason.is_none(),
        reason,
        ending,
        learnt,
    };
    ctx.emit(&report, style)
}
