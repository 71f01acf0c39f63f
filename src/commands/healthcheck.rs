//! `vivr healthcheck [URL]`: GET the readiness endpoint of a running server. Exit 0 when it answers 200, 1
//! otherwise. Made for container health checks in images without curl.

use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::cli::Format;
use crate::exit::Outcome;
use crate::outln;
use crate::output::Ctx;

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
    match args.format {
        Format::Json => outln!(
            ctx,
            "{}",
            serde_json::json!({"url": args.url, "healthy": healthy, "status": status, "detail": detail})
        ),
        Format::Text => match status {
            Some(code) => outln!(
                ctx,
                "{} {code} {}",
                if healthy { "healthy" } else { "unhealthy" },
                detail.trim()
            ),
            None => outln!(ctx, "unhealthy: {detail}"),
        },
    }
    Ok(if healthy {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
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
