//! Connecting to the database being migrated, and what the migrator asks of the server itself.

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection, SqliteConnection};

use super::*;

/// Why `url` looks like a transaction-mode connection pooler (PgBouncer and the like), where session settings,
/// advisory locks and multi-statement transactions do not hold: migrations need a direct connection.
pub fn pooler_reason(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let host = parsed.host_str().unwrap_or_default();
    if parsed.port() == Some(6543) {
        return Some("port 6543 is the usual transaction-mode pooler port".into());
    }
    if host.contains("-pooler") || host.contains(".pooler.") {
        return Some(format!("the host {host} is a pooler endpoint"));
    }
    if parsed
        .query_pairs()
        .any(|(k, v)| k == "pgbouncer" && v == "true")
    {
        return Some("the URL says pgbouncer=true".into());
    }
    None
}

/// The same PostgreSQL URL pointing at another database on that server.
pub fn url_with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("the database URL is not valid")?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

/// The file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    std::path::PathBuf::from(rest.split('?').next().unwrap_or_default())
}

/// A PostgreSQL connection for the ops commands (migrations, baselines, backups), named `application_name`.
/// Its statements are not logged: migrations and catalog reads are slow on purpose, and sqlx's slow-statement
/// warnings would bury what vivr itself reports.
pub async fn pg_connect(url: &str, application_name: &str) -> anyhow::Result<PgConnection> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name(application_name)
        .disable_statement_logging();
    PgConnection::connect_with(&options)
        .await
        .context("connecting to PostgreSQL")
}

pub async fn connect(url: &str) -> anyhow::Result<Conn> {
    use std::str::FromStr;
    match Backend::from_url(url) {
        Some(Backend::Postgres) => Ok(Conn::Postgres(pg_connect(url, "vivr migrate").await?)),
        Some(Backend::Sqlite) => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid SQLite URL")?
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                // As the shop's connections (`store::db`): no temporary files, which an image has nowhere to put.
                .pragma("temp_store", "memory");
            if let Some(dir) = options
                .get_filename()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Ok(Conn::Sqlite(
                SqliteConnection::connect_with(&options)
                    .await
                    .context("opening the SQLite database")?,
            ))
        }
        None => bail!("DATABASE_URL must start with sqlite:, postgres:// or postgresql://"),
    }
}

/// The session settings a migration runs under (PostgreSQL), shown by `vivr migrate plan`.
pub fn session_settings(name: &str, options: &DeployOptions) -> Vec<(&'static str, String)> {
    vec![
        (
            "lock_timeout",
            format!("{}ms", options.ddl_lock_timeout.as_millis()),
        ),
        (
            "statement_timeout",
            format!("{}ms", options.statement_timeout.as_millis()),
        ),
        ("idle_in_transaction_session_timeout", "60000ms".to_string()),
        ("application_name", format!("vivr migrate {name}")),
    ]
}

pub(super) async fn apply_session_settings(
    db: &mut Conn,
    name: &str,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    let Conn::Postgres(conn) = db else {
        return Ok(());
    };
    for (setting, value) in session_settings(name, options) {
        sqlx::query("SELECT set_config($1, $2, false)")
            .bind(setting)
            .bind(&value)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("setting {setting}"))?;
    }
    Ok(())
}

/// The server's version ("15.18"), for the lint rules.
pub async fn server_version(db: &mut Conn) -> anyhow::Result<Option<String>> {
    let Conn::Postgres(conn) = db else {
        return Ok(None);
    };
    let full: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *conn)
        .await
        .context("reading the server version")?;
    Ok(full.split_whitespace().next().map(str::to_string))
}
