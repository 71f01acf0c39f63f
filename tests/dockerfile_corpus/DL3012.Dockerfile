# expect: DL3012
# two health checks
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
HEALTHCHECK CMD ["/vivr", "healthcheck"]
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
