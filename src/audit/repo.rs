//! The repository an audit reads: its files (what git would track: `.gitignore` honoured, `.git` left out),
//! read once each, and the globs checks name them by.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context as _;
use globset::{Glob, GlobBuilder, GlobMatcher};

/// Files larger than this are not read as text (a checked-in binary or dump is not configuration).
const MAX_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// The audit's own ignore file, in gitignore syntax, honoured in the audited folder and below (never above it: a
/// folder audited on its own is read whole).
pub const IGNORE_FILE: &str = ".vivr-auditignore";

/// A repository on disk, walked once.
pub struct Repo {
    root: PathBuf,
    /// Every file, relative to the root with `/` separators, sorted.
    files: Vec<String>,
    texts: RefCell<HashMap<String, Option<Rc<str>>>>,
}

impl Repo {
    /// Walks `root`, honouring `.gitignore` and `.vivr-auditignore` files (and `.git/info/exclude` in a git
    /// repository).
    pub fn open(root: &Path) -> anyhow::Result<Repo> {
        let meta = std::fs::metadata(root)
            .with_context(|| format!("the repository {} cannot be read", root.display()))?;
        anyhow::ensure!(
            meta.is_dir(),
            "the repository {} is not a folder",
            root.display()
        );
        let mut files = Vec::new();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .parents(false)
            // What git tracks, not what a search tool's `.ignore` hides; `.vivr-auditignore` files (gitignore
            // syntax, relative to their folder) leave out what is not the repository's own, such as the
            // repositories its tests audit.
            .ignore(false)
            .add_custom_ignore_filename(IGNORE_FILE)
            .require_git(false)
            .filter_entry(|entry| entry.file_name() != ".git")
            .build();
        for entry in walker {
            let entry = entry.with_context(|| format!("walking {}", root.display()))?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(root) else {
                continue;
            };
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push(parts.join("/"));
        }
        files.sort_unstable();
        Ok(Repo {
            root: root.to_path_buf(),
            files,
            texts: RefCell::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The files matching any of `globs`, in order.
    pub fn matching<'a>(&'a self, globs: &'a Globs) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .iter()
            .map(String::as_str)
            .filter(|f| globs.is_match(f))
    }

    pub fn exists(&self, file: &str) -> bool {
        self.files
            .binary_search_by(|f| f.as_str().cmp(file))
            .is_ok()
    }

    /// The text of a file, or `None` when it is missing, too large, or not UTF-8.
    pub fn text(&self, file: &str) -> Option<Rc<str>> {
        if let Some(text) = self.texts.borrow().get(file) {
            return text.clone();
        }
        let path = self.root.join(file);
        let text = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.len() <= MAX_TEXT_BYTES)
            .and_then(|_| std::fs::read_to_string(&path).ok())
            .map(Rc::from);
        self.texts
            .borrow_mut()
            .insert(file.to_string(), text.clone());
        text
    }
}

/// One or more globs over repository paths: `*` stays within a folder, `**` crosses folders, `{a,b}` picks.
#[derive(Debug, Clone)]
pub struct Globs {
    patterns: Vec<String>,
    matchers: Vec<GlobMatcher>,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Result<Globs, globset::Error> {
        let matchers = patterns
            .iter()
            .map(|p| glob(p).map(|g| g.compile_matcher()))
            .collect::<Result<_, _>>()?;
        Ok(Globs {
            patterns: patterns.to_vec(),
            matchers,
        })
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(path))
    }

    /// The patterns, joined for a message: `Dockerfile` or `a, b`.
    pub fn describe(&self) -> String {
        self.patterns.join(", ")
    }
}

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// The 1-based line of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line where `needle` first appears in `text`, if it does.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|at| line_at(text, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_keep_star_within_a_folder() {
        let g = Globs::new(&[".github/workflows/*.{yml,yaml}".into()]).unwrap();
        assert!(g.is_match(".github/workflows/ci.yml"));
        assert!(!g.is_match(".github/workflows/sub/ci.yml"));
        let any = Globs::new(&["**/Dockerfile".into()]).unwrap();
        assert!(any.is_match("Dockerfile"));
        assert!(any.is_match("deploy/web/Dockerfile"));
    }

    /// A folder holding these files.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_walk_honours_gitignore_and_skips_git() {
        let dir = tree(&[
            (".gitignore", "target/\n*.log\n"),
            ("src/main.rs", "fn main() {}"),
            ("target/debug/x", "binary"),
            ("run.log", "noise"),
            (".git/config", "[core]"),
            (".github/workflows/ci.yml", "on: push"),
        ]);
        let repo = Repo::open(dir.path()).unwrap();
        assert_eq!(
            repo.files(),
            [".github/workflows/ci.yml", ".gitignore", "src/main.rs"]
        );
        assert_eq!(repo.text("src/main.rs").as_deref(), Some("fn main() {}"));
        assert!(repo.text("missing").is_none());
    }

    #[test]
    fn an_auditignore_leaves_out_its_folders_repositories_unless_one_is_audited_itself() {
        let dir = tree(&[
            ("Cargo.toml", "[package]"),
            ("tests/fixtures/.vivr-auditignore", "/*/\n"),
            ("tests/fixtures/app/.env", "SECRET=1"),
            ("tests/fixtures/app/package.json", "{}"),
            (".ignore", "Cargo.toml\n"),
        ]);
        let repo = Repo::open(dir.path()).unwrap();
        assert_eq!(
            repo.files(),
            [".ignore", "Cargo.toml", "tests/fixtures/.vivr-auditignore"]
        );
        let fixture = Repo::open(&dir.path().join("tests/fixtures/app")).unwrap();
        assert_eq!(fixture.files(), [".env", "package.json"]);
    }
}
