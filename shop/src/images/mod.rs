//! Where the shop's image files live, and how they are made. [`Blobs`] is the file store: a directory in
//! development ([`DirBlobs`]), S3 in production (implemented by `vivr serve`, which owns the AWS client; the
//! shop knows nothing of AWS), memory in tests ([`MemoryBlobs`]). [`encode`] decodes uploads and makes
//! variants.

pub mod encode;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;

/// A flat store of files by key (`images/<id>/original`, `images/<id>/600.webp`). Writes are whole files: a
/// reader sees the old file, no file, or the new one, never a part.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// For messages and logs: where the files are.
    fn describe(&self) -> String;
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> anyhow::Result<()>;
    /// `None` when there is no such file.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>>;
}

/// Files in a local directory (created when missing).
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirBlobs { root: root.into() }
    }

    /// Keys are made by the shop, but a key that could leave the directory is refused all the same.
    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            });
        anyhow::ensure!(safe, "{key:?} is not a file key");
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    fn describe(&self) -> String {
        format!("the directory {}", self.root.display())
    }

    async fn put(&self, key: &str, bytes: &[u8], _content_type: &str) -> anyhow::Result<()> {
        use anyhow::Context;
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        // Written beside, then renamed: a concurrent reader never sees half a file.
        let partial = path.with_extension(format!("partial-{}", uuid_like()));
        tokio::fs::write(&partial, bytes)
            .await
            .with_context(|| format!("writing {}", partial.display()))?;
        if let Err(err) = tokio::fs::rename(&partial, &path).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err).with_context(|| format!("renaming {}", partial.display()));
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        use anyhow::Context;
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// A name no other writer picks at the same time.
fn uuid_like() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Files in memory, gone with the process: the default of `ShopConfig::development` (tests, tools).
#[derive(Default)]
pub struct MemoryBlobs {
    files: Mutex<HashMap<String, Vec<u8>>>,
}

#[async_trait]
impl Blobs for MemoryBlobs {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    async fn put(&self, key: &str, bytes: &[u8], _content_type: &str) -> anyhow::Result<()> {
        self.files
            .lock()
            .map_err(|_| anyhow::anyhow!("the memory image store is poisoned"))?
            .insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .files
            .lock()
            .map_err(|_| anyhow::anyhow!("the memory image store is poisoned"))?
            .get(key)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_keeps_files_and_refuses_keys_that_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DirBlobs::new(dir.path().join("images-root"));
        blobs
            .put("images/ab/600.webp", b"RIFF", "image/webp")
            .await
            .unwrap();
        assert_eq!(
            blobs.get("images/ab/600.webp").await.unwrap(),
            Some(b"RIFF".to_vec())
        );
        assert_eq!(blobs.get("images/ab/300.webp").await.unwrap(), None);
        for bad in [
            "../x",
            "images/../../etc/passwd",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "",
        ] {
            assert!(blobs.put(bad, b"x", "text/plain").await.is_err(), "{bad}");
            assert!(blobs.get(bad).await.is_err(), "{bad}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path().join("images-root/images/ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["600.webp"], "no partial file is left");
    }
}
