//! Pushing to a registry: which registry a repository names, the credentials the Docker configuration holds for
//! it, and the digest the registry gave the pushed image — the reference a deploy names.

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine as _;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt;

use super::engine::Engine;

/// The registry could not be logged in to, refused the push, or could not be reached: `vivr build` exits 3, and
/// no tag of this build is left behind locally.
#[derive(Debug, thiserror::Error)]
pub enum RegistryRefused {
    #[error("cannot log in to the registry {registry}: {reason}")]
    Login { registry: String, reason: String },
    #[error("the registry {registry} did not take {reference}: {reason}")]
    Push {
        registry: String,
        reference: String,
        reason: String,
    },
}

/// The registry host of `repo` (`127.0.0.1:5000/vivr` → `127.0.0.1:5000`), if it names one: a first component
/// with a dot or a port, or `localhost`.
pub fn registry_of(repo: &str) -> Option<&str> {
    let (first, _) = repo.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

/// An ECR registry's address, read from its host name: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`
/// or the dual-stack `<account>.dkr-ecr[-fips].<region>.on.aws` (a port, if any, is ignored).
#[derive(Debug, PartialEq, Eq)]
pub struct Ecr {
    pub account: String,
    pub region: String,
}

pub fn ecr_of(registry: &str) -> Option<Ecr> {
    let host = registry.split(':').next()?;
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let labels: Vec<&str> = rest.split('.').collect();
    let region = match labels[..] {
        ["dkr", "ecr" | "ecr-fips", region, "amazonaws", "com"]
        | ["dkr", "ecr" | "ecr-fips", region, "amazonaws", "com", "cn"]
        | ["dkr-ecr" | "dkr-ecr-fips", region, "on", "aws"] => region,
        _ => return None,
    };
    Some(Ecr {
        account: account.to_string(),
        region: region.to_string(),
    })
}

/// The credentials a push to `registry` uses. An ECR registry gets a fresh token from ECR's
/// GetAuthorizationToken (the standard AWS chain for credentials, `AWS_ENDPOINT_URL` honoured), falling back to
/// the Docker configuration only if that call fails; any other registry gets the Docker configuration's. A
/// failure is a refusal: nothing can be pushed.
pub async fn credentials_for(registry: &str) -> Result<Option<DockerCredentials>, RegistryRefused> {
    let refused = |reason: String| RegistryRefused::Login {
        registry: registry.to_string(),
        reason,
    };
    if let Some(ecr) = ecr_of(registry) {
        match ecr_token(registry, &ecr).await {
            Ok(credentials) => return Ok(Some(credentials)),
            Err(err) => match docker_config_credentials(registry) {
                Ok(Some(credentials)) => {
                    tracing::warn!(
                        "no ECR token ({err:#}); using the Docker configuration's credentials for {registry}"
                    );
                    return Ok(Some(credentials));
                }
                _ => return Err(refused(format!("{err:#}"))),
            },
        }
    }
    docker_config_credentials(registry).map_err(|e| refused(format!("{e:#}")))
}

/// A registry token from ECR's GetAuthorizationToken: base64 of `AWS:<password>`, valid 12 hours.
async fn ecr_token(registry: &str, ecr: &Ecr) -> anyhow::Result<DockerCredentials> {
    // The region is the registry's, whatever the environment says. registryIds is deprecated by AWS, but it
    // names which account's registry is meant.
    let sdk = crate::aws::loader(None)
        .region(aws_config::Region::new(ecr.region.clone()))
        .load()
        .await;
    #[allow(deprecated)]
    let answer = aws_sdk_ecr::Client::new(&sdk)
        .get_authorization_token()
        .registry_ids(&ecr.account)
        .send()
        .await
        .map_err(crate::aws::describe)
        .context("ECR GetAuthorizationToken")?;
    let token = answer
        .authorization_data()
        .first()
        .and_then(|data| data.authorization_token())
        .context("ECR GetAuthorizationToken answered without a token")?;
    let (username, password) = user_password(token).context(
        "ECR GetAuthorizationToken answered with a token that is not base64 of user:password",
    )?;
    Ok(DockerCredentials {
        username: Some(username),
        password: Some(password),
        serveraddress: Some(registry.to_string()),
        ..DockerCredentials::default()
    })
}

/// `user:password` from its base64 form (a Docker config `auth`, an ECR token).
fn user_password(encoded: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The Docker configuration's credentials for `registry`, looked up as the docker CLI does: a credential helper
/// named for the registry (`credHelpers`), else the default store (`credsStore`), else `auths.<registry>.auth`
/// (base64 of `user:password`). Read from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn docker_config_credentials(registry: &str) -> anyhow::Result<Option<DockerCredentials>> {
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
    // Docker Hub's entries are keyed by its historical address.
    let key = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.get(key))
        .or_else(|| config.get("credsStore"))
        .and_then(|h| h.as_str());
    if let Some(helper) = helper {
        return credential_helper(helper, key)
            .with_context(|| format!("{}: the credential helper {helper:?}", path.display()));
    }
    let Some(auth) = config
        .get("auths")
        .and_then(|a| a.get(key))
        .and_then(|r| r.get("auth"))
        .and_then(|a| a.as_str())
    else {
        return Ok(None);
    };
    let (username, password) = user_password(auth).with_context(|| {
        format!(
            "{}: auths.{key}.auth is not base64 of user:password",
            path.display()
        )
    })?;
    Ok(Some(DockerCredentials {
        username: Some(username),
        password: Some(password),
        serveraddress: Some(registry.to_string()),
        ..DockerCredentials::default()
    }))
}

/// Asks `docker-credential-<helper> get` for `server`'s credentials (the docker credential helpers' protocol:
/// the server on stdin, `{"Username", "Secret"}` on stdout; the user `<token>` means an identity token). A helper
/// that knows nothing of the server answers with a failure that says so: no credentials.
fn credential_helper(helper: &str, server: &str) -> anyhow::Result<Option<DockerCredentials>> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("{program} could not be run (is it on PATH?)"))?;
    child
        .stdin
        .take()
        .context("the helper's stdin")?
        .write_all(server.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        anyhow::bail!("{program} get failed ({})", output.status);
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} get answered something other than its JSON"))?;
    let mut credentials = DockerCredentials {
        serveraddress: Some(server.to_string()),
        ..DockerCredentials::default()
    };
    if answer.username == "<token>" {
        credentials.identitytoken = Some(answer.secret);
    } else {
        credentials.username = Some(answer.username);
        credentials.password = Some(answer.secret);
    }
    Ok(Some(credentials))
}

/// Pushes `repo:tag` with `credentials` (from [`credentials_for`]) and returns the digest the registry gave it
/// (`sha256:…`).
pub async fn push(
    engine: &Engine,
    repo: &str,
    tag: &str,
    credentials: Option<DockerCredentials>,
) -> Result<String, RegistryRefused> {
    let registry = registry_of(repo).unwrap_or("docker.io").to_string();
    let reference = format!("{repo}:{tag}");
    let refused = |reason: String| RegistryRefused::Push {
        registry: registry.clone(),
        reference: reference.clone(),
        reason,
    };
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

    #[test]
    fn ecr_registries_are_known_by_their_host_names() {
        let ecr = |account: &str, region: &str| {
            Some(Ecr {
                account: account.into(),
                region: region.into(),
            })
        };
        assert_eq!(
            ecr_of("123456789012.dkr.ecr.eu-west-3.amazonaws.com"),
            ecr("123456789012", "eu-west-3")
        );
        assert_eq!(
            ecr_of("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"),
            ecr("123456789012", "us-east-1")
        );
        assert_eq!(
            ecr_of("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn:443"),
            ecr("123456789012", "cn-north-1")
        );
        assert_eq!(
            ecr_of("123456789012.dkr-ecr.eu-west-3.on.aws"),
            ecr("123456789012", "eu-west-3")
        );
        assert_eq!(ecr_of("12345678901.dkr.ecr.eu-west-3.amazonaws.com"), None);
        assert_eq!(ecr_of("123456789012.dkr.ecr.eu-west-3.example.com"), None);
        assert_eq!(ecr_of("127.0.0.1:5000"), None);
        assert_eq!(ecr_of("ghcr.io"), None);
    }

    #[test]
    fn config_auth_is_base64_of_user_and_password() {
        assert_eq!(
            user_password("QVdTOnNlY3JldDp3aXRoLWNvbG9u"),
            Some(("AWS".into(), "secret:with-colon".into()))
        );
        assert_eq!(user_password("not base64!"), None);
        assert_eq!(user_password("bm9jb2xvbg=="), None);
    }
}
