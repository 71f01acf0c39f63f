//! Where backups live. A backup is a folder named by its id holding the dump object and `manifest.json`; the
//! object is written under a temporary name and renamed when complete, and the manifest is written last.

use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::fs::File;
use tokio::io::{AsyncRead, AsyncWriteExt, BufWriter};

use super::{CHUNK, Manifest, Tap};

/// A stored object, as it is read back.
pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// An object being written, invisible until `finish`.
#[async_trait]
pub trait ObjectWriter: Send {
    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()>;
    /// Makes the object visible under its final name.
    async fn finish(self: Box<Self>) -> anyhow::Result<()>;
    /// Gives the object up: nothing of it stays in the store.
    async fn abort(self: Box<Self>);
}

#[async_trait]
pub trait BackupStore: Send + Sync {
    /// For messages: where the store is.
    fn describe(&self) -> String;
    async fn writer(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn ObjectWriter>>;
    async fn reader(&self, id: &str, name: &str) -> anyhow::Result<ObjectReader>;
    async fn size(&self, id: &str, name: &str) -> anyhow::Result<u64>;
    /// Removes whatever a failed backup left.
    async fn discard(&self, id: &str);
    async fn write_manifest(&self, manifest: &Manifest) -> anyhow::Result<()>;
    async fn read_manifest(&self, id: &str) -> anyhow::Result<Manifest>;
    /// Every backup id present, complete or not.
    async fn ids(&self) -> anyhow::Result<Vec<String>>;
    async fn delete(&self, id: &str) -> anyhow::Result<()>;

    /// SHA-256 of a stored object, read back from the store.
    async fn sha256(&self, id: &str, name: &str) -> anyhow::Result<String> {
        let mut hasher = Sha256::new();
        let reader = self.reader(id, name).await?;
        let mut hashing = Tap::new(reader, |bytes| hasher.update(bytes));
        tokio::io::copy_buf(
            &mut tokio::io::BufReader::with_capacity(CHUNK, &mut hashing),
            &mut tokio::io::sink(),
        )
        .await
        .context("reading the backup")?;
        drop(hashing);
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
    pub async fn existing(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
            anyhow::bail!(
                "--store: no backup store at {} (the directory does not exist; `vivr backup create` makes one)",
                root.display()
            );
        }
        Ok(LocalStore { root })
    }

    /// A store to write to, created when missing.
    pub async fn new(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        tokio::fs::create_dir_all(&root)
            .await
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

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.file
            .write_all(bytes)
            .await
            .with_context(|| format!("writing {}", self.partial.display()))
    }

    async fn finish(self: Box<Self>) -> anyhow::Result<()> {
        let LocalWriter {
            mut file,
            partial,
            target,
        } = *self;
        file.flush()
            .await
            .with_context(|| format!("writing {}", partial.display()))?;
        file.get_ref().sync_all().await?;
        tokio::fs::rename(&partial, &target)
            .await
            .with_context(|| format!("renaming {}", partial.display()))
    }

    async fn abort(self: Box<Self>) {
        let LocalWriter { file, partial, .. } = *self;
        drop(file);
        remove_quietly(tokio::fs::remove_file(&partial).await, &partial);
    }
}

/// Logs a removal that failed for another reason than the thing being gone already.
fn remove_quietly(removed: std::io::Result<()>, path: &std::path::Path) {
    if let Err(err) = removed
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %err, path = %path.display(), "could not remove an incomplete backup");
    }
}

#[async_trait]
impl BackupStore for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn writer(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn ObjectWriter>> {
        let folder = self.folder(id)?;
        tokio::fs::create_dir_all(&folder)
            .await
            .with_context(|| format!("creating {}", folder.display()))?;
        let partial = folder.join(format!("{name}.partial"));
        let file = File::create(&partial)
            .await
            .with_context(|| format!("creating {}", partial.display()))?;
        Ok(Box::new(LocalWriter {
            file: BufWriter::with_capacity(CHUNK, file),
            partial,
            target: folder.join(name),
        }))
    }

    async fn reader(&self, id: &str, name: &str) -> anyhow::Result<ObjectReader> {
        let path = self.folder(id)?.join(name);
        let file = File::open(&path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        // Large reads: each read of a tokio file is a trip to a blocking thread.
        Ok(Box::new(tokio::io::BufReader::with_capacity(CHUNK, file)))
    }

    async fn size(&self, id: &str, name: &str) -> anyhow::Result<u64> {
        let path = self.folder(id)?.join(name);
        Ok(tokio::fs::metadata(&path)
            .await
            .with_context(|| format!("reading {}", path.display()))?
            .len())
    }

    async fn discard(&self, id: &str) {
        if let Ok(folder) = self.folder(id) {
            remove_quietly(tokio::fs::remove_dir_all(&folder).await, &folder);
        }
    }

    async fn write_manifest(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let folder = self.folder(&manifest.id)?;
        let partial = folder.join("manifest.json.partial");
        tokio::fs::write(&partial, serde_json::to_vec_pretty(manifest)?)
            .await
            .with_context(|| format!("writing {}", partial.display()))?;
        tokio::fs::rename(&partial, folder.join("manifest.json")).await?;
        Ok(())
    }

    async fn read_manifest(&self, id: &str) -> anyhow::Result<Manifest> {
        let path = self.folder(id)?.join("manifest.json");
        let bytes = tokio::fs::read(&path).await.with_context(|| {
            format!(
                "backup {id} has no manifest at {} (incomplete or unknown)",
                path.display()
            )
        })?;
        Manifest::parse(&bytes, id)
    }

    async fn ids(&self) -> anyhow::Result<Vec<String>> {
        let reading = || format!("reading {}", self.root.display());
        let mut entries = tokio::fs::read_dir(&self.root)
            .await
            .with_context(reading)?;
        let mut ids = Vec::new();
        while let Some(entry) = entries.next_entry().await.with_context(reading)? {
            // Followed like `ls` would: a symlinked backup folder counts.
            if tokio::fs::metadata(entry.path())
                .await
                .is_ok_and(|m| m.is_dir())
            {
                ids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let folder = self.folder(id)?;
        tokio::fs::remove_dir_all(&folder)
            .await
            .with_context(|| format!("deleting {}", folder.display()))
    }
}
