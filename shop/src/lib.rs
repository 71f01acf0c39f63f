//! The VIVR storefront as a library: [`router`] builds the whole HTTP application from an [`AppState`] (pure, no
//! I/O), [`serve`] runs it on a listener until a shutdown signal, finishing the requests in flight.
//! It knows nothing of the command line, AWS or environment variables: it receives a typed [`ShopConfig`].

pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
mod routes;
pub mod seed;
mod server;
pub mod services;
pub mod store;
mod views;
pub mod web;

pub use config::{Environment, ShopConfig};
pub use routes::{admin_router, router};
use secrecy::ExposeSecret;
pub use server::serve;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth::{CsrfKey, SessionCookies};
use services::cache::CatalogCache;
use store::Store;
use web::{Assets, Metrics};

/// Everything a request handler can reach. Built once at startup.
pub struct App {
    config: ShopConfig,
    store: Box<dyn Store>,
    metrics: Metrics,
    assets: Assets,
    csrf: CsrfKey,
    cookies: SessionCookies,
    catalog: CatalogCache,
    /// Set when shutdown begins; readiness answers 503 from then on.
    shutting_down: AtomicBool,
}

#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    pub fn new(config: ShopConfig, store: Box<dyn Store>) -> Self {
        let metrics = Metrics::new(store.backend().as_str());
        let csrf = CsrfKey::new(config.session_secret.clone());
        let cookies = SessionCookies::for_config(&config);
        let catalog = CatalogCache::new(config.catalog_cache_ttl);
        AppState(Arc::new(App {
            config,
            store,
            metrics,
            assets: Assets::load(),
            csrf,
            cookies,
            catalog,
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// Connects the store the configuration names.
    pub async fn connect(config: ShopConfig) -> Result<Self, store::StoreError> {
        let store = store::connect(config.database_url.expose_secret(), &config.pool).await?;
        Ok(Self::new(config, store))
    }

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

    pub fn csrf(&self) -> &CsrfKey {
        &self.0.csrf
    }

    pub fn cookies(&self) -> SessionCookies {
        self.0.cookies
    }

    /// The cache of public catalogue reads.
    pub fn catalog(&self) -> &CatalogCache {
        &self.0.catalog
    }

    /// True once [`serve`] received its shutdown signal.
    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::SeqCst)
    }

    fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }
}
