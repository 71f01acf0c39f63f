# expect: DL3066
# a user name, not a uid
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
HEALTHCHECK CMD ["/vivr", "healthcheck"]
USER vivr
ENTRYPOINT ["/vivr"]
CMD ["serve"]
