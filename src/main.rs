use std::process::ExitCode;

use clap::Parser;
use vivr::cli::{Cli, Command};
use vivr::commands;
use vivr::exit::Outcome;
use vivr::output::{Ctx, StdoutClosed};

/// mimalloc rather than the C library's allocator: the shop allocates and frees many small strings per request,
/// from several threads, where glibc's malloc spent a sixth of the CPU (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = std::env::var("VIVR_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Error reports (and traces) are the server's: the other commands report to whoever runs them.
    let telemetry = match cli.command {
        Command::Serve(ref args) => vivr::telemetry::Telemetry::from_env(&args.db.database_url),
        _ => vivr::telemetry::Telemetry::default(),
    };
    let _telemetry = vivr::logging::init(&cli.global, json_logs, &telemetry);

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
    let ctx = Ctx::new(&cli.global);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => commands::serve::run(args, &ctx).await,
            Command::Healthcheck(args) => commands::healthcheck::run(args, &ctx).await,
            Command::Migrate(cmd) => commands::migrate::run(cmd, &ctx).await,
            Command::Backup(cmd) => commands::backup::run(cmd, &ctx).await,
            Command::Env(cmd) => commands::env::run(cmd, &ctx).await,
            Command::Secrets(args) => commands::secrets::run(args, &ctx).await,
            Command::Build(args) => commands::build::run(args, &ctx).await,
            Command::Deploy(args) => commands::deploy::run(args, &ctx).await,
            Command::Rollback(args) => commands::deploy::rollback(args, &ctx).await,
            Command::Audit(args) => commands::audit::run(&ctx, args).await,
            Command::Admin(cmd) => commands::admin::run(cmd, &ctx).await,
            Command::Completions(args) => commands::completions::run(args, &ctx),
        }
    });
    match result {
        Ok(outcome) => outcome.into(),
        // `vivr … | head`: the reader has gone; stop quietly with SIGPIPE's status, as other Unix tools do.
        Err(err) if err.downcast_ref::<StdoutClosed>().is_some() => ExitCode::from(141),
        Err(err) => {
            eprintln!("error: {err:#}");
            if let Some(link) = vivr::runbook::for_error(&err) {
                eprintln!("see {link}");
            }
            Outcome::of_error(&err).into()
        }
    }
}
