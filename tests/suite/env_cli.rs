//! `vivr env` against the corpus in tests/env_corpus: valid files pass, each broken file (broken in the one way
//! its first line documents, named by the rule in its file name) yields that rule's finding and exit 1, JSON and
//! SARIF carry the same findings, and no secret value — nor a prefix of one longer than 4 characters — appears
//! in any output.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::process::vivr_output;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/env_corpus")
}

/// (exit code, stdout, stderr)
fn vivr(args: &[&str]) -> (i32, String, String) {
    let (status, out, err) = vivr_output(args, None);
    (status.code().unwrap_or(-1), out, err)
}

/// The values of secret variables in the corpus, which no output may contain.
fn secrets() -> Vec<String> {
    let schema = vivr::config::schema::Schema::embedded();
    let mut values = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                // A URL's scheme is no secret (and its name appears in descriptions).
                let raw = value.trim_matches('"');
                let value = raw.split_once("://").map_or(raw, |(_, rest)| rest);
                let secret = schema
                    .variable(key)
                    .is_none_or(|v| v.secret || v.name.starts_with("STRIPE_"));
                // A SQLite file path holds no credential (and its name is in the corpus's file names).
                if secret && value.len() > 4 && !key.starts_with('#') && !raw.starts_with("sqlite:")
                {
                    values.push(value.to_string());
                }
            }
        }
    }
    values
}

fn assert_no_secret(output: &str) {
    for secret in secrets() {
        let prefix: String = secret.chars().take(5).collect();
        assert!(
            !output.contains(&prefix),
            "{prefix:?} (the start of a secret) appears in:\n{output}"
        );
    }
}

fn check(file: &str, environment: &str, format: &str) -> (i32, String, String) {
    let path = corpus().join(file);
    vivr(&[
        "env",
        "check",
        "--env",
        environment,
        "--env-file",
        path.to_str().unwrap(),
        "--no-process-env",
        "--format",
        format,
    ])
}

#[test]
fn valid_files_pass() {
    for (file, environment) in [
        ("valid.production.env", "production"),
        ("valid.development.env", "development"),
    ] {
        let (code, out, err) = check(file, environment, "text");
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.contains("0 error(s)"), "{out}");
        assert_no_secret(&out);
        assert_no_secret(&err);
    }
    // Live keys outside production, and test keys in it, are errors.
    let (code, out, _) = check("valid.production.env", "staging", "json");
    assert_eq!(code, 1);
    assert!(out.contains("stripe_live_key_outside_production"), "{out}");
    let (code, out, _) = check("valid.development.env", "production", "json");
    assert_eq!(code, 1);
    assert!(out.contains("stripe_test_key_in_production"), "{out}");
    assert_no_secret(&out);
}

#[test]
fn each_broken_file_yields_its_rule() {
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(rule) = name
            .strip_prefix("broken.")
            .and_then(|n| n.strip_suffix(".env"))
        else {
            continue;
        };
        seen += 1;
        let (code, out, err) = check(&name, "production", "json");
        let report: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}{err}"));
        let findings = report["findings"].as_array().unwrap();
        let mut errors: Vec<&str> = findings
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        errors.dedup();
        // A mode mismatch always has one key of the wrong mode for the environment as well.
        if rule == "stripe_mode_mismatch" {
            errors.retain(|r| *r != "stripe_test_key_in_production");
        }
        if rule == "unknown_variable" {
            assert_eq!(code, 0, "{name}: a warning only: {out}");
            assert!(errors.is_empty(), "{name}: {errors:?}");
            let unknown = findings
                .iter()
                .find(|f| f["rule"] == "unknown_variable")
                .unwrap();
            assert_eq!(unknown["suggestion"], "STRIPE_SECRET_KEY", "{out}");
        } else {
            assert_eq!(code, 1, "{name}: {out}{err}");
            assert_eq!(errors, [rule], "{name}: exactly its one rule: {out}");
        }
        let finding = findings.iter().find(|f| f["rule"] == rule).unwrap();
        if rule != "required" {
            assert!(
                finding["line"].as_u64().is_some(),
                "{name}: a finding in a file names its line: {finding}"
            );
        }
        assert_no_secret(&out);
        assert_no_secret(&err);

        let (sarif_code, sarif, _) = check(&name, "production", "sarif");
        assert_eq!(sarif_code, code);
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), findings.len(), "{name}");
        assert!(results.iter().any(|r| r["ruleId"] == rule));
        assert_no_secret(&sarif.to_string());

        let (_, text, _) = check(&name, "production", "text");
        assert!(text.contains(&format!("({rule})")), "{name}: {text}");
        assert_no_secret(&text);
    }
    assert!(seen >= 14, "the corpus has its broken files ({seen})");
}

#[test]
fn diff_finds_drift_and_shared_secrets_without_values() {
    let a = corpus().join("valid.production.env");
    let b = corpus().join("broken.stripe_test_key_in_production.env");
    let (code, out, err) = vivr(&[
        "env",
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drift = report["type_drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["variable"] == "STRIPE_SECRET_KEY")
        .expect("the secret key's mode drifts");
    assert_eq!(
        (&drift["a"], &drift["b"]),
        (&"live-mode key".into(), &"test-mode key".into())
    );
    assert!(
        report["same_value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["variable"] == "VIVR_SESSION_SECRET" && s["secret"] == true),
        "{out}"
    );
    assert_no_secret(&out);
    let (_, text, _) = vivr(&["env", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(text.contains("same secret value in both"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn the_committed_env_example_is_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example");
    let (code, out, err) = vivr(&[
        "env",
        "example",
        "--check",
        "--output",
        committed.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 0,
        "stale .env.example: run `vivr env example` and commit it: {out}{err}"
    );
    let (_, doc, _) = vivr(&["env", "doc"]);
    assert!(
        doc.contains("| `VIVR_SESSION_SECRET` | Authentication | string | staging, production |")
    );
}

#[test]
fn serve_refuses_an_invalid_production_configuration_before_binding() {
    let file = std::fs::read_to_string(corpus().join("broken.database_sslmode.env")).unwrap();
    let env: Vec<(String, String)> = file
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, out, err) = common::process::vivr_output_env(&["serve"], None, &env);
    assert_eq!(status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("invalid configuration for `vivr serve`"),
        "{err}"
    );
    assert!(
        err.contains("DATABASE_URL") && err.contains("database_sslmode"),
        "{err}"
    );
    assert!(!err.contains("Listening"), "refused before binding: {err}");
    assert_no_secret(&out);
    assert_no_secret(&err);
}
