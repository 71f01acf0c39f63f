//! Tracing setup: human-readable logs on stderr, or JSON lines when `VIVR_LOG_FORMAT=json`. `RUST_LOG` overrides
//! the level chosen by `-q`/`-v`, except for the AWS SDK and HTTP internals, capped at info.

use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

use crate::telemetry::Telemetry;

use crate::cli::{ColorChoice, GlobalArgs};

const SECRET_BEARING_TARGETS: [&str; 13] = [
    "aws_runtime",
    "aws_sigv4",
    "aws_types",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_config",
    "aws_sdk_s3",
    "aws_sdk_secretsmanager",
    "aws_sdk_sts",
    "hyper",
    "hyper_util",
    "h2",
];

/// Starts logging, and the exporters `telemetry` asks for; keep the guard until the process ends.
pub fn init(global: &GlobalArgs, json: bool, telemetry: &Telemetry) -> crate::telemetry::Guard {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "info,sqlx=warn,tower_http=warn",
        (false, 1) => "debug,sqlx=info,hyper=info",
        (false, _) => "trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Wire-level logs of the AWS SDK and the HTTP stack can hold request and response bodies — secret values
    // among them. They stay at info whatever -v or RUST_LOG asks.
    for target in SECRET_BEARING_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let ansi = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        fmt.with_ansi(ansi).with_target(false).boxed()
    };
    // Each layer filters for itself: the log filter decides what is printed, the exporters take what they report
    // (a statement's span needs sqlx's statement events, which the logs leave out).
    let guard = telemetry.start();
    let result = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(telemetry.layers(&guard))
        .try_init();
    if let Err(err) = result {
        eprintln!("warning: logging already initialised: {err}");
    }
    guard
}
