//! The runbooks stay true to the CLI: every `vivr …` command in a runbook's shell block parses with the current
//! CLI, and every `vivr …` named inline names a real command with real flags (its required arguments may be left
//! to the reader). A renamed flag or subcommand fails here, not during an incident.

use std::path::Path;

use clap::Parser;
use clap::error::ErrorKind;

/// The `vivr` command lines of a markdown text: (line number, words, whether it is a whole command from a shell
/// block). Shell blocks join `\` continuations and drop leading `VAR=value` words; a redirection or a pipe ends
/// the command; `$(…)` and quotes are left to shlex.
fn commands(text: &str) -> Vec<(usize, Vec<String>, bool)> {
    let mut found = Vec::new();
    let mut in_shell = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            in_shell = !in_shell && matches!(fence, "sh" | "bash" | "shell" | "console");
            continue;
        }
        if in_shell {
            let (start, joined) = match pending.take() {
                Some((start, before)) => (start, format!("{before} {trimmed}")),
                None => (number, trimmed.to_string()),
            };
            if let Some(open) = joined.strip_suffix('\\') {
                pending = Some((start, open.trim_end().to_string()));
                continue;
            }
            let words = shlex::split(&joined)
                .unwrap_or_else(|| panic!("line {start}: unbalanced quotes: {joined}"));
            let words: Vec<String> = words
                .into_iter()
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .take_while(|w| !matches!(w.as_str(), "<" | ">" | "|" | "&&" | ";"))
                .collect();
            if words.first().is_some_and(|w| w == "vivr") {
                found.push((start, words, true));
            }
            continue;
        }
        for (at, _) in line.match_indices("`vivr ") {
            let rest = line.get(at + 1..).unwrap_or_default();
            let Some(end) = rest.find('`') else { continue };
            let span = rest.get(..end).unwrap_or_default();
            let words = shlex::split(span).unwrap_or_default();
            let words: Vec<String> = words
                .into_iter()
                .take_while(|w| !matches!(w.as_str(), "<" | ">" | "|" | "…"))
                .collect();
            found.push((number, words, false));
        }
    }
    found
}

#[test]
fn every_vivr_command_in_the_runbooks_parses_with_the_current_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no runbook in {}", root.display());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, words, whole) in commands(&text) {
            checked += 1;
            let Err(err) = vivr::cli::Cli::try_parse_from(&words) else {
                continue;
            };
            // An inline mention may leave out what the reader fills in; a shell block must be complete.
            let acceptable = !whole
                && matches!(
                    err.kind(),
                    ErrorKind::MissingRequiredArgument
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                        | ErrorKind::MissingSubcommand
                );
            if !acceptable {
                problems.push(format!(
                    "{}:{line}: `{}`: {}",
                    file.display(),
                    words.join(" "),
                    err.kind()
                ));
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} commands found in the runbooks"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_renamed_flag_in_a_runbook_would_be_caught() {
    let text = "Run `vivr backup list --stores DIR`.\n\n```sh\nvivr backup verify ID --level 3 \\\n  --store s3://b/p\n```\n";
    let found = commands(text);
    assert_eq!(found.len(), 2);
    let (_, inline, whole) = &found[0];
    assert!(!whole);
    let err = vivr::cli::Cli::try_parse_from(inline).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownArgument);
    let (line, block, whole) = &found[1];
    assert!(*whole && *line == 4, "{found:?}");
    assert!(vivr::cli::Cli::try_parse_from(block).is_ok(), "{block:?}");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every file under `dir` (recursively) whose name ends with one of `extensions`.
fn files_under(dir: &Path, extensions: &[&str], out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, extensions, out);
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
        {
            out.push(path);
        }
    }
}

/// Every link to a runbook — `runbooks/NAME.md#anchor` in vivr's messages and README, `(NAME.md#anchor)` between
/// runbooks — names a runbook that exists and, with an anchor, one of its headings.
#[test]
fn every_link_to_a_runbook_resolves_to_a_file_and_a_heading() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runbooks = root.join("runbooks");
    let mut sources = vec![root.join("README.md")];
    files_under(&root.join("src"), &["rs"], &mut sources);
    files_under(&root.join("shop/src"), &["rs"], &mut sources);
    files_under(
        &root.join(".github/workflows"),
        &["yml", "yaml"],
        &mut sources,
    );
    let mut pages = Vec::new();
    files_under(&runbooks, &["md"], &mut pages);
    let link = regex::Regex::new(r"runbooks/([A-Za-z0-9_-]+\.md)(#[A-Za-z0-9_%-]+)?").unwrap();
    let relative = regex::Regex::new(r"\]\(([A-Za-z0-9_-]+\.md)(#[^)\s]*)?\)").unwrap();
    let mut links = Vec::new();
    for file in sources.iter().chain(&pages) {
        let text = std::fs::read_to_string(file).unwrap();
        let pattern = if pages.contains(file) {
            &relative
        } else {
            &link
        };
        for (i, line) in text.lines().enumerate() {
            for c in pattern.captures_iter(line) {
                links.push((
                    format!("{}:{}", file.display(), i + 1),
                    c.get(1).unwrap().as_str().to_string(),
                    c.get(2)
                        .map(|a| a.as_str().trim_start_matches('#').to_string()),
                ));
            }
        }
    }
    assert!(links.len() >= 10, "only {} links found", links.len());
    let mut problems = Vec::new();
    for (at, page, fragment) in &links {
        let Ok(text) = std::fs::read_to_string(runbooks.join(page)) else {
            problems.push(format!("{at}: runbooks/{page} does not exist"));
            continue;
        };
        if let Some(fragment) = fragment {
            let headings: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|l| anchor(l.trim_start_matches('#')))
                .collect();
            if !headings.contains(fragment) {
                problems.push(format!(
                    "{at}: runbooks/{page} has no heading #{fragment} (it has {headings:?})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
