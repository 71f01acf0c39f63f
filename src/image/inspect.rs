//! Checks on a built image, as dockle makes them (its checkpoint ids where one exists): it runs as a non-root
//! user, has a health check and an exposed port, holds no setuid/setgid file and no secret-looking file,
//! variable, label or history entry, carries the OCI labels, and fits the size budget.

use std::collections::BTreeMap;
use std::io::Read as _;

use anyhow::Context;
use bollard::models::{ImageConfig, ImageInspect};
use serde::Serialize;

use crate::config::schema::Schema;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn new(id: &'static str, title: &'static str, ok: bool, detail: String) -> Self {
        Check {
            id,
            title,
            ok,
            detail,
        }
    }
}

/// What the checks read: the engine's description of the image, its exported layers, and its history.
pub struct Image<'a> {
    pub inspect: &'a ImageInspect,
    /// `docker save`'s tar.
    pub export: &'a [u8],
    /// Each layer's `created_by` line.
    pub history: &'a [String],
}

/// The OCI labels every vivr image carries.
pub const OCI_LABELS: [&str; 5] = [
    "org.opencontainers.image.source",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.created",
    "org.opencontainers.image.version",
    "org.opencontainers.image.licenses",
];

/// File names that hold credentials (dockle's CIS-DI-0010 list, and the shop's own).
const SECRET_FILES: [&str; 12] = [
    ".env",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials",
    "credentials.json",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    ".dockercfg",
];

pub fn check(image: &Image<'_>, max_size_bytes: u64) -> anyhow::Result<Vec<Check>> {
    let config = image.inspect.config.clone().unwrap_or_default();
    let mut checks = runtime_checks(&config);
    let mut push = |id, title, ok, detail| checks.push(Check::new(id, title, ok, detail));
    let files = layer_files(image.export)?;
    let special: Vec<String> = files
        .iter()
        .filter(|(_, mode)| mode & 0o6000 != 0)
        .map(|(path, mode)| format!("{path} ({mode:o})"))
        .collect();
    push(
        "CIS-DI-0008",
        "no setuid or setgid file",
        special.is_empty(),
        if special.is_empty() {
            format!("{} files looked at", files.len())
        } else {
            special.join(", ")
        },
    );

    let secrets = secrets_found(&files, &config, image.history);
    push(
        "CIS-DI-0010",
        "no secret in files, ENV, labels or history",
        secrets.is_empty(),
        if secrets.is_empty() {
            "none found".into()
        } else {
            secrets.join(", ")
        },
    );

    let (labelled, detail) = oci_labels(&config);
    push("VIVR-LABELS", "carries the OCI labels", labelled, detail);

    let size = u64::try_from(image.inspect.size.unwrap_or_default()).unwrap_or_default();
    push(
        "VIVR-SIZE",
        "fits the size budget",
        size <= max_size_bytes,
        format!(
            "{} of {} allowed",
            megabytes(size),
            megabytes(max_size_bytes)
        ),
    );
    let layers = image
        .inspect
        .root_fs
        .as_ref()
        .and_then(|r| r.layers.as_ref())
        .map_or(0, Vec::len);
    push(
        "VIVR-LAYERS",
        "few layers",
        layers <= 10,
        format!("{layers} layer(s)"),
    );
    Ok(checks)
}

/// The user it runs as, its health check and its port.
fn runtime_checks(config: &ImageConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut push = |id, title, ok, detail| checks.push(Check::new(id, title, ok, detail));
    let user = config.user.clone().unwrap_or_default();
    let who = user.split(':').next().unwrap_or_default();
    push(
        "CIS-DI-0001",
        "runs as a non-root user",
        !who.is_empty() && who != "root" && who != "0",
        if user.is_empty() {
            "no USER: the container runs as root".into()
        } else {
            format!("USER {user}")
        },
    );

    let test = config
        .healthcheck
        .as_ref()
        .and_then(|h| h.test.clone())
        .unwrap_or_default();
    let has_health = test.first().is_some_and(|t| t != "NONE");
    push(
        "CIS-DI-0006",
        "has a health check",
        has_health,
        if has_health {
            test.join(" ")
        } else {
            "no HEALTHCHECK".into()
        },
    );

    let ports = config.exposed_ports.clone().unwrap_or_default();
    push(
        "VIVR-PORT",
        "exposes the service's port",
        !ports.is_empty(),
        if ports.is_empty() {
            "no EXPOSE".into()
        } else {
            ports.join(", ")
        },
    );
    checks
}

/// Secret-looking files, and ENV, label and history entries with secret-looking names.
fn secrets_found(files: &[(String, u32)], config: &ImageConfig, history: &[String]) -> Vec<String> {
    let mut secrets = Vec::new();
    for (path, _) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        if SECRET_FILES.contains(&name)
            || name.starts_with(".env.")
            || name.ends_with(".pem")
            || name.ends_with(".key")
        {
            secrets.push(format!("file {path}"));
        }
    }
    for variable in config.env.clone().unwrap_or_default() {
        let name = variable.split('=').next().unwrap_or_default();
        if is_secret_name(name) {
            secrets.push(format!("ENV {name}"));
        }
    }
    for (key, _) in config.labels.clone().unwrap_or_default() {
        if is_secret_name(&key) {
            secrets.push(format!("LABEL {key}"));
        }
    }
    for line in history {
        for word in line.split_whitespace() {
            let name = word.split('=').next().unwrap_or_default();
            if word.contains('=') && is_secret_name(name) {
                secrets.push(format!("history: {name}=…"));
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Whether every OCI label is set, and what to say about it.
fn oci_labels(config: &ImageConfig) -> (bool, String) {
    let labels: BTreeMap<String, String> = config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let missing: Vec<&str> = OCI_LABELS
        .iter()
        .copied()
        .filter(|l| labels.get(*l).is_none_or(|v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        let revision = labels
            .get("org.opencontainers.image.revision")
            .cloned()
            .unwrap_or_default();
        (true, format!("revision {revision}"))
    } else {
        (false, format!("missing: {}", missing.join(", ")))
    }
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A variable or label name that names a secret: one of the shop's secret variables, or a credential word.
fn is_secret_name(name: &str) -> bool {
    let secret_variable = Schema::embedded()
        .variables
        .iter()
        .any(|v| v.secret && v.name == name);
    secret_variable || super::lint::is_sensitive_name(name)
}

/// Every file of every layer in `docker save` output: (path, mode).
fn layer_files(export: &[u8]) -> anyhow::Result<Vec<(String, u32)>> {
    let mut layers: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut manifest = None;
    let mut outer = tar::Archive::new(export);
    for entry in outer.entries().context("reading the exported image")? {
        let mut entry = entry.context("reading the exported image")?;
        let path = entry
            .path()
            .context("reading the exported image")?
            .display()
            .to_string();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .context("reading the exported image")?;
        if path == "manifest.json" {
            manifest = Some(bytes);
        } else {
            layers.insert(path, bytes);
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.context("the exported image has no manifest.json")?)
            .context("reading the exported image's manifest.json")?;
    let names: Vec<String> = manifest
        .get(0)
        .and_then(|m| m.get("Layers"))
        .and_then(|l| l.as_array())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut files = Vec::new();
    for name in names {
        let bytes = layers
            .get(&name)
            .with_context(|| format!("the exported image lacks its layer {name}"))?;
        let mut layer = tar::Archive::new(bytes.as_slice());
        for entry in layer
            .entries()
            .with_context(|| format!("reading layer {name}"))?
        {
            let entry = entry.with_context(|| format!("reading layer {name}"))?;
            let path = entry
                .path()
                .with_context(|| format!("reading layer {name}"))?
                .display()
                .to_string();
            let mode = entry.header().mode().unwrap_or_default();
            files.push((path, mode));
        }
    }
    Ok(files)
}
