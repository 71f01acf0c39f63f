//! The Docker engine, through its API (bollard): found at `DOCKER_HOST` or the local socket, asked to build from
//! an in-memory context, to describe and export images, and to tag and remove them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::ImageInspect;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

/// No engine answered: the one failure `vivr build` gives its own exit code (3) for, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error(
    "no Docker engine answers at {endpoint} ({reason}): start one (`sudo dockerd &`, or Docker Desktop), or point \
     DOCKER_HOST at it (unix:///path/to/docker.sock or tcp://host:2375)"
)]
pub struct EngineUnreachable {
    pub endpoint: String,
    pub reason: String,
}

pub struct Engine {
    docker: Docker,
    pub endpoint: String,
}

/// One step of a build as the engine reports it (`Step 3/12 : COPY …`).
pub struct Step<'a> {
    pub index: u64,
    pub total: u64,
    pub text: &'a str,
}

/// The context as a stream of 256 KiB chunks, `sent` told of the bytes handed over so far as the engine's
/// connection takes each one.
fn counted_chunks(
    tar: Vec<u8>,
    sent: Arc<dyn Fn(u64, u64) + Send + Sync>,
) -> impl futures_util::Stream<Item = bytes::Bytes> + Send + 'static {
    const CHUNK: usize = 256 * 1024;
    let tar = bytes::Bytes::from(tar);
    let total = tar.len() as u64;
    let chunks: Vec<bytes::Bytes> = (0..tar.len())
        .step_by(CHUNK)
        .map(|start| tar.slice(start..(start + CHUNK).min(tar.len())))
        .collect();
    let mut so_far = 0u64;
    futures_util::stream::iter(chunks).inspect(move |chunk| {
        so_far += chunk.len() as u64;
        sent(so_far, total);
    })
}

impl Engine {
    /// Connects to `DOCKER_HOST` (or the local socket) and checks that an engine answers within 5 seconds.
    pub async fn connect() -> Result<Engine, EngineUnreachable> {
        let endpoint =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let unreachable = |reason: String| EngineUnreachable {
            endpoint: endpoint.clone(),
            reason,
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(first_line(&e.to_string()))),
            Err(_) => return Err(unreachable("no answer within 5 s".into())),
        }
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unreachable(format!("API version: {e}")))?;
        Ok(Engine { docker, endpoint })
    }

    /// Builds the context `tar` (its `Dockerfile` at the root) as `tag`, with build arguments; `sent` hears of
    /// the context's bytes as they leave (so far, total), `step` of every step. Returns the image id. The
    /// engine's error is the error's text.
    pub async fn build(
        &self,
        tar: Vec<u8>,
        tag: &str,
        build_args: &HashMap<String, String>,
        sent: Arc<dyn Fn(u64, u64) + Send + Sync>,
        step: &(dyn Fn(Step<'_>) + Sync),
    ) -> anyhow::Result<String> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .buildargs(build_args)
            .build();
        let mut stream = self.docker.build_image(
            options,
            None,
            Some(bollard::body_stream(counted_chunks(tar, sent))),
        );
        let mut image_id = None;
        let mut log = String::new();
        while let Some(event) = stream.next().await {
            let event = event.map_err(|e| {
                anyhow::anyhow!(
                    "the engine stopped the build: {}",
                    first_line(&e.to_string())
                )
            })?;
            if let Some(detail) = event.error_detail {
                bail!(
                    "the build failed: {}\n{log}",
                    detail.message.unwrap_or_default().trim()
                );
            }
            if let Some(text) = event.stream.as_deref() {
                log.push_str(text);
                if let Some((index, total)) = step_number(text) {
                    step(Step {
                        index,
                        total,
                        text: text.trim(),
                    });
                }
                tracing::debug!(target: "vivr::build", "{}", text.trim_end());
            }
            if let Some(id) = event.aux.and_then(|aux| aux.id) {
                image_id = Some(id);
            }
        }
        match image_id {
            Some(id) => Ok(id),
            None => match self.docker.inspect_image(tag).await {
                Ok(image) => image.id.context("the engine built an image without an id"),
                Err(e) => bail!("the build ended without an image: {e}\n{log}"),
            },
        }
    }

    pub async fn inspect(&self, image: &str) -> anyhow::Result<ImageInspect> {
        self.docker
            .inspect_image(image)
            .await
            .with_context(|| format!("inspecting the image {image}"))
    }

    /// The image as `docker save` writes it (a tar of its config, manifest and layers).
    pub async fn export(&self, image: &str) -> anyhow::Result<Vec<u8>> {
        let mut stream = self.docker.export_image(image);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes
                .extend_from_slice(&chunk.with_context(|| format!("exporting the image {image}"))?);
        }
        Ok(bytes)
    }

    /// Adds `repo:tag` to `image`.
    pub async fn tag(&self, image: &str, repo: &str, tag: &str) -> anyhow::Result<()> {
        let options = TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .with_context(|| format!("tagging {image} as {repo}:{tag}"))
    }

    /// Removes a tag (and the image, once untagged and unused). Its parent layers stay: they are the engine's
    /// build cache, and pruning them would pull a cached layer from under a build running at the same time
    /// ("No such image: sha256:…"). `docker image prune` is the engine's own way to reclaim them.
    pub async fn untag(&self, reference: &str) -> anyhow::Result<()> {
        let options = RemoveImageOptionsBuilder::default().noprune(true).build();
        self.docker
            .remove_image(reference, Some(options), None)
            .await
            .map(|_| ())
            .with_context(|| format!("removing {reference}"))
    }

    /// The API client, for what this module does not wrap (containers, for the smoke test).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The `created_by` line of each layer, newest first.
    pub async fn history(&self, image: &str) -> anyhow::Result<Vec<String>> {
        let history = self
            .docker
            .image_history(image)
            .await
            .with_context(|| format!("reading the history of {image}"))?;
        Ok(history.into_iter().map(|h| h.created_by).collect())
    }
}

/// `Step 3/12 : COPY …` → (3, 12).
fn step_number(text: &str) -> Option<(u64, u64)> {
    let rest = text.trim_start().strip_prefix("Step ")?;
    let (numbers, _) = rest.split_once(' ')?;
    let (index, total) = numbers.split_once('/')?;
    Some((index.parse().ok()?, total.parse().ok()?))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_context_is_sent_in_chunks_and_every_byte_is_counted() {
        let tar: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = heard.clone();
        let chunks: Vec<bytes::Bytes> = counted_chunks(
            tar.clone(),
            Arc::new(move |so_far, total| sink.lock().unwrap().push((so_far, total))),
        )
        .collect()
        .await;
        assert_eq!(chunks.concat(), tar);
        assert_eq!(
            *heard.lock().unwrap(),
            vec![(262_144, 600_000), (524_288, 600_000), (600_000, 600_000)]
        );
    }

    #[test]
    fn build_steps_are_read_from_the_engine_stream() {
        assert_eq!(
            step_number("Step 3/12 : COPY out/vivr /vivr\n"),
            Some((3, 12))
        );
        assert_eq!(step_number(" ---> Running in 1234\n"), None);
    }
}
