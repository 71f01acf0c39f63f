//! `vivr secrets`: the shop's secrets in AWS Secrets Manager — list, get (redacted unless `--reveal`), put, run a
//! command with them, rotate, and audit their posture. Every read is written to the local audit file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::cli::Format;
use crate::config::sources::Source;
use crate::exit::Outcome;
use crate::output::{Ctx, Report, table};
use crate::secrets::posture::{self, Policy, Severity};
use crate::secrets::{RotationOutcome, Secrets, Summary, redacted};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Another Secrets Manager endpoint (a local emulator, a VPC endpoint).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Secrets, with rotation and access dates (no value is read).
    List {
        /// Only secrets whose name starts with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// A secret's variables, redacted unless --reveal.
    Get {
        /// The secret's name (or ARN).
        name: String,
        /// Only this variable.
        #[arg(long)]
        key: Option<String>,
        /// Print the values themselves.
        #[arg(long)]
        reveal: bool,
        /// The version before the last rotation (AWSPREVIOUS), to roll back.
        #[arg(long)]
        previous: bool,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Set one variable (its value read from standard input) or every variable of a dotenv file, as a new
    /// version; creates the secret if needed.
    Put {
        /// The secret's name (or ARN).
        name: String,
        /// The variable to set; its value is read from standard input (never from the command line).
        #[arg(
            long,
            required_unless_present = "from_env_file",
            conflicts_with = "from_env_file"
        )]
        key: Option<String>,
        /// Store every variable of this dotenv file (replacing the secret's variables).
        #[arg(long, value_name = "FILE")]
        from_env_file: Option<PathBuf>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run a command with the secrets' variables in its environment (later secrets override earlier ones).
    Run {
        /// One or more secrets.
        #[arg(required = true)]
        names: Vec<String>,
        /// Only fill variables the environment sets to the sentinel value, and fail if a secret lacks one.
        #[arg(long)]
        strict: bool,
        /// The sentinel of --strict.
        #[arg(long, default_value = "vivr-secret")]
        strict_value: String,
        /// Start the command with the secrets' variables only, not the inherited environment.
        #[arg(long)]
        pristine: bool,
        /// The command and its arguments, after --.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Start a rotation and follow the version stages until AWSPENDING clears; exit 1 if it gets stuck.
    Rotate {
        /// The secret's name (or ARN).
        name: String,
        /// The rotation function (else the one configured on the secret).
        #[arg(long)]
        lambda_arn: Option<String>,
        /// How long to wait for the rotation to finish, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Posture of each secret: rotation, age, stuck rotation, unused, scheduled deletion, KMS key, owner tag.
    Audit {
        /// Only secrets whose name starts with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Rotated secrets must have rotated within this many days.
        #[arg(long, default_value_t = 90)]
        max_age_days: i64,
        /// Report secrets not read for this many days.
        #[arg(long, default_value_t = 90)]
        unused_days: i64,
        /// Require customer-managed KMS keys.
        #[arg(long)]
        require_cmk: bool,
        /// The tag naming a secret's owner.
        #[arg(long, default_value = "owner")]
        owner_tag: String,
        /// Exit 1 when a finding is at least this severe.
        #[arg(long, value_enum, default_value_t = Severity::High)]
        fail_on: Severity,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::List { .. } => "vivr secrets list",
        Command::Get { .. } => "vivr secrets get",
        Command::Put { .. } => "vivr secrets put",
        Command::Run { .. } => "vivr secrets run",
        Command::Rotate { .. } => "vivr secrets rotate",
        Command::Audit { .. } => "vivr secrets audit",
    }
}

/// Connects, and resolves who is calling: shown with -v, and recorded in the audit file.
pub async fn connect(
    endpoint_url: Option<&str>,
    command: &str,
    ctx: &Ctx,
) -> anyhow::Result<Secrets> {
    let secrets = Secrets::connect(endpoint_url, command).await?;
    match secrets.identity().await {
        Ok(identity) => {
            secrets.audit.set_identity(&identity.arn);
            if ctx.verbose > 0 {
                tracing::info!(account = %identity.account, "AWS identity: {}", identity.arn);
            }
        }
        Err(err) => tracing::warn!("the AWS identity is unknown: {err:#}"),
    }
    Ok(secrets)
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let secrets = connect(
        args.endpoint_url.as_deref(),
        command_name(&args.command),
        ctx,
    )
    .await?;
    match args.command {
        Command::List { prefix, format } => {
            let secrets = secrets.list(&prefix).await?;
            ctx.emit(&ListReport { secrets }, format)
        }
        Command::Get {
            name,
            key,
            reveal,
            previous,
            format,
        } => ctx.emit(&get(&secrets, name, key, reveal, previous).await?, format),
        Command::Put {
            name,
            key,
            from_env_file,
            format,
        } => ctx.emit(&put(&secrets, name, key, from_env_file).await?, format),
        Command::Run {
            names,
            strict,
            strict_value,
            pristine,
            command,
        } => {
            let mut injected = BTreeMap::new();
            for name in &names {
                injected.extend(secrets.read(name, "AWSCURRENT").await?.variables);
            }
            if strict {
                keep_strict(&mut injected, &strict_value)?;
            }
            Err(exec_with(&command, &injected, pristine))
        }
        Command::Rotate {
            name,
            lambda_arn,
            timeout_secs,
            format,
        } => {
            let timeout = Duration::from_secs(timeout_secs);
            let rotation = secrets
                .rotate(&name, lambda_arn.as_deref(), timeout)
                .await?;
            let secret = name;
            ctx.emit(
                &RotateReport {
                    secret,
                    rotation,
                    timeout_secs,
                },
                format,
            )
        }
        Command::Audit {
            prefix,
            max_age_days,
            unused_days,
            require_cmk,
            owner_tag,
            fail_on,
            format,
        } => {
            let policy = Policy {
                max_age_days,
                unused_days,
                require_cmk,
                owner_tag,
            };
            ctx.emit(&audit(&secrets, &prefix, &policy, fail_on).await?, format)
        }
    }
}

/// `secrets get`: the variables of one version, redacted unless `reveal`.
async fn get(
    secrets: &Secrets,
    name: String,
    key: Option<String>,
    reveal: bool,
    previous: bool,
) -> anyhow::Result<GetReport> {
    let stage = if previous {
        "AWSPREVIOUS"
    } else {
        "AWSCURRENT"
    };
    let value = secrets.read(&name, stage).await?;
    let mut variables = value.variables;
    if let Some(key) = &key {
        variables.retain(|k, _| k == key);
        if variables.is_empty() {
            bail!("secret {name} has no variable {key}");
        }
    }
    let shown: BTreeMap<String, String> = variables
        .iter()
        .map(|(k, v)| {
            let shown = if reveal {
                v.expose_secret().to_string()
            } else {
                redacted(v)
            };
            (k.clone(), shown)
        })
        .collect();
    tracing::info!(
        "{name} version {} ({}){}",
        value.version_id,
        value.stages.join(", "),
        if reveal {
            ""
        } else {
            " — redacted; --reveal shows the values"
        }
    );
    Ok(GetReport {
        secret: name,
        arn: value.arn,
        version_id: value.version_id,
        stages: value.stages,
        revealed: reveal,
        variables: shown,
        one_value: reveal && key.is_some(),
    })
}

/// `secrets put`: the variables of a file, or one variable's new value from standard input.
async fn put(
    secrets: &Secrets,
    name: String,
    key: Option<String>,
    from_env_file: Option<PathBuf>,
) -> anyhow::Result<PutReport> {
    let variables = match (key, from_env_file) {
        (_, Some(file)) => variables_from_file(&file)?,
        (Some(key), None) => with_value_from_stdin(secrets, &name, key).await?,
        (None, None) => bail!("give --key KEY (value on standard input) or --from-env-file FILE"),
    };
    let version = secrets.write(&name, &variables).await?;
    Ok(PutReport {
        secret: name,
        version_id: version,
        variables: variables.keys().cloned().collect(),
    })
}

/// `secrets put --from-env-file`: every variable of the file, or nothing when a line is wrong.
fn variables_from_file(file: &std::path::Path) -> anyhow::Result<BTreeMap<String, SecretString>> {
    let source = Source::env_file(file)?;
    if let Some((line, problem)) = source.problems.first() {
        bail!("{}:{line}: {problem}; nothing was stored", file.display());
    }
    Ok(source
        .entries
        .into_iter()
        .map(|(k, e)| (k, e.value))
        .collect())
}

/// `secrets put --key`: the secret's current variables with `key` set to the value on standard input
/// (read-modify-write: the other variables stay).
async fn with_value_from_stdin(
    secrets: &Secrets,
    name: &str,
    key: String,
) -> anyhow::Result<BTreeMap<String, SecretString>> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the value from standard input")?;
    let input = SecretString::from(input.strip_suffix('\n').unwrap_or(&input).to_string());
    if input.expose_secret().is_empty() {
        bail!("no value on standard input for {key}; nothing was stored");
    }
    let mut variables = match secrets.describe(name).await {
        Ok(_) => secrets.read(name, "AWSCURRENT").await?.variables,
        Err(_) => BTreeMap::new(),
    };
    variables.insert(key, input);
    Ok(variables)
}

/// `secrets run --strict`: every variable of the environment set to `strict_value` must come from the secrets,
/// and only those are injected.
fn keep_strict(
    injected: &mut BTreeMap<String, SecretString>,
    strict_value: &str,
) -> anyhow::Result<()> {
    let wanted: Vec<String> = std::env::vars()
        .filter(|(_, v)| *v == strict_value)
        .map(|(k, _)| k)
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|k| !injected.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "--strict: {} set to {strict_value:?} but not in the secret(s): {}",
            if missing.len() == 1 {
                "this variable is"
            } else {
                "these variables are"
            },
            missing.join(", ")
        );
    }
    injected.retain(|k, _| wanted.contains(k));
    Ok(())
}

/// Replaces this process with `command`, the secrets' variables in its environment. Returns only on failure.
fn exec_with(
    command: &[String],
    injected: &BTreeMap<String, SecretString>,
    pristine: bool,
) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let Some((program, program_args)) = command.split_first() else {
        return anyhow::anyhow!("secrets run: name the command to run after --");
    };
    let mut child = std::process::Command::new(program);
    child.args(program_args);
    if pristine {
        child.env_clear();
    }
    for (k, v) in injected {
        child.env(k, v.expose_secret());
    }
    tracing::debug!(
        count = injected.len(),
        "starting {program} with the secrets' variables"
    );
    let err = child.exec();
    anyhow::anyhow!("cannot run {program}: {err}")
}

/// `secrets audit`: each secret's posture against the policy.
async fn audit(
    secrets: &Secrets,
    prefix: &str,
    policy: &Policy,
    fail_on: Severity,
) -> anyhow::Result<AuditReport> {
    let now = chrono::Utc::now();
    let mut findings = Vec::new();
    let list = secrets.list(prefix).await?;
    for s in &list {
        let described = secrets.describe(&s.name).await?;
        findings.extend(posture::assess(&described, now, policy));
    }
    let failing = findings.iter().filter(|f| f.severity >= fail_on).count();
    Ok(AuditReport {
        secrets: list.len(),
        findings,
        fail_on,
        failing,
    })
}

/// `secrets list`.
#[derive(Debug, Serialize)]
pub struct ListReport {
    secrets: Vec<Summary>,
}

impl Report for ListReport {
    fn text(&self) -> String {
        let mut table = table([
            "name",
            "rotation",
            "last changed",
            "last rotated",
            "last accessed",
        ]);
        let or_dash = |d: &Option<String>| d.clone().unwrap_or_else(|| "—".into());
        for s in &self.secrets {
            table.add_row([
                s.name.clone(),
                if s.rotation_enabled { "on" } else { "off" }.to_string(),
                or_dash(&s.last_changed),
                or_dash(&s.last_rotated),
                or_dash(&s.last_accessed),
            ]);
        }
        format!("{table}\n")
    }
}

/// `secrets get`: the variables, redacted unless revealed.
#[derive(Debug, Serialize)]
pub struct GetReport {
    secret: String,
    arn: String,
    version_id: String,
    stages: Vec<String>,
    revealed: bool,
    variables: BTreeMap<String, String>,
    /// `--reveal --key K`: the text is the value alone, for `$(vivr secrets get NAME --key K --reveal)`.
    #[serde(skip)]
    one_value: bool,
}

impl Report for GetReport {
    fn text(&self) -> String {
        self.variables
            .iter()
            .map(|(k, v)| {
                if self.one_value {
                    format!("{v}\n")
                } else {
                    format!("{k}={v}\n")
                }
            })
            .collect()
    }
}

/// `secrets put`: the version stored and the names of its variables (never their values).
#[derive(Debug, Serialize)]
pub struct PutReport {
    secret: String,
    version_id: String,
    variables: Vec<String>,
}

impl Report for PutReport {
    fn text(&self) -> String {
        format!(
            "{}: version {} stored with {} variable(s): {}\n",
            self.secret,
            self.version_id,
            self.variables.len(),
            self.variables.join(", ")
        )
    }
}

/// `secrets rotate`: finished, or stuck with AWSPENDING on a version.
#[derive(Debug, Serialize)]
pub struct RotateReport {
    secret: String,
    rotation: RotationOutcome,
    #[serde(skip)]
    timeout_secs: u64,
}

impl Report for RotateReport {
    fn text(&self) -> String {
        let name = &self.secret;
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
        match &self.rotation {
            RotationOutcome::Finished {
                previous_version,
                current_version,
            } => format!(
                "{name}: rotated; AWSCURRENT is version {} (was {})\n",
                version(current_version),
                version(previous_version)
            ),
            RotationOutcome::Stuck {
                pending_version,
                current_version,
            } => format!(
                "{name}: the rotation is stuck — AWSPENDING is on version {pending_version}, AWSCURRENT on {} after \
                 {} s; check the rotation function's logs\n",
                version(current_version),
                self.timeout_secs
            ),
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(matches!(self.rotation, RotationOutcome::Stuck { .. }))
    }
}

/// `secrets audit`: posture findings, and how many reach `--fail-on`.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    secrets: usize,
    findings: Vec<posture::Finding>,
    fail_on: Severity,
    failing: usize,
}

impl Report for AuditReport {
    fn text(&self) -> String {
        let mut table = table(["secret", "severity", "check", "finding"]);
        for f in &self.findings {
            table.add_row([
                f.secret.clone(),
                format!("{:?}", f.severity).to_lowercase(),
                f.check.to_string(),
                f.message.clone(),
            ]);
        }
        format!(
            "{table}\n{} secret(s), {} finding(s), {} at or above {:?}\n",
            self.secrets,
            self.findings.len(),
            self.failing,
            self.fail_on
        )
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(self.failing > 0)
    }
}
