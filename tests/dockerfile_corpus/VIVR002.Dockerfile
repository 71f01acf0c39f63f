# expect: VIVR002
# no HEALTHCHECK: hadolint's DL3057 is off by default
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
USER 10001:10001
ENTRYPOINT ["/vivr"]
CMD ["serve"]
