//! The build context's `.dockerignore`, and inline `# vivr:ignore` comments.

use std::path::Path;

use super::*;

impl Lint<'_> {
    /// VIVR005: the `.dockerignore` next to the build context.
    pub(super) fn dockerignore(&mut self, context: &Path) {
        let path = context.join(".dockerignore");
        let Ok(text) = std::fs::read_to_string(&path) else {
            self.push(
                "VIVR005",
                1,
                format!(
                    "no .dockerignore in {}: the whole directory ({}) would be sent to the engine",
                    context.display(),
                    MUST_IGNORE.join(", ")
                ),
            );
            return;
        };
        let file = path.display().to_string();
        for entry in MUST_IGNORE {
            if !ignored_by(&text, entry) {
                self.findings.push(Finding {
                    rule: "VIVR005",
                    level: Level::Error,
                    file: file.clone(),
                    line: 1,
                    message: format!(
                        "{file} does not exclude {entry}: add a line `{entry}{}`",
                        if entry == ".env" { "*" } else { "" }
                    ),
                });
            }
        }
    }
}

/// Whether `.dockerignore` text excludes `entry` (a top-level name): the last pattern that matches it decides,
/// as the engine reads the file.
pub(super) fn ignored_by(text: &str, entry: &str) -> bool {
    let mut excluded = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let pattern = pattern
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/');
        let pattern = pattern.strip_prefix("**/").unwrap_or(pattern);
        let candidates: &[&str] = if entry == ".env" {
            &[".env", ".env.production"]
        } else {
            &[entry]
        };
        if candidates.iter().any(|c| wildcard(pattern, c)) {
            excluded = !negated;
        }
    }
    excluded
}

/// `*` (any run of characters but `/`), `**` (anything) and `?`, as `.dockerignore` patterns use them.
pub(super) fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                let double = p.get(1) == Some(&b'*');
                let rest = if double {
                    p.get(2..).unwrap_or_default()
                } else {
                    p.get(1..).unwrap_or_default()
                };
                (0..=n.len()).any(|i| {
                    let skipped = n.get(..i).unwrap_or_default();
                    (double || !skipped.contains(&b'/')) && go(rest, n.get(i..).unwrap_or_default())
                })
            }
            (Some(b'?'), Some(c)) if *c != b'/' => go(
                p.get(1..).unwrap_or_default(),
                n.get(1..).unwrap_or_default(),
            ),
            (Some(a), Some(b)) if a == b => go(
                p.get(1..).unwrap_or_default(),
                n.get(1..).unwrap_or_default(),
            ),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Drops the findings an inline `# vivr ignore=RULES: reason` names on the line before their instruction;
/// an ignore without a reason is a finding of its own.
pub(super) fn apply_ignores(
    text: &str,
    findings: Vec<Finding>,
    file: &str,
) -> (Vec<Finding>, Vec<Ignored>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut pragmas: Vec<(usize, Vec<String>, String)> = Vec::new();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix('#').map(str::trim) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix("vivr ignore=") else {
            continue;
        };
        let (ids, reason) = rest
            .split_once(':')
            .map_or((rest, ""), |(ids, reason)| (ids, reason.trim()));
        let ids: Vec<String> = ids.split(',').map(|s| s.trim().to_string()).collect();
        if reason.is_empty() {
            kept.push(Finding {
                rule: "VIVR006",
                level: Level::Error,
                file: file.to_string(),
                line: i + 1,
                message: format!(
                    "`vivr ignore={}` gives no reason: write `# vivr ignore={}: why it is safe here`",
                    ids.join(","),
                    ids.join(",")
                ),
            });
            continue;
        }
        // The pragma covers the next instruction: the next line that is neither blank nor a comment.
        let target = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(j, _)| j + 1);
        if let Some(target) = target {
            pragmas.push((target, ids, reason.to_string()));
        }
    }
    let mut ignored = Vec::new();
    for finding in findings {
        let pragma = pragmas.iter().find(|(line, ids, _)| {
            *line == finding.line && finding.file == file && ids.iter().any(|id| id == finding.rule)
        });
        match pragma {
            Some((line, _, reason)) => ignored.push(Ignored {
                rule: finding.rule.to_string(),
                line: *line,
                reason: reason.clone(),
            }),
            None => kept.push(finding),
        }
    }
    kept.sort_by(|a, b| (a.file != file, a.line, a.rule).cmp(&(b.file != file, b.line, b.rule)));
    (kept, ignored)
}
