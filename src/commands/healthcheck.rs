//! `vivr healthcheck [URL]`: GET the readiness endpoint of a running server. Exit 0 when it answers 200, 1
//! otherwise. Made for container health checks in images without curl.

use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

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

struct Target {
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("URL {url:?}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/api/health"),
    };
    if authority.is_empty() {
        bail!("URL {url:?}: missing host");
    }
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok(Target {
        authority,
        path: path.to_string(),
    })
}

async fn probe(target: &Target) -> anyhow::Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(&target.authority)
        .await
        .with_context(|| format!("connecting to {}", target.authority))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(connection);
    let request = hyper::Request::get(&target.path)
        .header(hyper::header::HOST, &target.authority)
        .header(
            hyper::header::USER_AGENT,
            concat!("vivr-healthcheck/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())?;
    let response = sender
        .send_request(request)
        .await
        .context("sending the request")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the answer")?
        .to_bytes();
    Ok((
        status,
        String::from_utf8_lossy(&body).chars().take(2000).collect(),
    ))
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let target = parse_url(&args.url)?;
    let result = tokio::time::timeout(Duration::from_secs(args.timeout), probe(&target)).await;
    let (healthy, status, detail) = match result {
        Err(_) => (false, None, format!("no answer within {} s", args.timeout)),
        Ok(Err(err)) => (false, None, format!("{err:#}")),
        Ok(Ok((status, body))) => (status == 200, Some(status), body),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = parse_url("http://127.0.0.1:3000/api/health").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:3000", "/api/health")
        );
        let t = parse_url("http://localhost").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("localhost:80", "/api/health")
        );
        assert!(parse_url("https://x").is_err());
    }
}
