//! `vivr build --smoke`: the built image run as production runs it — read-only root, the data directory on a
//! tmpfs, the port published on loopback — until its own health check says healthy; then `/api/health` and a
//! product page are requested, SIGTERM is sent, and the container must exit 0 within the shutdown timeout. The
//! container is removed whatever happens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use bollard::models::{ContainerCreateBody, HealthStatusEnum, HostConfig, PortBinding};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::engine::Engine;
use super::inspect::Check;

/// How long the container may take to turn healthy, and to stop after SIGTERM.
pub struct Limits {
    pub healthy_within: Duration,
    pub stopped_within: Duration,
}

/// Runs `image` and returns the checks; an error only when the engine itself fails.
pub async fn smoke(engine: &Engine, image: &str, limits: &Limits) -> anyhow::Result<Vec<Check>> {
    let id = create(engine, image).await?;
    let result = run(engine, &id, limits).await;
    let logs = if result
        .as_ref()
        .is_ok_and(|checks| checks.iter().all(|c| c.ok))
    {
        String::new()
    } else {
        last_logs(engine, &id).await
    };
    remove(engine, &id).await;
    let mut checks = result?;
    if !logs.is_empty() {
        tracing::warn!("the container's last log lines:\n{logs}");
    }
    if let Some(last) = checks.last_mut()
        && !last.ok
        && !logs.is_empty()
    {
        last.detail.push_str(" (its last log lines are on stderr)");
    }
    Ok(checks)
}

/// A container of `image` as production runs it: read-only root, `/data` on a tmpfs, port 3000 published on a
/// free loopback port. Created, not started.
pub async fn create(engine: &Engine, image: &str) -> anyhow::Result<String> {
    create_with(engine, image, None).await
}

/// [`create`], running `command` instead of the image's CMD.
pub async fn create_with(
    engine: &Engine,
    image: &str,
    command: Option<&[String]>,
) -> anyhow::Result<String> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: command.map(<[String]>::to_vec),
        host_config: Some(HostConfig {
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                "/data".to_string(),
                "uid=10001,gid=10001,mode=0700".to_string(),
            )])),
            port_bindings: Some(HashMap::from([(
                "3000/tcp".to_string(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(String::new()),
                }]),
            )])),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    Ok(engine
        .docker()
        .create_container(None, body)
        .await
        .with_context(|| format!("creating a container of {image}"))?
        .id)
}

/// Starts the container; returns the base URL its port 3000 is published at.
pub async fn start(engine: &Engine, id: &str) -> anyhow::Result<String> {
    let docker = engine.docker();
    docker
        .start_container(id, None)
        .await
        .context("starting the container")?;
    let port = docker
        .inspect_container(id, None)
        .await
        .context("inspecting the container")?
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get("3000/tcp").cloned().flatten())
        .and_then(|b| b.into_iter().find_map(|b| b.host_port))
        .context("the container's port 3000 is not published")?;
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Removes the container, whatever its state.
pub async fn remove(engine: &Engine, id: &str) {
    let removed = engine
        .docker()
        .remove_container(
            id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    if let Err(err) = removed {
        tracing::warn!(container = %id, "could not remove the container: {err}");
    }
}

/// Waits for the engine's health check to say healthy (or the container to stop, or the limit): (healthy, what
/// happened).
async fn wait_healthy(
    engine: &Engine,
    id: &str,
    base: &str,
    limits: &Limits,
) -> anyhow::Result<(bool, String)> {
    let started = Instant::now();
    // When the server first answers, apart from when the engine's health check (every --interval) says so.
    let mut answering: Option<Duration> = None;
    let docker = engine.docker();
    let outcome = loop {
        if answering.is_none()
            && let Ok(Ok((200, _))) = tokio::time::timeout(
                Duration::from_secs(1),
                crate::probe::get(&format!("{base}/api/health")),
            )
            .await
        {
            answering = Some(started.elapsed());
        }
        let state = docker
            .inspect_container(id, None)
            .await
            .context("inspecting the smoke-test container")?;
        let running = state
            .state
            .as_ref()
            .and_then(|s| s.running)
            .unwrap_or(false);
        let health = state
            .state
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status);
        if health == Some(HealthStatusEnum::HEALTHY) {
            break (
                true,
                format!(
                    "healthy after {:.1} s (answering after {:.2} s)",
                    started.elapsed().as_secs_f64(),
                    answering.unwrap_or_default().as_secs_f64()
                ),
            );
        }
        if !running {
            let code = state.state.as_ref().and_then(|s| s.exit_code).unwrap_or(-1);
            break (
                false,
                format!("the container stopped (exit {code}) before it was healthy"),
            );
        }
        if health == Some(HealthStatusEnum::UNHEALTHY) {
            break (false, "the health check reports unhealthy".to_string());
        }
        if started.elapsed() > limits.healthy_within {
            break (
                false,
                format!("not healthy within {} s", limits.healthy_within.as_secs()),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    Ok(outcome)
}

async fn run(engine: &Engine, id: &str, limits: &Limits) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();
    let base = start(engine, id).await?;
    let (healthy, detail) = wait_healthy(engine, id, &base, limits).await?;
    checks.push(Check::new(
        "SMOKE-HEALTHY",
        "turns healthy",
        healthy,
        detail,
    ));
    if !healthy {
        return Ok(checks);
    }

    let (ok, detail) = match get(&format!("{base}/api/health")).await {
        Ok((status, _)) => (status == 200, format!("GET /api/health → {status}")),
        Err(err) => (false, format!("GET /api/health: {err:#}")),
    };
    checks.push(Check::new(
        "SMOKE-HEALTH",
        "answers /api/health",
        ok,
        detail,
    ));
    let (ok, detail) = match product_page(&base).await {
        Ok((path, status)) => (status == 200, format!("GET {path} → {status}")),
        Err(err) => (false, format!("{err:#}")),
    };
    checks.push(Check::new(
        "SMOKE-PAGE",
        "serves a product page",
        ok,
        detail,
    ));
    let (ok, detail) = terminate(engine, id, limits.stopped_within).await?;
    checks.push(Check::new(
        "SMOKE-SIGTERM",
        "stops cleanly on SIGTERM",
        ok,
        detail,
    ));
    Ok(checks)
}

/// Sends SIGTERM and waits up to `within` for the container to stop: (exited 0, what happened).
pub async fn terminate(
    engine: &Engine,
    id: &str,
    within: Duration,
) -> anyhow::Result<(bool, String)> {
    let docker = engine.docker();
    docker
        .kill_container(
            id,
            Some(
                KillContainerOptionsBuilder::default()
                    .signal("SIGTERM")
                    .build(),
            ),
        )
        .await
        .context("sending SIGTERM to the container")?;
    let stopping = Instant::now();
    Ok(loop {
        let state = docker
            .inspect_container(id, None)
            .await
            .context("inspecting the smoke-test container")?;
        let state = state.state.unwrap_or_default();
        if !state.running.unwrap_or(false) {
            let code = state.exit_code.unwrap_or(-1);
            break (
                code == 0,
                format!(
                    "exit {code} {:.1} s after SIGTERM",
                    stopping.elapsed().as_secs_f64()
                ),
            );
        }
        if stopping.elapsed() > within {
            break (
                false,
                format!("still running {} s after SIGTERM", within.as_secs()),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    })
}

pub async fn get(url: &str) -> anyhow::Result<(u16, String)> {
    match tokio::time::timeout(Duration::from_secs(10), crate::probe::get(url)).await {
        Ok(answer) => answer,
        Err(_) => anyhow::bail!("GET {url}: no answer within 10 s"),
    }
}

/// The first product of the catalogue API, then its page: (path, status).
pub async fn product_page(base: &str) -> anyhow::Result<(String, u16)> {
    let (status, body) = get(&format!("{base}/api/v1/products?limit=1")).await?;
    anyhow::ensure!(status == 200, "GET /api/v1/products → {status}");
    let list: serde_json::Value =
        serde_json::from_str(&body).context("the product list is not JSON")?;
    let slug = list
        .pointer("/data/0/slug")
        .and_then(|s| s.as_str())
        .context("the catalogue is empty: no product page to ask for")?;
    let path = format!("/produits/{slug}");
    let (status, _) = get(&format!("{base}{path}")).await?;
    Ok((path, status))
}

/// The container's last 20 log lines, for a failed smoke test.
pub async fn last_logs(engine: &Engine, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("20")
        .build();
    let mut stream = engine.docker().logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}
