//! The audit report for people (text tables grouped by category, worst first; markdown for a pull-request
//! comment) and for machines (JSON as is; SARIF for code scanning; JUnit for CI test views).

use std::collections::BTreeMap;

use serde_json::json;

use super::check::Category;
use super::score::Severity;
use super::{AuditReport, CheckResult, level_title, severity_name};
use crate::exit::Outcome;
use crate::output::{Report, table};

/// The width of text tables when stdout is not a terminal (a terminal's own width is used otherwise).
const TEXT_WIDTH: u16 = 120;

/// How many evidence lines a table cell shows before "(+N more)".
const EVIDENCE_SHOWN: usize = 3;

impl AuditReport {
    /// "87/100 · Silver".
    pub fn headline(&self) -> String {
        format!(
            "{}/100 · {}",
            self.score.score,
            level_title(self.score.level)
        )
    }

    fn coverage_line(&self) -> String {
        let ignored = if self.ignore_files.is_empty() {
            String::new()
        } else {
            format!(" · paths left out by {}", self.ignore_files.join(", "))
        };
        format!(
            "coverage {:.0}% ({} evaluated, {} skipped, {} unknown{}, {} waived) · {}{ignored}",
            self.score.coverage * 100.0,
            self.score.evaluated,
            self.score.skipped,
            self.score.unknown,
            if self.score.strict {
                " counted as failed"
            } else {
                ""
            },
            self.score.waived,
            self.score.algorithm
        )
    }

    /// Categories, the one losing the most weight first (then the catalogue's order), with their checks: failing
    /// ones first (heaviest loss first), then waived, unknown, passed, skipped.
    fn by_category(&self) -> Vec<(Category, f64, Vec<&CheckResult>)> {
        let mut groups: BTreeMap<Category, Vec<&CheckResult>> = BTreeMap::new();
        for c in &self.checks {
            groups.entry(c.category).or_default().push(c);
        }
        let mut groups: Vec<(Category, f64, Vec<&CheckResult>)> = groups
            .into_iter()
            .map(|(category, mut checks)| {
                checks.sort_by(|a, b| {
                    rank(a)
                        .cmp(&rank(b))
                        .then(b.lost().total_cmp(&a.lost()))
                        .then(b.severity.cmp(&a.severity))
                        .then(a.id.cmp(&b.id))
                });
                let lost = checks.iter().map(|c| c.lost()).sum();
                (category, lost, checks)
            })
            .collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        groups
    }

    /// Failing checks, heaviest loss first.
    pub fn failing(&self) -> Vec<&CheckResult> {
        let mut failing: Vec<&CheckResult> = self.checks.iter().filter(|c| c.failing()).collect();
        failing.sort_by(|a, b| b.lost().total_cmp(&a.lost()).then(a.id.cmp(&b.id)));
        failing
    }

    fn verdict(&self) -> String {
        if self.policy.passed {
            "Policy: passed.".to_string()
        } else {
            let mut text = "Policy: FAILED\n".to_string();
            for v in &self.policy.violations {
                text += &format!("  - {v}\n");
            }
            text.trim_end().to_string()
        }
    }

    pub fn markdown_text(&self) -> String {
        let mut md = format!(
            "## vivr audit: {}{}\n\n{}\n\n",
            self.headline(),
            if self.score.capped {
                " (capped: a critical check fails)"
            } else {
                ""
            },
            self.coverage_line()
        );
        if let Some(o) = &self.http {
            md += &format!(
                "HTTP Observatory-equivalent for {}: **{} · {}**{}\n\n",
                o.url,
                o.score,
                o.grade,
                o.withholding()
                    .iter()
                    .map(|t| format!(" · `{}` {:+}", t.result, t.modifier))
                    .collect::<String>()
            );
        }
        md += if self.policy.passed {
            "**Policy: passed** ✅\n\n"
        } else {
            "**Policy: failed** ❌\n\n"
        };
        for v in &self.policy.violations {
            md += &format!("- {}\n", cell(v));
        }
        if !self.policy.violations.is_empty() {
            md += "\n";
        }
        let failing = self.failing();
        if !failing.is_empty() {
            md += "| | Check | Severity | Finding | Fix |\n|---|---|---|---|---|\n";
            for c in &failing {
                md += &format!(
                    "| {} | `{}` {} | {} | {} | {} ([more]({})) |\n",
                    if c.status == "partial" { "◐" } else { "❌" },
                    c.id,
                    cell(&c.title),
                    severity_name(c.severity),
                    cell(
                        &c.evidence
                            .iter()
                            .take(EVIDENCE_SHOWN)
                            .map(|e| e.text())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    cell(&c.remediation.fix),
                    c.remediation.link
                );
            }
            md += "\n";
        }
        let rest: Vec<&CheckResult> = self.checks.iter().filter(|c| !c.failing()).collect();
        if !rest.is_empty() {
            md += &format!(
                "<details><summary>{} other check(s)</summary>\n\n",
                rest.len()
            );
            for c in rest {
                md += &format!(
                    "- {} `{}` {}{}\n",
                    c.status,
                    c.id,
                    cell(&c.title),
                    c.reason
                        .as_deref()
                        .map(|r| format!(" ({})", cell(r)))
                        .unwrap_or_default()
                );
            }
            md += "\n</details>\n";
        }
        md
    }

    pub fn junit_xml(&self) -> String {
        use quick_xml::escape::escape;
        let count = |f: &dyn Fn(&CheckResult) -> bool| self.checks.iter().filter(|c| f(c)).count();
        let not_run = |c: &CheckResult| {
            matches!(c.status.as_str(), "skipped" | "waived")
                || (c.status == "unknown" && !c.failing())
        };
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vivr audit\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
            self.checks.len(),
            count(&|c| c.failing()),
            count(&not_run),
        );
        for (category, _, checks) in self.by_category() {
            let failures = checks.iter().filter(|c| c.failing()).count();
            let skipped = checks.iter().filter(|c| not_run(c)).count();
            xml += &format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
                escape(category.title()),
                checks.len()
            );
            for c in checks {
                xml += &format!(
                    "    <testcase classname=\"{}\" name=\"{}: {}\"",
                    category.as_str(),
                    escape(c.id.as_str()),
                    escape(c.title.as_str())
                );
                if c.failing() {
                    let body: Vec<String> = c
                        .evidence
                        .iter()
                        .map(|e| e.text())
                        .chain([format!(
                            "fix: {} ({})",
                            c.remediation.fix, c.remediation.link
                        )])
                        .collect();
                    xml += &format!(
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                        severity_name(c.severity),
                        escape(c.status.as_str()),
                        escape(body.join("\n").as_str())
                    );
                } else if not_run(c) {
                    let message = match (&c.waiver, &c.reason) {
                        (Some(w), _) => {
                            format!("waived until {} by {}: {}", w.expires, w.owner, w.reason)
                        }
                        (None, Some(r)) => format!("{}: {r}", c.status),
                        (None, None) => c.status.clone(),
                    };
                    xml += &format!(
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(message.as_str())
                    );
                } else {
                    xml += "/>\n";
                }
            }
            xml += "  </testsuite>\n";
        }
        xml += "</testsuites>\n";
        xml
    }
}

/// The Observatory-equivalent grading: score, grade, what withholds A+, each test.
fn observatory_text(o: &super::http::Observatory) -> String {
    let mut text = format!(
        "\nHTTP — {}: {} · {} (MDN HTTP Observatory's tests, modifiers and grades)\n",
        o.url, o.score, o.grade
    );
    let withholding = o.withholding();
    if o.grade != "A+" || !withholding.is_empty() {
        for t in &withholding {
            text += &format!(
                "  withheld by {}: {} ({:+})\n",
                t.test, t.result, t.modifier
            );
        }
    }
    for n in &o.not_evaluated {
        text += &format!("  not evaluated: {n}\n");
    }
    let mut t = table(["test", "result", "modifier", "seen"]);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        t.set_width(TEXT_WIDTH);
    }
    for r in &o.tests {
        t.add_row([
            r.test.clone(),
            r.result.clone(),
            format!("{:+}", r.modifier),
            r.data.clone().unwrap_or_default(),
        ]);
    }
    text += &format!("{t}\n");
    for c in &o.caching {
        text += &format!(
            "  cache, {}: {} → {} ({})\n",
            c.what,
            c.url,
            c.cache_control.as_deref().unwrap_or("no Cache-Control"),
            c.why
        );
    }
    text
}

/// Text safe in a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Failing first, then waived, unknown, passed, skipped.
fn rank(c: &CheckResult) -> u8 {
    match c.status.as_str() {
        _ if c.failing() => 0,
        "waived" => 1,
        "unknown" => 2,
        "pass" => 3,
        _ => 4,
    }
}

/// Scorecard's mapping of risk to GitHub's security-severity.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.0",
        Severity::High => "7.0",
        Severity::Medium => "4.0",
        Severity::Low => "1.0",
    }
}

/// What the report says was seen for a check: its waiver, why it has no result, or its first evidence.
fn seen(c: &CheckResult) -> String {
    match (&c.waiver, &c.reason) {
        (Some(w), _) => format!("waived until {} by {}: {}", w.expires, w.owner, w.reason),
        (None, Some(r)) => r.clone(),
        (None, None) => {
            let mut lines: Vec<String> = c
                .evidence
                .iter()
                .take(EVIDENCE_SHOWN)
                .map(|e| e.text())
                .collect();
            if c.evidence.len() > EVIDENCE_SHOWN {
                lines.push(format!("(+{} more)", c.evidence.len() - EVIDENCE_SHOWN));
            }
            lines.join("\n")
        }
    }
}

fn status_text(c: &CheckResult) -> String {
    match c.credit {
        Some(credit) if c.status == "partial" => format!("partial {:.0}%", credit * 100.0),
        _ => c.status.replace('_', " "),
    }
}

impl Report for AuditReport {
    fn text(&self) -> String {
        let mut text = format!(
            "vivr audit of {}: {}{}\n{}\n",
            self.repository,
            self.headline(),
            if self.score.capped {
                " (capped at 49: a critical check fails)"
            } else {
                ""
            },
            self.coverage_line()
        );
        if let Some(o) = &self.http {
            text += &observatory_text(o);
        }
        for (category, lost, checks) in self.by_category() {
            let failing = checks.iter().filter(|c| c.failing()).count();
            text += &format!(
                "\n{} — {}\n",
                category.title(),
                if failing == 0 {
                    format!("{} check(s), none failing", checks.len())
                } else {
                    format!("{failing} failing, −{lost:.1} weight")
                }
            );
            let mut t = table(["status", "severity", "check", "what was seen"]);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                t.set_width(TEXT_WIDTH);
            }
            for c in checks {
                t.add_row([
                    status_text(c),
                    severity_name(c.severity).to_string(),
                    format!("{}\n{}", c.id, c.title),
                    seen(c),
                ]);
            }
            text += &format!("{t}\n");
        }
        let failing = self.failing();
        if !failing.is_empty() {
            text += "\nFix first:\n";
            for c in failing {
                text += &format!(
                    "  {} (−{:.1}): {} — {}\n",
                    c.id,
                    c.lost(),
                    c.remediation.fix,
                    c.remediation.link
                );
            }
            text += "  `vivr audit --explain ID` says more about a check.\n";
        }
        for unused in &self.policy.unused_waivers {
            text += &format!("\nNote: {unused}\n");
        }
        if !self.policy.known_failures.is_empty() {
            text += &format!(
                "\nAlready failing in the baseline (not held against this run): {}\n",
                self.policy.known_failures.join(", ")
            );
        }
        text += &format!("\n{}\n", self.verdict());
        text
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.policy.passed)
    }

    fn markdown(&self) -> Option<String> {
        Some(self.markdown_text())
    }

    fn junit(&self) -> Option<String> {
        Some(self.junit_xml())
    }

    fn sarif(&self) -> Option<serde_json::Value> {
        let failing = self.failing();
        let rules: Vec<crate::sarif::Rule> = failing
            .iter()
            .map(|c| crate::sarif::Rule {
                id: c.id.clone(),
                text: c.title.clone(),
                help: Some(format!("{} ({})", c.remediation.fix, c.remediation.link)),
                help_uri: c
                    .remediation
                    .link
                    .starts_with("https://")
                    .then(|| c.remediation.link.clone()),
                properties: Some(json!({
                    "security-severity": security_severity(c.severity),
                    "tags": [c.category.as_str()],
                    "problem.severity": match c.severity {
                        Severity::Critical | Severity::High => "error",
                        Severity::Medium => "warning",
                        Severity::Low => "recommendation",
                    },
                })),
            })
            .collect();
        let mut results = Vec::new();
        for c in failing {
            let level = match c.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low => "note",
            };
            let properties = json!({
                "severity": severity_name(c.severity),
                "status": c.status,
                "credit": c.credit,
                "references": c.references,
            });
            let evidence: Vec<&super::ReportedEvidence> = c.evidence.iter().collect();
            if evidence.is_empty() {
                results.push(crate::sarif::Result {
                    rule: c.id.clone(),
                    level,
                    message: format!("{}: {}", c.title, c.remediation.fix),
                    location: None,
                    properties: properties.clone(),
                });
            }
            for e in evidence {
                results.push(crate::sarif::Result {
                    rule: c.id.clone(),
                    level,
                    message: format!("{} — {}", e.message, c.remediation.fix),
                    location: e.file.clone().map(|f| (f, e.line.unwrap_or(1))),
                    properties: properties.clone(),
                });
            }
        }
        Some(crate::sarif::log_with_rules("vivr audit", &rules, &results))
    }
}
