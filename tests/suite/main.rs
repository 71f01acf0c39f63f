#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

//! The integration tests, in one binary: each extra test binary would link the whole dependency tree (the AWS
//! SDK, sqlx, axum) again. Modules are named after what they cover; run one with `./scripts/test http_api::`.

mod common;

mod admin_catalog;
mod admin_journal;
mod audit_cli;
mod backup_cli;
mod browser;
mod build_cli;
mod checkout;
mod community;
mod deploy_cli;
mod dockerfile_lint;
mod env_cli;
mod hardening;
mod http_api;
mod http_pages;
mod images;
mod legacy_upgrade;
mod legal;
mod lifecycle;
mod listing_counts;
mod listing_plans;
mod migrate_cli;
mod openapi;
mod outbound_tls;
mod page_menu;
mod prisma_interop;
mod rehearse_cli;
mod reports;
mod runbooks;
mod schema_parity;
mod search;
mod secrets_cli;
mod serve_process;
mod store_contract;
mod store_contract_commerce;
mod storefront;
mod telemetry;
