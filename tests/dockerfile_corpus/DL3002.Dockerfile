# expect: DL3002
# the last USER is root
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
HEALTHCHECK CMD ["/vivr", "healthcheck"]
USER 0
CMD ["serve"]
