//! Exit codes, in one place (documented in README.md).

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: the command did what was asked.
    Success,
    /// 1: the command ran and the thing it checks is not right (an unhealthy server, for `healthcheck`).
    CheckFailed,
    /// 2: bad usage, invalid configuration, or an unexpected error.
    Error,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::CheckFailed => ExitCode::from(1),
            Outcome::Error => ExitCode::from(2),
        }
    }
}
