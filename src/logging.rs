//! Tracing setup: human-readable logs on stderr, or JSON lines when `VIVR_LOG_FORMAT=json`. `RUST_LOG` overrides
//! the level chosen by `-q`/`-v`.

use tracing_subscriber::EnvFilter;

use crate::cli::{ColorChoice, GlobalArgs};

pub fn init(global: &GlobalArgs, json: bool) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "info,sqlx=warn,tower_http=warn",
        (false, 1) => "debug,sqlx=info,hyper=info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_ansi(ansi).with_target(false).try_init()
    };
    if let Err(err) = result {
        eprintln!("warning: logging already initialised: {err}");
    }
}
