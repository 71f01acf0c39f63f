//! Backups in an S3 bucket (`s3://bucket/prefix`), through aws-sdk-s3 with the standard credential chain and
//! `AWS_ENDPOINT_URL` honoured. The dump streams into a multipart upload whose part size grows with the dump
//! (8 MiB, doubling every 1,000 parts, so 10,000 parts reach far beyond any logical dump); an upload that is not
//! finished — pg_dump failed, the process was interrupted — is aborted, so no partial object ever appears.
//! Every object is written with server-side encryption: SSE-S3 unless
//! `VIVR_BACKUP_SSE` says otherwise.

use anyhow::{Context, bail};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};

use super::Manifest;
use super::store::{BackupStore, ObjectReader, ObjectWriter};

const FIRST_PART: usize = 8 << 20;
const PARTS_PER_SIZE: i32 = 1_000;
const MAX_PARTS: i32 = 10_000;

pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    encryption: Encryption,
}

/// How S3 encrypts the objects vivr writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Encryption {
    /// The bucket's default encryption applies.
    BucketDefault,
    /// SSE-S3 (AES256), the default.
    S3Managed,
    /// SSE-KMS with this key, or the account's AWS-managed key.
    Kms(Option<String>),
}

impl Encryption {
    /// `VIVR_BACKUP_SSE`: `AES256` (default), `aws:kms` (key from `VIVR_BACKUP_SSE_KMS_KEY_ID`, else the AWS-managed
    /// key) or `none` (leave it to the bucket's default encryption).
    fn from_env() -> anyhow::Result<Self> {
        Self::parse(
            std::env::var("VIVR_BACKUP_SSE").ok().as_deref(),
            std::env::var("VIVR_BACKUP_SSE_KMS_KEY_ID")
                .ok()
                .filter(|k| !k.is_empty()),
        )
    }

    fn parse(mode: Option<&str>, kms_key: Option<String>) -> anyhow::Result<Self> {
        let encryption = match mode.map(str::trim).unwrap_or_default() {
            "" | "AES256" | "aes256" => Encryption::S3Managed,
            "aws:kms" => Encryption::Kms(kms_key.clone()),
            "none" => Encryption::BucketDefault,
            other => bail!("VIVR_BACKUP_SSE must be AES256, aws:kms or none, not {other:?}"),
        };
        if kms_key.is_some() && !matches!(encryption, Encryption::Kms(_)) {
            bail!("VIVR_BACKUP_SSE_KMS_KEY_ID is set, so VIVR_BACKUP_SSE must be aws:kms");
        }
        Ok(encryption)
    }

    /// The `x-amz-server-side-encryption` value and KMS key id for a PutObject or CreateMultipartUpload.
    fn headers(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match self {
            Encryption::BucketDefault => (None, None),
            Encryption::S3Managed => (Some(ServerSideEncryption::Aes256), None),
            Encryption::Kms(key) => (Some(ServerSideEncryption::AwsKms), key.clone()),
        }
    }
}

impl S3Store {
    /// `s3://bucket/prefix` (the prefix may be empty).
    pub async fn connect(location: &str) -> anyhow::Result<Self> {
        let encryption = Encryption::from_env()?;
        let crate::aws::S3Location {
            client,
            bucket,
            prefix,
        } = crate::aws::S3Location::connect(location).await?;
        Ok(S3Store {
            client,
            bucket,
            prefix,
            encryption,
        })
    }

    fn key(&self, id: &str, name: &str) -> anyhow::Result<String> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            bail!("{id:?} is not a backup id");
        }
        Ok(if self.prefix.is_empty() {
            format!("{id}/{name}")
        } else {
            format!("{}/{id}/{name}", self.prefix)
        })
    }

    fn folder_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    async fn get(
        &self,
        key: &str,
    ) -> anyhow::Result<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("reading s3://{}/{key}", self.bucket))
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let (sse, kms_key) = self.encryption.headers();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("writing s3://{}/{key}", self.bucket))?;
        Ok(())
    }

    async fn keys_under(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(crate::aws::describe)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(keys);
            }
        }
    }
}

/// A multipart upload in progress.
struct S3Writer {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    buffer: Vec<u8>,
    parts: Vec<CompletedPart>,
    /// Completed or aborted: nothing left to clean up.
    settled: bool,
}

impl S3Writer {
    fn part_size(&self) -> usize {
        let doublings = (self.parts.len() as i32 / PARTS_PER_SIZE).min(10) as u32;
        FIRST_PART << doublings
    }

    async fn upload_part(&mut self) -> anyhow::Result<()> {
        let number = self.parts.len() as i32 + 1;
        if number > MAX_PARTS {
            bail!("the dump needs more than 10,000 parts");
        }
        let body = std::mem::take(&mut self.buffer);
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| {
                format!(
                    "uploading part {number} of s3://{}/{}",
                    self.bucket, self.key
                )
            })?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    async fn complete(&mut self) -> anyhow::Result<()> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.upload_part().await?;
        }
        let parts = std::mem::take(&mut self.parts);
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("completing s3://{}/{}", self.bucket, self.key))?;
        Ok(())
    }

    /// The request that drops the upload's parts.
    fn abort_request(&self) -> impl Future<Output = ()> + Send + 'static {
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id);
        let key = self.key.clone();
        async move {
            if let Err(err) = request.send().await {
                tracing::warn!(key = %key, error = %crate::aws::describe(err),
                    "could not abort an unfinished multipart upload; a bucket lifecycle rule should remove it");
            }
        }
    }
}

#[async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= self.part_size() {
            self.upload_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        let completed = self.complete().await;
        if completed.is_err() {
            self.abort_request().await;
        }
        self.settled = true;
        completed
    }

    async fn abort(mut self: Box<Self>) {
        self.abort_request().await;
        self.settled = true;
    }
}

impl Drop for S3Writer {
    /// Dropped unsettled (the task was cancelled): the abort runs in the background, so no part lingers.
    fn drop(&mut self) {
        if !self.settled
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(self.abort_request());
        }
    }
}

#[async_trait]
impl BackupStore for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn writer(&self, id: &str, name: &str) -> anyhow::Result<Box<dyn ObjectWriter>> {
        let key = self.key(id, name)?;
        let (sse, kms_key) = self.encryption.headers();
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("starting the upload of s3://{}/{key}", self.bucket))?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key,
            upload_id: created.upload_id().unwrap_or_default().to_string(),
            buffer: Vec::with_capacity(FIRST_PART),
            parts: Vec::new(),
            settled: false,
        }))
    }

    async fn reader(&self, id: &str, name: &str) -> anyhow::Result<ObjectReader> {
        let object = self.get(&self.key(id, name)?).await?;
        Ok(Box::new(object.body.into_async_read()))
    }

    async fn size(&self, id: &str, name: &str) -> anyhow::Result<u64> {
        let key = self.key(id, name)?;
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("reading s3://{}/{key}", self.bucket))?;
        Ok(head.content_length().unwrap_or(0).max(0) as u64)
    }

    async fn discard(&self, id: &str) {
        if let Err(err) = self.delete(id).await {
            tracing::warn!(error = %err, backup = id, "could not remove an incomplete backup");
        }
    }

    async fn write_manifest(&self, manifest: &Manifest) -> anyhow::Result<()> {
        self.put(
            &self.key(&manifest.id, "manifest.json")?,
            serde_json::to_vec_pretty(manifest)?,
        )
        .await
    }

    async fn read_manifest(&self, id: &str) -> anyhow::Result<Manifest> {
        let object = self
            .get(&self.key(id, "manifest.json")?)
            .await
            .with_context(|| format!("backup {id} has no manifest (incomplete or unknown)"))?;
        let bytes = object
            .body
            .collect()
            .await
            .context("reading the manifest")?
            .into_bytes();
        Manifest::parse(&bytes, id)
    }

    async fn ids(&self) -> anyhow::Result<Vec<String>> {
        let prefix = self.folder_prefix();
        let mut ids: Vec<String> = self
            .keys_under(&prefix)
            .await?
            .iter()
            .filter_map(|k| {
                k.strip_prefix(&prefix)?
                    .split_once('/')
                    .map(|(id, _)| id.to_string())
            })
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let prefix = format!("{}{id}/", self.folder_prefix());
        for key in self.keys_under(&prefix).await? {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(crate::aws::describe)
                .with_context(|| format!("deleting s3://{}/{key}", self.bucket))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Encryption;

    #[test]
    fn encryption_defaults_to_sse_s3_and_names_the_variable_when_wrong() {
        assert_eq!(
            Encryption::parse(None, None).unwrap(),
            Encryption::S3Managed
        );
        assert_eq!(
            Encryption::parse(Some("aws:kms"), Some("alias/backups".into())).unwrap(),
            Encryption::Kms(Some("alias/backups".into()))
        );
        assert_eq!(
            Encryption::parse(Some("none"), None).unwrap(),
            Encryption::BucketDefault
        );
        let err = Encryption::parse(Some("aes"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("VIVR_BACKUP_SSE") && err.contains("AES256"),
            "{err}"
        );
        let err = Encryption::parse(None, Some("k".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VIVR_BACKUP_SSE_KMS_KEY_ID"), "{err}");
    }
}
