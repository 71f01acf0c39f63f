//! Where the runbooks (`runbooks/*.md`) say what to do about a failure. A command's error that has a section
//! gets a `see runbooks/…#…` line after it (main.rs), and the reports that end in such a state print the same
//! link; `tests/suite/runbooks.rs` checks every link names an existing heading.

use std::fmt;

use crate::exit::Outcome;

/// A failure a runbook section covers, attached to an error as its context (`err.context(Section::…)`): its
/// `Display` is the headline printed before the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `vivr backup create` (or its verification) did not produce a verified backup.
    BackupFailed,
    /// `vivr backup restore` stopped.
    RestoreFailed,
    /// `vivr migrate deploy` applied a file that failed and was rolled back.
    MigrationFailed,
}

impl Section {
    pub fn link(self) -> &'static str {
        match self {
            Section::BackupFailed => "runbooks/backups.md#a-scheduled-backup-failed",
            Section::RestoreFailed => "runbooks/backups.md#restoring-a-backup",
            Section::MigrationFailed => "runbooks/migrations.md#a-migration-failed",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::BackupFailed => "the backup failed",
            Section::RestoreFailed => "the restore failed",
            Section::MigrationFailed => "the migration was rolled back",
        })
    }
}

/// The runbook section for a command's outcome, when one covers it (`vivr migrate`'s refusals).
pub fn for_outcome(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::MigrationFailed => Some(Section::MigrationFailed.link()),
        Outcome::MigrationDrift => Some(
            "runbooks/migrations.md#drift-an-applied-migration-was-edited-or-the-database-has-migrations-this-build-does-not-know",
        ),
        Outcome::NotBaselined => {
            Some("runbooks/migrations.md#the-database-has-no-migration-history")
        }
        Outcome::LockTimeout => Some("runbooks/migrations.md#another-migrator-holds-the-lock"),
        _ => None,
    }
}

/// The runbook section for an error a command returned, if one covers it: the section it was given as context,
/// else the one for its exit code.
pub fn for_error(err: &anyhow::Error) -> Option<&'static str> {
    match err.downcast_ref::<Section>() {
        Some(section) => Some(section.link()),
        None => for_outcome(Outcome::of_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_section_is_found_under_later_context_and_reads_as_a_headline() {
        let err = Err::<(), _>(anyhow::anyhow!("pg_dump exited 1"))
            .context(Section::BackupFailed)
            .context("backing up vivr")
            .unwrap_err();
        assert_eq!(
            for_error(&err),
            Some("runbooks/backups.md#a-scheduled-backup-failed")
        );
        assert_eq!(
            format!("{err:#}"),
            "backing up vivr: the backup failed: pg_dump exited 1"
        );
        assert_eq!(for_error(&anyhow::anyhow!("no such file")), None);
    }

    #[test]
    fn typed_migration_refusals_have_their_sections() {
        let refusal = crate::migrate::NotDeployable::NotBaselined;
        assert_eq!(
            for_error(&anyhow::Error::new(refusal)),
            Some("runbooks/migrations.md#the-database-has-no-migration-history")
        );
    }
}
