use clap::Parser;

use super::*;
use crate::deploy::triggers::{Reading, Verdict};

fn report(ending: Ending) -> DeployReport {
    DeployReport {
        event: "result",
        environment: "production".into(),
        cluster: "vivr-production".into(),
        service: "vivr".into(),
        image: None,
        preflight: Vec::new(),
        dry_run: None,
        runbook: runbook(&ending),
        ending: Some(ending),
    }
}

#[test]
fn each_ending_has_its_exit_code_its_sentence_and_its_runbook() {
    let revision = "arn:aws:ecs:eu-west-3:123456789012:task-definition/vivr:7".to_string();
    let breach = Failure::Trigger {
        reading: Reading {
            trigger: "error_rate".into(),
            threshold: 0.05,
            value: Some(0.12),
            verdict: Verdict::Breached,
        },
    };
    let cases = [
        (
            Ending::Deployed {
                revision: revision.clone(),
                inconclusive: Vec::new(),
            },
            0,
            "Deployed vivr:7",
            None,
        ),
        (
            Ending::RolledBack {
                failure: breach.clone(),
                to: revision.clone(),
            },
            1,
            "trigger error_rate breached: 0.1200 above 0.05",
            Some("#the-deploy-was-rolled-back"),
        ),
        (
            Ending::RolledBack {
                failure: Failure::TimedOut { after_secs: 900 },
                to: revision.clone(),
            },
            5,
            "did not complete within 900 s",
            Some("#the-deploy-timed-out"),
        ),
        (
            Ending::RollbackFailed {
                failure: breach,
                rollback: "not confirmed within 900 s".into(),
            },
            4,
            "The ROLLBACK FAILED: not confirmed",
            Some("#the-rollback-failed"),
        ),
        (
            Ending::Refused {
                reason: "another deployment is in progress".into(),
            },
            2,
            "Refused, nothing changed",
            Some("#the-deploy-was-refused"),
        ),
    ];
    for (ending, code, sentence, anchor) in cases {
        let report = report(ending);
        assert_eq!(report.outcome().code(), code, "{sentence}");
        let text = report.text();
        assert!(text.contains(sentence), "{text}");
        match anchor {
            Some(anchor) => assert!(
                text.contains(&format!("See runbooks/rollback.md{anchor}")),
                "{text}"
            ),
            None => assert!(!text.contains("runbooks/"), "{text}"),
        }
    }
}

#[test]
fn the_runbook_sections_named_exist() {
    let runbook = include_str!("../../../runbooks/rollback.md");
    let headings: Vec<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.to_lowercase().replace(' ', "-"))
        .collect();
    for anchor in [
        "the-deploy-was-rolled-back",
        "the-deploy-timed-out",
        "the-rollback-failed",
        "the-deploy-was-refused",
        "the-rehearsal-failed",
    ] {
        assert!(
            headings.iter().any(|h| h == anchor),
            "{anchor} in {headings:?}"
        );
    }
}

#[test]
fn the_one_off_commands_parse_with_this_cli() {
    for what in ["status", "deploy"] {
        let mut argv = vec!["vivr".to_string()];
        argv.extend(super::migrate_command(what));
        assert!(crate::cli::Cli::try_parse_from(&argv).is_ok(), "{argv:?}");
    }
}
