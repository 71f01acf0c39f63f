# expect: DL3006 VIVR003
# an untagged base (which has no digest either)
FROM debian
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
