//! vivr: the VIVR shop and the tools that get it safely into production. `main.rs` parses the command line and
//! dispatches to `commands/`; the logic lives in capability modules (`migrate/`, …) and in the `vivr-shop` crate.

pub mod audit;
pub mod aws;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod exit;
pub mod image;
pub mod image_store;
pub mod logging;
pub mod migrate;
pub mod output;
pub mod probe;
pub mod runbook;
pub mod sarif;
pub mod secrets;
pub mod telemetry;
pub mod tls;
