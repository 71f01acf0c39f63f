// A build script reports failure by panicking: that is how cargo shows it.
#![allow(clippy::panic, clippy::expect_used)]

//! Embeds `migrations/<provider>/<name>/migration.sql` into the binary, in lexicographic (= apply) order.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    // Read when the script runs, not when it is compiled: cargo reuses a compiled build script for an identical
    // package elsewhere (a worktree sharing the target directory), whose compile-time path may be gone.
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("migrations");
    println!("cargo:rerun-if-changed=migrations");
    let mut out = String::new();
    for provider in ["postgres", "sqlite"] {
        let dir = root.join(provider);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let _ = writeln!(
            out,
            "pub const {}: &[(&str, &str)] = &[",
            provider.to_uppercase()
        );
        for name in names {
            let file = dir.join(&name).join("migration.sql");
            println!("cargo:rerun-if-changed={}", file.display());
            let _ = writeln!(
                out,
                "    ({name:?}, include_str!({:?})),",
                file.display().to_string()
            );
        }
        let _ = writeln!(out, "];");
    }
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_migrations.rs");
    fs::write(dest, out).expect("write embedded_migrations.rs");
}
