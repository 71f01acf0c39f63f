//! `vivr secrets` and `vivr env --from aws-sm://` against moto_server's Secrets Manager: secrets created, listed,
//! read redacted and revealed only on `--reveal`, injected by `run`, rotated, audited; and a redaction sweep:
//! no known secret value, nor a prefix of one longer than 4 characters, in any stdout, stderr, JSON output, log
//! (at the most verbose level) or the audit file — except where `--reveal` or the child of `run` was asked for it.

use crate::common;

use std::path::Path;

use crate::common::process::vivr_output_env;

// Made up, in the live format: what the redaction must hide in production.
const STRIPE_SECRET: &str = "sk_live_51QzXv8RtKp3LmN7Yw"; // audit:allow-secret
const SESSION_SECRET: &str = "Tq7Wz3Xn9Lp2Vr6Ks8Md4Hy1Bf5Gc0Je";
const WEBHOOK_SECRET: &str = "whsec_Pq9Rs8Tu7Vw6Xy5Z";
const DB_PASSWORD: &str = "Kx4Jm8Pq2Wn6";
const AWS_SECRET: &str = "mQ7vZ2xR9pL4kT8w";
const STRIPE_TEST_SECRET: &str = "sk_test_4eC39HqLyjWDarjtT1zd";

fn known_secrets() -> [&'static str; 6] {
    [
        STRIPE_SECRET,
        STRIPE_TEST_SECRET,
        SESSION_SECRET,
        WEBHOOK_SECRET,
        DB_PASSWORD,
        AWS_SECRET,
    ]
}

fn assert_redacted(what: &str, text: &str) {
    for secret in known_secrets() {
        let prefix = &secret[..5];
        assert!(
            !text.contains(prefix),
            "{what}: {prefix:?} (the start of a secret) appears in:\n{text}"
        );
    }
}

pub(crate) struct Moto {
    env: Vec<(&'static str, String)>,
    audit: tempfile::TempDir,
    prefix: String,
}

impl Moto {
    pub(crate) fn new() -> Option<Self> {
        let Ok(endpoint) = std::env::var("VIVR_TEST_S3_ENDPOINT") else {
            return common::missing_component(
                "VIVR_TEST_S3_ENDPOINT (moto_server)",
                "run scripts/test",
            );
        };
        let audit = tempfile::tempdir().unwrap();
        let env = vec![
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST".to_string()),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET.to_string()),
            ("AWS_REGION", "eu-west-3".to_string()),
            (
                "VIVR_SECRETS_AUDIT_FILE",
                audit.path().join("audit.jsonl").display().to_string(),
            ),
            // The most verbose logs vivr can be asked for.
            ("RUST_LOG", "trace".to_string()),
        ];
        Some(Moto {
            env,
            audit,
            prefix: format!(
                "vivr-test-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        })
    }

    pub(crate) fn name(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.prefix)
    }

    /// Runs vivr; asserts the redaction of its output unless `reveals` (the caller asked for values).
    pub(crate) fn vivr(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        reveals: bool,
    ) -> (i32, String, String) {
        self.vivr_with(args, stdin, reveals, &[])
    }

    /// [`Moto::vivr`] with more environment variables.
    fn vivr_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        reveals: bool,
        extra: &[(&str, &str)],
    ) -> (i32, String, String) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(extra.iter().copied())
            .collect();
        let mut all = vec!["-v"];
        all.extend_from_slice(args);
        let (status, out, err) = vivr_output_env(&all, stdin, &env);
        if !reveals {
            assert_redacted(&format!("stdout of {args:?}"), &out);
        }
        assert_redacted(&format!("stderr of {args:?}"), &err);
        (status.code().unwrap_or(-1), out, err)
    }

    fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.audit.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn client(&self) -> aws_sdk_secretsmanager::Client {
        let endpoint = &self.env[0].1;
        let config = aws_sdk_secretsmanager::config::Builder::new()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_sdk_secretsmanager::config::Region::new("eu-west-3"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "AKIDTEST", AWS_SECRET, None, None, "test",
            ))
            .http_client(vivr::aws::http_client())
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }
}

fn env_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("production.env");
    std::fs::write(
        &path,
        format!(
            "STRIPE_SECRET_KEY={STRIPE_SECRET}\nSTRIPE_PUBLISHABLE_KEY=pk_live_51QzXv8RtKp3LmN7Yw\n\
             STRIPE_WEBHOOK_SECRET={WEBHOOK_SECRET}\nVIVR_SESSION_SECRET={SESSION_SECRET}\n\
             DATABASE_URL=postgres://vivr:{DB_PASSWORD}@db.internal/vivr?sslmode=require\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_stored_read_redacted_injected_rotated_and_audited() {
    let Some(moto) = Moto::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = env_file(dir.path());
    let prod = moto.name("production");

    // put: a whole env file, then one variable from standard input.
    let (code, out, err) = moto.vivr(
        &[
            "secrets",
            "put",
            &prod,
            "--from-env-file",
            file.to_str().unwrap(),
        ],
        None,
        false,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 variable(s)"), "{out}");
    let (code, _, err) = moto.vivr(
        &["secrets", "put", &prod, "--key", "VIVR_PUBLIC_URL"],
        Some("https://www.vivr.fr\n"),
        false,
    );
    assert_eq!(code, 0, "{err}");

    // list
    let (code, out, _) = moto.vivr(
        &[
            "secrets",
            "list",
            "--prefix",
            &moto.prefix,
            "--format",
            "json",
        ],
        None,
        false,
    );
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["secrets"][0]["name"], prod.as_str(), "{out}");

    // get: redacted by default, in text and JSON; the value only with --reveal.
    let (code, out, _) = moto.vivr(&["secrets", "get", &prod], None, false);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "STRIPE_SECRET_KEY=<redacted, {} chars>",
            STRIPE_SECRET.len()
        )),
        "{out}"
    );
    let (_, out, _) = moto.vivr(&["secrets", "get", &prod, "--format", "json"], None, false);
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["revealed"], false);
    assert_eq!(got["variables"]["VIVR_PUBLIC_URL"], "<redacted, 19 chars>");
    let (code, out, _) = moto.vivr(
        &[
            "secrets",
            "get",
            &prod,
            "--key",
            "STRIPE_SECRET_KEY",
            "--reveal",
        ],
        None,
        true,
    );
    assert_eq!(code, 0);
    assert_eq!(out.trim(), STRIPE_SECRET);

    // run: the variables reach the child; --strict fills only the sentinels and fails on a missing one.
    let (code, out, err) = moto.vivr(
        &[
            "secrets",
            "run",
            &prod,
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$STRIPE_SECRET_KEY\" \"$VIVR_PUBLIC_URL\"",
        ],
        None,
        true,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{STRIPE_SECRET}|https://www.vivr.fr"));
    let env: Vec<(&str, &str)> = moto
        .env
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain([
            ("STRIPE_SECRET_KEY", "vivr-secret"),
            ("OTHER", "vivr-secret"),
        ])
        .collect();
    let (status, _, err) = vivr_output_env(
        &["secrets", "run", &prod, "--strict", "--", "true"],
        None,
        &env,
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--strict") && err.contains("OTHER"), "{err}");
    assert_redacted("strict failure", &err);
    let (code, out, _) = moto.vivr(
        &["secrets", "run", &prod, "--pristine", "--", "/usr/bin/env"],
        None,
        true,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("VIVR_PUBLIC_URL=") && !out.contains("AWS_REGION="),
        "{out}"
    );

    // env check and env diff read the secret too.
    let (code, out, _) = moto.vivr(
        &[
            "env",
            "check",
            "--env",
            "staging",
            "--from",
            &format!("aws-sm://{prod}"),
            "--no-process-env",
            "--format",
            "json",
        ],
        None,
        false,
    );
    assert_eq!(code, 1, "live keys outside production: {out}");
    assert!(
        out.contains("stripe_live_key_outside_production")
            && out.contains(&format!("aws-sm://{prod}"))
    );
    let (code, out, _) = moto.vivr(
        &[
            "env",
            "diff",
            file.to_str().unwrap(),
            &format!("aws-sm://{prod}"),
            "--format",
            "json",
        ],
        None,
        false,
    );
    assert_eq!(code, 1);
    let diff: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(diff["only_in_b"][0], "VIVR_PUBLIC_URL", "{out}");
    assert_eq!(diff["same_value"].as_array().unwrap().len(), 5, "{out}");

    // rotate: AWSCURRENT moves to a new version and AWSPREVIOUS to the old one.
    let rotating = moto.name("rotating");
    moto.vivr(
        &[
            "secrets",
            "put",
            &rotating,
            "--from-env-file",
            file.to_str().unwrap(),
        ],
        None,
        false,
    );
    let client = moto.client().await;
    let before = client
        .describe_secret()
        .secret_id(&rotating)
        .send()
        .await
        .unwrap();
    let old = before
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, s)| s.contains(&"AWSCURRENT".to_string()))
        .map(|(v, _)| v.clone())
        .unwrap();
    let (code, out, err) = moto.vivr(
        &["secrets", "rotate", &rotating, "--format", "json"],
        None,
        false,
    );
    assert_eq!(code, 0, "{out}{err}");
    let rotation: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rotation["rotation"]["outcome"], "finished", "{out}");
    assert_eq!(rotation["rotation"]["previous_version"], old.as_str());
    let after = client
        .describe_secret()
        .secret_id(&rotating)
        .send()
        .await
        .unwrap();
    let stages = after.version_ids_to_stages().unwrap();
    let current = rotation["rotation"]["current_version"].as_str().unwrap();
    assert_ne!(current, old);
    assert!(
        stages[current].contains(&"AWSCURRENT".to_string()),
        "{stages:?}"
    );
    assert!(
        stages[&old].contains(&"AWSPREVIOUS".to_string()),
        "{stages:?}"
    );

    // audit: rotation disabled is a high finding (exit 1); an owner tag and a stuck rotation are seen.
    client
        .tag_resource()
        .secret_id(&prod)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("owner")
                .value("ops")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stuck = moto.name("stuck");
    moto.vivr(
        &[
            "secrets",
            "put",
            &stuck,
            "--from-env-file",
            file.to_str().unwrap(),
        ],
        None,
        false,
    );
    client
        .put_secret_value()
        .secret_id(&stuck)
        .secret_string("{}")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let (code, out, _) = moto.vivr(
        &[
            "secrets",
            "audit",
            "--prefix",
            &moto.prefix,
            "--format",
            "json",
        ],
        None,
        false,
    );
    assert_eq!(code, 1, "{out}");
    let audit: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = |secret: &str| -> Vec<String> {
        audit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["secret"] == secret)
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        checks(&prod).contains(&"rotation_disabled".to_string()),
        "{out}"
    );
    assert!(
        !checks(&prod).contains(&"missing_owner_tag".to_string()),
        "{out}"
    );
    assert!(
        checks(&stuck).contains(&"stuck_rotation".to_string()),
        "{out}"
    );
    let (code, _, _) = moto.vivr(
        &[
            "secrets",
            "audit",
            "--prefix",
            &moto.prefix,
            "--fail-on",
            "high",
            "--format",
            "json",
        ],
        None,
        false,
    );
    assert_eq!(code, 1);

    // The audit file: one line per read, who and what, never a value.
    let lines = moto.audit_lines();
    assert!(lines.len() >= 6, "{lines:?}");
    let text = std::fs::read_to_string(moto.audit.path().join("audit.jsonl")).unwrap();
    assert_redacted("the audit file", &text);
    let get = lines
        .iter()
        .find(|l| l["command"] == "vivr secrets get")
        .expect("get is audited");
    assert_eq!(get["ok"], true);
    assert_eq!(get["version_stage"], "AWSCURRENT");
    assert!(
        get["identity"]
            .as_str()
            .is_some_and(|i| i.starts_with("arn:aws:")),
        "{get}"
    );
    assert!(
        get["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "STRIPE_SECRET_KEY")
    );
    assert!(lines.iter().any(|l| l["command"] == "vivr secrets run"));
    assert!(lines.iter().any(|l| l["command"] == "vivr env check"));
    assert!(lines.iter().any(|l| l["command"] == "vivr env diff"));
}

/// Every `vivr env` command, with the known secrets in every source at once — a file, a Secrets Manager secret and
/// the process environment — in every output format, at the most verbose log level.
#[tokio::test(flavor = "multi_thread")]
async fn no_env_command_shows_a_secret_from_any_source() {
    let Some(moto) = Moto::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = env_file(dir.path());
    let secret = moto.name("sweep");
    let (code, _, err) = moto.vivr(
        &[
            "secrets",
            "put",
            &secret,
            "--from-env-file",
            file.to_str().unwrap(),
        ],
        None,
        false,
    );
    assert_eq!(code, 0, "{err}");
    let from = format!("aws-sm://{secret}");
    let process_env = [
        ("STRIPE_SECRET_KEY", STRIPE_TEST_SECRET),
        ("VIVR_SESSION_SECRET", SESSION_SECRET),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        // A misspelt name holding a secret: reported as unknown, by name only.
        ("VIVR_SESION_SECRET", SESSION_SECRET),
    ];
    let file = file.to_str().unwrap();
    for environment in ["development", "staging", "production"] {
        for format in ["text", "json", "sarif"] {
            let (code, out, err) = moto.vivr_with(
                &[
                    "env",
                    "check",
                    "--env",
                    environment,
                    "--env-file",
                    file,
                    "--from",
                    &from,
                    "--format",
                    format,
                ],
                None,
                false,
                &process_env,
            );
            assert!(code == 0 || code == 1, "{out}{err}");
        }
    }
    for (a, b) in [
        (file, from.as_str()),
        ("env:", from.as_str()),
        (file, "env:"),
    ] {
        for format in ["text", "json"] {
            let (code, out, err) = moto.vivr_with(
                &["env", "diff", a, b, "--format", format],
                None,
                false,
                &process_env,
            );
            assert!(code == 0 || code == 1, "{out}{err}");
        }
    }
    for args in [
        &["env", "doc"][..],
        &["env", "example", "--output", "-"][..],
    ] {
        let (code, _, _) = moto.vivr_with(args, None, false, &process_env);
        assert_eq!(code, 0);
    }
    // A configuration `vivr serve` refuses: the grouped report names variables, never values.
    let (code, _, _) = moto.vivr_with(
        &["serve", "--env", "production", "--bind", "127.0.0.1:0"],
        None,
        false,
        &[
            ("STRIPE_SECRET_KEY", STRIPE_SECRET),
            ("VIVR_SESSION_SECRET", "short"),
            (
                "DATABASE_URL",
                &format!("postgres://vivr:{DB_PASSWORD}@db.internal/vivr"),
            ),
        ],
    );
    assert_eq!(code, 2);
    let text = std::fs::read_to_string(moto.audit.path().join("audit.jsonl")).unwrap();
    assert_redacted("the audit file", &text);
}

/// An AWS failure is one sentence saying what failed, never the SDK's debug structures.
#[test]
fn an_unreachable_aws_endpoint_is_one_readable_sentence() {
    let closed = crate::common::process::free_port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let (status, stdout, stderr) = vivr_output_env(
        &["secrets", "list", "--endpoint-url", &endpoint],
        None,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-0000"),
            ("AWS_REGION", "eu-west-3"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        error.contains("could not reach the AWS endpoint"),
        "{stderr}"
    );
    for noise in ["DispatchFailure", "ConnectorError", "{", "Some("] {
        assert!(!stderr.contains(noise), "{noise} in: {stderr}");
    }
}
