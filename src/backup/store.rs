//! Where backups live. A backup is a folder named by its id holding the dump object and `manifest.json`; the
//! object is written under a temporary name and renamed when complete, and the manifest is written last.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::Manifest;

/// An object being written; `finish` makes it visible under its final name.
pub trait ObjectWriter: Write + Send {
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

pub trait BackupStore: Send + Sync {
    /// For messages: where the store is.
    fn describe(&self) -> String;
    fn writer(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn ObjectWriter>>;
    fn reader(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn Read + Send>>;
    fn size(&self, id: &str, name: &str) -> anyhow::Result<u64>;
    /// Removes whatever a failed backup left.
    fn discard(&self, id: &str);
    fn write_manifest(&self, manifest: &Manifest) -> anyhow::Result<()>;
    fn read_manifest(&self, id: &str) -> anyhow::Result<Manifest>;
    /// Every backup id present, complete or not.
    fn ids(&self) -> anyhow::Result<Vec<String>>;
    fn delete(&self, id: &str) -> anyhow::Result<()>;

    /// SHA-256 of a stored object, read back from the store.
    fn sha256(&self, id: &str, name: &str) -> anyhow::Result<String> {
        let mut reader = self.reader(id, name)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).context("reading the backup")?;
            if n == 0 {
                break;
            }
            hasher.update(super::filled(&buf, n));
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// Backups in a local directory.
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store that must exist already (to list, verify, restore or prune): a mistyped path is an error, not
    /// an empty store.
    pub fn existing(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            anyhow::bail!(
                "--store: no backup store at {} (the directory does not exist; `vivr backup create` makes one)",
                root.display()
            );
        }
        Ok(LocalStore { root })
    }

    /// A store to write to, created when missing.
    pub fn new(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("creating the backup directory {}", root.display()))?;
        Ok(LocalStore { root })
    }

    fn folder(&self, id: &str) -> anyhow::Result<PathBuf> {
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            anyhow::bail!("{id:?} is not a backup id");
        }
        Ok(self.root.join(id))
    }
}

struct LocalWriter {
    file: BufWriter<File>,
    partial: PathBuf,
    target: PathBuf,
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl ObjectWriter for LocalWriter {
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        let LocalWriter {
            file,
            partial,
            target,
        } = *self;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, &target)
            .with_context(|| format!("renaming {}", partial.display()))?;
        Ok(())
    }
}

impl BackupStore for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn writer(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn ObjectWriter>> {
        let folder = self.folder(id)?;
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let partial = folder.join(format!("{name}.partial"));
        let file =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok(Box::new(LocalWriter {
            file: BufWriter::with_capacity(1 << 20, file),
            partial,
            target: folder.join(name),
        }))
    }

    fn reader(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn Read + Send>> {
        let path = self.folder(id)?.join(name);
        let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
    }

    fn size(&self, id: &str, name: &str) -> anyhow::Result<u64> {
        let path = self.folder(id)?.join(name);
        Ok(std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len())
    }

    fn discard(&self, id: &str) {
        if let Ok(folder) = self.folder(id)
            && let Err(err) = std::fs::remove_dir_all(&folder)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %err, folder = %folder.display(), "could not remove an incomplete backup");
        }
    }

    fn write_manifest(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let folder = self.folder(&manifest.id)?;
        let partial = folder.join("manifest.json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(manifest)?)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, folder.join("manifest.json"))?;
        Ok(())
    }

    fn read_manifest(&self, id: &str) -> anyhow::Result<Manifest> {
        let path = self.folder(id)?.join("manifest.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "backup {id} has no manifest at {} (incomplete or unknown)",
                path.display()
            )
        })?;
        Manifest::parse(&bytes, id)
    }

    fn ids(&self) -> anyhow::Result<Vec<String>> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.root)
            .with_context(|| format!("reading {}", self.root.display()))?
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn delete(&self, id: &str) -> anyhow::Result<()> {
        let folder = self.folder(id)?;
        std::fs::remove_dir_all(&folder).with_context(|| format!("deleting {}", folder.display()))
    }
}
