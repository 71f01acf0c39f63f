//! The audit's score, computed the same way every time from the checks' outcomes:
//! `round(100 · Σ wᵢsᵢ / Σ wᵢ)` over the evaluated checks, with weights critical 10, high 7.5, medium 5, low 2.5
//! and sᵢ in [0, 1] (partial credit for checks with tiers). Any failed critical check caps the score at 49. A
//! level (Bronze, Silver, Gold) is reached when every evaluated check at it and below passes. Checks that do not
//! apply (skipped) are left out; checks that could not be evaluated (unknown) are left out too unless `strict`,
//! but lower the coverage; waived checks are left out and listed, never counted as passed; an expired waiver
//! counts as a failure.

use serde::{Deserialize, Serialize};

/// The version of this algorithm, printed with every score so that two scores can be compared.
pub const ALGORITHM: &str = "vivr-audit-score/1";

/// The highest score a repository with a failed critical check can get.
pub const CRITICAL_CAP: u32 = 49;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn weight(self) -> f64 {
        match self {
            Severity::Critical => 10.0,
            Severity::High => 7.5,
            Severity::Medium => 5.0,
            Severity::Low => 2.5,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Bronze,
    Silver,
    Gold,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// A tiered check met part of its tiers: the share, in (0, 1).
    Partial {
        credit: f64,
    },
    Fail,
    /// The check does not apply to this repository (its `applies_when` is false).
    Skipped,
    /// The check could not be evaluated (a probe not asked for, an unreadable file).
    Unknown,
    /// A waiver in the repository covers the check; reported, left out of the score.
    Waived,
    /// The waiver expired: the check counts as failed.
    WaiverExpired,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub id: String,
    pub severity: Severity,
    pub level: Level,
    #[serde(flatten)]
    pub status: Status,
}

/// The score as computed, reported and read back from a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub score: u32,
    /// A failed critical check held the score at [`CRITICAL_CAP`].
    pub capped: bool,
    /// The highest level reached, if any.
    pub level: Option<Level>,
    /// The evaluated checks' share of the weight of every applicable check (unknown ones lower it), in [0, 1].
    pub coverage: f64,
    pub evaluated: usize,
    pub unknown: usize,
    pub skipped: usize,
    pub waived: usize,
    pub algorithm: String,
    /// Unknown checks were counted as failed (`--strict`).
    pub strict: bool,
}

impl Status {
    /// The credit a check earns, or `None` when it is left out.
    fn credit(self, strict: bool) -> Option<f64> {
        match self {
            Status::Pass => Some(1.0),
            Status::Partial { credit } => Some(credit.clamp(0.0, 1.0)),
            Status::Fail | Status::WaiverExpired => Some(0.0),
            Status::Unknown if strict => Some(0.0),
            Status::Unknown | Status::Skipped | Status::Waived => None,
        }
    }
}

/// The score of `outcomes`; `strict` counts unknown checks as failed.
pub fn score(outcomes: &[Outcome], strict: bool) -> Score {
    let mut earned = 0.0;
    let mut possible = 0.0;
    let mut unknown_weight = 0.0;
    let mut capped = false;
    // The lowest level at which something evaluated did not fully pass.
    let mut first_gap: Option<Level> = None;
    for outcome in outcomes {
        let weight = outcome.severity.weight();
        if outcome.status == Status::Unknown {
            unknown_weight += weight;
        }
        let Some(credit) = outcome.status.credit(strict) else {
            continue;
        };
        earned += weight * credit;
        possible += weight;
        if credit < 1.0 {
            first_gap = Some(first_gap.map_or(outcome.level, |gap| gap.min(outcome.level)));
            if credit == 0.0 && outcome.severity == Severity::Critical {
                capped = true;
            }
        }
    }
    let raw = if possible > 0.0 {
        (100.0 * earned / possible).round() as u32
    } else {
        0
    };
    let level = match first_gap {
        None if possible > 0.0 => Some(Level::Gold),
        None => None,
        Some(Level::Bronze) => None,
        Some(Level::Silver) => Some(Level::Bronze),
        Some(Level::Gold) => Some(Level::Silver),
    };
    let count = |wanted: fn(&Status) -> bool| outcomes.iter().filter(|o| wanted(&o.status)).count();
    let applicable = possible + if strict { 0.0 } else { unknown_weight };
    Score {
        score: if capped { raw.min(CRITICAL_CAP) } else { raw },
        capped: capped && raw > CRITICAL_CAP,
        level,
        coverage: if applicable > 0.0 {
            possible / applicable
        } else {
            0.0
        },
        evaluated: outcomes
            .iter()
            .filter(|o| o.status.credit(strict).is_some())
            .count(),
        unknown: count(|s| *s == Status::Unknown),
        skipped: count(|s| *s == Status::Skipped),
        waived: count(|s| *s == Status::Waived),
        algorithm: ALGORITHM.to_string(),
        strict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, severity: Severity, level: Level, status: Status) -> Outcome {
        Outcome {
            id: id.into(),
            severity,
            level,
            status,
        }
    }

    use Level::{Bronze, Gold, Silver};
    use Severity::{Critical, High, Low, Medium};
    use Status::{Fail, Pass, Skipped, Unknown, Waived, WaiverExpired};

    #[test]
    fn the_score_is_the_weighted_share_of_credit() {
        // 10 + 7.5 earned of 10 + 7.5 + 5 + 2.5 = 25 → 70.
        let outcomes = [
            check("a", Critical, Bronze, Pass),
            check("b", High, Bronze, Pass),
            check("c", Medium, Silver, Fail),
            check("d", Low, Gold, Fail),
        ];
        let s = score(&outcomes, false);
        assert_eq!(s.score, 70);
        assert_eq!(s.level, Some(Bronze));
        assert_eq!(s.algorithm, ALGORITHM);
        // Partial credit: half of the medium check → (17.5 + 2.5) / 25 = 80.
        let mut partial = outcomes.clone();
        partial[2].status = Status::Partial { credit: 0.5 };
        assert_eq!(score(&partial, false).score, 80);
    }

    #[test]
    fn a_failed_critical_check_caps_the_score_at_49() {
        let outcomes = [
            check("a", Critical, Bronze, Fail),
            check("b", High, Bronze, Pass),
            check("c", High, Bronze, Pass),
            check("d", High, Bronze, Pass),
        ];
        let s = score(&outcomes, false);
        // Uncapped: 22.5 / 32.5 = 69.
        assert_eq!(s.score, 49);
        assert!(s.capped);
        assert_eq!(s.level, None);
        // Fixing the critical one moves the score by its weight: 100.
        let mut fixed = outcomes.clone();
        fixed[0].status = Pass;
        let s = score(&fixed, false);
        assert_eq!((s.score, s.capped, s.level), (100, false, Some(Gold)));
    }

    #[test]
    fn a_level_needs_every_check_at_it_and_below() {
        let base = [
            check("b1", High, Bronze, Pass),
            check("s1", Medium, Silver, Pass),
            check("g1", Low, Gold, Pass),
        ];
        assert_eq!(score(&base, false).level, Some(Gold));
        let mut gold_gap = base.clone();
        gold_gap[2].status = Fail;
        assert_eq!(score(&gold_gap, false).level, Some(Silver));
        let mut silver_gap = base.clone();
        silver_gap[1].status = Status::Partial { credit: 0.9 };
        assert_eq!(score(&silver_gap, false).level, Some(Bronze));
        let mut bronze_gap = base;
        bronze_gap[0].status = Fail;
        assert_eq!(score(&bronze_gap, false).level, None);
    }

    #[test]
    fn skipped_unknown_and_waived_checks_are_left_out_and_strict_counts_unknown_as_failed() {
        let outcomes = [
            check("a", High, Bronze, Pass),
            check("b", High, Bronze, Skipped),
            check("c", High, Bronze, Unknown),
            check("d", High, Silver, Waived),
        ];
        let s = score(&outcomes, false);
        assert_eq!(
            (s.score, s.evaluated, s.unknown, s.skipped, s.waived),
            (100, 1, 1, 1, 1)
        );
        assert!((s.coverage - 0.5).abs() < 1e-9, "{s:?}");
        assert_eq!(
            s.level,
            Some(Gold),
            "waived is not a gap, but never a pass either"
        );
        let strict = score(&outcomes, true);
        assert_eq!(
            (strict.score, strict.evaluated, strict.level),
            (50, 2, None)
        );
        assert!((strict.coverage - 1.0).abs() < 1e-9);
    }

    #[test]
    fn an_expired_waiver_fails_the_check() {
        let outcomes = [
            check("a", Critical, Bronze, WaiverExpired),
            check("b", Low, Bronze, Pass),
        ];
        let s = score(&outcomes, false);
        assert_eq!(s.score, 20);
        assert_eq!(s.level, None);
    }

    #[test]
    fn nothing_evaluated_scores_nothing() {
        let s = score(&[check("a", High, Bronze, Skipped)], false);
        assert_eq!((s.score, s.level, s.evaluated), (0, None, 0));
        assert_eq!(s.coverage, 0.0);
    }
}
