//! One module per subcommand: each parses its arguments, calls the capability modules, and prints.

pub mod admin;
pub mod backup;
pub mod completions;
pub mod env;
pub mod healthcheck;
pub mod migrate;
pub mod secrets;
pub mod serve;
