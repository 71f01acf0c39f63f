//! A small Stripe API client: the three PaymentIntent calls the shop makes (create, retrieve, cancel), over
//! HTTPS with a timeout, form-encoded as Stripe expects. Errors carry Stripe's code and message, never the key.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::StripeConfig;

/// The API version the shop's requests and parsing assume.
pub const API_VERSION: &str = "2024-06-20";
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object.
    #[error("Stripe refused the request ({status}): {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("Stripe could not be reached: {0}")]
    Transport(String),
    #[error("Stripe's answer could not be read: {0}")]
    Decode(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    /// Handed to the browser's Payment Element; not a secret key, but not logged either.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Clone)]
pub struct StripeClient {
    config: StripeConfig,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// Stripe object ids are made of letters, digits and underscores; anything else is refused before it reaches a
/// URL path.
fn check_id(id: &str) -> Result<&str, StripeError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(StripeError::Decode(format!("not a Stripe id: {id:?}")))
    }
}

/// An error and its causes in one line ("client error (Connect): invalid peer certificate: UnknownIssuer"): the
/// HTTP client's own message alone does not say what failed.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

impl StripeClient {
    /// A client trusting Mozilla's roots and `extra_roots` (see `tls`).
    pub fn new(
        config: StripeConfig,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<Self, StripeError> {
        let tls = crate::tls::client_config(extra_roots)
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(StripeClient { config, http })
    }

    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<PaymentIntent, StripeError> {
        let url = format!("{}{path}", self.config.api_base.trim_end_matches('/'));
        let body =
            serde_urlencoded::to_string(form).map_err(|e| StripeError::Decode(e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(
                "authorization",
                format!("Bearer {}", self.config.secret_key.expose_secret()),
            )
            .header("stripe-version", API_VERSION)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        let response = tokio::time::timeout(TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| {
                StripeError::Transport(format!("no answer within {} s", TIMEOUT.as_secs()))
            })?
            .map_err(|e| StripeError::Transport(causes(&e)))?;
        let status = response.status();
        let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| StripeError::Transport("the answer did not finish in time".into()))?
            .map_err(|e| StripeError::Transport(e.to_string()))?
            .to_bytes();
        if status != StatusCode::OK {
            let (code, message) = match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
                Ok(e) => (
                    e.error
                        .code
                        .or(e.error.kind)
                        .unwrap_or_else(|| "unknown".into()),
                    e.error.message.unwrap_or_default(),
                ),
                Err(_) => (
                    "unknown".into(),
                    String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                ),
            };
            return Err(StripeError::Api {
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| StripeError::Decode(e.to_string()))
    }

    /// Creates the PaymentIntent for an order. The idempotency key is derived from the order, so a retry after a
    /// lost answer gets the same PaymentIntent back from Stripe rather than a second one.
    pub async fn create_payment_intent(
        &self,
        order_id: &str,
        order_number: &str,
        amount_cents: i64,
    ) -> Result<PaymentIntent, StripeError> {
        let form = [
            ("amount", amount_cents.to_string()),
            ("currency", "eur".to_string()),
            ("payment_method_types[]", "card".to_string()),
            ("metadata[order_id]", order_id.to_string()),
            ("metadata[order_number]", order_number.to_string()),
        ];
        let key = format!("vivr-order-{order_id}");
        self.call(Method::POST, "/v1/payment_intents", &form, Some(&key))
            .await
    }

    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        let path = format!("/v1/payment_intents/{}", check_id(id)?);
        self.call(Method::GET, &path, &[], None).await
    }

    pub async fn cancel_payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        let path = format!("/v1/payment_intents/{}/cancel", check_id(id)?);
        self.call(Method::POST, &path, &[], None).await
    }
}
