# expect: DL3020
# ADD for a plain file
FROM debian:12@sha256:4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
ADD app.conf /etc/app.conf
USER 10001:10001
HEALTHCHECK CMD ["/vivr", "healthcheck"]
ENTRYPOINT ["/vivr"]
CMD ["serve"]
