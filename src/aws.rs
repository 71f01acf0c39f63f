//! How every AWS client vivr makes is configured: the standard chain for region and credentials, an optional
//! endpoint (`--endpoint-url` or `AWS_ENDPOINT_URL`, for moto or S3-compatible stores), and one HTTPS client on
//! rustls with ring, the TLS stack the rest of vivr already uses.
//!
//! The certificates it trusts are Mozilla's roots compiled into the binary (the image is `FROM scratch`: there is
//! no system store to read), plus `tls::local_roots`.

use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use base64::Engine as _;

/// The HTTPS client every AWS client uses.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    let context = TlsContext::builder().with_trust_store(trust_store());
    let builder =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    match context.build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(err) => {
            tracing::warn!("the AWS client's certificates: {err}; using the SDK's defaults");
            builder.build_https()
        }
    }
}

/// Mozilla's roots, and the local store's certificates when it has any. The SDK's own loading of the local
/// store asserts that it found some, which a scratch image never does, and stops on the first certificate it
/// cannot use: the local ones are read by `tls::local_roots` instead.
fn trust_store() -> TrustStore {
    let mut store = TrustStore::empty().with_native_roots(false);
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .cloned()
        .chain(crate::tls::local_roots())
    {
        store.add_pem_certificate(pem(der.as_ref()));
    }
    store
}

/// A certificate in PEM, as the SDK's trust store takes it.
fn pem(der: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text.into_bytes()
}

/// The shared SDK configuration. `endpoint_url` overrides `AWS_ENDPOINT_URL` when given.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    loader(endpoint_url).load().await
}

/// The shared SDK configuration's loader, for a caller that sets more (the region an ECR registry names).
pub fn loader(endpoint_url: Option<&str>) -> aws_config::ConfigLoader {
    let loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
    match endpoint_url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
}

/// A bucket and a key prefix, `s3://bucket/prefix`, reached with vivr's client settings: the backups' store and
/// the shop's image store.
pub struct S3Location {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    /// Without slashes at either end; empty for the bucket's root.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket/prefix` (the prefix may be empty) and checks that the bucket answers.
    pub async fn connect(location: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let rest = location
            .strip_prefix("s3://")
            .context("an S3 store is written s3://bucket/prefix")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("{location}: no bucket named (s3://bucket/prefix)");
        }
        let config = sdk_config(None).await;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            // Custom endpoints (MinIO, moto, …) serve buckets by path.
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build();
        let client = aws_sdk_s3::Client::from_conf(s3_config);
        client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(describe)
            .with_context(|| format!("the bucket {bucket} is not reachable"))?;
        Ok(S3Location {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

/// An AWS SDK error as one sentence: the service's own code and message, or what kept the request from getting an
/// answer (the endpoint unreachable, a timeout), never the SDK's debug structures.
pub fn describe<E, R>(err: aws_sdk_s3::error::SdkError<E, R>) -> anyhow::Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_s3::error::SdkError;
    /// The innermost cause's own words ("Connection refused (os error 111)").
    fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
        let mut cause = err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    }
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            anyhow::anyhow!(
                "{}: {}",
                e.code().unwrap_or("error"),
                e.message().unwrap_or("(no message)")
            )
        }
        SdkError::TimeoutError(_) => {
            anyhow::anyhow!("no answer from AWS in time (a network problem, or a wrong endpoint)")
        }
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(connector) if connector.is_timeout() => {
                anyhow::anyhow!("the AWS endpoint did not answer in time")
            }
            Some(connector) => anyhow::anyhow!(
                "could not reach the AWS endpoint (check AWS_ENDPOINT_URL, the region and the network): {}",
                root_cause(connector)
            ),
            None => anyhow::anyhow!("the request could not be sent: {}", root_cause(&err)),
        },
        SdkError::ConstructionFailure(_) => anyhow::anyhow!(
            "the request could not be built (missing region or credentials?): {}",
            root_cause(&err)
        ),
        _ => anyhow::anyhow!(
            "AWS answered with something unreadable: {}",
            root_cause(&err)
        ),
    }
}
