//! Payments through Stripe PaymentIntents: the API client ([`stripe`]) and webhook signatures ([`webhook`]).
//! Stripe is the only source of truth for "paid": the shop changes an order's payment status only on a verified
//! webhook event (see `services::payments`).

pub mod stripe;
pub mod webhook;

use secrecy::SecretString;

/// Stripe settings. Absent, the shop takes no payment and says so at checkout.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: SecretString,
    pub publishable_key: String,
    /// Webhook signing secrets: the current one, then the previous one while Stripe rolls it over.
    pub webhook_secrets: Vec<SecretString>,
    /// `https://api.stripe.com`, or an emulator's address in tests.
    pub api_base: String,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"[redacted]")
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("api_base", &self.api_base)
            .finish()
    }
}
