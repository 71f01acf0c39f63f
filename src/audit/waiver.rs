//! Waivers kept in the audited repository (`checks/waivers.yaml`): a check that fails here on purpose, why, who
//! owns the decision and until when. A waived check is reported as waived (never as passed) and left out of the
//! score; from the day after `expires` it counts as failed again.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::check::{Catalogue, CheckFileError, field_line, yaml_error};

/// Where waivers live in the repository.
pub const FILE_NAME: &str = "waivers.yaml";
pub const PATH: &str = "checks/waivers.yaml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub check: String,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver holds.
    pub expires: NaiveDate,
    /// Waive only the findings in these files (globs): the rest of the check still counts. Without paths the
    /// whole check is waived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

impl Waiver {
    pub fn expired(&self, today: NaiveDate) -> bool {
        today > self.expires
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waivers: Vec<Waiver>,
}

/// The waivers of a file, checked against the catalogue: every waiver names a known check once, with a reason
/// and an owner.
pub fn parse(
    file: &str,
    text: &str,
    catalogue: &Catalogue,
) -> Result<Vec<Waiver>, Vec<CheckFileError>> {
    let parsed: WaiverFile = yaml_serde::from_str(text).map_err(|e| vec![yaml_error(file, &e)])?;
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for waiver in &parsed.waivers {
        let error = |field: &str, message: String| CheckFileError {
            file: file.to_string(),
            line: waiver_line(text, &waiver.check, field),
            field: format!("waivers[{}].{field}", waiver.check),
            message,
        };
        if catalogue.get(&waiver.check).is_none() {
            errors.push(error(
                "check",
                "no check has this id (vivr audit --explain lists them)".into(),
            ));
        }
        if !seen.insert(waiver.check.as_str()) {
            errors.push(error("check", "waived twice".into()));
        }
        if let Err(e) = super::repo::Globs::new(&waiver.paths) {
            errors.push(error("paths", format!("not a glob: {e}")));
        }
        for (field, value) in [("reason", &waiver.reason), ("owner", &waiver.owner)] {
            if value.trim().is_empty() {
                errors.push(error(field, "required, not empty".into()));
            }
        }
    }
    if errors.is_empty() {
        Ok(parsed.waivers)
    } else {
        Err(errors)
    }
}

/// The line of a waiver's field: its entry starts with `check: <id>`.
fn waiver_line(text: &str, check: &str, field: &str) -> usize {
    let keyed = text
        .replace("- check:", "- id:")
        .replace("  check:", "  id:");
    field_line(&keyed, check, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiver_holds_through_its_last_day() {
        let waiver = Waiver {
            check: "a.b".into(),
            reason: "r".into(),
            owner: "o".into(),
            expires: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            paths: Vec::new(),
        };
        assert!(!waiver.expired(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        assert!(waiver.expired(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()));
    }
}
