# expect: VIVR003
# a tagged base without a digest: no hadolint rule requires one
FROM debian:12
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
