//! `vivr migrate plan`: what `deploy` would do, changing nothing.

use std::collections::BTreeMap;

use super::*;
use crate::backup::BackupStore;
use crate::exit::Outcome;
use crate::migrate::lint::FileLint;
use crate::migrate::{self, Status, checksum};
use crate::output::{Ctx, Report, table};
use serde::Serialize;
use vivr_shop::store::Backend;

#[derive(Debug, Serialize)]
pub struct PlanReport {
    database: String,
    backend: &'static str,
    /// Why deploy would not start, if it would not.
    would_refuse: Option<String>,
    postgres_only_guards_skipped: Vec<&'static str>,
    creates_history_table: bool,
    advisory_lock: Option<AdvisoryLock>,
    lint: Vec<FileLint>,
    /// What the backup gate would do (only when something is pending).
    backup: Option<String>,
    pending: Vec<PlannedMigration>,
}

#[derive(Debug, Serialize)]
struct AdvisoryLock {
    key: i64,
    wait_secs: u64,
}

#[derive(Debug, Serialize)]
struct PlannedMigration {
    name: String,
    checksum: String,
    transaction: &'static str,
    /// The strongest lock taken on each table: (table, mode).
    locks: Vec<(String, String)>,
    session: BTreeMap<&'static str, String>,
}

/// What the deploy's backup gate would do, in a sentence; `None` without a backup store.
fn backup_gate(
    backend: Backend,
    args: &DeployArgs,
    gate_store: anyhow::Result<Option<Box<dyn BackupStore>>>,
) -> Option<String> {
    let holding = match backend {
        Backend::Postgres => "holding the migration lock",
        Backend::Sqlite => "a VACUUM INTO copy checked by PRAGMA integrity_check",
    };
    match gate_store {
        Ok(Some(store)) => Some(match args.gate.backup_max_age {
            Some(age) => format!(
                "reuses a verified backup (level ≥ 2) at the current head from the last {age} min in {}, or takes \
                 one there and verifies it (level 2), {holding}; pinned {} days",
                store.describe(),
                args.gate.backup_pin_days
            ),
            None => format!(
                "takes a backup into {} and verifies it (level 2), {holding}; pinned {} days",
                store.describe(),
                args.gate.backup_pin_days
            ),
        }),
        Ok(None) => None,
        Err(err) => Some(format!("refuses: {err:#}")),
    }
}

impl PlannedMigration {
    fn new(
        m: &Migration,
        backend: Backend,
        lint: &[FileLint],
        options: &migrate::DeployOptions,
    ) -> Self {
        let file_lint = lint.iter().find(|l| l.migration == m.name);
        PlannedMigration {
            name: m.name.to_string(),
            checksum: checksum(&m.sql),
            transaction: match backend {
                Backend::Postgres if file_lint.is_some_and(|l| !l.transactional) => {
                    "none: one statement that cannot run in a transaction"
                }
                Backend::Postgres => "one transaction (the file runs as a single simple query)",
                Backend::Sqlite => "one explicit transaction",
            },
            locks: file_lint.map(FileLint::strongest_locks).unwrap_or_default(),
            session: match backend {
                Backend::Postgres => migrate::session_settings(&m.name, options)
                    .into_iter()
                    .collect(),
                Backend::Sqlite => BTreeMap::new(),
            },
        }
    }
}

impl PlanReport {
    fn new(
        target: &Target,
        status: &Status,
        lint: Vec<FileLint>,
        args: &DeployArgs,
        gate_store: anyhow::Result<Option<Box<dyn BackupStore>>>,
    ) -> Self {
        let options = args.options();
        let backend = target.db.backend();
        let backup_gate = backup_gate(backend, args, gate_store);
        let blocking = lint.iter().flat_map(|l| l.blocking()).count();
        let would_refuse = status
            .ensure_deployable()
            .err()
            .map(|e| format!("{e:#}"))
            .or_else(|| {
                (blocking > 0 && !args.allow_destructive).then(|| {
                    format!("lint finds {blocking} blocking problem(s) (see below; --allow-destructive overrides)")
                })
            });
        let pending: Vec<PlannedMigration> = target
            .migrations
            .iter()
            .filter(|m| status.pending.iter().any(|p| *p == m.name))
            .map(|m| PlannedMigration::new(m, backend, &lint, &options))
            .collect();
        PlanReport {
            database: target.url.clone(),
            backend: backend.as_str(),
            creates_history_table: status.table_missing && would_refuse.is_none(),
            would_refuse,
            postgres_only_guards_skipped: match backend {
                Backend::Sqlite => vec![
                    "advisory lock",
                    "lint",
                    "lock_timeout",
                    "statement_timeout",
                    "lock retries",
                ],
                Backend::Postgres => Vec::new(),
            },
            advisory_lock: (backend == Backend::Postgres).then_some(AdvisoryLock {
                key: migrate::ADVISORY_LOCK_KEY,
                wait_secs: args.lock_timeout,
            }),
            lint,
            backup: if pending.is_empty() {
                None
            } else {
                backup_gate
            },
            pending,
        }
    }
}

impl Report for PlanReport {
    fn text(&self) -> String {
        if let Some(refusal) = &self.would_refuse {
            let mut text = format!("deploy would refuse to start:\n{refusal}\n");
            if self.lint.iter().any(|l| l.blocking().next().is_some()) {
                text += &super::lint::findings_text(&self.lint);
            }
            return text;
        }
        if self.pending.is_empty() {
            return "Nothing to apply: the database schema is up to date.\n".to_string();
        }
        let mut text = match &self.advisory_lock {
            Some(lock) => format!(
                "Takes pg_advisory_lock({}) (waits up to {} s), then applies, in order:\n",
                lock.key, lock.wait_secs
            ),
            None => "Applies, in order (SQLite: no advisory lock — SQLite serialises writers itself —, no lint, \
                     lock_timeout or statement_timeout; those guards exist on PostgreSQL only):\n"
                .to_string(),
        };
        if let Some(gate) = &self.backup {
            text += &format!("  Backup first: {gate}\n");
        }
        if self.creates_history_table {
            text += "  (first creates the _prisma_migrations table)\n";
        }
        let mut table = table([
            "#",
            "migration",
            "checksum",
            "transaction",
            "locks",
            "session settings",
        ]);
        for (i, m) in self.pending.iter().enumerate() {
            let lines = |pairs: Vec<String>| pairs.join("\n");
            table.add_row([
                (i + 1).to_string(),
                m.name.clone(),
                m.checksum.get(..12).unwrap_or_default().to_string(),
                m.transaction.to_string(),
                lines(
                    m.locks
                        .iter()
                        .map(|(t, mode)| format!("{t}: {mode}"))
                        .collect(),
                ),
                lines(m.session.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            ]);
        }
        text += &format!("{table}\n");
        if self.advisory_lock.is_some() {
            text += &super::lint::findings_text(&self.lint);
        }
        text
    }
}

pub async fn run(args: DeployArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args.common, true).await?;
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    let lint = migrate::lint_pending(&mut target.db, &target.migrations, &status).await?;
    let gate_store = args.gate.store().await;
    let report = PlanReport::new(&target, &status, lint, &args, gate_store);
    ctx.emit(&report, args.common.format)
}
