use std::process::ExitCode;

use clap::Parser;
use vivr::cli::{Cli, Command};
use vivr::commands;
use vivr::exit::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = std::env::var("VIVR_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    vivr::logging::init(&cli.global, json_logs);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Outcome::Error.into();
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => commands::serve::run(args, &cli.global).await,
            Command::Healthcheck(args) => commands::healthcheck::run(args).await,
            Command::Migrate(cmd) => commands::migrate::run(cmd, &cli.global).await,
            Command::Backup(cmd) => commands::backup::run(cmd, &cli.global).await,
            Command::Admin(cmd) => commands::admin::run(cmd).await,
            Command::Completions(args) => commands::completions::run(args),
        }
    });
    match result {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<vivr::migrate::LockTimeout>().is_some() {
                Outcome::LockTimeout.into()
            } else {
                Outcome::Error.into()
            }
        }
    }
}
