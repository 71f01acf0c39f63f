//! `vivr serve`: validate the configuration, bring the database up to date (SQLite: automatically; PostgreSQL:
//! only with `--migrate`), seed the demo catalogue into an empty embedded database, then serve until SIGTERM or
//! SIGINT, finishing the requests in flight.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use vivr_shop::config::redact_url;
use vivr_shop::store::db::Db;
use vivr_shop::store::{Backend, SqlStore};
use vivr_shop::{AppState, admin_router, router, seed};

use crate::cli::DatabaseArgs;
use crate::config::{ServeInput, validate};
use crate::exit::Outcome;
use crate::migrate::{self, DeployOptions};
use crate::output::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address and port to listen on.
    #[arg(long, env = "VIVR_BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,
    /// Serve /metrics on this separate address instead of the public one.
    #[arg(long, env = "VIVR_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// development, staging or production.
    #[arg(long = "env", env = "VIVR_ENV", default_value = "development")]
    pub environment: String,
    /// The shop's public URL (https:// outside development).
    #[arg(long, env = "VIVR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Secret that keys CSRF tokens (at least 32 characters; required outside development).
    #[arg(long, env = "VIVR_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated).
    #[arg(
        long = "trusted-proxy",
        env = "VIVR_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Maximum database connections.
    #[arg(long, env = "VIVR_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
    /// Requests taking longer are answered 408.
    #[arg(long, env = "VIVR_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "VIVR_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// After SIGTERM, keep accepting connections this long (readiness answers 503) so a load balancer can
    /// stop routing here first.
    #[arg(long, env = "VIVR_SHUTDOWN_DRAIN_SECS", default_value_t = 0)]
    pub shutdown_drain_secs: u64,
    /// After the listener closes, how long requests in flight may take to finish.
    #[arg(long, env = "VIVR_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,
    /// Keep public catalogue reads (listings, product pages, categories) in memory this long; 0 turns it off.
    /// Admin changes through this process apply at once; other replicas see them within this delay.
    #[arg(long, env = "VIVR_CATALOG_CACHE_SECS", default_value_t = 5)]
    pub catalog_cache_secs: u64,
    /// Where product photos are kept: s3://bucket/prefix, or a directory in development (default data/images).
    #[arg(long, env = "VIVR_IMAGE_STORE")]
    pub image_store: Option<String>,
    /// A CDN in front of the shop's /images/ paths, which pages link photos from.
    #[arg(long, env = "VIVR_ASSET_BASE_URL")]
    pub asset_base_url: Option<String>,
    /// The largest photo an administrator may upload, in bytes.
    #[arg(long, env = "VIVR_MAX_IMAGE_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_image_bytes: usize,
    /// Apply pending migrations before starting (PostgreSQL; SQLite always does).
    #[arg(long)]
    pub migrate: bool,
    /// Load the demo catalogue (6 categories, 20 products); existing slugs are kept.
    #[arg(long)]
    pub seed_demo: bool,
    /// How long to wait for another migrator's lock, in seconds.
    #[arg(long, default_value_t = 60)]
    pub migrate_lock_timeout: u64,
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "SIGINT",
        () = terminate => "SIGTERM",
    }
}

/// A shutdown broadcast for every listener: the first signal starts a graceful shutdown, a second one exits at
/// once (for an operator who does not want to wait for slow requests).
fn shutdown_broadcast() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let first = shutdown_signal().await;
        tracing::info!(
            signal = first,
            "shutting down: finishing requests in flight (signal again to exit now)"
        );
        let _ = tx.send(true);
        let second = shutdown_signal().await;
        tracing::warn!(signal = second, "second signal: exiting without waiting");
        std::process::exit(130);
    });
    rx
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens at exit: treat it as a stop.
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Brings the schema up to date, or refuses to start with the pending migrations named.
async fn prepare_database(
    url: &str,
    backend: Backend,
    migrate_flag: bool,
    development: bool,
    lock_timeout: Duration,
) -> anyhow::Result<()> {
    let mut db = migrate::connect(url).await?;
    let migrations = migrate::embedded(backend);
    let status = migrate::status(&mut db, &migrations).await?;
    if status.is_up_to_date() {
        return Ok(());
    }
    status.ensure_deployable()?;
    if backend == Backend::Postgres && migrate_flag && !development {
        bail!(
            "{} migration(s) pending: {}\noutside development, apply migrations with `vivr migrate deploy`, which takes a \
             verified backup first; `vivr serve --migrate` is for development",
            status.pending.len(),
            status.pending.join(", ")
        );
    }
    if backend == Backend::Postgres && !migrate_flag {
        bail!(
            "{} migration(s) pending on {}: {}\nrefusing to start on an outdated schema; apply them with `vivr migrate deploy` or `vivr serve --migrate` \
             (after a backup)",
            status.pending.len(),
            redact_url(url),
            status.pending.join(", ")
        );
    }
    let report = migrate::deploy(
        &mut db,
        &migrations,
        &DeployOptions {
            lock_timeout,
            ..DeployOptions::default()
        },
    )
    .await?;
    for name in &report.applied {
        tracing::info!(migration = %name, "migration applied");
    }
    Ok(())
}

/// The settings as the command line and the environment give them, for validation.
fn input_of(args: &Args) -> ServeInput {
    ServeInput {
        environment: args.environment.clone(),
        database_url: SecretString::from(args.db.database_url.clone()),
        bind: args.bind.clone(),
        admin_bind: args.admin_bind.clone(),
        public_url: args.public_url.clone(),
        session_secret: args.session_secret.clone().map(SecretString::from),
        trusted_proxies: args.trusted_proxies.clone(),
        db_pool_size: args.db_pool_size,
        request_timeout_secs: args.request_timeout_secs,
        max_body_bytes: args.max_body_bytes,
        shutdown_drain_secs: args.shutdown_drain_secs,
        shutdown_timeout_secs: args.shutdown_timeout_secs,
        catalog_cache_secs: args.catalog_cache_secs,
        image_store: args.image_store.clone(),
        asset_base_url: args.asset_base_url.clone(),
        max_image_bytes: args.max_image_bytes,
    }
}

/// Loads the demo catalogue when asked (`--seed-demo`), or when `when_empty` and the catalogue is empty.
async fn seed_demo(state: &AppState, asked: bool, when_empty: bool) -> anyhow::Result<()> {
    let store = state.store();
    if asked || (when_empty && store.catalog_is_empty().await?) {
        let report = store
            .seed_catalog(
                &seed::demo_categories(),
                &seed::demo_products(),
                vivr_shop::auth::now(),
            )
            .await?;
        tracing::info!(
            categories = report.categories,
            products = report.products,
            "demo catalogue loaded"
        );
    }
    Ok(())
}

/// `/metrics` on its own listener, until `stop`.
fn serve_admin(
    state: &AppState,
    admin_listener: TcpListener,
    admin_stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!("metrics at http://{}/metrics", admin_listener.local_addr()?);
    let admin_app = admin_router(state.clone());
    let admin_state = state.clone();
    tokio::spawn(async move {
        if let Err(err) =
            vivr_shop::serve(&admin_state, admin_app, admin_listener, admin_stop).await
        {
            tracing::error!(error = %err, "admin listener stopped");
        }
    });
    Ok(())
}

pub async fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<Outcome> {
    let input = input_of(&args);
    let config = match validate(input) {
        Ok(config) => config,
        Err(report) => {
            eprint!("error: {report}");
            return Ok(Outcome::Error);
        }
    };
    // The addresses first: a port already taken fails before any database is created or migrated.
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("listening on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let admin_listener = match config.admin_bind {
        Some(admin) => Some(
            TcpListener::bind(admin)
                .await
                .with_context(|| format!("listening on {admin} (VIVR_ADMIN_BIND)"))?,
        ),
        None => None,
    };
    if admin_listener.is_none() && !config.shop.environment.is_development() {
        tracing::warn!(
            "/metrics is served only on VIVR_ADMIN_BIND outside development; set it to scrape metrics"
        );
    }
    let url = config.shop.database_url.expose_secret().to_string();
    tracing::info!(database = %redact_url(&url), environment = config.shop.environment.as_str(), "starting");
    prepare_database(
        &url,
        config.backend,
        args.migrate,
        config.shop.environment.is_development(),
        Duration::from_secs(args.migrate_lock_timeout),
    )
    .await?;

    let db = Db::connect(&url, &config.shop.pool)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&url)))?;
    let mut shop = config.shop.clone();
    shop.image_blobs = crate::image_store::open(&config.image_store)
        .await
        .with_context(|| {
            format!(
                "opening the image store {} (VIVR_IMAGE_STORE)",
                config.image_store
            )
        })?;
    tracing::info!(store = %shop.image_blobs.describe(), "image store");
    shop.schema_probe = Some(Arc::new(migrate::Probe::new(db.clone())));
    let state = AppState::new(shop, Box::new(SqlStore::from(db))).map_err(anyhow::Error::msg)?;
    seed_demo(&state, args.seed_demo, config.backend == Backend::Sqlite).await?;
    let reindexed = state
        .store()
        .refresh_search_index(500)
        .await
        .context("refreshing the search index")?;
    if reindexed > 0 {
        tracing::info!(products = reindexed, "search index refreshed");
    }
    let stop = shutdown_broadcast();
    if let Some(admin_listener) = admin_listener {
        serve_admin(&state, admin_listener, stopped(stop.clone()))?;
    }
    let jobs = vivr_shop::jobs::spawn(&state);
    tracing::info!("Listening at http://{addr}");
    vivr_shop::serve(&state, router(state.clone()), listener, stopped(stop))
        .await
        .context("serving")?;
    for job in jobs {
        job.abort();
    }
    tracing::info!("stopped");
    Ok(Outcome::Success)
}
