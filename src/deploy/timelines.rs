//! The deploy state machine through scripted ECS timelines (moto cannot simulate a rollout): a fake platform
//! that plays one list of service states per `UpdateService`, stopped tasks appearing on given polls, and
//! scripted trigger datapoints, on tokio's paused clock. Each timeline asserts the ending (the exit code), what
//! was rolled back to, the platform calls, and what the progress stream said.

use std::time::Duration;

use super::machine::{Ending, Event, Failure, Plan, rollback};
use super::platform::{ServiceEvent, ServiceState};
use super::triggers::Verdict;

mod fakes;

use fakes::*;

#[tokio::test(start_paused = true)]
async fn a_deploy_that_completes_and_bakes_is_recorded_as_the_last_known_good() {
    let fake = Fake::new(settled(7, true), vec![good_rollout()]);
    let (ending, events) = run(&fake, &Metrics::default(), &plan()).await;
    assert_eq!(
        ending,
        Ending::Deployed {
            revision: rev(8),
            inconclusive: Vec::new()
        }
    );
    assert_eq!(
        fake.calls(),
        [
            "register vivr",
            "update vivr:8",
            "record vivr:8 vivr@sha256:new",
            "prune vivr keep 5 protect vivr:7 vivr:7 vivr:8"
        ]
    );
    assert!(events.contains(&Event::Completed {
        deployment: "ecs-svc/8".into()
    }));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Recorded { known_good } if known_good.revision == rev(8)))
    );
}

#[tokio::test(start_paused = true)]
async fn a_circuit_breaker_rollback_by_ecs_is_a_failure_not_a_success() {
    let ecs_rolls_back = vec![
        state(vec![
            dep("ecs-svc/8", Primary, 8, 0, InProgress),
            dep("ecs-svc/7", Active, 7, 2, Completed),
        ]),
        // ECS's circuit breaker: a new PRIMARY on 7, ours left ACTIVE and FAILED.
        ServiceState {
            events: vec![ServiceEvent {
                id: "e1".into(),
                message:
                    "(service vivr) deployment ecs-svc/8 deployment failed: tasks failed to start."
                        .into(),
            }],
            ..state(vec![
                dep("ecs-svc/9", Primary, 7, 2, InProgress),
                dep("ecs-svc/8", Active, 8, 0, Failed),
            ])
        },
        state(vec![
            dep("ecs-svc/9", Primary, 7, 2, InProgress),
            dep("ecs-svc/8", Active, 8, 0, Completed),
        ]),
        state(vec![dep("ecs-svc/9", Primary, 7, 2, Completed)]),
    ];
    let fake = Fake::new(settled(7, true), vec![ecs_rolls_back]);
    let (ending, events) = run(&fake, &Metrics::default(), &plan()).await;
    match &ending {
        Ending::RolledBack {
            failure: Failure::RolledBackByEcs { primary },
            to,
        } => {
            assert_eq!(primary.as_deref(), Some(rev(7).as_str()));
            assert_eq!(to, &rev(7));
        }
        other => panic!("{other:?}"),
    }
    // Failed as soon as ours stopped being PRIMARY, not when ECS finished.
    let failed = events
        .iter()
        .position(|e| matches!(e, Event::Failed { .. }))
        .unwrap();
    let settled_on_7 = events
        .iter()
        .position(|e| matches!(e, Event::Deployments { deployments } if deployments.len() == 1))
        .unwrap();
    assert!(failed < settled_on_7, "{events:#?}");
    // ECS was already on it: vivr did not update the service a second time, and recorded nothing.
    assert_eq!(fake.calls(), ["register vivr", "update vivr:8"]);
    assert!(events.iter().any(
        |e| matches!(e, Event::ServiceEvent { message } if message.contains("deployment failed"))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_rollout_stuck_in_progress_times_out_and_is_rolled_back() {
    let stuck = vec![state(vec![
        dep("ecs-svc/8", Primary, 8, 1, InProgress),
        dep("ecs-svc/7", Active, 7, 1, Completed),
    ])];
    let fake = Fake::new(settled(7, true), vec![stuck, back_on_7("ecs-svc/10")]);
    let plan = Plan {
        timeout: Duration::from_secs(120),
        ..plan()
    };
    let started = tokio::time::Instant::now();
    let (ending, _) = run(&fake, &Metrics::default(), &plan).await;
    assert_eq!(
        ending,
        Ending::RolledBack {
            failure: Failure::TimedOut { after_secs: 120 },
            to: rev(7)
        }
    );
    assert!(started.elapsed() >= Duration::from_secs(120));
    assert!(
        started.elapsed() < Duration::from_secs(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        fake.calls(),
        ["register vivr", "update vivr:8", "update vivr:7"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_loop_rolls_back_without_waiting_for_ecs() {
    let mut fake = Fake::new(settled(7, true), vec![crashing(), back_on_7("ecs-svc/10")]);
    fake.stops = vec![(2, stopped("t1")), (3, stopped("t2")), (4, stopped("t3"))];
    let started = tokio::time::Instant::now();
    let (ending, events) = run(&fake, &Metrics::default(), &plan()).await;
    match &ending {
        Ending::RolledBack {
            failure: Failure::CrashLoop { detail },
            to,
        } => {
            assert!(
                detail.contains("3 task(s)") && detail.contains("exit 101"),
                "{detail}"
            );
            assert_eq!(to, &rev(7));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let stops = events
        .iter()
        .filter(|e| matches!(e, Event::TaskStopped { .. }))
        .count();
    assert_eq!(stops, 3, "each stopped task told once");
    assert_eq!(
        fake.calls(),
        ["register vivr", "update vivr:8", "update vivr:7"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_rate_breached_during_the_bake_rolls_back() {
    // Healthy through the rollout (three reads), then above 5 % with plenty of requests.
    let metrics = Metrics::with(
        "error_rate",
        vec![
            vec![(0.0, 400), (0.01, 400)],
            vec![(0.0, 400), (0.01, 400)],
            vec![(0.0, 400), (0.01, 400)],
            vec![(0.01, 400), (0.02, 400)],
            vec![(0.09, 400), (0.12, 400)],
        ],
    );
    let fake = Fake::new(
        settled(7, true),
        vec![good_rollout(), back_on_7("ecs-svc/10")],
    );
    let (ending, events) = run(&fake, &metrics, &plan()).await;
    match &ending {
        Ending::RolledBack {
            failure: Failure::Trigger { reading },
            to,
        } => {
            assert_eq!(reading.trigger, "error_rate");
            assert_eq!(reading.value, Some(0.12));
            assert_eq!(to, &rev(7));
        }
        other => panic!("{other:?}"),
    }
    assert!(events.contains(&Event::Completed {
        deployment: "ecs-svc/8".into()
    }));
    assert_eq!(
        fake.calls(),
        ["register vivr", "update vivr:8", "update vivr:7"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_p99_breach_on_too_few_requests_is_inconclusive_and_rolls_nothing_back() {
    let metrics = Metrics::with("p99_latency", vec![vec![(7.5, 3), (9.0, 4)]]);
    let fake = Fake::new(settled(7, true), vec![good_rollout()]);
    let (ending, events) = run(&fake, &metrics, &plan()).await;
    match &ending {
        Ending::Deployed {
            revision,
            inconclusive,
        } => {
            assert_eq!(revision, &rev(8));
            assert_eq!(inconclusive.len(), 1);
            assert_eq!(inconclusive[0].trigger, "p99_latency");
            assert!(matches!(
                inconclusive[0].verdict,
                Verdict::Inconclusive { .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RollingBack { .. })),
        "no rollback"
    );
    assert_eq!(
        fake.calls(),
        [
            "register vivr",
            "update vivr:8",
            "record vivr:8 vivr@sha256:new",
            "prune vivr keep 5 protect vivr:7 vivr:7 vivr:8"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_fails_too_ends_in_rollback_failed() {
    let rollback_fails = vec![state(vec![
        dep("ecs-svc/10", Primary, 7, 0, Failed),
        dep("ecs-svc/8", Active, 8, 0, Completed),
    ])];
    let mut fake = Fake::new(settled(7, true), vec![crashing(), rollback_fails]);
    fake.stops = vec![(1, stopped("t1")), (1, stopped("t2")), (1, stopped("t3"))];
    let (ending, _) = run(&fake, &Metrics::default(), &plan()).await;
    match &ending {
        Ending::RollbackFailed {
            failure: Failure::CrashLoop { .. },
            rollback,
        } => assert!(rollback.contains("failed too"), "{rollback}"),
        other => panic!("{other:?}"),
    }

    // And when the service cannot even be pointed back.
    let mut fake = Fake::new(settled(7, true), vec![crashing()]);
    fake.stops = vec![(1, stopped("t1")), (1, stopped("t2")), (1, stopped("t3"))];
    fake.update_fails_after = Some(1);
    let (ending, _) = run(&fake, &Metrics::default(), &plan()).await;
    match &ending {
        Ending::RollbackFailed { rollback, .. } => {
            assert!(rollback.contains("not authorized"), "{rollback}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_first_deploy_records_the_first_known_good_and_a_failed_one_goes_back_to_what_ran() {
    let fake = Fake::new(settled(7, false), vec![good_rollout()]);
    let (ending, _) = run(&fake, &Metrics::default(), &plan()).await;
    assert!(matches!(ending, Ending::Deployed { .. }), "{ending:?}");
    // Nothing recorded before: the revision that ran is still protected.
    assert_eq!(
        fake.calls()[2..],
        [
            "record vivr:8 vivr@sha256:new",
            "prune vivr keep 5 protect vivr:7 vivr:8"
        ]
    );

    // Nothing recorded yet, and the first deploy crashes: back to the revision the service ran, settled.
    let mut fake = Fake::new(settled(7, false), vec![crashing(), back_on_7("ecs-svc/10")]);
    fake.stops = vec![(1, stopped("t1")), (1, stopped("t2")), (1, stopped("t3"))];
    let (ending, _) = run(&fake, &Metrics::default(), &plan()).await;
    assert!(
        matches!(&ending, Ending::RolledBack { to, .. } if to == &rev(7)),
        "{ending:?}"
    );

    // And `vivr rollback` with nothing recorded refuses, naming --to.
    let fake = Fake::new(settled(7, false), Vec::new());
    let ending = rollback(&fake, &Metrics::default(), &plan(), None, &|_| {})
        .await
        .unwrap();
    assert!(
        matches!(&ending, Ending::Refused { reason } if reason.contains("--to")),
        "{ending:?}"
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn someone_elses_deployment_in_progress_is_refused_before_anything_changes() {
    let busy = state(vec![
        dep("ecs-svc/9", Primary, 9, 1, InProgress),
        dep("ecs-svc/7", Active, 7, 1, Completed),
    ]);
    let fake = Fake::new(busy, Vec::new());
    let (ending, _) = run(&fake, &Metrics::default(), &plan()).await;
    match &ending {
        Ending::Refused { reason } => {
            assert!(
                reason.contains("in progress") && reason.contains("PRIMARY vivr:9 IN_PROGRESS 1/2"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn a_manual_rollback_goes_to_the_last_known_good_and_waits_for_it() {
    let mut on_8 = settled(8, false);
    on_8.known_good = settled(7, true).known_good;
    let fake = Fake::new(on_8, vec![back_on_7("ecs-svc/10")]);
    let ending = rollback(&fake, &Metrics::default(), &plan(), None, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        ending,
        Ending::Deployed {
            revision: rev(7),
            inconclusive: Vec::new()
        }
    );
    assert_eq!(fake.calls(), ["update vivr:7"]);
}

#[tokio::test(start_paused = true)]
async fn a_database_behind_the_image_stops_the_deploy_before_the_service_changes() {
    let mut fake = Fake::new(settled(7, true), vec![good_rollout()]);
    fake.one_off_exit = Some(1);
    let plan = Plan {
        migrations: Some(vec!["migrate".into(), "status".into()]),
        ..plan()
    };
    let (ending, events) = run(&fake, &Metrics::default(), &plan).await;
    match &ending {
        Ending::Refused { reason } => {
            assert!(reason.contains("--run-migrations"), "{reason}");
            assert!(reason.contains("not changed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fake.calls(),
        ["register vivr", "run vivr:8 vivr migrate status"]
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::OneOffEnded { ending, .. } if ending.exit_code == Some(1)
    )));

    // --run-migrations: `migrate deploy` runs with the new revision first, then the update.
    let fake = Fake::new(settled(7, true), vec![good_rollout()]);
    let plan = Plan {
        migrations: Some(vec!["migrate".into(), "deploy".into()]),
        ..plan
    };
    let (ending, _) = run(&fake, &Metrics::default(), &plan).await;
    assert!(matches!(ending, Ending::Deployed { .. }), "{ending:?}");
    assert_eq!(
        fake.calls()[..3],
        [
            "register vivr",
            "run vivr:8 vivr migrate deploy",
            "update vivr:8"
        ]
    );

    // A migration task that never ran (no exit code) stops the deploy too.
    let mut fake = Fake::new(settled(7, true), vec![good_rollout()]);
    fake.one_off_exit = None;
    let (ending, _) = run(&fake, &Metrics::default(), &plan).await;
    assert!(
        matches!(&ending, Ending::Refused { reason } if reason.contains("did not run")),
        "{ending:?}"
    );
}
