//! `vivr build`: lint the Dockerfile, build the production image from a static vivr binary through the Docker
//! engine's API, and check the image that came out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::exit::Outcome;
use crate::image::engine::Engine;
use crate::image::inspect::{self, Check, megabytes};
use crate::image::lint::{DockerfileLint, lint};
use crate::image::source::{self, SourceFacts};
use crate::image::{context, registry, sbom, smoke};
use crate::output::{Ctx, Report, Style, table};

/// The platform images are built for, and the target the static binary is compiled for.
const TARGET: &str = "x86_64-unknown-linux-gnu";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory: its Dockerfile, .dockerignore and git history.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Only lint the Dockerfile (no engine needed). Exit 1 on a warning or an error.
    #[arg(long)]
    pub lint_only: bool,
    /// The static vivr binary to put in the image. Default: build it with cargo (profile dist, glibc linked
    /// statically, target x86_64-unknown-linux-gnu).
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,
    /// The image's repository (name), e.g. vivr or 123456789012.dkr.ecr.eu-west-3.amazonaws.com/vivr.
    #[arg(long, default_value = "vivr")]
    pub repo: String,
    /// Another tag besides the commit's (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Build although files differ from the last commit (the tag then ends in -dirty).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Fail when the image weighs more than this many megabytes.
    #[arg(long, default_value_t = 25, value_name = "MB")]
    pub max_size: u64,
    /// Write a CycloneDX SBOM of the crates compiled into the binary to FILE (from this project's Cargo.lock);
    /// its SHA-256 goes into the image's `dev.vivr.sbom.sha256` label (through the Dockerfile's SBOM_SHA256).
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<PathBuf>,
    /// Push every tag to the registry --repo names (e.g. 127.0.0.1:5000/vivr), once every check passed; prints
    /// repo@sha256:…, the digest to deploy. An ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/name)
    /// logs in with a token from ECR's GetAuthorizationToken (AWS credentials and AWS_ENDPOINT_URL as for every
    /// AWS call); any other registry with the Docker configuration's credentials (credHelpers, credsStore,
    /// auths). A refused push exits 3 and leaves no tag of this build behind.
    #[arg(long)]
    pub push: bool,
    /// Run the built image (read-only, data on a tmpfs, port on loopback): it must turn healthy, answer
    /// /api/health and a product page, and exit 0 on SIGTERM. The container is removed afterwards.
    #[arg(long)]
    pub smoke: bool,
    /// text, json, or sarif (the Dockerfile's findings, for code scanning).
    #[arg(long, value_enum, default_value_t = BuildFormat::Text)]
    pub format: BuildFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildFormat {
    Text,
    Json,
    Sarif,
}

impl From<BuildFormat> for Style {
    fn from(format: BuildFormat) -> Self {
        match format {
            BuildFormat::Text => Style::Text,
            BuildFormat::Json => Style::Json,
            BuildFormat::Sarif => Style::Sarif,
        }
    }
}

/// The Dockerfile's lint, and when it passed and a build was asked for, the image.
#[derive(Debug, Serialize)]
pub struct BuildReport {
    lint: DockerfileLint,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Built>,
}

#[derive(Debug, Serialize)]
struct Built {
    id: String,
    tags: Vec<String>,
    size_bytes: u64,
    layers: usize,
    context_bytes: usize,
    binary: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    sbom: Option<Sbom>,
    /// `repo@sha256:…`, when pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pushed: Option<String>,
    source: SourceFacts,
    checks: Vec<Check>,
    timings_ms: Timings,
}

#[derive(Debug, Serialize)]
struct Sbom {
    path: PathBuf,
    sha256: String,
    components: usize,
}

#[derive(Debug, Default, Serialize)]
struct Timings {
    lint: u64,
    cargo: u64,
    build: u64,
    inspect: u64,
    smoke: u64,
    push: u64,
}

impl Report for BuildReport {
    fn text(&self) -> String {
        let mut text = self.lint.text();
        if let Some(image) = &self.image {
            text += &format!(
                "Built {} ({}): {}, {} layer(s), from a {} context (build {:.1} s).\n",
                image.tags.join(", "),
                image.id,
                megabytes(image.size_bytes),
                image.layers,
                megabytes(image.context_bytes as u64),
                image.timings_ms.build as f64 / 1000.0
            );
            if let Some(sbom) = &image.sbom {
                text += &format!(
                    "SBOM: {} ({} crates, sha256 {}).\n",
                    sbom.path.display(),
                    sbom.components,
                    sbom.sha256.get(..16).unwrap_or_default()
                );
            }
            let mut table = table(["check", "result", "detail"]);
            for c in &image.checks {
                table.add_row([
                    format!("{} {}", c.id, c.title),
                    if c.ok { "ok" } else { "FAILED" }.to_string(),
                    c.detail.clone(),
                ]);
            }
            text += &format!("{table}\n");
            if let Some(pushed) = &image.pushed {
                text += &format!("Pushed {pushed}\n");
            }
            let failed = image.checks.iter().filter(|c| !c.ok).count();
            text += &if failed == 0 {
                "Every check passed.\n".to_string()
            } else {
                format!("{failed} check(s) failed.\n")
            };
        }
        text
    }

    fn outcome(&self) -> Outcome {
        let checks_failed = self
            .image
            .as_ref()
            .is_some_and(|i| i.checks.iter().any(|c| !c.ok));
        Outcome::check(self.lint.failed() || checks_failed)
    }

    fn sarif(&self) -> Option<serde_json::Value> {
        Some(self.lint.sarif())
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The project's Dockerfile and its lint, timed.
fn lint_dockerfile(project: &Path) -> anyhow::Result<(String, DockerfileLint, Timings)> {
    let started = Instant::now();
    let path = project.join("Dockerfile");
    let dockerfile =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let lint = lint(&path.display().to_string(), &dockerfile, Some(project));
    let timings = Timings {
        lint: millis(started),
        ..Timings::default()
    };
    Ok((dockerfile, lint, timings))
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let (dockerfile, lint, mut timings) = lint_dockerfile(&args.path)?;
    if args.lint_only || lint.failed() {
        if lint.failed() && !args.lint_only {
            tracing::warn!("the Dockerfile's findings stop the build before it starts");
        }
        return ctx.emit(&BuildReport { lint, image: None }, args.format);
    }

    let source = checked_source(&args)?;
    let binary = binary_for(&args, &mut timings)?;
    let version = check_binary(&binary)?;

    let engine = Engine::connect().await?;
    let runtime = context::runtime_stage(&dockerfile)?;
    let tar = context::archive(&runtime, &binary)?;
    let context_bytes = tar.len();
    let tag = source.tag();
    let reference = format!("{}:{tag}", args.repo);
    // Credentials for the push are found before the build: a registry vivr cannot log in to stops it early.
    let credentials = match registry::registry_of(&args.repo) {
        Some(host) if args.push => registry::credentials_for(host).await?,
        _ => None,
    };
    let mut build_args = build_args(&source, version);
    let sbom = sbom_for(&args, &source, &mut build_args)?;
    let (id, tags) = build_and_tag(
        &engine,
        ctx,
        &args,
        tar,
        &reference,
        &build_args,
        &mut timings,
    )
    .await?;
    let (inspected, checks) = image_checks(&engine, &id, &args, &mut timings).await?;
    let pushed = if args.push {
        push_checked(
            &engine,
            &args,
            &source,
            &tags,
            &checks,
            credentials,
            &mut timings,
        )
        .await?
    } else {
        None
    };
    let image = Built {
        id,
        tags,
        size_bytes: u64::try_from(inspected.size.unwrap_or_default()).unwrap_or_default(),
        layers: inspected
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.as_ref())
            .map_or(0, Vec::len),
        context_bytes,
        binary,
        sbom,
        pushed,
        source,
        checks,
        timings_ms: timings,
    };
    ctx.emit(
        &BuildReport {
            lint,
            image: Some(image),
        },
        args.format,
    )
}

/// The binary to put in the image: the one given, or a release build of the tree (timed).
fn binary_for(args: &Args, timings: &mut Timings) -> anyhow::Result<PathBuf> {
    match &args.binary {
        Some(binary) => Ok(binary.clone()),
        None => {
            let cargo_started = Instant::now();
            let built = cargo_build(&args.path)?;
            timings.cargo = millis(cargo_started);
            Ok(built)
        }
    }
}

/// The SBOM, when asked: written, and its digest passed to the build as `SBOM_SHA256`.
fn sbom_for(
    args: &Args,
    source: &SourceFacts,
    build_args: &mut HashMap<String, String>,
) -> anyhow::Result<Option<Sbom>> {
    let Some(path) = &args.sbom else {
        return Ok(None);
    };
    let sbom = write_sbom(&args.path, path, &source.created)?;
    build_args.insert("SBOM_SHA256".to_string(), sbom.sha256.clone());
    Ok(Some(sbom))
}

/// The source to build: refused when it is not committed (unless allowed), or when a push has no registry.
fn checked_source(args: &Args) -> anyhow::Result<SourceFacts> {
    if args.push && registry::registry_of(&args.repo).is_none() {
        bail!(
            "--push needs --repo to name a registry (host[:port]/name, e.g. 127.0.0.1:5000/vivr or \
             <account>.dkr.ecr.<region>.amazonaws.com/vivr), not {:?}",
            args.repo
        );
    }
    let source = source::read(&args.path)?;
    if source.dirty && !args.allow_dirty {
        bail!(
            "{} has changes that are not committed ({}{}): the image's revision label would name a commit it \
             does not hold. Commit them (or ignore them in .gitignore; write --sbom outside the work tree), or \
             build anyway with --allow-dirty (the tag then ends in -dirty)",
            args.path.display(),
            source.changes.join(", "),
            if source.changes.len() == 5 {
                ", …"
            } else {
                ""
            }
        );
    }
    Ok(source)
}

/// The built image's inspection and its checks (with the smoke test when asked).
async fn image_checks(
    engine: &Engine,
    id: &str,
    args: &Args,
    timings: &mut Timings,
) -> anyhow::Result<(bollard::models::ImageInspect, Vec<Check>)> {
    let inspect_started = Instant::now();
    let inspected = engine.inspect(id).await?;
    let export = engine.export(id).await?;
    let history = engine.history(id).await?;
    let mut checks = inspect::check(
        &inspect::Image {
            inspect: &inspected,
            export: &export,
            history: &history,
        },
        args.max_size.saturating_mul(1_000_000),
    )?;
    timings.inspect = millis(inspect_started);
    if args.smoke {
        let smoke_started = Instant::now();
        let limits = smoke::Limits {
            healthy_within: Duration::from_secs(60),
            stopped_within: Duration::from_secs(35),
        };
        checks.extend(smoke::smoke(engine, id, &limits).await?);
        timings.smoke = millis(smoke_started);
    }
    Ok((inspected, checks))
}

/// Checks that `binary` is a static vivr and returns its version.
fn check_binary(binary: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("reading the binary {}", binary.display()))?;
    if !context::is_static_elf(&bytes).with_context(|| format!("{}", binary.display()))? {
        bail!(
            "{} is linked dynamically: a scratch image has no C library. Build it with \
             RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release --target {TARGET}",
            binary.display()
        );
    }
    binary_version(binary)
}

/// The Dockerfile's ARGs that become the OCI labels.
fn build_args(source: &SourceFacts, version: String) -> HashMap<String, String> {
    [
        ("VERSION", version),
        ("REVISION", source.revision.clone()),
        ("CREATED", source.created.clone()),
        (
            "SOURCE",
            source.url.clone().unwrap_or_else(|| "unknown".into()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Writes the SBOM of `project`'s binary to `path`.
fn write_sbom(project: &Path, path: &Path, created: &str) -> anyhow::Result<Sbom> {
    let document = sbom::cyclonedx(project, TARGET, created)?;
    let text = format!("{document:#}\n");
    std::fs::write(path, &text)
        .with_context(|| format!("writing the SBOM to {}", path.display()))?;
    Ok(Sbom {
        path: path.to_path_buf(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        components: document
            .get("components")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len),
    })
}

/// Pushes the commit's tag and the extra ones with `credentials`; on a refusal, removes the build's local tags (`local`) and fails.
/// Returns the digest.
/// Builds the image (a progress bar on a terminal) and adds the extra tags; returns its id and every tag.
async fn build_and_tag(
    engine: &Engine,
    ctx: &Ctx,
    args: &Args,
    tar: Vec<u8>,
    reference: &str,
    build_args: &HashMap<String, String>,
    timings: &mut Timings,
) -> anyhow::Result<(String, Vec<String>)> {
    let bar = StepBar::new(ctx, args.format);
    let build_started = Instant::now();
    let id = engine
        .build(tar, reference, build_args, bar.sent(), &|step| {
            bar.step(&step)
        })
        .await?;
    drop(bar);
    timings.build = millis(build_started);
    let mut tags = vec![reference.to_string()];
    for extra in &args.tags {
        engine.tag(&id, &args.repo, extra).await?;
        tags.push(format!("{}:{extra}", args.repo));
    }

    Ok((id, tags))
}

/// Pushes every tag when every check passed; returns `repo@digest`.
async fn push_checked(
    engine: &Engine,
    args: &Args,
    source: &SourceFacts,
    tags: &[String],
    checks: &[Check],
    credentials: Option<bollard::auth::DockerCredentials>,
    timings: &mut Timings,
) -> anyhow::Result<Option<String>> {
    if !checks.iter().all(|c| c.ok) {
        tracing::warn!("not pushed: a check failed");
        return Ok(None);
    }
    let push_started = Instant::now();
    let digest = push_all(
        engine,
        &args.repo,
        &source.tag(),
        &args.tags,
        tags,
        credentials,
    )
    .await?;
    timings.push = millis(push_started);
    Ok(Some(format!("{}@{digest}", args.repo)))
}

async fn push_all(
    engine: &Engine,
    repo: &str,
    commit_tag: &str,
    extra: &[String],
    local: &[String],
    credentials: Option<bollard::auth::DockerCredentials>,
) -> anyhow::Result<String> {
    let mut digest = None;
    for tag in std::iter::once(commit_tag).chain(extra.iter().map(String::as_str)) {
        match registry::push(engine, repo, tag, credentials.clone()).await {
            Ok(d) => digest = digest.or(Some(d)),
            Err(refused) => {
                for reference in local {
                    if let Err(err) = engine.untag(reference).await {
                        tracing::warn!("{err:#}");
                    }
                }
                return Err(refused.into());
            }
        }
    }
    digest.context("nothing was pushed")
}

/// `cargo build` of the static binary, cargo's own progress on stderr.
fn cargo_build(project: &Path) -> anyhow::Result<PathBuf> {
    tracing::info!("building the static binary (cargo build --profile dist --target {TARGET})");
    let status = Command::new("cargo")
        .current_dir(project)
        .args([
            "build",
            "--profile",
            "dist",
            "--locked",
            "--bin",
            "vivr",
            "--target",
            TARGET,
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status()
        .context("running cargo (or give a static binary with --binary FILE)")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    Ok(project
        .join("target")
        .join(TARGET)
        .join("dist")
        .join("vivr"))
}

/// `vivr --version` of the binary going into the image ("0.1.0").
fn binary_version(binary: &Path) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.trim().strip_prefix("vivr ") {
        Some(version) if output.status.success() => Ok(version.to_string()),
        _ => bail!(
            "{} --version did not answer `vivr <version>`: is it vivr?",
            binary.display()
        ),
    }
}

/// The build's steps as a progress bar on stderr (a terminal only; not with -q, --no-progress or JSON).
struct StepBar(Option<indicatif::ProgressBar>);

impl StepBar {
    fn new(ctx: &Ctx, format: BuildFormat) -> Self {
        StepBar(ctx.printer.step_bar(format == BuildFormat::Text))
    }

    /// Follows the context's bytes to the engine ("12.50 MiB/92.94 MiB sending the context"), until the first
    /// step.
    fn sent(&self) -> std::sync::Arc<dyn Fn(u64, u64) + Send + Sync> {
        let bar = self.0.clone();
        if let Some(bar) = &bar {
            bar.set_style(crate::output::bytes_style());
            bar.set_message("sending the context");
        }
        std::sync::Arc::new(move |so_far, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(so_far);
            }
        })
    }

    fn step(&self, step: &crate::image::engine::Step<'_>) {
        if let Some(bar) = &self.0 {
            if step.index <= 1 {
                bar.set_style(crate::output::step_style());
            }
            bar.set_length(step.total);
            bar.set_position(step.index);
            bar.set_message(step.text.chars().take(60).collect::<String>());
        }
    }
}

impl Drop for StepBar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
