//! A plain-HTTP GET without a client library: what `vivr healthcheck` sends from inside the image (no curl
//! there), and what `vivr build --smoke` sends to a container it started.

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

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
        String::from_utf8_lossy(body.get(..MAX_BODY).unwrap_or(&body)).into_owned(),
    ))
}

/// The most of a body kept.
const MAX_BODY: usize = 1 << 20;

/// GETs `url` (`http://host:port/path`): the status and the body (its first megabyte).
pub async fn get(url: &str) -> anyhow::Result<(u16, String)> {
    probe(&parse_url(url)?).await
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
