//! What every command receives ([`Ctx`]) and how it speaks ([`Printer`], uv's pattern): stdout carries the data a
//! command was asked for (a report, a table, JSON) and nothing else; the chatter goes to stderr through
//! `tracing` (silenced by `-q`); progress bars are drawn only on a terminal and never with `-q`, `--no-progress`
//! or JSON output. Writing to a stdout whose reader has gone (`vivr … | head -1`) is an error of its own,
//! [`StdoutClosed`], which `main` turns into a quiet exit 141 (as SIGPIPE would), never a panic.

use std::io::{IsTerminal, Write};

use crate::cli::GlobalArgs;

/// The reader of stdout went away (a closed pipe).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Where a command's output goes, set once from the global flags.
#[derive(Debug, Clone)]
pub struct Printer {
    progress: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let stderr_terminal = std::io::stderr().is_terminal();
        Printer {
            progress: !global.quiet && !global.no_progress && stderr_terminal,
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

    /// Whether progress bars may be drawn (a terminal, no `-q`, no `--no-progress`); commands also leave them out
    /// for JSON output.
    pub fn progress_allowed(&self) -> bool {
        self.progress
    }
}

fn closed_or_io(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context("writing to standard output")
    }
}

/// What every command runs with: the printer, and how verbose to be (`-v`).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub printer: Printer,
    pub verbose: u8,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Self {
        Ctx {
            printer: Printer::new(global),
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
