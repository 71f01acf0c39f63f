# expect: DL3007 VIVR003
# the latest tag (and so no digest)
FROM debian:latest
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
