//! `vivr audit` as CI runs it: the catalogue validated and every check run on its fixtures, vivr's own
//! repository, a repository shaped like the original app (tests/audit_fixtures/nextjs-prisma) and variations of
//! it (one critical fixed, waivers, a baseline), the reports' formats against their schemas, malformed check
//! files, and `--http` against a weak fixture server and against `vivr serve` in production.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::common::process::{Vivr, vivr_output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    root().join("tests/audit_fixtures/nextjs-prisma")
}

/// `vivr audit ARGS --format json`: (exit code, report).
fn audit_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (status, stdout, stderr) = vivr_output(&all, None);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (status.code().unwrap_or(-1), report)
}

pub(crate) fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

pub(crate) fn status(report: &Value, id: &str) -> String {
    check(report, id)["status"].as_str().unwrap().to_string()
}

/// A copy of a folder (the fixture), to change.
fn copy_of(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn weight(severity: &str) -> f64 {
    match severity {
        "critical" => 10.0,
        "high" => 7.5,
        "medium" => 5.0,
        "low" => 2.5,
        other => panic!("severity {other}"),
    }
}

/// (earned, possible) weight over a report's evaluated checks.
fn weights(report: &Value) -> (f64, f64) {
    let mut earned = 0.0;
    let mut possible = 0.0;
    for c in report["checks"].as_array().unwrap() {
        if let Some(credit) = c["credit"].as_f64() {
            let w = weight(c["severity"].as_str().unwrap());
            earned += w * credit;
            possible += w;
        }
    }
    (earned, possible)
}

#[test]
fn the_catalogue_validates_and_every_check_passes_and_fails_its_fixtures() {
    let checks = root().join("checks");
    let (status, stdout, stderr) = vivr_output(
        &["audit", "checks", "validate", checks.to_str().unwrap()],
        None,
    );
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("every check passes its"), "{stdout}");
    // Every check has a pass and a fail fixture, so every id a finding can carry has its pair.
    let (status, stdout, _) = vivr_output(&["audit", "checks", "list", "--format", "json"], None);
    assert_eq!(status.code(), Some(0));
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = listed["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.len() >= 60, "{} checks", ids.len());
    let mut count = 0;
    for entry in std::fs::read_dir(&checks).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "waivers.yaml" || path.extension().unwrap() != "yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let file: Value = yaml_serde::from_str(&text).unwrap();
        for c in file["checks"].as_array().unwrap() {
            count += 1;
            assert!(ids.contains(&c["id"].as_str().unwrap()));
            assert!(!c["examples"]["pass"].as_array().unwrap().is_empty());
            assert!(!c["examples"]["fail"].as_array().unwrap().is_empty());
        }
    }
    assert_eq!(count, ids.len(), "the built-in catalogue is checks/*.yaml");
}

/// A check that breaks one rule of the format at a time: `vivr audit checks validate` names the file, the line
/// and the field, and exits 2.
#[test]
fn a_malformed_check_file_is_refused_with_its_file_line_and_field() {
    let good = "checks:\n  - id: build.example\n    title: An example\n    category: build\n    severity: low\n    level: gold\n    rule:\n      exists: README.md\n    remediation:\n      fix: Write a README.\n      link: https://example.com\n    examples:\n      pass:\n        - files: {README.md: hi}\n      fail:\n        - files: {other: hi}\n";
    let cases: [(&str, &str, &str, &str); 7] = [
        ("severity: low", "severity: urgent", "severity", ":5:"),
        (
            "      exists: README.md",
            "      exists: README.md\n      absent: x",
            "rule",
            "exactly one matcher",
        ),
        (
            "      exists: README.md",
            "      matches: {files: a, regex: '(unclosed'}",
            "regex",
            "not a regular expression",
        ),
        (
            "      exists: README.md",
            "      dockerfile: {rules: [DL9999]}",
            "rules",
            "DL9999",
        ),
        (
            "    level: gold",
            "    level: gold\n    colour: blue",
            "colour",
            "unknown field",
        ),
        (
            "      fail:\n        - files: {other: hi}\n",
            "      fail: []\n",
            "examples",
            "at least one fail example",
        ),
        (
            "        - files: {other: hi}",
            "        - files: {README.md: hi}",
            "examples.fail[0]",
            "should fail",
        ),
    ];
    for (from, to, field, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        assert!(good.contains(from), "{from}");
        write(dir.path(), "broken.yaml", &good.replacen(from, to, 1));
        let (status, stdout, stderr) = vivr_output(
            &["audit", "checks", "validate", dir.path().to_str().unwrap()],
            None,
        );
        assert_eq!(status.code(), Some(2), "{to}: {stdout}{stderr}");
        let line = stdout
            .lines()
            .find(|l| l.contains("broken.yaml:"))
            .unwrap_or_else(|| panic!("{to}: no file:line in {stdout}"));
        assert!(
            line.contains(field) && line.contains(message),
            "{to}: want {field} and {message:?} in {line}"
        );
        let at: usize = line
            .split("broken.yaml:")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(at > 1, "{to}: a line number past the first: {line}");
    }
    // The same, as the JSON Schema sees it: the good file is valid, a wrong severity is not.
    let schema = root().join("checks/schema.json");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.yaml", good);
    write(
        dir.path(),
        "bad.yaml",
        &good.replacen("severity: low", "severity: urgent", 1),
    );
    assert_eq!(
        schema_validate(&schema, &dir.path().join("good.yaml")),
        Ok(())
    );
    assert!(schema_validate(&schema, &dir.path().join("bad.yaml")).is_err());
}

/// Validates a YAML or JSON document against a JSON Schema with Python's jsonschema (a separate implementation
/// from vivr's).
fn schema_validate(schema: &Path, document: &Path) -> Result<(), String> {
    let available = Command::new("python3")
        .args(["-c", "import jsonschema, yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        return common::missing_component(
            "Python's jsonschema and PyYAML",
            "pip install jsonschema pyyaml",
        )
        .unwrap_or(Ok(()));
    }
    let script = r#"
import json, sys
import jsonschema, yaml
schema = json.load(open(sys.argv[1]))
with open(sys.argv[2]) as f:
    doc = yaml.safe_load(f) if sys.argv[2].endswith((".yaml", ".yml")) else json.load(f)
errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:5]:
    print("/".join(str(p) for p in e.path), e.message[:200])
sys.exit(1 if errors else 0)
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(schema)
        .arg(document)
        .output()
        .expect("python3");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn every_check_file_matches_the_json_schema() {
    let schema = root().join("checks/schema.json");
    for entry in std::fs::read_dir(root().join("checks")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().unwrap() != "yaml" || path.file_name().unwrap() == "waivers.yaml" {
            continue;
        }
        schema_validate(&schema, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// vivr's own repository, offline: no check fails.
#[test]
fn vivr_audits_itself_offline() {
    let (code, report) = audit_json(&[root().to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    let score = report["score"].as_u64().unwrap();
    assert!(score >= 85, "{score}: {report:#}");
    assert_eq!(report["coverage"].as_f64(), Some(1.0));
    assert_eq!(report["algorithm"], "vivr-audit-score/1");
    let failing: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["credit"].as_f64().is_some_and(|x| x < 1.0))
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // Backups are scheduled (.github/workflows/backup.yml) and restoring one is written down (runbooks/backups.md).
    assert!(failing.is_empty(), "{failing:?}: {report:#}");
    assert_eq!(report["level"], "gold", "{report:#}");
    assert_eq!(status(&report, "backups.automated"), "pass");
    // The repositories the audit is tested on are left out, and the report says by what.
    assert_eq!(
        report["ignore_files"],
        serde_json::json!(["tests/audit_fixtures/.vivr-auditignore"])
    );
    // The committed test vectors of `vivr env check` are waived by path, with a reason, an owner and an expiry.
    let secrets = check(&report, "secrets.none-in-tree");
    assert_eq!(secrets["status"], "pass");
    assert!(
        secrets["evidence"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tests/env_corpus/*.env waived until"),
        "{secrets:#}"
    );
}

#[test]
fn the_original_apps_shape_scores_under_50_and_names_its_gaps() {
    let (code, report) = audit_json(&[fixture().to_str().unwrap()]);
    assert_eq!(code, 1, "a failed critical check fails the run: {report:#}");
    let score = report["score"].as_u64().unwrap();
    assert!(score < 50, "{score}");
    assert_eq!(report["level"], Value::Null);
    for (id, evidence) in [
        ("containers.dockerfile", "no file matches"),
        ("environment.schema", ""),
        ("migrations.history", "no migrations folder"),
        ("migrations.no-db-push", "prisma db push"),
        (
            "ci-cd.scripts-exist",
            "scripts/deploy-staging.sh, which is not in the repository",
        ),
        ("ci-cd.scripts-exist", "npm run test:smoke"),
        ("ci-cd.failures-fail", "Audit dependencies"),
        ("ci-cd.actions-pinned", "actions/checkout@v4"),
        ("deployment.health-route", ""),
        ("build.errors-fail", "ignoreBuildErrors"),
    ] {
        let c = check(&report, id);
        assert_eq!(c["status"], "fail", "{id}: {c:#}");
        assert!(
            c["evidence"].to_string().contains(evidence),
            "{id}: {evidence:?} in {c:#}"
        );
    }
    assert_eq!(
        report["policy"]["violations"][0],
        "migrations.history (critical) failed: Schema changes go through a migration history"
    );
    // The text names the gaps and the fix, worst first.
    let (_, text, _) = vivr_output(&["audit", fixture().to_str().unwrap()], None);
    let fix_first = text.split("Fix first:").nth(1).unwrap();
    assert!(
        fix_first
            .trim_start()
            .starts_with("migrations.history (−10.0)"),
        "{fix_first}"
    );
    assert!(text.contains("Policy: FAILED"), "{text}");
}

#[test]
fn fixing_one_critical_check_moves_the_score_by_its_weight() {
    let (_, before) = audit_json(&[fixture().to_str().unwrap()]);
    let fixed = copy_of(&fixture());
    write(
        fixed.path(),
        "prisma/migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    );
    write(
        fixed.path(),
        "prisma/migrations/20260121000000_init/migration.sql",
        "CREATE TABLE \"Product\" (\"id\" TEXT PRIMARY KEY, \"name\" TEXT NOT NULL, \"price\" DOUBLE PRECISION NOT NULL);\n",
    );
    let (_, after) = audit_json(&[fixed.path().to_str().unwrap()]);
    assert_eq!(status(&after, "migrations.history"), "pass");
    // The history also brings the migration lint into play (it was skipped without migrations).
    assert_eq!(status(&before, "migrations.lint"), "skipped");
    assert_eq!(status(&after, "migrations.lint"), "pass");
    let (earned, possible) = weights(&before);
    let expected = (100.0 * (earned + 10.0 + 7.5) / (possible + 7.5)).round() as u64;
    assert_eq!(after["score"].as_u64().unwrap(), expected, "{after:#}");
    assert!(after["score"].as_u64() > before["score"].as_u64());
    // Every other check came out the same.
    for c in before["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        if id != "migrations.history" && id != "migrations.lint" {
            assert_eq!(c["status"], check(&after, id)["status"], "{id}");
        }
    }
}

#[test]
fn an_expired_waiver_fails_and_a_current_one_waives_without_passing() {
    let repo = copy_of(&fixture());
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
    let next_month = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
    write(
        repo.path(),
        "checks/waivers.yaml",
        &format!(
            "waivers:\n  - check: migrations.history\n    reason: the schema is pushed until the first release\n    owner: shop-team\n    expires: {next_month}\n  - check: containers.dockerfile\n    reason: deployed on Vercel until the migration\n    owner: shop-team\n    expires: {yesterday}\n"
        ),
    );
    let (code, report) = audit_json(&[repo.path().to_str().unwrap(), "--fail-on", "none"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(status(&report, "migrations.history"), "waived");
    assert_eq!(check(&report, "migrations.history")["credit"], Value::Null);
    assert_eq!(status(&report, "containers.dockerfile"), "waiver_expired");
    assert_eq!(check(&report, "containers.dockerfile")["credit"], 0.0);
    let violations = report["policy"]["violations"].to_string();
    assert!(
        violations.contains(&format!(
            "the waiver of containers.dockerfile expired on {yesterday} (owner shop-team)"
        )),
        "{violations}"
    );
    assert_eq!(report["policy"]["violations"].as_array().unwrap().len(), 1);
    assert_eq!(report["waived"], 1);
    // With the waiver renewed the run passes, and the waived check still does not count as passed.
    let renewed = std::fs::read_to_string(repo.path().join("checks/waivers.yaml"))
        .unwrap()
        .replace(&yesterday.to_string(), &next_month.to_string());
    write(repo.path(), "checks/waivers.yaml", &renewed);
    let (code, report) = audit_json(&[repo.path().to_str().unwrap(), "--fail-on", "none"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(status(&report, "containers.dockerfile"), "waived");
    // A waiver for a check that does not exist is an invalid file: exit 2, with the line.
    write(
        repo.path(),
        "checks/waivers.yaml",
        &format!(
            "waivers:\n  - check: containers.dockerfiles\n    reason: typo\n    owner: me\n    expires: {next_month}\n"
        ),
    );
    let (status, stdout, stderr) = vivr_output(&["audit", repo.path().to_str().unwrap()], None);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("waivers.yaml:2: waivers[containers.dockerfiles].check"),
        "{stderr}"
    );
}

#[test]
fn a_baseline_run_fails_only_on_the_new_failure() {
    let repo = copy_of(&fixture());
    let baseline = repo.path().join("baseline.json");
    let (_, first) = audit_json(&[repo.path().to_str().unwrap()]);
    std::fs::write(&baseline, first.to_string()).unwrap();
    let baseline_arg = baseline.to_str().unwrap();
    // Nothing changed: the known failures (a critical among them) do not fail the run.
    let (code, same) = audit_json(&[repo.path().to_str().unwrap(), "--baseline", baseline_arg]);
    assert_eq!(code, 0, "{same:#}");
    assert!(
        same["policy"]["known_failures"]
            .to_string()
            .contains("migrations.history")
    );
    // One new failure: only it is named.
    std::fs::remove_file(repo.path().join(".env.example")).unwrap();
    let (code, worse) = audit_json(&[
        repo.path().to_str().unwrap(),
        "--baseline",
        baseline_arg,
        "--max-drop",
        "5",
    ]);
    assert_eq!(code, 1, "{worse:#}");
    let violations: Vec<&str> = worse["policy"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        violations,
        [
            "new since the baseline: environment.example-present (low) failed: An example configuration documents the variables"
        ],
        "{worse:#}"
    );
    // The drop alone, beyond --max-drop, fails too.
    let dropped = worse["score"].as_u64().unwrap();
    let before = first["score"].as_u64().unwrap();
    assert!(dropped < before);
    let (code, report) = audit_json(&[repo.path().to_str().unwrap(), "--baseline", baseline_arg]);
    assert_eq!(code, 1);
    assert!(
        report["policy"]["violations"]
            .to_string()
            .contains(&format!("the score dropped from {before} to {dropped}")),
        "{report:#}"
    );
}

#[test]
fn thresholds_fail_the_run_and_say_why() {
    let repo = fixture();
    let path = repo.to_str().unwrap();
    let (code, report) = audit_json(&[
        path,
        "--fail-on",
        "none",
        "--min-score",
        "50",
        "--min-level",
        "bronze",
        "--min-coverage",
        "100",
        "--strict",
    ]);
    assert_eq!(code, 1);
    let violations = report["policy"]["violations"].to_string();
    assert!(
        violations.contains("is below --min-score 50"),
        "{violations}"
    );
    assert!(
        violations.contains("below --min-level bronze"),
        "{violations}"
    );
    let (code, report) = audit_json(&[path, "--fail-on", "none"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = audit_json(&[path, "--fail-on", "high"]);
    assert_eq!(code, 1);
    assert!(
        report["policy"]["violations"]
            .to_string()
            .contains("containers.dockerfile (high) failed")
    );
    // Usage errors are exit 2; an unreadable repository is exit 3.
    let (status, _, _) = vivr_output(&["audit", path, "--min-score", "101"], None);
    assert_eq!(status.code(), Some(2));
    let (status, _, stderr) = vivr_output(&["audit", "/nonexistent/repo"], None);
    assert_eq!(status.code(), Some(3), "{stderr}");
    let (status, _, stderr) =
        vivr_output(&["audit", path, "--explain", "containers.dockerfil"], None);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("did you mean containers.dockerfile?"),
        "{stderr}"
    );
}

#[test]
fn explain_says_what_a_check_asks_and_what_it_sees_here() {
    let (status, text, stderr) = vivr_output(
        &[
            "audit",
            fixture().to_str().unwrap(),
            "--explain",
            "ci-cd.scripts-exist",
        ],
        None,
    );
    assert_eq!(status.code(), Some(0), "{stderr}");
    for part in [
        "ci-cd.scripts-exist — Every script the workflows call exists",
        "severity high (weight 7.5) · level bronze",
        "deploy-production.sh and",
        "Fix: Commit the scripts",
        "workflow: scripts-exist",
        "Fixtures: 1 passing, 1 failing",
        "Here: fail",
        ".github/workflows/ci-cd.yml:53: job deploy-production runs scripts/deploy-production.sh",
    ] {
        assert!(text.contains(part), "{part:?} in:\n{text}");
    }
}

/// SARIF 2.1.0 as OASIS publishes its schema (scripts/test fetches it: VIVR_TEST_SARIF_SCHEMA), and JUnit XML
/// that an XML parser reads with the counts CI shows.
#[test]
fn sarif_validates_against_the_2_1_0_schema_and_junit_parses() {
    let schema = match std::env::var("VIVR_TEST_SARIF_SCHEMA") {
        Ok(path) if Path::new(&path).is_file() => PathBuf::from(path),
        _ => {
            return common::missing_component(
                "the SARIF 2.1.0 schema (VIVR_TEST_SARIF_SCHEMA)",
                "run scripts/test, which fetches it with npm",
            )
            .unwrap_or(());
        }
    };
    let (status, sarif, stderr) = vivr_output(
        &["audit", fixture().to_str().unwrap(), "--format", "sarif"],
        None,
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.sarif.json");
    std::fs::write(&file, &sarif).unwrap();
    schema_validate(&schema, &file).unwrap();
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(
        rule("migrations.history")["properties"]["security-severity"],
        "9.0"
    );
    assert_eq!(
        rule("ci-cd.scripts-exist")["properties"]["security-severity"],
        "7.0"
    );
    let located = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "ci-cd.actions-pinned")
        .unwrap();
    assert_eq!(
        located["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".github/workflows/ci-cd.yml"
    );
    assert!(
        located["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            > 1
    );

    let (_, junit, _) = vivr_output(
        &["audit", fixture().to_str().unwrap(), "--format", "junit"],
        None,
    );
    let (_, json) = audit_json(&[fixture().to_str().unwrap()]);
    let failing = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["credit"].as_f64().is_some_and(|x| x < 1.0))
        .count();
    let mut reader = quick_xml::Reader::from_str(&junit);
    let mut cases = 0;
    let mut failures = 0;
    let mut root_failures = None;
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    "testsuites" => {
                        root_failures = e
                            .try_get_attribute("failures")
                            .unwrap()
                            .map(|a| a.value.to_string());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(cases, json["checks"].as_array().unwrap().len());
    assert_eq!(failures, failing);
    assert_eq!(root_failures, Some(failing.to_string()));

    let (_, markdown, _) = vivr_output(
        &["audit", fixture().to_str().unwrap(), "--format", "markdown"],
        None,
    );
    assert!(markdown.starts_with("## vivr audit: "), "{markdown}");
    assert!(
        markdown.contains("| ❌ | `migrations.history`"),
        "{markdown}"
    );
}

/// A server that answers every request with the same weak headers.
fn weak_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = "<html><script src=\"https://cdn.example.com/lib.js\"></script></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\
                 content-security-policy: default-src 'self'; script-src 'self' 'unsafe-eval'; object-src 'none'\r\n\
                 set-cookie: sessionid=abc; Path=/; Secure; SameSite=Lax\r\n\
                 strict-transport-security: max-age=86400\r\n\
                 x-frame-options: SAMEORIGIN\r\n\
                 referrer-policy: no-referrer-when-downgrade\r\n\
                 access-control-allow-origin: *\r\n\
                 cross-origin-resource-policy: same-site\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, handle)
}

#[test]
fn http_grades_weak_headers_as_the_observatory_does() {
    let (url, _server) = weak_server();
    let empty = tempfile::tempdir().unwrap();
    let (code, report) = audit_json(&[
        empty.path().to_str().unwrap(),
        "--http",
        &url,
        "--fail-on",
        "none",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let http = &report["http"];
    // By hand, with MDN's table: CSP unsafe-eval −10, session cookie without HttpOnly −30, HSTS under six months
    // −10, no X-Content-Type-Options −5, referrer no-referrer-when-downgrade −5, an external script without SRI
    // −5: 100 − 65 = 35. The bonuses (XFO SAMEORIGIN +5, CORP same-site +10) do not count below 90. 35 → D.
    assert_eq!(http["score"], 35, "{http:#}");
    assert_eq!(http["grade"], "D");
    let result = |test: &str| {
        http["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["test"] == test)
            .map(|t| {
                (
                    t["result"].as_str().unwrap().to_string(),
                    t["modifier"].as_i64().unwrap(),
                )
            })
            .unwrap()
    };
    for (test, name, modifier) in [
        (
            "content-security-policy",
            "csp-implemented-with-unsafe-eval",
            -10,
        ),
        ("cookies", "cookies-session-without-httponly-flag", -30),
        (
            "strict-transport-security",
            "hsts-implemented-max-age-less-than-six-months",
            -10,
        ),
        (
            "x-content-type-options",
            "x-content-type-options-not-implemented",
            -5,
        ),
        ("referrer-policy", "referrer-policy-unsafe", -5),
        (
            "subresource-integrity",
            "sri-not-implemented-but-external-scripts-loaded-securely",
            -5,
        ),
        ("x-frame-options", "x-frame-options-sameorigin-or-deny", 5),
        (
            "cross-origin-resource-policy",
            "corp-implemented-with-same-site",
            10,
        ),
        (
            "cross-origin-resource-sharing",
            "cross-origin-resource-sharing-implemented-with-public-access",
            0,
        ),
    ] {
        assert_eq!(result(test), (name.to_string(), modifier), "{test}");
    }
    assert_eq!(status(&report, "http.cookies"), "fail");
    assert_eq!(status(&report, "http.x-frame-options"), "pass");
    assert_eq!(status(&report, "http.redirection"), "unknown");
    // An http:// URL cannot be graded for its redirect: said, not guessed.
    assert!(
        http["not_evaluated"][0]
            .as_str()
            .unwrap()
            .starts_with("redirection:")
    );
    let (_, text, _) = vivr_output(
        &[
            "audit",
            empty.path().to_str().unwrap(),
            "--http",
            &url,
            "--fail-on",
            "none",
        ],
        None,
    );
    assert!(text.contains(&format!("HTTP — {url}: 35 · D")), "{text}");
    assert!(
        text.contains("withheld by cookies: cookies-session-without-httponly-flag (-30)"),
        "{text}"
    );
    // Nothing answering is exit 3.
    let closed = format!("http://127.0.0.1:{}/", common::process::free_port());
    let (status, _, stderr) = vivr_output(
        &["audit", empty.path().to_str().unwrap(), "--http", &closed],
        None,
    );
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--http"), "{stderr}");
}

/// `vivr serve` in production (PostgreSQL over verified TLS, every secret set) grades A+.
#[test]
fn http_grades_the_shop_in_production_a_plus() {
    let Some(cluster) = common::process::PgCluster::start() else {
        return;
    };
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = common::tls::test_ca(pki.path());
    cluster.enable_tls(&cert, &key);
    let database = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        ca.display()
    );
    let (migrated, stdout, stderr) =
        vivr_output(&["migrate", "deploy", "--database-url", &database], None);
    assert!(migrated.success(), "{stdout}{stderr}");
    // Production keeps photos on S3 (moto here).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((_, bucket, aws)) = runtime.block_on(common::s3_bucket("vivr-images")) else {
        return;
    };
    let image_store = format!("s3://{bucket}/production");
    let aws: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let vivr = Vivr::serve_env(
        &[],
        &[
            &aws[..],
            &[("VIVR_IMAGE_STORE", image_store.as_str())],
            &[
                ("VIVR_ENV", "production"),
                ("DATABASE_URL", &database),
                ("VIVR_PUBLIC_URL", "https://www.vivr.fr"),
                ("VIVR_SESSION_SECRET", "k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u"), // audit:allow-secret
                ("STRIPE_SECRET_KEY", "sk_live_51Hx7Yq2LkPz9Rt4Vb"),           // audit:allow-secret
                ("STRIPE_PUBLISHABLE_KEY", "pk_live_51Hx7Yq2LkPz9Rt4Vb"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_Ab12Cd34Ef56Gh78"), // audit:allow-secret
                ("VIVR_TRUSTED_PROXIES", "127.0.0.1"),
                (
                    "VIVR_SMTP_URL",
                    "smtps://vivr:Mx4kP9qL2w@smtp.vivr.invalid:465",
                ), // audit:allow-secret
                ("VIVR_MAIL_FROM", "VIVR <boutique@vivr.fr>"),
                ("VIVR_SECURITY_CONTACT", "mailto:securite@vivr.fr"),
                ("VIVR_LEGAL_COMPANY_NAME", "VIVR SAS"),
                ("VIVR_LEGAL_COMPANY_FORM", "SAS au capital de 10 000 €"),
                ("VIVR_LEGAL_SIREN", "123456782"),
                ("VIVR_LEGAL_ADDRESS", "12 rue de l'Exemple, 75011 Paris"),
                ("VIVR_LEGAL_EMAIL", "contact@vivr.fr"),
                ("VIVR_LEGAL_PUBLISHER", "Camille Martin"),
                (
                    "VIVR_LEGAL_HOST",
                    "Hébergeur SAS, 1 rue de l'Hôte, 75001 Paris",
                ),
                (
                    "VIVR_LEGAL_MEDIATOR",
                    "CM2C, 49 rue de Ponthieu, 75008 Paris",
                ),
                ("VIVR_LEGAL_MEDIATOR_URL", "https://www.cm2c.net"),
            ],
        ]
        .concat(),
    );
    let url = format!("http://{}/", vivr.addr);
    let empty = tempfile::tempdir().unwrap();
    let (code, report) = audit_json(&[
        empty.path().to_str().unwrap(),
        "--http",
        &url,
        "--fail-on",
        "none",
    ]);
    assert_eq!(code, 0, "{report:#}\n{}", vivr.log());
    let http = &report["http"];
    assert_eq!(http["grade"], "A+", "{http:#}");
    assert!(http["score"].as_i64().unwrap() >= 100);
    assert!(
        http["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["modifier"].as_i64().unwrap() >= 0),
        "{http:#}"
    );
    assert_eq!(status(&report, "http.observatory-grade"), "pass");
    assert_eq!(status(&report, "http.cache-static"), "pass");
    assert_eq!(status(&report, "http.cache-pages"), "pass");

    // The release's smoke checks (scripts/ci/smoke, run by release.yml after each deploy) pass against it, and
    // fail, naming the endpoint, against an address where nothing answers.
    let smoke = |base: &str| {
        std::process::Command::new("scripts/ci/smoke")
            .arg(base)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let passed = smoke(&format!("http://{}", vivr.addr));
    let said = String::from_utf8_lossy(&passed.stderr).into_owned()
        + &String::from_utf8_lossy(&passed.stdout);
    assert!(passed.status.success(), "{said}\n{}", vivr.log());
    assert!(said.contains("sends HSTS, CSP and nosniff"), "{said}");
    let nobody = format!("127.0.0.1:{}", common::process::free_port());
    let failed = smoke(&format!("http://{nobody}"));
    let said = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert_eq!(failed.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("FAILED: http://{nobody}/api/health answered 000")),
        "{said}"
    );
}

/// `--backup-store`: the age of the newest verified backup and the last proven restore, read from a real store
/// that `vivr backup` wrote; a restore stays proven when a lighter verification runs after it.
#[tokio::test(flavor = "multi_thread")]
async fn backup_store_probe_reads_verified_backups_and_the_last_restore() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    db.migrate().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let repo = empty.path().to_str().unwrap();
    let backup = |args: &[&str]| {
        let mut all = vec!["backup"];
        all.extend_from_slice(args);
        let (status, stdout, stderr) = vivr_output(&all, None);
        assert!(status.success(), "{args:?}: {stdout}{stderr}");
    };
    backup(&[
        "create",
        "--database-url",
        &db.url,
        "--store",
        store,
        "--verify",
        "1",
    ]);
    let (code, report) = audit_json(&[repo, "--backup-store", store, "--fail-on", "none"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(status(&report, "backups.recent"), "pass", "{report:#}");
    assert_eq!(status(&report, "backups.restore-tested"), "fail");
    assert!(
        check(&report, "backups.restore-tested")["evidence"]
            .to_string()
            .contains("was ever restored"),
        "{report:#}"
    );
    let id = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .next()
        .unwrap();
    backup(&[
        "verify",
        &id,
        "--level",
        "3",
        "--store",
        store,
        "--scratch-url",
        &db.url,
    ]);
    backup(&["verify", &id, "--level", "1", "--store", store]);
    let (_, report) = audit_json(&[repo, "--backup-store", store, "--fail-on", "none"]);
    assert_eq!(
        status(&report, "backups.restore-tested"),
        "pass",
        "{report:#}"
    );
    assert!(
        check(&report, "backups.restore-tested")["evidence"]
            .to_string()
            .contains(&format!("backup {id} was restored and compared")),
    );
    // Without the flag the checks are skipped; a store that is not there is exit 3.
    let (_, report) = audit_json(&[repo, "--fail-on", "none"]);
    assert_eq!(status(&report, "backups.recent"), "skipped");
    let (code, _, stderr) = vivr_output(
        &["audit", repo, "--backup-store", "/nonexistent/store"],
        None,
    );
    assert_eq!(code.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--backup-store /nonexistent/store"),
        "{stderr}"
    );
}
