# expect: DL3013
# pip install without versions
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
RUN pip install --no-cache-dir flask
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
