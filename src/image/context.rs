//! The build context `vivr build` sends to the engine: the Dockerfile's final (runtime) stage, fed with a static
//! binary built on the host instead of the builder stage's output, and nothing else.
//!
//! The project's Dockerfile compiles vivr in a builder stage that leaves what the runtime needs under `/out`:
//! the binary (`/out/vivr`) and an empty data directory (`/out/data`). The runtime stage copies them with
//! `COPY --from=<builder> /out/…`. Here those copies read `out/…` from the context instead, where this module
//! puts the prebuilt binary and an empty directory. The engine never runs the builder stage (it cannot pull its
//! base image offline, and the legacy builder would run every stage before the target), and the runtime stage is
//! the same text in both ways in.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use parse_dockerfile::{CopyInstruction, Instruction, Source};

/// What the builder stage leaves for the runtime stage, and what the prebuilt context provides instead.
pub const BINARY: &str = "/out/vivr";
pub const DATA_DIR: &str = "/out/data";

/// The runtime stage of `dockerfile`, its `COPY --from=<stage> /out/…` read from the context's `out/…`.
pub fn runtime_stage(dockerfile: &str) -> anyhow::Result<String> {
    let parsed = parse_dockerfile::parse(dockerfile)
        .map_err(|e| anyhow::anyhow!("the Dockerfile does not parse: {e}"))?;
    let stages: Vec<_> = parsed.stages().collect();
    let Some(last) = stages.last() else {
        bail!("the Dockerfile has no FROM");
    };
    let earlier: Vec<String> = stages
        .iter()
        .take(stages.len().saturating_sub(1))
        .filter_map(|s| {
            s.from
                .as_
                .as_ref()
                .map(|(_, name)| name.value.to_lowercase())
        })
        .collect();
    let base = last.from.image.value.to_lowercase();
    if earlier.contains(&base) {
        bail!(
            "the final stage starts FROM {base}, an earlier stage: the prebuilt image needs a final stage of its own \
             (FROM scratch or a pinned base)"
        );
    }
    let start = last.from.from.span.start;
    // Global ARGs before the first FROM apply to every stage's FROM line.
    let first_from = stages.first().map_or(start, |s| s.from.from.span.start);
    let mut text = dockerfile.get(..first_from).unwrap_or_default().to_string();
    let mut cursor = start;
    for instruction in last.instructions {
        let Instruction::Copy(copy) = instruction else {
            continue;
        };
        let Some(from) = copy.options.iter().find(|f| f.name.value == "from") else {
            continue;
        };
        let stage = from
            .value
            .as_ref()
            .map(|v| v.value.to_lowercase())
            .unwrap_or_default();
        if !earlier.contains(&stage) {
            continue; // a copy from an image, not from our builder
        }
        let rewritten = from_context(copy, &stage)?;
        text += dockerfile
            .get(cursor..copy.copy.span.start)
            .unwrap_or_default();
        text += &rewritten;
        cursor = copy.dest.span.end;
    }
    text += dockerfile.get(cursor..).unwrap_or_default();
    Ok(text)
}

/// A `COPY --from=<builder>` of the runtime stage, rewritten to copy the same paths from the context's `out/`.
fn from_context(copy: &CopyInstruction<'_>, stage: &str) -> anyhow::Result<String> {
    let mut sources = Vec::new();
    for source in &copy.src {
        let Source::Path(path) = source else {
            bail!(
                "COPY --from={stage} with a here-document: the prebuilt context has nothing to offer it"
            );
        };
        let path = path.value.trim_end_matches('/');
        if path != BINARY && path != DATA_DIR {
            bail!(
                "COPY --from={stage} {path}: the prebuilt context provides only {BINARY} and {DATA_DIR} \
                 (the builder stage must leave what the runtime needs there)"
            );
        }
        sources.push(path.trim_start_matches('/').to_string());
    }
    let flags: Vec<String> = copy
        .options
        .iter()
        .filter(|f| f.name.value != "from")
        .map(|f| match &f.value {
            Some(v) => format!("--{}={}", f.name.value, v.value),
            None => format!("--{}", f.name.value),
        })
        .collect();
    Ok(["COPY".to_string()]
        .into_iter()
        .chain(flags)
        .chain(sources)
        .chain([copy.dest.value.to_string()])
        .collect::<Vec<_>>()
        .join(" "))
}

/// The build context as a tar archive: `Dockerfile` (the runtime stage), `out/vivr` (the binary, mode 0755) and
/// an empty `out/data/`. Owners are 0 and times fixed, so the same inputs give the same archive.
pub fn archive(runtime_dockerfile: &str, binary: &Path) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add =
        |path: &str, mode: u32, kind: tar::EntryType, data: &[u8]| -> anyhow::Result<()> {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_cksum();
            builder
                .append_data(&mut header, path, data)
                .with_context(|| format!("adding {path} to the build context"))
        };
    add(
        "Dockerfile",
        0o644,
        tar::EntryType::Regular,
        runtime_dockerfile.as_bytes(),
    )?;
    let binary_bytes = std::fs::read(binary)
        .with_context(|| format!("reading the binary {}", binary.display()))?;
    add("out/", 0o755, tar::EntryType::Directory, &[])?;
    add("out/vivr", 0o755, tar::EntryType::Regular, &binary_bytes)?;
    add("out/data/", 0o755, tar::EntryType::Directory, &[])?;
    let mut bytes = builder.into_inner().context("closing the build context")?;
    bytes.flush().context("closing the build context")?;
    Ok(bytes)
}

/// Whether the ELF file at `path` is statically linked (no program interpreter, no dynamic libraries needed):
/// a scratch image has no C library to load.
pub fn is_static_elf(bytes: &[u8]) -> anyhow::Result<bool> {
    let file =
        object::File::parse(bytes).context("not an executable this machine can read (ELF)")?;
    if file.format() != object::BinaryFormat::Elf {
        bail!("not an ELF executable");
    }
    let interpreter = match &file {
        object::File::Elf64(elf) => has_interpreter(elf.elf_program_headers(), elf.endian()),
        object::File::Elf32(elf) => has_interpreter(elf.elf_program_headers(), elf.endian()),
        _ => false,
    };
    Ok(!interpreter)
}

fn has_interpreter<P: object::read::elf::ProgramHeader>(headers: &[P], endian: P::Endian) -> bool {
    headers
        .iter()
        .any(|h| h.p_type(endian) == object::elf::PT_INTERP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_stage_copies_the_prebuilt_binary_from_the_context() {
        let dockerfile =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
        let runtime = runtime_stage(&dockerfile).unwrap();
        assert!(
            runtime.starts_with("# syntax") || runtime.contains("FROM scratch AS runtime"),
            "{runtime}"
        );
        assert!(!runtime.contains("--from="), "{runtime}");
        assert!(!runtime.contains("FROM rust"), "{runtime}");
        assert!(runtime.contains("COPY out/vivr /vivr"), "{runtime}");
        assert!(
            runtime.contains("COPY --chown=10001:10001 out/data /data"),
            "{runtime}"
        );
        // What is left is still a clean runtime stage.
        let lint = crate::image::lint::lint("runtime", &runtime, None);
        assert!(lint.findings.is_empty(), "{}", lint.text());
    }

    #[test]
    fn a_copy_the_prebuilt_context_cannot_feed_is_refused_by_name() {
        let dockerfile =
            "FROM scratch AS builder\nFROM scratch\nCOPY --from=builder /usr/lib/libx.so /lib/\n";
        let err = runtime_stage(dockerfile).unwrap_err().to_string();
        assert!(
            err.contains("/usr/lib/libx.so") && err.contains("/out/vivr"),
            "{err}"
        );
    }
}
