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
