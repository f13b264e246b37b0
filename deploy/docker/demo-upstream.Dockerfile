# demo-upstream: the echo service behind the demo routes of
# docker-compose.yml (deploy/demo-upstream, standard library only). The build
# context is the repository root:
#
#   docker build -f deploy/docker/demo-upstream.Dockerfile -t gatehouse/demo-upstream .
ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY deploy/docker/gobuild.sh deploy/docker/
COPY deploy/demo-upstream/ deploy/demo-upstream/
RUN sh deploy/docker/gobuild.sh deploy/demo-upstream /out/demo-upstream

FROM alpine:${ALPINE_VERSION}
RUN addgroup -S -g 10001 gatehouse && adduser -S -D -H -u 10001 -G gatehouse -s /sbin/nologin gatehouse
COPY --from=build /out/demo-upstream /usr/local/bin/demo-upstream
USER 10001:10001
ENV DEMO_UPSTREAM_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
	CMD wget -q -T 2 -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["demo-upstream"]
