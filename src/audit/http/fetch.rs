//! Fetching: the requests the grade reads, made the way the Observatory makes them.

use super::*;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The most body read from one answer.
const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_REDIRECTS: usize = 10;

/// The probe could not fetch the site.
#[derive(Debug, thiserror::Error)]
#[error("--http {url}: {message}")]
pub struct Unreachable {
    pub url: String,
    pub message: String,
}

fn client() -> anyhow::Result<HttpsClient> {
    let roots = crate::tls::local_roots();
    let tls = vivr_shop::tls::client_config(&roots).context("building the TLS client")?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

async fn get(
    client: &HttpsClient,
    url: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<Exchange> {
    let mut request = hyper::Request::get(url).header(
        hyper::header::USER_AGENT,
        concat!("vivr-audit/", env!("CARGO_PKG_VERSION")),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
    let status = response.status().as_u16();
    let mut map: BTreeMap<String, HeaderValues> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.entry(name.as_str().to_string()) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(HeaderValues::One(value));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let list = match o.get_mut() {
                    HeaderValues::One(first) => vec![std::mem::take(first), value],
                    HeaderValues::Many(list) => {
                        list.push(value);
                        std::mem::take(list)
                    }
                };
                o.insert(HeaderValues::Many(list));
            }
        }
    }
    let mut body = Vec::new();
    let mut stream = response.into_body();
    while let Some(frame) = tokio::time::timeout(TIMEOUT, stream.frame())
        .await
        .map_err(|_| anyhow::anyhow!("the body did not arrive within {} s", TIMEOUT.as_secs()))?
    {
        let frame = frame.context("reading the body")?;
        if let Ok(data) = frame.into_data() {
            body.extend_from_slice(&data);
            if body.len() > MAX_BODY {
                body.truncate(MAX_BODY);
                break;
            }
        }
    }
    Ok(Exchange {
        url: url.to_string(),
        status,
        headers: map,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An error with its causes: `client error (Connect): tcp connect error: Connection refused`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// Follows redirects from `url`, returning the URLs visited and the last answer.
async fn follow(
    client: &HttpsClient,
    url: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(Vec<String>, Exchange)> {
    let mut urls = vec![url.to_string()];
    let mut current = url.to_string();
    for _ in 0..MAX_REDIRECTS {
        let answer = get(client, &current, headers).await?;
        let location = answer.header("location").map(str::to_string);
        match (answer.status, location) {
            (300..=399, Some(location)) => {
                let next = url::Url::parse(&current)
                    .and_then(|base| base.join(&location))
                    .with_context(|| format!("{current} redirects to {location:?}, not a URL"))?;
                current = next.to_string();
                urls.push(current.clone());
            }
            _ => return Ok((urls, answer)),
        }
    }
    anyhow::bail!("more than {MAX_REDIRECTS} redirects from {url}")
}

/// How the page, its first static asset and the API say they may be cached.
async fn caching(
    client: &HttpsClient,
    main: &Exchange,
    parsed: &url::Url,
    forwarded: &[(&str, &str)],
) -> Vec<CacheProbe> {
    let mut caching = vec![CacheProbe {
        what: "page".into(),
        url: main.url.clone(),
        status: main.status,
        cache_control: main.header("cache-control").map(str::to_string),
    }];
    let base = url::Url::parse(&main.url).unwrap_or_else(|_| parsed.clone());
    if let Some(asset) = first_asset(&main.body, &base)
        && let Ok(answer) = get(client, asset.as_str(), forwarded).await
    {
        caching.push(CacheProbe {
            what: "static asset".into(),
            url: asset.to_string(),
            status: answer.status,
            cache_control: answer.header("cache-control").map(str::to_string),
        });
    }
    if let Ok(api) = base.join("/api/health")
        && let Ok(answer) = get(client, api.as_str(), forwarded).await
        && answer.status != 404
    {
        caching.push(CacheProbe {
            what: "API".into(),
            url: api.to_string(),
            status: answer.status,
            cache_control: answer.header("cache-control").map(str::to_string),
        });
    }
    caching
}

/// Fetches what the tests read. An `http://` URL is taken as an origin behind a TLS terminator.
pub async fn observe(url: &str) -> Result<Observed, Unreachable> {
    let unreachable = |message: String| Unreachable {
        url: url.to_string(),
        message,
    };
    let parsed = url::Url::parse(url).map_err(|e| unreachable(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(unreachable("an http:// or https:// URL".into()));
    }
    let client = client().map_err(|e| unreachable(format!("{e:#}")))?;
    let https = parsed.scheme() == "https";
    let forwarded: &[(&str, &str)] = if https {
        &[]
    } else {
        &[("x-forwarded-proto", "https")]
    };
    let (_, main) = follow(&client, url, forwarded)
        .await
        .map_err(|e| unreachable(format!("{e:#}")))?;
    let http_entry = if https {
        let mut http_url = parsed.clone();
        let _ = http_url.set_scheme("http");
        let _ = http_url.set_port(None);
        match follow(&client, http_url.as_str(), &[]).await {
            Ok((urls, _)) => HttpEntry::Chain { urls },
            Err(_) => HttpEntry::NoHttp,
        }
    } else {
        HttpEntry::NotEvaluated {
                why: "an http:// URL is read as an origin behind a TLS terminator (X-Forwarded-Proto: https): \
                      the redirect to HTTPS is the terminator's; probe the public https:// URL to grade it"
                    .into(),
            }
    };
    let mut with_origin = forwarded.to_vec();
    with_origin.push(("origin", FOREIGN_ORIGIN));
    let cors = get(&client, url, &with_origin).await.ok();
    let mut policy_files = Vec::new();
    for file in ["/crossdomain.xml", "/clientaccesspolicy.xml"] {
        if let Ok(file_url) = parsed.join(file)
            && let Ok(answer) = get(&client, file_url.as_str(), forwarded).await
            && answer.status == 200
            && answer.body.to_ascii_lowercase().contains("<?xml")
        {
            policy_files.push(answer.body);
        }
    }
    let caching = caching(&client, &main, &parsed, forwarded).await;
    Ok(Observed {
        url: url.to_string(),
        https: true,
        main,
        http_entry,
        cors,
        policy_files,
        caching,
    })
}

static ASSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<(?:link\b[^>]*\brel\s*=\s*["']?stylesheet[^>]*\bhref|script\b[^>]*\bsrc)\s*=\s*["']([^"']+)["']"#)
            .unwrap_or_else(|_| unreachable!())
});

/// The first same-origin stylesheet or script of a page.
fn first_asset(html: &str, base: &url::Url) -> Option<url::Url> {
    ASSET
        .captures_iter(html)
        .filter_map(|c| c.get(1).and_then(|m| base.join(m.as_str()).ok()))
        .find(|u| u.origin() == base.origin())
}
