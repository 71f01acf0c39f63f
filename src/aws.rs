//! How every AWS client vivr makes is configured: the standard chain for region and credentials, an optional
//! endpoint (`--endpoint-url` or `AWS_ENDPOINT_URL`, for moto or S3-compatible stores), and one HTTPS client on
//! rustls with ring, the TLS stack the rest of vivr already uses.

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// The HTTPS client every AWS client uses.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The shared SDK configuration. `endpoint_url` overrides `AWS_ENDPOINT_URL` when given.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
