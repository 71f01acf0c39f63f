# expect: DL3008
# apt-get install without versions
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
