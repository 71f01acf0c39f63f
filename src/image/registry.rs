//! Pushing to a registry: which registry a repository names, the credentials the Docker configuration holds for
//! it, and the digest the registry gave the pushed image — the reference a deploy names.

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine as _;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt;

use super::engine::Engine;

/// The registry refused the push, or could not be reached: `vivr build` exits 3, and no tag of this build is
/// left behind locally.
#[derive(Debug, thiserror::Error)]
#[error("the registry {registry} did not take {reference}: {reason}")]
pub struct PushRefused {
    pub registry: String,
    pub reference: String,
    pub reason: String,
}

/// The registry host of `repo` (`127.0.0.1:5000/vivr` → `127.0.0.1:5000`), if it names one: a first component
/// with a dot or a port, or `localhost`.
pub fn registry_of(repo: &str) -> Option<&str> {
    let (first, _) = repo.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

/// The Docker configuration's credentials for `registry` (`auths.<registry>.auth`, base64 of `user:password`),
/// from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn credentials(registry: &str) -> anyhow::Result<Option<DockerCredentials>> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")));
    let Some(path) = dir.map(|d| d.join("config.json")) else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let Some(auth) = config
        .get("auths")
        .and_then(|a| a.get(registry))
        .and_then(|r| r.get("auth"))
        .and_then(|a| a.as_str())
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .with_context(|| {
            format!(
                "{}: auths.{registry}.auth is not base64 of user:password",
                path.display()
            )
        })?;
    let (username, password) = decoded.split_once(':').with_context(|| {
        format!(
            "{}: auths.{registry}.auth is not base64 of user:password",
            path.display()
        )
    })?;
    Ok(Some(DockerCredentials {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(registry.to_string()),
        ..DockerCredentials::default()
    }))
}

/// Pushes `repo:tag` and returns the digest the registry gave it (`sha256:…`).
pub async fn push(engine: &Engine, repo: &str, tag: &str) -> Result<String, PushRefused> {
    let registry = registry_of(repo).unwrap_or("docker.io").to_string();
    let reference = format!("{repo}:{tag}");
    let refused = |reason: String| PushRefused {
        registry: registry.clone(),
        reference: reference.clone(),
        reason,
    };
    let credentials = credentials(&registry).map_err(|e| refused(format!("{e:#}")))?;
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = engine.docker().push_image(repo, Some(options), credentials);
    let mut digest = None;
    while let Some(event) = stream.next().await {
        let event = event
            .map_err(|e| refused(e.to_string().lines().next().unwrap_or_default().to_string()))?;
        if let Some(detail) = event.error_detail {
            return Err(refused(detail.message.unwrap_or_default()));
        }
        if let Some(status) = event.status.as_deref() {
            tracing::debug!(target: "vivr::build", "push: {status}");
            // "<tag>: digest: sha256:<hex> size: <n>"
            if let Some(rest) = status.split("digest: ").nth(1) {
                digest = rest.split_whitespace().next().map(String::from);
            }
        }
    }
    digest.ok_or_else(|| refused("the registry answered without a digest".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_names_its_registry_by_a_dot_a_port_or_localhost() {
        assert_eq!(registry_of("127.0.0.1:5000/vivr"), Some("127.0.0.1:5000"));
        assert_eq!(
            registry_of("123456789012.dkr.ecr.eu-west-3.amazonaws.com/vivr"),
            Some("123456789012.dkr.ecr.eu-west-3.amazonaws.com")
        );
        assert_eq!(registry_of("localhost/vivr"), Some("localhost"));
        assert_eq!(registry_of("vivr"), None);
        assert_eq!(registry_of("library/vivr"), None);
    }
}
