use super::*;

const GOOD: &str = "\
environment: production
cluster: vivr-production
service: vivr
task:
  family: vivr
  cpu: 512
  memory: 1024
  execution_role_arn: arn:aws:iam::123456789012:role/vivr-execution
  environment:
    VIVR_PUBLIC_URL: https://vivr.fr
  secrets:
    DATABASE_URL: \"arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/production-AbCdEf:DATABASE_URL::\"
metrics:
  cloudwatch:
    load_balancer: app/vivr/50dc6c495c0c9188
    target_group: targetgroup/vivr/73e2d6bc24d8a067
triggers:
  - name: error_rate
    threshold: 0.02
";

fn problems(text: &str) -> Vec<Problem> {
    match DeployConfig::parse(text) {
        Ok(config) => config.problems(text, Schema::embedded()),
        Err(problem) => vec![problem],
    }
}

#[test]
fn a_good_file_reads_with_its_defaults_and_its_trigger_changes() {
    assert_eq!(problems(GOOD), Vec::new());
    let config = DeployConfig::parse(GOOD).unwrap();
    assert_eq!(config.desired_count, 2);
    assert!(config.circuit_breaker);
    let triggers = config.triggers();
    assert_eq!(triggers.len(), 3);
    let error_rate = triggers.iter().find(|t| t.name == "error_rate").unwrap();
    assert_eq!(error_rate.threshold, 0.02);
    assert_eq!(error_rate.window, Duration::from_secs(120));
}

#[test]
fn each_problem_names_its_field_and_line() {
    let cases: &[(&str, &str, &str, usize)] = &[
        ("  cpu: 512\n", "  cpus: 512\n", "cpus", 6),
        ("  memory: 1024\n", "  memory: lots\n", "(document)", 7),
        (
            "    VIVR_PUBLIC_URL: https://vivr.fr\n",
            "    STRIPE_SECRET_KEY: sk_live_abc\n",
            "task.environment.STRIPE_SECRET_KEY",
            10,
        ),
        (
            "    VIVR_PUBLIC_URL: https://vivr.fr\n",
            "    VIVR_PUBLIC_URLS: https://vivr.fr\n",
            "task.environment.VIVR_PUBLIC_URLS",
            10,
        ),
        (
            "    DATABASE_URL: \"arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/production-AbCdEf:DATABASE_URL::\"\n",
            "    DATABASE_URL: postgres://vivr:hunter2@db/vivr\n",
            "task.secrets.DATABASE_URL",
            12,
        ),
        ("  memory: 1024\n", "  memory: 1000\n", "task.memory", 7),
        (
            "cluster: vivr-production\n",
            "cluster: vivr production\n",
            "cluster",
            2,
        ),
        (
            "environment: production\n",
            "environment: live\n",
            "environment",
            1,
        ),
        (
            "  execution_role_arn: arn:aws:iam::123456789012:role/vivr-execution\n",
            "  execution_role_arn: vivr-execution\n",
            "task.execution_role_arn",
            8,
        ),
    ];
    for (from, to, field, line) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{to}: {found:?}");
        assert_eq!(found[0].field, *field, "{to}: {found:?}");
        assert_eq!(found[0].line, Some(*line), "{to}: {found:?}");
    }
    // A secret's value never reaches the message.
    let text = GOOD.replacen(
            "\"arn:aws:secretsmanager:eu-west-3:123456789012:secret:vivr/production-AbCdEf:DATABASE_URL::\"",
            "postgres://vivr:hunter2@db/vivr",
            1,
        );
    for p in problems(&text) {
        assert!(!p.message.contains("hunter2"), "{p:?}");
    }
}

#[test]
fn triggers_without_a_metrics_source_are_refused() {
    let text = GOOD.replace(
        "metrics:\n  cloudwatch:\n    load_balancer: app/vivr/50dc6c495c0c9188\n    target_group: \
             targetgroup/vivr/73e2d6bc24d8a067\n",
        "",
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "triggers");
    assert_eq!(DeployConfig::parse(&text).unwrap().triggers(), Vec::new());
}

#[test]
fn lines_are_found_under_their_parents() {
    let text = "a:\n  name: x\nb:\n  name: y\n  c:\n    name: z\n";
    assert_eq!(line_of(text, &["b", "name"]), Some(4));
    assert_eq!(line_of(text, &["b", "c", "name"]), Some(6));
    assert_eq!(line_of(text, &["a", "name"]), Some(2));
    assert_eq!(
        line_of(text, &["a", "c"]),
        Some(1),
        "the parent when absent"
    );
    let list = "triggers:\n  - name: error_rate\n    threshold: 1\n  - name: custom\n";
    assert_eq!(line_of(list, &["triggers", "custom"]), Some(4));
}
