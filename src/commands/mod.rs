//! One module per subcommand: each parses its arguments, calls the capability modules, and hands a typed report
//! (`output::Report`) to `Ctx::emit`, which prints it as text or JSON and gives the exit code.

pub mod admin;
pub mod audit;
pub mod backup;
pub mod build;
pub mod completions;
pub mod deploy;
pub mod env;
pub mod healthcheck;
pub mod migrate;
pub mod secrets;
pub mod serve;
