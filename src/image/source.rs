//! What the image says about the code it holds, read from git: the commit (and whether the work tree differs
//! from it), the commit's time, and where the repository lives. A dirty tree refuses a release build unless
//! asked: the revision label must not lie.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SourceFacts {
    /// The full commit id.
    pub revision: String,
    /// Files differ from the commit (changed, staged or untracked: an untracked source file can be compiled in).
    pub dirty: bool,
    /// The first of those files, as `git status --short` shows them (`?? sbom.json`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// The commit's time, RFC 3339 in UTC.
    pub created: String,
    /// The repository's web address (no credentials), when it has an `origin` remote.
    pub url: Option<String>,
}

impl SourceFacts {
    /// The tag a build gets by default: the first 12 characters of the commit, `-dirty` when it differs.
    pub fn tag(&self) -> String {
        let short = self.revision.get(..12).unwrap_or(&self.revision);
        if self.dirty {
            format!("{short}-dirty")
        } else {
            short.to_string()
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("running git (labels and tags come from the repository's history)")?;
    if !output.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

pub fn read(dir: &Path) -> anyhow::Result<SourceFacts> {
    let revision = git(dir, &["rev-parse", "HEAD"])
        .with_context(|| format!("{} is not a git work tree with a commit", dir.display()))?;
    let status = git(dir, &["status", "--porcelain"])?;
    let dirty = !status.is_empty();
    let changes = status.lines().take(5).map(str::to_string).collect();
    let committed = git(dir, &["log", "-1", "--format=%cI"])?;
    let created = chrono::DateTime::parse_from_rfc3339(&committed)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .with_context(|| format!("reading the commit time {committed:?}"))?;
    let url = git(dir, &["remote", "get-url", "origin"])
        .ok()
        .and_then(|u| web_address(&u));
    Ok(SourceFacts {
        revision,
        dirty,
        changes,
        created,
        url,
    })
}

/// `git@host:org/repo.git` or `https://user:token@host/org/repo.git` → `https://host/org/repo`; a local path
/// has no web address.
pub fn web_address(remote: &str) -> Option<String> {
    let remote = remote.trim().trim_end_matches(".git");
    if let Some(rest) = remote.strip_prefix("git@") {
        let (host, path) = rest.split_once(':')?;
        return Some(format!("https://{host}/{path}"));
    }
    let rest = remote
        .strip_prefix("https://")
        .or_else(|| remote.strip_prefix("http://"))
        .or_else(|| remote.strip_prefix("ssh://"))?;
    // Credentials before the host never reach a label.
    let rest = rest
        .rsplit_once('@')
        .map_or(rest, |(_, host_and_path)| host_and_path);
    let rest = rest.strip_prefix("git@").unwrap_or(rest);
    Some(format!("https://{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_become_web_addresses_without_credentials() {
        assert_eq!(
            web_address("git@github.com:vivr/shop.git").as_deref(),
            Some("https://github.com/vivr/shop")
        );
        assert_eq!(
            web_address("https://ci:ghp_secret@github.com/vivr/shop.git").as_deref(),
            Some("https://github.com/vivr/shop")
        );
        assert_eq!(web_address("/srv/git/shop"), None);
    }
}
