//! The VIVR storefront as a library: [`router`] builds the whole HTTP application from an [`AppState`] (pure, no
//! I/O), [`serve`] runs it on a listener until a shutdown signal, finishing the requests in flight.
//! It knows nothing of the command line, AWS or environment variables: it receives a typed [`ShopConfig`].

pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod images;
pub mod jobs;
pub mod mail;
pub mod payments;
mod routes;
pub mod schema;
pub mod seed;
mod server;
pub mod services;
pub mod store;
pub mod tls;
mod views;
pub mod web;

pub use config::{Environment, ShopConfig};
pub use routes::{admin_router, router};
pub use server::serve;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth::{SessionCookies, SigningKey};
use services::cache::CatalogCache;
use store::Store;
use web::{Assets, Metrics};

/// Everything a request handler can reach. Built once at startup.
pub struct App {
    config: ShopConfig,
    store: Box<dyn Store>,
    metrics: Metrics,
    assets: Assets,
    signing_key: SigningKey,
    passwords: auth::Passwords,
    cookies: SessionCookies,
    catalog: CatalogCache,
    images: services::images::ImageService,
    /// The origin of `asset_base_url`, which the CSP allows images from.
    asset_origin: Option<String>,
    stripe: Option<payments::stripe::StripeClient>,
    mailer: mail::Mailer,
    /// Wakes the email worker when a change queued an email.
    mail_queued: tokio::sync::Notify,
    /// Set when shutdown begins; readiness answers 503 from then on.
    shutting_down: AtomicBool,
}

#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    /// Fails when the Stripe or SMTP settings cannot be used (the message names the variable).
    pub fn new(config: ShopConfig, store: Box<dyn Store>) -> Result<Self, String> {
        let stripe = match &config.stripe {
            Some(c) => Some(
                payments::stripe::StripeClient::new(c.clone(), &config.extra_roots)
                    .map_err(|e| format!("Stripe client: {e}"))?,
            ),
            None => None,
        };
        let mailer = mail::Mailer::new(config.mail.as_ref(), &config.extra_roots)?;
        let metrics = Metrics::new(store.backend().as_str());
        let signing_key = SigningKey::new(config.session_secret.clone())
            .with_previous(config.session_secret_previous.clone());
        let passwords = auth::Passwords::new(config.password_workers, config.password_queue);
        let cookies = SessionCookies::for_config(&config);
        let catalog = CatalogCache::new(config.catalog_cache_ttl);
        let asset_origin =
            match &config.asset_base_url {
                Some(base) => Some(web::asset_origin(base).ok_or_else(|| {
                    format!("the asset base URL {base:?} is not an http(s):// URL")
                })?),
                None => None,
            };
        Ok(AppState(Arc::new(App {
            config,
            store,
            metrics,
            assets: Assets::load(),
            signing_key,
            passwords,
            cookies,
            catalog,
            images: services::images::ImageService::default(),
            asset_origin,
            stripe,
            mailer,
            mail_queued: tokio::sync::Notify::new(),
            shutting_down: AtomicBool::new(false),
        })))
    }

    /// Connects the store the configuration names.
    pub fn config(&self) -> &ShopConfig {
        &self.0.config
    }

    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub fn assets(&self) -> &Assets {
        &self.0.assets
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.0.signing_key
    }

    /// The password hashing pool (bounded: see `auth::Passwords`).
    pub fn passwords(&self) -> &auth::Passwords {
        &self.0.passwords
    }

    pub fn cookies(&self) -> SessionCookies {
        self.0.cookies
    }

    /// The cache of public catalogue reads.
    pub fn catalog(&self) -> &CatalogCache {
        &self.0.catalog
    }

    /// Image variants kept in memory, and the encoding turn.
    pub fn images(&self) -> &services::images::ImageService {
        &self.0.images
    }

    /// Where images are linked from besides the shop itself (`VIVR_ASSET_BASE_URL`'s origin).
    pub fn asset_origin(&self) -> Option<&str> {
        self.0.asset_origin.as_deref()
    }

    /// The Stripe client, when payments are configured.
    pub fn stripe(&self) -> Option<&payments::stripe::StripeClient> {
        self.0.stripe.as_ref()
    }

    pub fn mailer(&self) -> &mail::Mailer {
        &self.0.mailer
    }

    /// Tells the email worker that an email was queued.
    pub fn wake_mailer(&self) {
        self.0.mail_queued.notify_one();
    }

    /// Resolves when [`wake_mailer`](Self::wake_mailer) is called.
    pub async fn mail_queued(&self) {
        self.0.mail_queued.notified().await
    }

    /// True once [`serve`] received its shutdown signal.
    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::SeqCst)
    }

    fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }
}
