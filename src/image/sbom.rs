//! A CycloneDX 1.5 SBOM of the crates compiled into the vivr binary: `cargo metadata` for the image's platform,
//! walked from the `vivr` package along normal dependencies (build scripts, dev-dependencies and proc-macros
//! run at build time and are not in the binary).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One crate in the binary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Component {
    name: String,
    version: String,
    license: Option<String>,
    /// crates.io, a git repository, or a path in this workspace.
    source: Option<String>,
}

impl Component {
    fn purl(&self) -> String {
        format!("pkg:cargo/{}@{}", self.name, self.version)
    }
}

/// The SBOM of `project`'s vivr binary for `target`, stamped with `created` (RFC 3339).
pub fn cyclonedx(project: &Path, target: &str, created: &str) -> anyhow::Result<Value> {
    let output = Command::new("cargo")
        .current_dir(project)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            target,
        ])
        .output()
        .context("running cargo metadata (the SBOM lists the crates of Cargo.lock)")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata's JSON")?;
    from_metadata(&metadata, created)
}

type Graph<'m> = (BTreeSet<&'m str>, BTreeMap<&'m str, BTreeSet<&'m str>>);

/// The packages the binary links, breadth first from vivr along normal dependencies that are not proc-macros,
/// and the edges between them.
fn runtime_graph<'m>(
    packages: &BTreeMap<&'m str, &'m Value>,
    nodes: &BTreeMap<&'m str, &'m Value>,
    root: &'m str,
) -> Graph<'m> {
    let is_proc_macro = |id: &str| {
        packages.get(id).is_some_and(|p| {
            p["targets"].as_array().is_some_and(|t| {
                t.iter().any(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
                })
            })
        })
    };
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::from([root]);
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            let normal = dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()));
            if !normal || is_proc_macro(dep_id) {
                continue;
            }
            edges.entry(id).or_default().insert(dep_id);
            if seen.insert(dep_id) {
                queue.push_back(dep_id);
            }
        }
    }
    (seen, edges)
}

/// A serial number that is the same for the same crates: the SBOM of one commit does not change between builds.
fn serial_of(components: &[Component]) -> uuid::Uuid {
    let mut hasher = Sha256::new();
    for c in components {
        hasher.update(c.purl().as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Component {
    /// CycloneDX's component.
    fn to_json(&self) -> Value {
        let mut value = json!({
            "type": "library",
            "bom-ref": self.purl(),
            "name": self.name,
            "version": self.version,
            "purl": self.purl(),
        });
        if let (Some(license), Some(object)) = (&self.license, value.as_object_mut()) {
            object.insert("licenses".into(), json!([{ "expression": license }]));
        }
        if let (Some(source), Some(object)) = (&self.source, value.as_object_mut()) {
            object.insert(
                "properties".into(),
                json!([{ "name": "cargo:source", "value": source }]),
            );
        }
        value
    }
}

fn from_metadata(metadata: &Value, created: &str) -> anyhow::Result<Value> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata without packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let root = packages
        .iter()
        .find(|(_, p)| p["name"] == "vivr" && p["source"].is_null())
        .map(|(id, _)| *id)
        .context("no vivr package in this workspace")?;
    let nodes: BTreeMap<&str, &Value> = metadata
        .pointer("/resolve/nodes")
        .and_then(Value::as_array)
        .context("cargo metadata without a resolved graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let (seen, edges) = runtime_graph(&packages, &nodes, root);
    let component = |id: &str| -> Option<Component> {
        let p = packages.get(id)?;
        Some(Component {
            name: p["name"].as_str()?.to_string(),
            version: p["version"].as_str()?.to_string(),
            license: p["license"].as_str().map(String::from),
            source: p["source"].as_str().map(String::from),
        })
    };
    let root_component = component(root).context("the vivr package has no name or version")?;
    let mut components: Vec<Component> = seen
        .iter()
        .filter(|id| **id != root)
        .filter_map(|id| component(id))
        .collect();
    components.sort();
    let purl_of = |id: &str| component(id).map(|c| c.purl());
    let dependencies: Vec<Value> = edges
        .iter()
        .filter_map(|(id, deps)| {
            let mut depends_on: Vec<String> = deps.iter().filter_map(|d| purl_of(d)).collect();
            depends_on.sort();
            Some(json!({ "ref": purl_of(id)?, "dependsOn": depends_on }))
        })
        .collect();
    let serial = serial_of(&components);
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": { "components": [{ "type": "application", "name": "vivr", "version": env!("CARGO_PKG_VERSION") }] },
            "component": {
                "type": "application",
                "bom-ref": root_component.purl(),
                "name": root_component.name,
                "version": root_component.version,
                "purl": root_component.purl(),
            },
        },
        "components": components.iter().map(Component::to_json).collect::<Vec<_>>(),
        "dependencies": dependencies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace where vivr depends on serde (whose derive is a proc-macro), on cc only to build, and on
    /// tempfile only in tests: only serde is in the binary.
    #[test]
    fn only_normal_non_macro_dependencies_are_listed() {
        let package = |id: &str, name: &str, kind: &str, source: Option<&str>| {
            json!({ "id": id, "name": name, "version": "1.0.0", "license": "MIT", "source": source,
                    "targets": [{ "kind": [kind] }] })
        };
        let dep =
            |pkg: &str, kind: Option<&str>| json!({ "pkg": pkg, "dep_kinds": [{ "kind": kind }] });
        let metadata = json!({
            "packages": [
                package("vivr", "vivr", "bin", None),
                package("serde", "serde", "lib", Some("registry+crates")),
                package("serde_derive", "serde_derive", "proc-macro", Some("registry+crates")),
                package("cc", "cc", "lib", Some("registry+crates")),
                package("tempfile", "tempfile", "lib", Some("registry+crates")),
            ],
            "resolve": { "nodes": [
                { "id": "vivr", "deps": [dep("serde", None), dep("cc", Some("build")), dep("tempfile", Some("dev"))] },
                { "id": "serde", "deps": [dep("serde_derive", None)] },
            ]},
        });
        let sbom = from_metadata(&metadata, "2026-12-01T00:00:00Z").unwrap();
        let names: Vec<&str> = sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["serde"]);
        assert_eq!(
            sbom["metadata"]["component"]["purl"],
            "pkg:cargo/vivr@1.0.0"
        );
        assert_eq!(
            sbom["dependencies"][0]["dependsOn"][0],
            "pkg:cargo/serde@1.0.0"
        );
    }
}
