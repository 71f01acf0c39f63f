//! pg_dump and pg_restore: finding them, checking their version against the server's, and giving them the
//! connection through the environment (libpq's PG* variables), never on the command line where `ps` shows it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

/// Where the PostgreSQL client tools are.
#[derive(Debug, Clone)]
pub struct PgTools {
    pub dir: Option<PathBuf>,
}

impl PgTools {
    /// `dir` if given, else the newest `/usr/lib/postgresql/<major>/bin` holding pg_dump, else `$PATH`.
    pub fn locate(dir: Option<PathBuf>) -> Self {
        if dir.is_some() {
            return PgTools { dir };
        }
        let newest = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let major: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("pg_dump").exists().then_some((major, bin))
            })
            .max_by_key(|(major, _)| *major)
            .map(|(_, bin)| bin);
        PgTools { dir: newest }
    }

    pub fn command(&self, tool: &str) -> Command {
        match &self.dir {
            Some(dir) => Command::new(dir.join(tool)),
            None => Command::new(tool),
        }
    }

    /// The tool's version as (major, "15.18").
    pub async fn version(&self, tool: &str) -> anyhow::Result<(u32, String)> {
        let output = tokio::process::Command::from(self.command(tool))
            .arg("--version")
            .output()
            .await
            .with_context(|| format!("running {tool} --version (install the PostgreSQL client tools, or pass --pg-bin)"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)"
        let version = text
            .split_whitespace()
            .nth(2)
            .with_context(|| format!("unexpected `{tool} --version` output: {text:?}"))?
            .to_string();
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .with_context(|| format!("unexpected `{tool} --version` output: {text:?}"))?;
        Ok((major, version))
    }

    /// pg_dump and pg_restore must be at least as new as the server (pg_dump refuses newer servers).
    pub async fn check_against(&self, server_major: u32) -> anyhow::Result<(String, String)> {
        let (dump_major, dump) = self.version("pg_dump").await?;
        let (restore_major, restore) = self.version("pg_restore").await?;
        for (tool, major, version) in [
            ("pg_dump", dump_major, &dump),
            ("pg_restore", restore_major, &restore),
        ] {
            if major < server_major {
                bail!(
                    "{tool} {version} is older than the server (PostgreSQL {server_major}); install postgresql-client-{server_major} \
                     or newer, or point --pg-bin at it"
                );
            }
            if let Some(advice) = security_advice(tool, version) {
                tracing::warn!("{advice}");
            }
        }
        Ok((dump, restore))
    }
}

/// The first minor release of each supported major with the dump/restore security fixes of 2025–2026
/// (CVE-2025-8714 and CVE-2025-8715, then CVE-2026-18408).
const FIXED_MINORS: [(u32, u32); 5] = [(18, 6), (17, 11), (16, 15), (15, 19), (14, 24)];

/// A warning when `tool` at `version` ("15.18") predates those fixes or is of a major no longer supported.
fn security_advice(tool: &str, version: &str) -> Option<String> {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    if let Some((_, fixed)) = FIXED_MINORS.iter().find(|(m, _)| *m == major) {
        return (minor < *fixed).then(|| {
            format!(
                "{tool} {version} predates {major}.{fixed}, which fixes dump/restore security issues \
                 (CVE-2025-8714, CVE-2025-8715, CVE-2026-18408); upgrade the PostgreSQL client tools"
            )
        });
    }
    let oldest = FIXED_MINORS.iter().map(|(m, _)| *m).min().unwrap_or(0);
    (major < oldest).then(|| {
        format!("{tool} {version} is of a PostgreSQL major that no longer gets security fixes; upgrade the client tools")
    })
}

/// A PostgreSQL connection as libpq environment variables.
#[derive(Clone)]
pub struct PgEnv {
    vars: Vec<(&'static str, String)>,
    password: Option<SecretString>,
    pub database: String,
}

impl std::fmt::Debug for PgEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEnv")
            .field("vars", &self.vars)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl PgEnv {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url)
            .map_err(|_| anyhow::anyhow!("the database URL is not a valid postgres:// URL"))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            bail!("backups need a PostgreSQL database (postgres:// URL)");
        }
        let decode = percent_decode;
        let database = decode(parsed.path().trim_start_matches('/'));
        if database.is_empty() {
            bail!("the database URL names no database");
        }
        let mut vars = vec![
            (
                "PGHOST",
                parsed
                    .host_str()
                    .unwrap_or("localhost")
                    .trim_matches(['[', ']'])
                    .to_string(),
            ),
            ("PGPORT", parsed.port().unwrap_or(5432).to_string()),
            ("PGDATABASE", database.clone()),
            ("PGAPPNAME", "vivr-backup".to_string()),
            ("PGCONNECT_TIMEOUT", "10".to_string()),
        ];
        if !parsed.username().is_empty() {
            vars.push(("PGUSER", decode(parsed.username())));
        }
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "sslmode" => vars.push(("PGSSLMODE", value.into_owned())),
                "sslrootcert" => vars.push(("PGSSLROOTCERT", value.into_owned())),
                "host" => vars.push(("PGHOST", value.into_owned())),
                _ => {}
            }
        }
        Ok(PgEnv {
            vars,
            password: parsed.password().map(|p| SecretString::from(decode(p))),
            database,
        })
    }

    /// The same server, another database (scratch restores).
    pub fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.vars.retain(|(k, _)| *k != "PGDATABASE");
        other.vars.push(("PGDATABASE", database.to_string()));
        other.database = database.to_string();
        other
    }

    /// Puts the connection into `command`'s environment (and nothing of the caller's PG* variables).
    pub fn apply(&self, command: &mut Command) {
        for key in [
            "PGHOST",
            "PGPORT",
            "PGDATABASE",
            "PGUSER",
            "PGPASSWORD",
            "PGSSLMODE",
            "PGSERVICE",
            "PGOPTIONS",
        ] {
            command.env_remove(key);
        }
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password.expose_secret());
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The last lines of a tool's stderr, for an error message.
pub fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(5);
    lines.into_iter().skip(skip).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tools_before_the_security_fixes_are_named() {
        let advice = security_advice("pg_dump", "15.18").unwrap();
        assert!(
            advice.contains("pg_dump 15.18") && advice.contains("15.19"),
            "{advice}"
        );
        assert_eq!(security_advice("pg_dump", "15.19"), None);
        assert_eq!(security_advice("pg_restore", "17.11"), None);
        assert!(security_advice("pg_restore", "17.2").is_some());
        assert_eq!(security_advice("pg_dump", "19.1"), None);
        assert!(
            security_advice("pg_dump", "13.22")
                .unwrap()
                .contains("no longer")
        );
    }

    #[test]
    fn url_becomes_environment_without_the_password_on_show() {
        let env = PgEnv::from_url("postgres://shop:s%40cret@db.internal:6432/vivr?sslmode=require")
            .unwrap();
        assert_eq!(env.database, "vivr");
        let debug = format!("{env:?}");
        assert!(
            !debug.contains("s@cret") && !debug.contains("s%40cret"),
            "{debug}"
        );
        assert!(debug.contains("PGSSLMODE") && debug.contains("6432"));
        assert_eq!(
            env.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("s@cret".into())
        );
        assert!(PgEnv::from_url("sqlite://x.db").is_err());
    }
}
