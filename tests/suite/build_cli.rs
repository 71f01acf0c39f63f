//! `vivr build` against a real Docker engine: the project's Dockerfile (in a throwaway git repository) built from
//! the static binary `scripts/test` compiles, inspected, run read-only until healthy, asked for a product page and
//! stopped with SIGTERM; no secret of the environment reaches the image; and each refusal — a failing lint, a
//! dirty tree, a dynamic binary, no engine — says what to do and gives its exit code.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use crate::common::process::vivr_output_env;

/// The statically linked vivr `scripts/test` builds (`VIVR_TEST_STATIC_BIN`).
pub(crate) fn static_binary() -> Option<PathBuf> {
    match std::env::var("VIVR_TEST_STATIC_BIN") {
        Ok(path) if Path::new(&path).is_file() => Some(PathBuf::from(path)),
        _ => common::missing_component(
            "VIVR_TEST_STATIC_BIN (a vivr linked with +crt-static)",
            "run scripts/test",
        ),
    }
}

/// A Docker engine answers (scripts/test starts dockerd when none does).
pub(crate) async fn engine() -> Option<vivr::image::engine::Engine> {
    match vivr::image::engine::Engine::connect().await {
        Ok(engine) => Some(engine),
        Err(err) => common::missing_component(
            &format!("a Docker engine ({err})"),
            "run scripts/test as root or with passwordless sudo",
        ),
    }
}

/// The project's files (those git tracks or would track) in a fresh git repository with one commit: a clean
/// work tree whatever state the checkout is in.
pub(crate) fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = git(
        root,
        &["ls-files", "--cached", "--others", "--exclude-standard"],
    );
    for file in listed.lines() {
        let source = root.join(file);
        if !source.is_file() {
            continue; // deleted in the work tree
        }
        let target = dir.path().join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&source, &target).unwrap();
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(
        dir.path(),
        &[
            "-c",
            "user.name=vivr",
            "-c",
            "user.email=ci@vivr.example",
            "commit",
            "-qm",
            "image",
        ],
    );
    dir
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn build(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let (status, out, err) = vivr_output_env(&all, None, env);
    (status.code().unwrap_or(-1), out, err)
}

/// `vivr build` of `project` with the static binary into `repo`, `extra` flags added, asserted to succeed: its
/// JSON report.
pub(crate) fn built(
    project: &Path,
    binary: &Path,
    repo: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut args = build_args(project, binary, repo).to_vec();
    args.extend_from_slice(&["--format", "json"]);
    args.extend_from_slice(extra);
    let (code, out, err) = build(&args, &[]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

/// `vivr build` arguments that build `project`'s image with `binary` into `repo` (a debug binary: a larger
/// size budget).
fn build_args<'a>(project: &'a Path, binary: &'a Path, repo: &'a str) -> [&'a str; 7] {
    [
        project.to_str().unwrap(),
        "--binary",
        binary.to_str().unwrap(),
        "--repo",
        repo,
        "--max-size",
        "150",
    ]
}

/// [`build_args`] and `--push`.
fn push_args<'a>(project: &'a Path, binary: &'a Path, repo: &'a str) -> Vec<&'a str> {
    let mut args = build_args(project, binary, repo).to_vec();
    args.push("--push");
    args
}

/// The project's image, built from the static binary under a fresh name: (its tag). The caller untags it.
pub(crate) fn project_image(binary: &Path) -> String {
    let project = project();
    let report = built(project.path(), binary, &repo_name(), &[]);
    report["image"]["tags"][0].as_str().unwrap().to_string()
}

pub(crate) fn repo_name() -> String {
    format!(
        "vivr-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

const SECRETS: [(&str, &str); 4] = [
    // A made-up key in the live format, so the redaction is tested on what production holds.
    ("STRIPE_SECRET_KEY", "sk_live_51BuildSecretQzXv8RtKp"), // audit:allow-secret
    (
        "VIVR_SESSION_SECRET",
        "Build-Session-Secret-Tq7Wz3Xn9Lp2Vr6Ks8",
    ),
    ("AWS_SECRET_ACCESS_KEY", "BuildAwsSecretmQ7vZ2xR9pL4kT8w"),
    (
        "DATABASE_URL",
        "postgres://vivr:BuildDbPassw0rd@db.internal/vivr",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_image_builds_passes_its_checks_serves_the_shop_and_holds_no_secret() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let project = project();
    let repo = repo_name();
    let sbom_dir = tempfile::tempdir().unwrap();
    let sbom_path = sbom_dir.path().join("sbom.cdx.json");
    let (code, out, err) = build(
        &[
            project.path().to_str().unwrap(),
            "--binary",
            binary.to_str().unwrap(),
            "--repo",
            &repo,
            "--tag",
            "candidate",
            "--sbom",
            sbom_path.to_str().unwrap(),
            "--max-size",
            "150",
            "--smoke",
            "--format",
            "json",
        ],
        &SECRETS,
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let image = &report["image"];
    let revision = git(project.path(), &["rev-parse", "HEAD"]);
    assert_eq!(image["source"]["revision"], revision.as_str());
    assert_eq!(image["source"]["dirty"], false);
    let tags: Vec<&str> = image["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            format!("{repo}:{}", &revision[..12]),
            format!("{repo}:candidate")
        ]
    );
    let checks = image["checks"].as_array().unwrap();
    for id in [
        "CIS-DI-0001",
        "CIS-DI-0006",
        "CIS-DI-0008",
        "CIS-DI-0010",
        "VIVR-LABELS",
        "VIVR-SIZE",
        "SMOKE-HEALTHY",
        "SMOKE-HEALTH",
        "SMOKE-PAGE",
        "SMOKE-SIGTERM",
    ] {
        let check = checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {out}"));
        assert_eq!(check["ok"], true, "{id}: {check}");
    }

    // What the engine holds: a numeric non-root user, the health check, the labels from git.
    let id = image["id"].as_str().unwrap();
    let inspected = engine.inspect(id).await.unwrap();
    let config = inspected.config.clone().unwrap();
    assert_eq!(config.user.as_deref(), Some("10001:10001"));
    let labels = config.labels.clone().unwrap();
    assert_eq!(labels["org.opencontainers.image.revision"], revision);
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(config.entrypoint, Some(vec!["/vivr".to_string()]));

    // The SBOM: the crates in the binary (no proc-macro, no dev-dependency), its digest in a label.
    let sbom_text = std::fs::read_to_string(&sbom_path).unwrap();
    let sbom: serde_json::Value = serde_json::from_str(&sbom_text).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["axum", "sqlx-postgres", "bollard", "vivr-shop"] {
        assert!(
            names.contains(&name),
            "{name} is compiled into vivr: {names:?}"
        );
    }
    for name in ["serde_derive", "clap_derive", "fantoccini"] {
        assert!(!names.contains(&name), "{name} is not in the binary");
    }
    use sha2::Digest;
    assert_eq!(
        labels["dev.vivr.sbom.sha256"],
        hex::encode(sha2::Sha256::digest(sbom_text.as_bytes()))
    );
    assert_eq!(
        image["sbom"]["components"].as_u64().unwrap() as usize,
        names.len()
    );

    // No secret of the environment vivr build ran in is anywhere in the image: files, config, labels, history.
    let export = engine.export(id).await.unwrap();
    let history = engine.history(id).await.unwrap().join("\n");
    let haystack = format!(
        "{}\n{history}\n{:?}",
        String::from_utf8_lossy(&export),
        inspected
    );
    for (name, value) in SECRETS {
        let fragment = &value[value.len() - 12..];
        assert!(
            !haystack.contains(fragment),
            "{name}'s value is in the image"
        );
    }

    for tag in tags {
        engine.untag(tag).await.unwrap();
    }
}

#[tokio::test]
async fn a_failing_lint_stops_before_the_engine_and_names_the_rule() {
    let project = project();
    let dockerfile = project.path().join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile)
        .unwrap()
        .replace("USER 10001:10001\n", "");
    std::fs::write(&dockerfile, text).unwrap();
    // No engine at all: the lint must not need one.
    let no_engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let (code, out, err) = build(
        &[project.path().to_str().unwrap(), "--allow-dirty"],
        &no_engine,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("VIVR001") && out.contains("USER"), "{out}");
    let (code, out, _) = build(
        &[
            project.path().to_str().unwrap(),
            "--lint-only",
            "--format",
            "sarif",
        ],
        &no_engine,
    );
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "VIVR001", "{out}");

    let clean = project_lint_only(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(clean.0, 0, "the project's own Dockerfile: {}", clean.1);
}

fn project_lint_only(dir: &Path) -> (i32, String) {
    let (code, out, err) = build(&[dir.to_str().unwrap(), "--lint-only"], &[]);
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn refusals_say_what_to_do_and_give_their_exit_codes() {
    let Some(binary) = static_binary() else {
        return;
    };
    let project = project();
    let path = project.path().to_str().unwrap();

    // A work tree that differs from its commit: the revision label would lie.
    std::fs::write(project.path().join("notes.txt"), "uncommitted\n").unwrap();
    let (code, _, err) = build(&[path, "--binary", binary.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not committed (?? notes.txt)") && err.contains("--allow-dirty"),
        "{err}"
    );

    // A dynamically linked binary cannot run in a scratch image (the system's shell is one; the vivr under test
    // is static, scripts/test links everything with +crt-static).
    let dynamic = std::fs::canonicalize("/bin/sh").unwrap();
    let dynamic = dynamic.to_str().unwrap();
    let (code, _, err) = build(&[path, "--allow-dirty", "--binary", dynamic], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("linked dynamically") && err.contains("crt-static"),
        "{err}"
    );

    // No engine: exit 3, and how to start or point at one.
    let (code, _, err) = build(
        &[path, "--allow-dirty", "--binary", binary.to_str().unwrap()],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no Docker engine answers") && err.contains("DOCKER_HOST"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
}

/// Starts `args` in a container of `image` on the host's network (the test cluster and endpoints listen on
/// loopback), read-only, with `vivr-db.test` and `vivr-aws.test` naming 127.0.0.1 in its /etc/hosts and `mounts`
/// (host path, container path) bound read-only; returns the container's id.
async fn run_on_host_network(
    engine: &vivr::image::engine::Engine,
    image: &str,
    env: Vec<String>,
    mounts: &[(&Path, &str)],
    args: &[&str],
) -> String {
    use bollard::models::{ContainerCreateBody, HostConfig};
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(args.iter().map(|a| a.to_string()).collect()),
        env: Some(env),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            extra_hosts: Some(vec![
                "vivr-db.test:127.0.0.1".into(),
                "vivr-aws.test:127.0.0.1".into(),
            ]),
            readonly_rootfs: Some(true),
            binds: Some(
                mounts
                    .iter()
                    .map(|(host, inside)| format!("{}:{inside}:ro", host.display()))
                    .collect(),
            ),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let id = engine
        .docker()
        .create_container(None, body)
        .await
        .unwrap()
        .id;
    engine.docker().start_container(&id, None).await.unwrap();
    id
}

async fn exit_code(engine: &vivr::image::engine::Engine, id: &str) -> Option<i64> {
    let state = engine
        .docker()
        .inspect_container(id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    if state.running.unwrap_or(false) {
        None
    } else {
        state.exit_code
    }
}

async fn remove(engine: &vivr::image::engine::Engine, id: &str) {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .build();
    engine
        .docker()
        .remove_container(id, Some(options))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_migrates_and_serves_a_postgresql_database_it_finds_by_host_name() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let tag = project_image(&binary);
    // The test cluster's URL, its host replaced by a name only the container's /etc/hosts knows.
    let url = db.url.replacen("127.0.0.1", "vivr-db.test", 1);
    assert_ne!(url, db.url, "the test cluster is on 127.0.0.1: {}", db.url);
    let database_url = format!("DATABASE_URL={url}");

    // migrate deploy as a one-off container.
    let (code, output) = run_to_end(
        &engine,
        &tag,
        vec![database_url.clone()],
        &[],
        &["migrate", "deploy"],
    )
    .await;
    assert_eq!(code, 0, "migrate deploy in the container: {output}");

    // Then the shop, on a free loopback port, with the demo catalogue loaded into PostgreSQL.
    let port = common::process::free_port();
    let serve = run_on_host_network(
        &engine,
        &tag,
        vec![database_url, format!("VIVR_BIND=127.0.0.1:{port}")],
        &[],
        &["serve", "--seed-demo"],
    )
    .await;
    let mut page = None;
    for _ in 0..300 {
        if let Ok((200, body)) = vivr::probe::get(&format!(
            "http://127.0.0.1:{port}/produits/vase-ceramique-minimal"
        ))
        .await
        {
            page = Some(body);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    engine
        .docker()
        .kill_container(
            &serve,
            Some(
                bollard::query_parameters::KillContainerOptionsBuilder::default()
                    .signal("SIGTERM")
                    .build(),
            ),
        )
        .await
        .unwrap();
    let mut stopped = None;
    for _ in 0..100 {
        stopped = exit_code(&engine, &serve).await;
        if stopped.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    remove(&engine, &serve).await;
    let page = page.expect("the product page answered 200 from the container");
    assert!(page.contains("Vase"), "{}", &page[..page.len().min(500)]);
    assert_eq!(stopped, Some(0), "serve exits 0 on SIGTERM");
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM \"Product\"")
        .fetch_one(
            &mut <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        products, 20,
        "the catalogue the page came from is in PostgreSQL"
    );
    engine.untag(&tag).await.unwrap();
}

/// A registry (Debian's `docker-registry`) on a free loopback port, its storage in a temporary directory; with
/// `login` (user, password), it wants that user and password (htpasswd). Stopped when dropped.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(login: Option<(&str, &str)>) -> Option<Registry> {
        let Ok(path) = which("docker-registry") else {
            return common::missing_component("docker-registry", "apt-get install docker-registry");
        };
        let dir = tempfile::tempdir().unwrap();
        let port = common::process::free_port();
        let auth = match login {
            Some((user, password)) => {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(
                    &htpasswd,
                    format!("{user}:{}\n", bcrypt::hash(password, 4).unwrap()),
                )
                .unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: vivr-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: \
                 127.0.0.1:{port}\n{auth}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut command = Command::new(path);
        command
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = common::process::spawn_listening(command, port, "docker-registry");
        Some(Registry {
            child,
            port,
            _dir: dir,
        })
    }

    fn repo(&self, name: &str) -> String {
        format!("127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_image_comes_back_by_its_digest_and_a_refused_push_leaves_no_tag() {
    use bollard::query_parameters::CreateImageOptionsBuilder;
    use futures_util::StreamExt;
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let project = project();
    let repo = registry.repo(&repo_name());
    let report = built(project.path(), &binary, &repo, &["--push"]);
    let pushed = report["image"]["pushed"].as_str().unwrap().to_string();
    assert!(pushed.starts_with(&format!("{repo}@sha256:")), "{pushed}");
    let tag = report["image"]["tags"][0].as_str().unwrap().to_string();

    // Gone locally, then pulled back by the digest printed: the same image.
    let id = report["image"]["id"].as_str().unwrap().to_string();
    engine.untag(&tag).await.unwrap();
    assert!(engine.inspect(&tag).await.is_err());
    let mut pull = engine.docker().create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(&pushed)
                .build(),
        ),
        None,
        None,
    );
    while let Some(step) = pull.next().await {
        step.unwrap();
    }
    let pulled = engine.inspect(&pushed).await.unwrap();
    assert_eq!(pulled.id.as_deref(), Some(id.as_str()));
    assert!(pulled.repo_digests.unwrap_or_default().contains(&pushed));
    engine.untag(&pushed).await.unwrap();

    // A registry that wants credentials vivr does not have: exit 3, and the build's tag is not left behind.
    let Some(guarded) = Registry::start(Some(("ci", "registry-password"))) else {
        return;
    };
    let repo = guarded.repo(&repo_name());
    let empty_config = tempfile::tempdir().unwrap();
    let push = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("DOCKER_CONFIG", empty_config.path().to_str().unwrap()));
        build(&push_args(project.path(), &binary, &repo), &env)
    };
    let (code, out, err) = push(&[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("did not take") && err.contains(&repo), "{err}");
    let revision = git(project.path(), &["rev-parse", "HEAD"]);
    assert!(
        engine
            .inspect(&format!("{repo}:{}", &revision[..12]))
            .await
            .is_err(),
        "the tag was left behind"
    );

    // With credentials for it in the Docker configuration, the same push goes through.
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:registry-password");
    let registry = format!("127.0.0.1:{}", guarded.port);
    let configure = |config: serde_json::Value| {
        std::fs::write(empty_config.path().join("config.json"), config.to_string()).unwrap();
    };
    configure(serde_json::json!({ "auths": { &registry: { "auth": auth } } }));
    let tag = format!("{repo}:{}", &revision[..12]);
    went_through(&engine, push(&[]), &repo, &tag).await;

    // Or from a credential helper the configuration names for that registry (the docker credential helpers'
    // protocol: the server on stdin, JSON on stdout).
    let helpers = tempfile::tempdir().unwrap();
    let helper = helpers.path().join("docker-credential-vivrtest");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"ci\",\"Secret\":\"registry-password\"}' \"$server\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    configure(serde_json::json!({ "credHelpers": { &registry: "vivrtest" } }));
    let path = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    went_through(&engine, push(&[("PATH", &path)]), &repo, &tag).await;
}

/// The push `outcome` (of `vivr build --push`) succeeded, printed `repo`'s digest and no password; removes `tag`.
async fn went_through(
    engine: &vivr::image::engine::Engine,
    (code, out, err): (i32, String, String),
    repo: &str,
    tag: &str,
) {
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("Pushed {repo}@sha256:")), "{out}");
    assert!(!out.contains("registry-password") && !err.contains("registry-password"));
    engine.untag(tag).await.unwrap();
}

/// A name of the ECR registry of moto's account (123456789012) that `scripts/test` maps to loopback in
/// /etc/hosts: the engine pushes to it over plain HTTP, as it does to any registry on a loopback address.
const ECR_HOST: &str = "123456789012.dkr.ecr.eu-west-3.amazonaws.com";
/// The password in the token moto's GetAuthorizationToken gives for that account.
const ECR_PASSWORD: &str = "123456789012-auth-token";

#[tokio::test(flavor = "multi_thread")]
async fn an_ecr_repository_is_pushed_with_a_token_from_ecr_and_an_unreachable_ecr_pushes_nothing() {
    use std::net::ToSocketAddrs;
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let Some(moto) = std::env::var("VIVR_TEST_S3_ENDPOINT").ok().or_else(|| {
        common::missing_component("VIVR_TEST_S3_ENDPOINT (moto_server)", "run scripts/test")
    }) else {
        return;
    };
    let loopback = (ECR_HOST, 443)
        .to_socket_addrs()
        .map(|mut addrs| addrs.all(|a| a.ip().is_loopback()))
        .unwrap_or(false);
    if !loopback {
        return common::missing_component::<()>(
            &format!("{ECR_HOST} resolving to 127.0.0.1"),
            "run scripts/test as root (it adds the line to /etc/hosts)",
        )
        .unwrap_or_default();
    }
    let Some(registry) = Registry::start(Some(("AWS", ECR_PASSWORD))) else {
        return;
    };
    let project = project();
    let repo = format!("{ECR_HOST}:{}/{}", registry.port, repo_name());
    let no_docker_config = tempfile::tempdir().unwrap();
    let push = |endpoint: &str| {
        build(
            &push_args(project.path(), &binary, &repo),
            &[
                ("DOCKER_CONFIG", no_docker_config.path().to_str().unwrap()),
                ("AWS_ENDPOINT_URL", endpoint),
                ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
                ("AWS_SECRET_ACCESS_KEY", "EcrTestSecretKey"),
                ("AWS_REGION", "us-east-1"),
                ("RUST_LOG", "trace"),
            ],
        )
    };
    let revision = git(project.path(), &["rev-parse", "HEAD"]);
    let tag = format!("{repo}:{}", &revision[..12]);

    // ECR unreachable: refused before anything is built, exit 3, the call named.
    let closed = format!("http://127.0.0.1:{}", common::process::free_port());
    let (code, out, err) = push(&closed);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("GetAuthorizationToken") && err.contains("could not reach"),
        "{err}"
    );
    assert!(engine.inspect(&tag).await.is_err(), "a tag was left behind");

    // ECR (moto) gives the token; the registry takes the push; the token is never printed.
    let (code, out, err) = push(&moto);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("Pushed {repo}@sha256:")), "{out}");
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{ECR_PASSWORD}"));
    for secret in [ECR_PASSWORD, token.as_str(), "EcrTestSecretKey"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} printed"
        );
    }
    engine.untag(&tag).await.unwrap();
}

/// Runs `args` in a container of `image` on the host network with `mounts` (host path, container path) read-only
/// and waits for it: (exit code, its output).
async fn run_to_end(
    engine: &vivr::image::engine::Engine,
    image: &str,
    env: Vec<String>,
    mounts: &[(&Path, &str)],
    args: &[&str],
) -> (i64, String) {
    use futures_util::StreamExt;
    let id = run_on_host_network(engine, image, env, mounts, args).await;
    let mut code = None;
    for _ in 0..300 {
        code = exit_code(engine, &id).await;
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let options = bollard::query_parameters::LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut logs = engine.docker().logs(&id, Some(options));
    let mut output = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        output.push_str(&chunk.to_string());
    }
    remove(engine, &id).await;
    (code.expect("the container ended"), output)
}

#[tokio::test(flavor = "multi_thread")]
async fn inside_the_scratch_image_aws_calls_verify_certificates_and_accept_a_private_ca() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let tag = project_image(&binary);

    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = common::tls::test_ca(pki.path());
    let endpoint = common::tls::TlsEndpoint::start(&cert, &key);
    let env = |extra: &[&str]| -> Vec<String> {
        [
            format!("AWS_ENDPOINT_URL=https://vivr-aws.test:{}", endpoint.port),
            "AWS_REGION=eu-west-3".into(),
            "AWS_ACCESS_KEY_ID=AKIDTESTTLS".into(),
            "AWS_SECRET_ACCESS_KEY=not-a-real-secret".into(),
        ]
        .into_iter()
        .chain(extra.iter().map(|e| e.to_string()))
        .collect()
    };
    let list = ["secrets", "list"];

    // The image has no system certificates: an endpoint signed by an unknown CA is refused, as it must be —
    // a certificate error, not a crash for want of a certificate store.
    let (code, output) = run_to_end(&engine, &tag, env(&[]), &[], &list).await;
    assert_eq!(code, 2, "{output}");
    assert!(
        !output.contains("ReachedOverTls"),
        "the request went through an unverified connection: {output}"
    );
    assert!(!output.contains("panicked"), "{output}");
    assert!(
        output.contains("certificate") || output.contains("UnknownIssuer"),
        "a certificate error: {output}"
    );

    // With the private CA named by SSL_CERT_FILE, the connection is verified and the request reaches the endpoint.
    let (code, output) = run_to_end(
        &engine,
        &tag,
        env(&["SSL_CERT_FILE=/ca.pem"]),
        &[(&ca, "/ca.pem")],
        &list,
    )
    .await;
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("ReachedOverTls"),
        "the endpoint's own answer: {output}"
    );
    engine.untag(&tag).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn inside_the_scratch_image_postgresql_is_verified_against_a_private_ca() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let Some(cluster) = common::process::PgCluster::start() else {
        return;
    };
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = common::tls::test_ca(pki.path());
    cluster.enable_tls(&cert, &key);
    let tag = project_image(&binary);
    let url = |extra: &str| {
        format!(
            "DATABASE_URL=postgres://postgres@vivr-db.test:{}/postgres?sslmode=verify-full{extra}",
            cluster.port
        )
    };

    // verify-full with the CA mounted and named: connected, and the empty database has migrations pending.
    let (code, output) = run_to_end(
        &engine,
        &tag,
        vec![url("&sslrootcert=/ca.pem")],
        &[(&ca, "/ca.pem")],
        &["migrate", "status"],
    )
    .await;
    assert_eq!(
        code, 1,
        "pending migrations, over a verified connection: {output}"
    );
    assert!(output.contains("pending"), "{output}");

    // Without it the server's certificate is not trusted, and nothing is sent in clear instead.
    let (code, output) =
        run_to_end(&engine, &tag, vec![url("")], &[], &["migrate", "status"]).await;
    assert_eq!(code, 2, "{output}");
    assert!(
        output.to_lowercase().contains("certificate") || output.contains("UnknownIssuer"),
        "{output}"
    );
    engine.untag(&tag).await.unwrap();
}

/// A DNS server on 127.0.0.153:53 (UDP; port 53 needs root: run through `sudo -n` when the tests are not root)
/// that knows one name, `shop.vivr.test` → 127.0.0.1, and answers NXDOMAIN for every other. It exits when its
/// standard input closes, which dropping it does (a server under sudo cannot be killed by the tests).
struct Dns {
    child: std::process::Child,
}

impl Dns {
    const ADDRESS: &str = "127.0.0.153";

    fn start() -> Option<Dns> {
        use std::io::BufRead;
        let script = r#"
import os, socket, sys, threading
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
known = {b"shop.vivr.test": bytes([127, 0, 0, 1])}
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.153", 53))
print("ready", flush=True)
while True:
    query, client = server.recvfrom(512)
    i, labels = 12, []
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]])
        i += 1 + query[i]
    name = b".".join(labels).lower()
    qtype = int.from_bytes(query[i + 1:i + 3], "big")
    question = query[12:i + 5]
    answer = b""
    if name in known and qtype == 1:
        answer = b"\xc0\x0c\x00\x01\x00\x01" + (60).to_bytes(4, "big") + b"\x00\x04" + known[name]
    rcode = 0 if name in known else 3
    header = query[:2] + (0x8180 | rcode).to_bytes(2, "big") + b"\x00\x01"
    header += (1 if answer else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00"
    server.sendto(header + question + answer, client)
"#;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let sudo = !root
            && Command::new("sudo")
                .args(["-n", "true"])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        let mut command = if sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "python3"]);
            c
        } else {
            Command::new("python3")
        };
        let mut child = command
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.trim() == "ready" {
            return Some(Dns { child });
        }
        let _ = child.wait();
        let mut why = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut why);
        common::missing_component(
            &format!("a DNS server on {}:53 ({})", Dns::ADDRESS, why.trim()),
            "run scripts/test as root or with passwordless sudo",
        )
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inside_the_scratch_image_host_names_resolve_through_dns() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let Some(_dns) = Dns::start() else { return };
    let db = common::TestDb::sqlite();
    let shop = common::process::Vivr::serve(&["--database-url", &db.url]);
    let tag = project_image(&binary);
    let etc = tempfile::tempdir().unwrap();
    let resolv = etc.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        format!(
            "nameserver {}\noptions timeout:1 attempts:2\n",
            Dns::ADDRESS
        ),
    )
    .unwrap();
    let port = shop.addr.port();

    let healthcheck = |host: &str| {
        let url = format!("http://{host}:{port}/api/health");
        let (engine, tag, resolv) = (&engine, &tag, &resolv);
        async move {
            run_to_end(
                engine,
                tag,
                Vec::new(),
                &[(resolv, "/etc/resolv.conf")],
                &["healthcheck", &url],
            )
            .await
        }
    };

    // The name only the DNS server knows: the statically linked resolver asks it, and the shop answers.
    let (code, output) = healthcheck("shop.vivr.test").await;
    assert_eq!(code, 0, "{output}");

    // A name nobody knows: a failure that names it, not a crash.
    let (code, output) = healthcheck("nowhere.vivr.test").await;
    assert_ne!(code, 0, "{output}");
    assert!(
        output.contains("nowhere.vivr.test") && !output.contains("panicked"),
        "{output}"
    );
    engine.untag(&tag).await.unwrap();
}
