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
    /// 3: `vivr migrate`: a migration is recorded as failed (resolve it first).
    MigrationFailed,
    /// 4: `vivr migrate`: drift — an applied migration's file was edited, or is missing from this build.
    MigrationDrift,
    /// 5: `vivr migrate`: a non-empty database without migration history (baseline it with `resolve --applied`).
    NotBaselined,
    /// 6: `vivr migrate`: another migrator held the lock past the timeout.
    LockTimeout,
    /// 3: `vivr build`: no Docker engine answers, or the registry refused the push; `vivr deploy`: AWS does not
    /// answer; `vivr audit`: the audit could not run (an unreadable repository, a probe that got no answer).
    Unreachable,
    /// 4: `vivr deploy` / `vivr rollback`: the deploy failed and the rollback failed or could not be confirmed.
    RollbackFailed,
    /// 5: `vivr deploy`: the rollout did not complete in time (and was rolled back).
    DeployTimedOut,
}

impl Outcome {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::CheckFailed => 1,
            Outcome::Error => 2,
            Outcome::MigrationFailed => 3,
            Outcome::MigrationDrift => 4,
            Outcome::NotBaselined => 5,
            Outcome::LockTimeout => 6,
            Outcome::Unreachable => 3,
            Outcome::RollbackFailed => 4,
            Outcome::DeployTimedOut => 5,
        }
    }

    /// `CheckFailed` when `failed`, else `Success`: the usual verdict of a check.
    pub fn check(failed: bool) -> Outcome {
        if failed {
            Outcome::CheckFailed
        } else {
            Outcome::Success
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

impl Outcome {
    /// The exit code of an error a command returned: the typed refusals CI branches on get their own code,
    /// anything else is 2. The one place errors become exit codes.
    pub fn of_error(err: &anyhow::Error) -> Outcome {
        if err
            .downcast_ref::<crate::commands::audit::AuditRuntimeError>()
            .is_some()
        {
            return Outcome::Unreachable;
        }
        if err.downcast_ref::<crate::migrate::LockTimeout>().is_some() {
            return Outcome::LockTimeout;
        }
        if err
            .downcast_ref::<crate::image::engine::EngineUnreachable>()
            .is_some()
            || err
                .downcast_ref::<crate::image::registry::RegistryRefused>()
                .is_some()
            || matches!(
                err.downcast_ref::<crate::deploy::platform::PlatformError>(),
                Some(crate::deploy::platform::PlatformError::Unreachable(_))
            )
        {
            return Outcome::Unreachable;
        }
        if let Some(refusal) = err.downcast_ref::<crate::migrate::NotDeployable>() {
            return Outcome::from(refusal);
        }
        Outcome::Error
    }
}

impl From<&crate::migrate::NotDeployable> for Outcome {
    fn from(refusal: &crate::migrate::NotDeployable) -> Self {
        use crate::migrate::NotDeployable;
        match refusal {
            NotDeployable::Failed { .. } => Outcome::MigrationFailed,
            NotDeployable::Edited(_) | NotDeployable::Unknown(_) => Outcome::MigrationDrift,
            NotDeployable::NotBaselined => Outcome::NotBaselined,
        }
    }
}
