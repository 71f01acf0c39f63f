//! What every command receives ([`Ctx`]) and how it speaks ([`Printer`], uv's pattern): stdout carries the data a
//! command was asked for (a report, a table, JSON) and nothing else; stderr carries the chatter (progress,
//! notes), silenced by `-q`; progress bars are drawn only on a terminal and never with `-q`, `--no-progress` or
//! JSON output. Writing to a stdout whose reader has gone (`vivr … | head -1`) is an error of its own,
//! [`StdoutClosed`], which `main` turns into a quiet exit 141 (as SIGPIPE would), never a panic.

use std::io::{IsTerminal, Write};

use crate::cli::{ColorChoice, GlobalArgs};

/// The reader of stdout went away (a closed pipe).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Where a command's output goes, set once from the global flags.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    verbose: u8,
    progress: bool,
    color: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let stderr_terminal = std::io::stderr().is_terminal();
        Printer {
            quiet: global.quiet,
            verbose: global.verbose,
            progress: !global.quiet && !global.no_progress && stderr_terminal,
            color: match global.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => stderr_terminal && std::env::var_os("NO_COLOR").is_none(),
            },
        }
    }

    /// Data: written to stdout as is.
    pub fn write(&self, text: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(closed_or_io)
    }

    /// Data: one line on stdout.
    pub fn line(&self, text: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(closed_or_io)
    }

    /// Data: a value as pretty JSON on stdout.
    pub fn json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.line(&text)
    }

    /// Chatter: a line on stderr, unless `-q`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    /// Whether progress bars may be drawn (a terminal, no `-q`, no `--no-progress`); commands also leave them out
    /// for JSON output.
    pub fn progress_allowed(&self) -> bool {
        self.progress
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether stderr may carry colour.
    pub fn color(&self) -> bool {
        self.color
    }
}

fn closed_or_io(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context("writing to standard output")
    }
}

/// What every command runs with: the global flags and the printer.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub printer: Printer,
    /// `--no-progress`, `-q`, `-v`, `--color` as given.
    pub quiet: bool,
    pub no_progress: bool,
    pub verbose: u8,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Self {
        Ctx {
            printer: Printer::new(global),
            quiet: global.quiet,
            no_progress: global.no_progress,
            verbose: global.verbose,
        }
    }
}

/// `outln!(ctx, "…", args)`: a line of data on stdout through the context's printer; returns early with the
/// error when stdout is closed or fails.
#[macro_export]
macro_rules! outln {
    ($ctx:expr) => {
        $ctx.printer.line("")?
    };
    ($ctx:expr, $($arg:tt)*) => {
        $ctx.printer.line(&format!($($arg)*))?
    };
}

/// `out!(ctx, "…", args)`: data on stdout without a newline.
#[macro_export]
macro_rules! out {
    ($ctx:expr, $($arg:tt)*) => {
        $ctx.printer.write(&format!($($arg)*))?
    };
}
