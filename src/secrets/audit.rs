//! The local audit trail of secret reads: one JSON line per read — who, what, when, which version — never the
//! value. CloudTrail stays the authoritative server-side record; this one says which vivr command on which
//! machine read what. A read whose line cannot be written fails (the value is not used unaudited).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

pub struct AuditLog {
    pub path: PathBuf,
    /// The AWS identity (ARN) the reads run as, once known.
    identity: std::sync::Mutex<Option<String>>,
}

impl AuditLog {
    /// `VIVR_SECRETS_AUDIT_FILE`, else `$XDG_STATE_HOME/vivr/secrets-audit.jsonl`, else
    /// `~/.local/state/vivr/secrets-audit.jsonl`.
    pub fn from_env() -> anyhow::Result<Self> {
        let path = match std::env::var_os("VIVR_SECRETS_AUDIT_FILE").filter(|p| !p.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => {
                let state = std::env::var_os("XDG_STATE_HOME")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state"))
                    })
                    .context("no place for the secrets audit file: set VIVR_SECRETS_AUDIT_FILE")?;
                state.join("vivr/secrets-audit.jsonl")
            }
        };
        Ok(AuditLog {
            path,
            identity: std::sync::Mutex::new(None),
        })
    }

    pub fn set_identity(&self, arn: &str) {
        if let Ok(mut identity) = self.identity.lock() {
            *identity = Some(arn.to_string());
        }
    }

    /// Appends one line for a read of `secret` (name or ARN): `ok` false for a read that failed. `keys` are the
    /// variable names the secret holds (names, not values).
    pub fn record(
        &self,
        command: &str,
        secret: &str,
        version_id: Option<&str>,
        stage: &str,
        ok: bool,
        keys: &[String],
    ) -> anyhow::Result<()> {
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "user": std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default(),
            "identity": self.identity.lock().ok().and_then(|i| i.clone()),
            "command": command,
            "action": "read",
            "secret": secret,
            "version_id": version_id,
            "version_stage": stage,
            "ok": ok,
            "keys": keys,
        });
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("creating {} for the secrets audit file", dir.display())
            })?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening the secrets audit file {}", self.path.display()))?;
        writeln!(file, "{line}")
            .with_context(|| format!("writing the secrets audit file {}", self.path.display()))?;
        Ok(())
    }
}
