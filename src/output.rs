//! What every command receives ([`Ctx`]) and how it speaks ([`Printer`], uv's pattern): stdout carries the data a
//! command was asked for and nothing else — a typed [`Report`], rendered as text, JSON or SARIF by
//! [`Ctx::emit`] alone; the chatter goes to stderr through
//! `tracing` (silenced by `-q`); progress bars are drawn only on a terminal and never with `-q`, `--no-progress`
//! or JSON output. Writing to a stdout whose reader has gone (`vivr … | head -1`) is an error of its own,
//! [`StdoutClosed`], which `main` turns into a quiet exit 141 (as SIGPIPE would), never a panic.

use std::io::{IsTerminal, Write};

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::exit::Outcome;

/// What a command found or did, as one typed value: serialised as is for `--format json`, rendered for people
/// by [`Report::text`], and carrying the exit code it implies. Commands build a report and hand it to
/// [`Ctx::emit`]; no command chooses between text and JSON itself.
pub trait Report: Serialize {
    /// The human rendering: tables and sentences, each line ending with a newline.
    fn text(&self) -> String;

    /// The exit code this result implies.
    fn outcome(&self) -> Outcome {
        Outcome::Success
    }

    /// A SARIF 2.1.0 log, for reports that are lists of findings in files (code-scanning upload).
    fn sarif(&self) -> Option<serde_json::Value> {
        None
    }

    /// A markdown rendering (a pull-request comment), for reports that have one.
    fn markdown(&self) -> Option<String> {
        None
    }

    /// A JUnit XML rendering (CI test views), for reports that have one.
    fn junit(&self) -> Option<String> {
        None
    }
}

/// A table in the house style (comfy-table's condensed UTF-8 borders) with its header row.
pub fn table<T: std::fmt::Display>(header: impl IntoIterator<Item = T>) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header.into_iter().map(|h| h.to_string()));
    table
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text,
    Json,
    /// JSON on one line: the last line of an event stream (`vivr deploy --format json`).
    JsonLine,
    Sarif,
    Markdown,
    Junit,
}

impl From<crate::cli::Format> for Style {
    fn from(format: crate::cli::Format) -> Self {
        match format {
            crate::cli::Format::Text => Style::Text,
            crate::cli::Format::Json => Style::Json,
        }
    }
}

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

    /// A bar counting steps on stderr (`[====>   ] 3/12 <step> (elapsed)`), when progress may be drawn and the
    /// output is text (`text_output`); the caller sets its length, position and message.
    pub fn step_bar(&self, text_output: bool) -> Option<indicatif::ProgressBar> {
        if !self.progress || !text_output {
            return None;
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(step_style());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    }

    /// Whether progress bars may be drawn (a terminal, no `-q`, no `--no-progress`); commands also leave them out
    /// for JSON output.
    pub fn progress_allowed(&self) -> bool {
        self.progress
    }
}

/// A step bar's look: `⠁ [=====>    ] 3/8 COPY … (2s)`.
pub fn step_style() -> indicatif::ProgressStyle {
    bar_style("{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
}

/// A step bar's look while it counts bytes: `⠁ [==>       ] 12.50 MiB/92.94 MiB sending the context (1s)`.
pub fn bytes_style() -> indicatif::ProgressStyle {
    bar_style("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})")
}

fn bar_style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
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

    /// Prints a command's report in the style asked and returns its exit code: the one place where results
    /// become output. JSON is pretty-printed, one document, with a final newline.
    pub fn emit<R: Report>(&self, report: &R, style: impl Into<Style>) -> anyhow::Result<Outcome> {
        match style.into() {
            Style::Text => {
                let mut text = report.text();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                self.printer.write(&text)?;
            }
            Style::Json => self
                .printer
                .line(&serde_json::to_string_pretty(report).context("serialising the report")?)?,
            Style::JsonLine => self
                .printer
                .line(&serde_json::to_string(report).context("serialising the report")?)?,
            Style::Sarif => {
                let log = report
                    .sarif()
                    .context("this command has no SARIF output; use --format text or json")?;
                self.printer.line(&format!("{log:#}"))?;
            }
            Style::Markdown => {
                let text = report
                    .markdown()
                    .context("this command has no markdown output; use --format text or json")?;
                self.printer.write(&text)?;
            }
            Style::Junit => {
                let text = report
                    .junit()
                    .context("this command has no JUnit output; use --format text or json")?;
                self.printer.write(&text)?;
            }
        }
        Ok(report.outcome())
    }
}
