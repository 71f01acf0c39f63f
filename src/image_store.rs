//! The shop's image store as `vivr serve` opens it (`VIVR_IMAGE_STORE`): a directory, or an S3 bucket and prefix.
//! The shop only knows the `Blobs` trait; the S3 side lives here, with the AWS client.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use vivr_shop::images::{Blobs, DirBlobs};

use crate::aws::S3Location;

/// The store a location names: `s3://bucket/prefix`, or a directory.
pub async fn open(location: &str) -> anyhow::Result<Arc<dyn Blobs>> {
    if location.starts_with("s3://") {
        Ok(Arc::new(S3Blobs {
            at: S3Location::connect(location).await?,
        }))
    } else {
        Ok(Arc::new(DirBlobs::new(location)))
    }
}

/// Images in S3: one object per file, under the prefix. Objects are written whole (PutObject), so a reader sees
/// the previous object or the new one.
pub struct S3Blobs {
    at: S3Location,
}

#[async_trait]
impl Blobs for S3Blobs {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.at.bucket, self.at.prefix)
    }

    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> anyhow::Result<()> {
        let key = self.at.key(key);
        self.at
            .client
            .put_object()
            .bucket(&self.at.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(crate::aws::describe)
            .with_context(|| format!("writing s3://{}/{key}", self.at.bucket))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let key = self.at.key(key);
        let answer = self
            .at
            .client
            .get_object()
            .bucket(&self.at.bucket)
            .key(&key)
            .send()
            .await;
        let object = match answer {
            Ok(object) => object,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(err) => {
                return Err(crate::aws::describe(err))
                    .with_context(|| format!("reading s3://{}/{key}", self.at.bucket));
            }
        };
        let bytes = object
            .body
            .collect()
            .await
            .with_context(|| format!("reading s3://{}/{key}", self.at.bucket))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
