//! `vivr env`: check a configuration against the schema, write `.env.example`, print the variables' table, and
//! compare two configurations without showing a value.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;
use vivr_shop::config::Environment;

use crate::cli::Format;
use crate::config::check::check;
use crate::config::diff::{DiffReport, diff};
use crate::config::report;
use crate::config::schema::Schema;
use crate::config::sources::{Entry, Source, SourceKind, SourceSpec, describe_spec};
use crate::exit::Outcome;
use crate::output::{Ctx, Report, Style, table};
use crate::secrets::Secrets;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate the merged configuration (env files, then Secrets Manager, then the process environment) for an
    /// environment; exit 1 on errors.
    Check(CheckArgs),
    /// Write .env.example from the schema (every variable, commented out, with its rules).
    Example(ExampleArgs),
    /// Print every variable as a markdown table.
    Doc,
    /// Compare two sources (env files, `env:` for the process environment, `aws-sm://NAME`): missing keys, type
    /// drift, and equal values found through keyed hashes — no value is shown. Exit 1 on missing keys, drift or
    /// a shared secret.
    Diff(DiffArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
}

impl From<CheckFormat> for Style {
    fn from(format: CheckFormat) -> Self {
        match format {
            CheckFormat::Text => Style::Text,
            CheckFormat::Json => Style::Json,
            CheckFormat::Sarif => Style::Sarif,
        }
    }
}

/// `env check`: the configuration's findings against the schema.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Checked {
    report: crate::config::check::CheckReport,
    #[serde(skip)]
    schema: &'static Schema,
}

impl Report for Checked {
    fn text(&self) -> String {
        report::text(&self.report, self.schema, "vivr env check")
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.report.is_ok())
    }

    fn sarif(&self) -> Option<serde_json::Value> {
        Some(report::sarif(&self.report))
    }
}

/// `env example --check`: whether the file on disk is what the schema gives.
#[derive(Debug, Serialize)]
pub struct ExampleCheck {
    file: PathBuf,
    up_to_date: bool,
}

impl Report for ExampleCheck {
    fn text(&self) -> String {
        if self.up_to_date {
            format!("{} is up to date\n", self.file.display())
        } else {
            format!(
                "{} differs from the schema; run `vivr env example` to regenerate it\n",
                self.file.display()
            )
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.up_to_date)
    }
}

impl Report for DiffReport {
    fn text(&self) -> String {
        let mut table = table(["variable", &self.a, &self.b, "finding"]);
        for k in &self.only_in_a {
            table.add_row([k.as_str(), "set", "—", "missing on one side"]);
        }
        for k in &self.only_in_b {
            table.add_row([k.as_str(), "—", "set", "missing on one side"]);
        }
        for d in &self.type_drift {
            table.add_row([d.variable.as_str(), &d.a, &d.b, "type drift"]);
        }
        for s in &self.same_value {
            let finding = if s.secret {
                "same secret value in both"
            } else {
                "same value"
            };
            table.add_row([s.variable.as_str(), "=", "=", finding]);
        }
        for k in &self.different {
            table.add_row([k.as_str(), "set", "set", "differs"]);
        }
        format!(
            "{table}\n{} only in {}, {} only in {}, {} type drift, {} shared secret(s)\n",
            self.only_in_a.len(),
            self.a,
            self.only_in_b.len(),
            self.b,
            self.type_drift.len(),
            self.same_value.iter().filter(|s| s.secret).count()
        )
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(self.has_findings())
    }
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// development, staging or production.
    #[arg(long = "env", env = "VIVR_ENV", default_value = "development")]
    pub environment: String,
    /// A dotenv file; repeat for several (a later file overrides an earlier one).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// A secret in AWS Secrets Manager holding a JSON object of variables; repeat for several.
    #[arg(long = "from", value_name = "aws-sm://NAME")]
    pub from: Vec<String>,
    /// Check only the files and secrets given, not the process environment.
    #[arg(long)]
    pub no_process_env: bool,
    /// Another Secrets Manager endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

#[derive(Debug, clap::Args)]
pub struct ExampleArgs {
    /// Where to write it; `-` for standard output.
    #[arg(long, short, default_value = ".env.example")]
    pub output: PathBuf,
    /// Write nothing; exit 1 when the file differs from what the schema gives (for CI).
    #[arg(long)]
    pub check: bool,
    /// With --check: how to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text, requires = "check")]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first source: a dotenv file, `env:` for the process environment, or `aws-sm://NAME`.
    pub a: String,
    /// The second source.
    pub b: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Another Secrets Manager endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

pub fn parse_environment(value: &str) -> anyhow::Result<Environment> {
    Environment::parse(value).with_context(|| {
        format!("--env (VIVR_ENV) must be development, staging or production, not {value:?}")
    })
}

/// Loads a source; Secrets Manager is connected on first use (and each read audited).
async fn load(
    spec: &str,
    secrets: &mut Option<Secrets>,
    endpoint_url: Option<&str>,
    command: &str,
    ctx: &Ctx,
) -> anyhow::Result<Source> {
    match describe_spec(spec)? {
        SourceSpec::ProcessEnv => Ok(Source::process_env()),
        SourceSpec::File(path) => Source::env_file(&path),
        SourceSpec::SecretsManager(name) => {
            if secrets.is_none() {
                *secrets = Some(super::secrets::connect(endpoint_url, command, ctx).await?);
            }
            let client = secrets
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no Secrets Manager client"))?;
            let value = client.read(&name, "AWSCURRENT").await?;
            Ok(Source {
                name: spec.to_string(),
                kind: SourceKind::SecretsManager,
                entries: value
                    .variables
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            Entry {
                                value: v,
                                line: None,
                            },
                        )
                    })
                    .collect(),
                problems: Vec::new(),
            })
        }
    }
}

pub async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut secrets = None;
    let schema = Schema::embedded();
    match command {
        Command::Check(args) => {
            let environment = parse_environment(&args.environment)?;
            let mut sources = Vec::new();
            for file in &args.env_files {
                sources.push(Source::env_file(file)?);
            }
            for spec in &args.from {
                if !spec.starts_with("aws-sm://") {
                    bail!("--from {spec}: name a secret as aws-sm://NAME (files go to --env-file)");
                }
                sources.push(
                    load(
                        spec,
                        &mut secrets,
                        args.endpoint_url.as_deref(),
                        "vivr env check",
                        ctx,
                    )
                    .await?,
                );
            }
            if !args.no_process_env {
                sources.push(Source::process_env());
            }
            let checked = Checked {
                report: check(schema, environment, sources),
                schema,
            };
            ctx.emit(&checked, args.format)
        }
        Command::Example(args) => {
            let text = report::env_example(schema);
            if args.check {
                let current = std::fs::read_to_string(&args.output)
                    .with_context(|| format!("reading {}", args.output.display()))?;
                let report = ExampleCheck {
                    up_to_date: current == text,
                    file: args.output,
                };
                return ctx.emit(&report, args.format);
            }
            if args.output.as_os_str() == "-" {
                ctx.printer.write(&text)?;
            } else {
                std::fs::write(&args.output, text)
                    .with_context(|| format!("writing {}", args.output.display()))?;
                tracing::info!(
                    "wrote {} ({} variables)",
                    args.output.display(),
                    schema.variables.len()
                );
            }
            Ok(Outcome::Success)
        }
        Command::Doc => {
            ctx.printer.write(&report::markdown(schema))?;
            Ok(Outcome::Success)
        }
        Command::Diff(args) => {
            let endpoint = args.endpoint_url.as_deref();
            let a = load(&args.a, &mut secrets, endpoint, "vivr env diff", ctx).await?;
            let b = load(&args.b, &mut secrets, endpoint, "vivr env diff", ctx).await?;
            ctx.emit(&diff(schema, &a, &b), args.format)
        }
    }
}
