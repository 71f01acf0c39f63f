use std::process::ExitCode;

use clap::Parser;
use vivr::cli::{Cli, Command};
use vivr::commands;
use vivr::exit::Outcome;

/// `vivr … | head`: once the reader has gone, stop quietly with SIGPIPE's exit status (141), as other Unix tools
/// do, rather than print a panic. SIGPIPE itself stays ignored, so a child process (pg_dump, pg_restore) that exits
/// early is still an error vivr reports.
fn quiet_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_when_stdout_closes();
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
            Command::Env(cmd) => commands::env::run(cmd, &cli.global).await,
            Command::Secrets(args) => commands::secrets::run(args, &cli.global).await,
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
