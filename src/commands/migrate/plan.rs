//! `vivr migrate plan`: what `deploy` would do, changing nothing.

use super::*;
use crate::backup::BackupStore;
use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate::lint::FileLint;
use crate::migrate::{self, Db, Migration, Status, checksum};
use crate::outln;
use crate::output::Ctx;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;
use vivr_shop::store::Backend;

fn print_plan(
    ctx: &Ctx,
    target: &Target,
    status: &Status,
    lint: &[FileLint],
    args: &DeployArgs,
    gate_store: anyhow::Result<Option<Box<dyn BackupStore>>>,
) -> anyhow::Result<()> {
    let options = args.options();
    let holding = match target.db.backend() {
        Backend::Postgres => "holding the migration lock",
        Backend::Sqlite => "a VACUUM INTO copy checked by PRAGMA integrity_check",
    };
    let backup_gate = match gate_store {
        Ok(Some(store)) => Some(match args.gate.backup_max_age {
            Some(age) => format!(
                "reuses a verified backup (level ≥ 2) at the current head from the last {age} min in {}, or takes one \
                 there and verifies it (level 2), {holding}; pinned {} days",
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
    };
    let blocking = lint.iter().flat_map(|l| l.blocking()).count();
    let refusal = status
        .ensure_deployable()
        .err()
        .map(|e| format!("{e:#}"))
        .or_else(|| {
            (blocking > 0 && !args.allow_destructive).then(|| {
                format!("lint finds {blocking} blocking problem(s) (see below; --allow-destructive overrides)")
            })
        });
    let pending: Vec<&Migration> = target
        .migrations
        .iter()
        .filter(|m| status.pending.iter().any(|p| *p == m.name))
        .collect();
    let transaction = |name: &str| match target.db.backend() {
        Backend::Postgres if lint.iter().any(|l| l.migration == name && !l.transactional) => {
            "none: one statement that cannot run in a transaction"
        }
        Backend::Postgres => "one transaction (the file runs as a single simple query)",
        Backend::Sqlite => "one explicit transaction",
    };
    let settings = |name: &str| match target.db.backend() {
        Backend::Postgres => Db::session_settings(name, &options),
        Backend::Sqlite => Vec::new(),
    };
    match args.common.format {
        Format::Json => {
            let body = json!({
                "database": target.url,
                "backend": target.db.backend().as_str(),
                "would_refuse": refusal,
                "postgres_only_guards_skipped": match target.db.backend() {
                    Backend::Sqlite => json!(["advisory lock", "lint", "lock_timeout", "statement_timeout", "lock retries"]),
                    Backend::Postgres => json!([]),
                },
                "creates_history_table": status.table_missing && refusal.is_none(),
                "advisory_lock": match target.db.backend() {
                    Backend::Postgres => json!({"key": migrate::ADVISORY_LOCK_KEY, "wait_secs": args.lock_timeout}),
                    Backend::Sqlite => json!(null),
                },
                "lint": lint,
                "backup": if pending.is_empty() { None } else { backup_gate.clone() },
                "pending": pending.iter().map(|m| json!({
                    "name": m.name,
                    "checksum": checksum(&m.sql),
                    "transaction": transaction(&m.name),
                    "locks": lint.iter().find(|l| l.migration == m.name).map(|l| l.strongest_locks()).unwrap_or_default(),
                    "session": settings(&m.name).into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                })).collect::<Vec<_>>(),
            });
            outln!(ctx, "{body:#}");
        }
        Format::Text => {
            if let Some(refusal) = &refusal {
                outln!(ctx, "deploy would refuse to start:\n{refusal}");
                if blocking > 0 {
                    super::lint::print_lint(ctx, lint, Format::Text)?;
                }
                return Ok(());
            }
            if pending.is_empty() {
                outln!(ctx, "Nothing to apply: the database schema is up to date.");
                return Ok(());
            }
            if target.db.backend() == Backend::Postgres {
                outln!(
                    ctx,
                    "Takes pg_advisory_lock({}) (waits up to {} s), then applies, in order:",
                    migrate::ADVISORY_LOCK_KEY,
                    args.lock_timeout
                );
            } else {
                outln!(
                    ctx,
                    "Applies, in order (SQLite: no advisory lock — SQLite serialises writers itself —, no lint, \
                     lock_timeout or statement_timeout; those guards exist on PostgreSQL only):"
                );
            }
            if let Some(gate) = &backup_gate {
                outln!(ctx, "  Backup first: {gate}");
            }
            if status.table_missing {
                outln!(ctx, "  (first creates the _prisma_migrations table)");
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "#",
                "migration",
                "checksum",
                "transaction",
                "session settings",
            ]);
            for (i, m) in pending.iter().enumerate() {
                let session = settings(&m.name)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                table.add_row([
                    (i + 1).to_string(),
                    m.name.to_string(),
                    checksum(&m.sql)[..12].to_string(),
                    transaction(&m.name).to_string(),
                    lint.iter()
                        .find(|l| l.migration == m.name)
                        .map(|l| {
                            l.strongest_locks()
                                .iter()
                                .map(|(t, mode)| format!("{t}: {mode}"))
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default(),
                    session,
                ]);
            }
            outln!(ctx, "{table}");
            if target.db.backend() == Backend::Postgres {
                super::lint::print_lint(ctx, lint, Format::Text)?;
            }
        }
    }
    Ok(())
}

pub async fn run(args: DeployArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args.common, true).await?;
    let status = migrate::status(&mut target.db, &target.migrations).await?;
    let lint = migrate::lint_pending(&mut target.db, &target.migrations, &status).await?;
    let gate_store = args.gate.store().await;
    print_plan(ctx, &target, &status, &lint, &args, gate_store)?;
    Ok(Outcome::Success)
}
