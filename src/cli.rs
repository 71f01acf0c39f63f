//! The command line: global flags and the subcommands. Only commands that work are listed.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    admin, audit, backup, build, completions, deploy, env, healthcheck, migrate, secrets, serve,
};

#[derive(Debug, Parser)]
#[command(
    name = "vivr",
    version,
    about = "The VIVR shop and the tools that run it in production",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Only print errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (-vv for even more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour stderr output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Never draw progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--database-url` / `DATABASE_URL`, shared by every command that opens the shop's database.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The database: sqlite://path (embedded, the default) or postgres://user:pass@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/vivr.db",
        hide_env_values = true
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the storefront (embedded SQLite by default, PostgreSQL with DATABASE_URL).
    Serve(serve::Args),
    /// Probe a running server's readiness endpoint (for container health checks).
    Healthcheck(healthcheck::Args),
    /// Prisma-compatible database migrations with guards (status, deploy, plan, resolve, new).
    #[command(subcommand)]
    Migrate(migrate::Command),
    /// Verified pg_dump backups: create, list, verify, restore, prune.
    #[command(subcommand)]
    Backup(backup::Command),
    /// Configuration: check it against the schema, write .env.example, document or compare it.
    #[command(subcommand)]
    Env(env::Command),
    /// Secrets in AWS Secrets Manager: list, get (redacted), put, run a command with them, rotate, audit.
    Secrets(secrets::Args),
    /// Lint the Dockerfile, build the production image through the Docker engine, and check the image.
    /// Exit 0 built, 1 a lint or image check failed, 2 usage, 3 no engine answers or the registry refused the push.
    Build(build::Args),
    /// Deploy an image to AWS ECS from deploy/<env>.yaml: preflight, update, verify, bake under the rollback
    /// triggers, and roll back to the last known good on failure. `vivr deploy status` shows the service.
    /// Exit 0 deployed, 1 failed and rolled back, 2 usage or refused, 3 AWS unreachable, 4 the rollback failed,
    /// 5 timed out (rolled back).
    Deploy(deploy::Args),
    /// Roll an ECS service back to its last known good (or --to a revision), and verify it.
    /// Exit 0 rolled back, 2 refused, 3 AWS unreachable, 4 the rollback failed or could not be confirmed.
    Rollback(deploy::RollbackArgs),
    /// Score the repository's production readiness (0–100 and a level) from the checks in checks/*.yaml, with
    /// waivers, thresholds and a baseline for CI; `vivr audit checks validate` checks check files.
    /// Exit 0 the policy holds, 1 it does not, 2 usage or an invalid check file, 3 the audit could not run.
    Audit(audit::Args),
    /// Manage shop accounts (create the first administrator).
    #[command(subcommand)]
    Admin(admin::Command),
    /// Print a shell completion script.
    Completions(completions::Args),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Every subcommand, flag and argument says what it is for in `--help`.
    #[test]
    fn every_command_and_argument_is_described() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    missing.push(format!("{name} (the subcommand)"));
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "vivr", &mut missing);
        assert!(
            missing.is_empty(),
            "no --help text for:\n{}",
            missing.join("\n")
        );
    }
}
