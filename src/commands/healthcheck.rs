//! `vivr healthcheck [URL]`: GET the readiness endpoint of a running server. Exit 0 when it answers 200, 1
//! otherwise. Made for container health checks in images without curl.

use std::time::Duration;

use crate::cli::Format;
use crate::exit::Outcome;
use crate::output::{Ctx, Report};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The URL to probe (plain http, as used inside a container).
    #[arg(default_value = "http://127.0.0.1:3000/api/health")]
    pub url: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// text (a line) or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let result = tokio::time::timeout(
        Duration::from_secs(args.timeout),
        crate::probe::get(&args.url),
    )
    .await;
    let (healthy, status, detail) = match result {
        Err(_) => (false, None, format!("no answer within {} s", args.timeout)),
        Ok(Err(err)) => (false, None, format!("{err:#}")),
        Ok(Ok((status, body))) => (
            status == 200,
            Some(status),
            body.chars().take(2000).collect(),
        ),
    };
    let report = Probe {
        url: args.url,
        healthy,
        status,
        detail,
    };
    ctx.emit(&report, args.format)
}

/// What the readiness endpoint answered, or why it did not.
#[derive(Debug, Serialize)]
pub struct Probe {
    url: String,
    healthy: bool,
    /// The HTTP status, when the server answered.
    status: Option<u16>,
    /// The answer's body (at most 2,000 characters), or the error.
    detail: String,
}

impl Report for Probe {
    fn text(&self) -> String {
        match self.status {
            Some(code) => format!(
                "{} {code} {}\n",
                if self.healthy { "healthy" } else { "unhealthy" },
                self.detail.trim()
            ),
            None => format!("unhealthy: {}\n", self.detail),
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.healthy)
    }
}
