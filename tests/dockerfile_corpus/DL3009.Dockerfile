# expect: DL3009
# the apt lists stay in the layer
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
