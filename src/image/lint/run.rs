//! What RUN instructions do: pipes, package managers and what they pin, downloads.

use super::*;

impl Lint<'_> {
    /// The package-manager and shell rules on one RUN's script.
    pub(super) fn run_script(&mut self, script: &str, line: usize, mounts: &[String]) {
        for command in commands(script) {
            let words: Vec<String> = command.split_whitespace().map(unquote).collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            if words.contains(&"sudo") {
                self.push(
                    "DL3004",
                    line,
                    "sudo in a RUN: the build already runs as root; drop it".into(),
                );
            }
            let program = words.first().copied().unwrap_or_default();
            let rest = words.get(1..).unwrap_or_default();
            match program {
                "apt" if rest.first().is_some_and(|w| !w.starts_with('-')) => {
                    self.push(
                        "DL3027",
                        line,
                        "apt is for people; use apt-get in scripts".into(),
                    );
                }
                "apt-get" if rest.contains(&"install") => self.apt_get(rest, line, script, mounts),
                "pip" | "pip3" | "python" | "python3" => self.pip(&words, line),
                "npm"
                    if rest
                        .first()
                        .is_some_and(|w| matches!(*w, "install" | "i" | "add")) =>
                {
                    let packages =
                        packages_after(rest, rest.first().copied().unwrap_or("install"), &[]);
                    let unpinned: Vec<&str> =
                        packages.into_iter().filter(|p| !npm_pinned(p)).collect();
                    if !unpinned.is_empty() {
                        self.push(
                            "DL3016",
                            line,
                            format!(
                                "npm install {}: pin each package (package@version)",
                                unpinned.join(" ")
                            ),
                        );
                    }
                }
                "apk" if rest.contains(&"add") => self.apk(rest, line),
                _ => {}
            }
        }
    }

    /// DL3008, DL3015, DL3009 on `apt-get install`.
    fn apt_get(&mut self, rest: &[&str], line: usize, script: &str, mounts: &[String]) {
        let packages = packages_after(rest, "install", &["-o", "-t", "--target-release"]);
        let unpinned: Vec<&str> = packages.into_iter().filter(|p| !p.contains('=')).collect();
        if !unpinned.is_empty() {
            self.push(
                "DL3008",
                line,
                format!(
                    "apt-get install {}: pin each package (package=version)",
                    unpinned.join(" ")
                ),
            );
        }
        let no_recommends = rest.contains(&"--no-install-recommends")
            || rest.iter().any(|w| w.contains("Install-Recommends=false"));
        if !no_recommends {
            self.push(
                "DL3015",
                line,
                "apt-get install without --no-install-recommends pulls in packages nobody asked for"
                    .into(),
            );
        }
        let cleans = script.contains("/var/lib/apt/lists");
        let cached = mounts.iter().any(|m| m.contains("/var/lib/apt"));
        if !cleans && !cached {
            self.push(
                "DL3009",
                line,
                "the apt lists stay in the layer: end the RUN with rm -rf /var/lib/apt/lists/*"
                    .into(),
            );
        }
    }

    /// DL3018, DL3019 on `apk add`.
    fn apk(&mut self, rest: &[&str], line: usize) {
        let packages = packages_after(rest, "add", &["-t", "--virtual", "-X", "--repository"]);
        let unpinned: Vec<&str> = packages.into_iter().filter(|p| !p.contains('=')).collect();
        if !unpinned.is_empty() {
            self.push(
                "DL3018",
                line,
                format!(
                    "apk add {}: pin each package (package=version)",
                    unpinned.join(" ")
                ),
            );
        }
        if !rest.contains(&"--no-cache") {
            self.push(
                "DL3019",
                line,
                "apk add without --no-cache keeps the index in the layer".into(),
            );
        }
    }

    /// DL3013 and DL3042 on `pip install` (also as `python -m pip install`).
    pub(super) fn pip(&mut self, words: &[&str], line: usize) {
        let Some(install) = words.iter().position(|w| *w == "install") else {
            return;
        };
        let is_pip = words.first().is_some_and(|w| w.starts_with("pip"))
            || words.windows(2).any(|w| w == ["-m", "pip"]);
        if !is_pip {
            return;
        }
        let rest = words.get(install..).unwrap_or_default();
        let from_files = rest.iter().any(|w| {
            matches!(
                *w,
                "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable"
            )
        });
        let packages = packages_after(
            rest,
            "install",
            &[
                "-r",
                "--requirement",
                "-c",
                "--constraint",
                "-i",
                "--index-url",
                "--extra-index-url",
                "-t",
                "--target",
            ],
        );
        let unpinned: Vec<&str> = packages.into_iter().filter(|p| !pip_pinned(p)).collect();
        if !unpinned.is_empty() && !from_files {
            self.push(
                "DL3013",
                line,
                format!(
                    "pip install {}: pin each package (package==version)",
                    unpinned.join(" ")
                ),
            );
        }
        if !rest.contains(&"--no-cache-dir") {
            self.push(
                "DL3042",
                line,
                "pip install without --no-cache-dir keeps its cache in the layer".into(),
            );
        }
    }
}

/// Whether a shell script pipes one command into another (`|`, not `||`).
pub(super) fn has_pipe(script: &str) -> bool {
    let bytes = script.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'|' && bytes.get(i + 1) != Some(&b'|') && (i == 0 || bytes.get(i - 1) != Some(&b'|'))
    })
}

/// The simple commands of a script, split at `&&`, `||`, `;`, `|` and newlines.
pub(super) fn commands(script: &str) -> Vec<String> {
    script
        .replace("&&", "\n")
        .replace("||", "\n")
        .replace([';', '|'], "\n")
        .lines()
        .map(|c| c.trim().trim_start_matches('(').trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

pub(super) fn unquote(word: &str) -> String {
    word.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// The arguments after `verb` that are packages: not options, not the values of `options_with_value`.
pub(super) fn packages_after<'w>(
    words: &[&'w str],
    verb: &str,
    options_with_value: &[&str],
) -> Vec<&'w str> {
    let Some(start) = words.iter().position(|w| *w == verb) else {
        return Vec::new();
    };
    let mut packages = Vec::new();
    let mut skip_next = false;
    for word in words.iter().skip(start + 1) {
        if skip_next {
            skip_next = false;
            continue;
        }
        if word.starts_with('-') {
            skip_next = options_with_value.contains(word);
            continue;
        }
        if word.starts_with('$')
            || word.contains('/') && !word.starts_with('@')
            || word.ends_with(".deb")
        {
            continue;
        }
        packages.push(*word);
    }
    packages
}

pub(super) fn pip_pinned(package: &str) -> bool {
    package.contains("==")
        || package.contains(">=")
        || package.contains("~=")
        || package.ends_with(".whl")
        || package.ends_with(".tar.gz")
        || package.starts_with('.')
        || package.contains("git+")
}

pub(super) fn npm_pinned(package: &str) -> bool {
    let name = package.strip_prefix('@').unwrap_or(package);
    name.contains('@')
        || package.starts_with('.')
        || package.contains("://")
        || package.starts_with("git")
}

pub(super) fn is_url_or_archive(source: &str) -> bool {
    const ARCHIVES: [&str; 14] = [
        ".tar",
        ".tar.gz",
        ".tgz",
        ".tar.bz2",
        ".tbz2",
        ".tb2",
        ".tbz",
        ".tar.xz",
        ".txz",
        ".tar.lz",
        ".tlz",
        ".tar.lzma",
        ".tar.Z",
        ".tz",
    ];
    source.starts_with("http://")
        || source.starts_with("https://")
        || source.starts_with("git@")
        || source.starts_with('$')
        || ARCHIVES.iter().any(|a| source.ends_with(a))
}
