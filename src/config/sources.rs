//! Where configuration values come from — the process environment, `.env` files, AWS Secrets Manager — and how
//! they merge. Values are `SecretString` from the moment they are read; nothing here prints one.
//!
//! Precedence, lowest first: schema defaults, then `.env` files in the order given (a later file overrides an
//! earlier one), then Secrets Manager secrets in the order given, then the process environment (what a deploy
//! sets explicitly wins, as with dotenv).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::SecretString;

/// One key as a source holds it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: SecretString,
    /// 1-based line in an env file.
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Holds everything the process inherited: only vivr's namespaces are checked for unknown keys.
    ProcessEnv,
    File,
    SecretsManager,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// How reports name it: "process environment", the file's path, `aws-sm://name`.
    pub name: String,
    pub kind: SourceKind,
    pub entries: BTreeMap<String, Entry>,
    /// Problems of the source itself (an unreadable line, a duplicated key), as (line, message).
    pub problems: Vec<(usize, String)>,
}

impl Source {
    pub fn process_env() -> Source {
        Source::from_pairs(
            "process environment",
            SourceKind::ProcessEnv,
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs(
        name: &str,
        kind: SourceKind,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Source {
        Source {
            name: name.into(),
            kind,
            entries: pairs
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        Entry {
                            value: SecretString::from(v),
                            line: None,
                        },
                    )
                })
                .collect(),
            problems: Vec::new(),
        }
    }

    pub fn env_file(path: &Path) -> anyhow::Result<Source> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(parse_env_file(&path.display().to_string(), &text))
    }
}

/// Parses dotenv syntax: `KEY=value`, `export KEY=value`, `#` comments, blank lines, single-quoted (literal)
/// and double-quoted (`\n`, `\"`, `\\` escapes, may span lines) values, and ` # comment` after an unquoted value.
/// A line that is none of these is reported by number — never by content, which may hold a secret.
pub fn parse_env_file(name: &str, text: &str) -> Source {
    let mut source = Source {
        name: name.into(),
        kind: SourceKind::File,
        entries: BTreeMap::new(),
        problems: Vec::new(),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while let Some(raw_line) = lines.get(i) {
        let number = i + 1;
        let line = raw_line.trim_start_matches('\u{feff}').trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            source.problems.push((number, "expected KEY=value".into()));
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || key.starts_with(|c: char| c.is_ascii_digit())
        {
            source.problems.push((
                number,
                "the key must be letters, digits and underscores, not starting with a digit".into(),
            ));
            continue;
        }
        let Some(value) = value_of(key, rest.trim_start(), &lines, &mut i, |problem| {
            source.problems.push((number, problem))
        }) else {
            continue;
        };
        if source.entries.contains_key(key) {
            source.problems.push((
                number,
                format!("{key} is set again here; this later value wins"),
            ));
        }
        source.entries.insert(
            key.to_string(),
            Entry {
                value: SecretString::from(value),
                line: Some(number),
            },
        );
    }
    source
}

/// The value after `KEY=` (quotes and escapes applied; a double-quoted value may take the next lines, `i` moves
/// past them); `None` when the line is dropped. What is wrong goes to `problem`.
fn value_of(
    key: &str,
    rest: &str,
    lines: &[&str],
    i: &mut usize,
    mut problem: impl FnMut(String),
) -> Option<String> {
    if let Some(body) = rest.strip_prefix('\'') {
        match body.find('\'') {
            Some(end) => Some(body[..end].to_string()),
            None => {
                problem(format!("{key}: the single quote is not closed"));
                None
            }
        }
    } else if let Some(body) = rest.strip_prefix('"') {
        // May continue over the next lines until the closing quote.
        let mut raw = body.to_string();
        let closed = loop {
            if let Some(value) = closed_double_quoted(&raw) {
                break Some(value);
            }
            let Some(next) = lines.get(*i) else {
                break None;
            };
            raw.push('\n');
            raw.push_str(next);
            *i += 1;
        };
        Some(closed.unwrap_or_else(|| {
            problem(format!("{key}: the double quote is not closed"));
            String::new()
        }))
    } else {
        Some(match rest.find(" #") {
            Some(comment) => rest[..comment].trim_end().to_string(),
            None => rest.trim_end().to_string(),
        })
    }
}

/// The value of a double-quoted string whose opening quote is already consumed, if its closing quote is in
/// `raw`, with escapes applied.
fn closed_double_quoted(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// A key's value after merging, and the source it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub value: SecretString,
    /// The source's name, or "default".
    pub source: String,
    pub line: Option<usize>,
}

/// Merges sources given lowest precedence first (see the module documentation for the order callers use).
pub fn merge(sources: &[Source]) -> BTreeMap<String, Resolved> {
    let mut merged = BTreeMap::new();
    for source in sources {
        for (key, entry) in &source.entries {
            merged.insert(
                key.clone(),
                Resolved {
                    value: entry.value.clone(),
                    source: source.name.clone(),
                    line: entry.line,
                },
            );
        }
    }
    merged
}

/// Sorts sources into the documented precedence: files (in the given order), Secrets Manager, process env.
pub fn in_precedence(mut sources: Vec<Source>) -> Vec<Source> {
    sources.sort_by_key(|s| match s.kind {
        SourceKind::File => 0,
        SourceKind::SecretsManager => 1,
        SourceKind::ProcessEnv => 2,
    });
    sources
}

/// A source named on the command line: a file path, `env:` for the process environment, or `aws-sm://NAME`.
pub fn describe_spec(spec: &str) -> anyhow::Result<SourceSpec> {
    if spec == "env:" {
        return Ok(SourceSpec::ProcessEnv);
    }
    if let Some(name) = spec.strip_prefix("aws-sm://") {
        if name.is_empty() {
            bail!("{spec}: name the secret, aws-sm://NAME");
        }
        return Ok(SourceSpec::SecretsManager(name.to_string()));
    }
    if spec.contains("://") {
        bail!("{spec}: a source is a dotenv file, env: (the process environment) or aws-sm://NAME");
    }
    Ok(SourceSpec::File(spec.into()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    ProcessEnv,
    File(std::path::PathBuf),
    SecretsManager(String),
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn value(source: &Source, key: &str) -> String {
        source.entries[key].value.expose_secret().to_string()
    }

    #[test]
    fn dotenv_syntax() {
        let source = parse_env_file(
            ".env",
            "# comment\n\nexport A=1\nB = two words # note\nC='lit # eral \\n'\nD=\"x\\ny \\\"q\\\"\"\nE=\"multi\nline\"\nF=\nG=a#b\n",
        );
        assert!(source.problems.is_empty(), "{:?}", source.problems);
        assert_eq!(value(&source, "A"), "1");
        assert_eq!(value(&source, "B"), "two words");
        assert_eq!(value(&source, "C"), "lit # eral \\n");
        assert_eq!(value(&source, "D"), "x\ny \"q\"");
        assert_eq!(value(&source, "E"), "multi\nline");
        assert_eq!(value(&source, "F"), "");
        assert_eq!(value(&source, "G"), "a#b");
        assert_eq!(source.entries["E"].line, Some(7));
    }

    #[test]
    fn bad_lines_are_reported_by_number_without_their_content() {
        let source = parse_env_file(".env", "sk_live_abcdefgh\n1KEY=x\nA='open\nB=1\nB=2\n");
        let problems: Vec<String> = source
            .problems
            .iter()
            .map(|(line, message)| format!("{line}: {message}"))
            .collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("1: expected KEY=value"));
        assert!(problems.iter().all(|p| !p.contains("sk_live")));
        assert!(problems[3].contains("B is set again"));
        assert_eq!(value(&source, "B"), "2");
    }

    #[test]
    fn later_sources_win() {
        let a = Source::from_pairs(
            "a",
            SourceKind::File,
            [("X".into(), "1".into()), ("Y".into(), "1".into())],
        );
        let b = Source::from_pairs("b", SourceKind::File, [("X".into(), "2".into())]);
        let merged = merge(&[a, b]);
        assert_eq!(merged["X"].value.expose_secret(), "2");
        assert_eq!(merged["X"].source, "b");
        assert_eq!(merged["Y"].source, "a");
    }
}
