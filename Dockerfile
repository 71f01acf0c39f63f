# syntax=docker/dockerfile:1
# The vivr image: one static binary in an empty (scratch) image, run as an unprivileged numeric user.
#
# Two ways in, one runtime stage:
# - from source, on any machine with Docker and internet: `docker build .` compiles vivr in the builder stage;
# - from a binary built on the host: `vivr build` sends this file's runtime stage with the prebuilt static binary
#   as the only file of the build context (no base image to pull).
#
# The builder's base is pinned by digest; to move it, read the new digest with
# `docker buildx imagetools inspect rust:1.95-slim-bookworm` and replace it here.

FROM rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS builder
WORKDIR /src
# glibc linked statically: the binary needs no C library at run time, and resolves names from /etc/hosts and DNS.
ENV RUSTFLAGS="-C target-feature=+crt-static" CARGO_TERM_COLOR=never
# The dependencies first, in their own layer, rebuilt only when a manifest or the lock file changes: the
# workspace's manifests with empty sources.
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo .cargo
COPY shop/Cargo.toml shop/
COPY migrations migrations
RUN mkdir -p src shop/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs shop/src/lib.rs \
    && cargo build --profile dist --locked --target x86_64-unknown-linux-gnu \
    && rm -rf src shop/src
COPY . .
RUN touch src/main.rs src/lib.rs shop/src/lib.rs \
    && cargo build --profile dist --locked --target x86_64-unknown-linux-gnu --bin vivr \
    && install -D target/x86_64-unknown-linux-gnu/dist/vivr /out/vivr \
    && mkdir -p /out/data

FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
# The SHA-256 of the CycloneDX SBOM `vivr build --sbom FILE` wrote for the binary inside.
ARG SBOM_SHA256=none
LABEL org.opencontainers.image.title="vivr" \
      org.opencontainers.image.description="The VIVR shop and the tools that run it in production" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      dev.vivr.sbom.sha256="${SBOM_SHA256}"
COPY --from=builder /out/vivr /vivr
# The embedded SQLite default lives in /data (sqlite://data/vivr.db from /): with `docker run --read-only`,
# mount a volume or a tmpfs there.
COPY --from=builder --chown=10001:10001 /out/data /data
# Error reports name the commit the image was built from.
ENV VIVR_BIND=0.0.0.0:3000 VIVR_RELEASE=${REVISION}
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
