# admin-api: Kong's Admin API on Postgres (also runs `admin-api migrate`).
# The build context is the repository root:
#
#   docker build -f deploy/docker/admin-api.Dockerfile -t gatehouse/admin-api .
#
# Build arguments: VERSION and COMMIT (stamped into the binary, as
# `make build` does), GOPROXY, GO_VERSION and ALPINE_VERSION.
ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
ARG GOPROXY
WORKDIR /src
# Modules first: a source change does not download them again.
COPY shared/go.mod shared/go.sum shared/
COPY admin-api/go.mod admin-api/go.sum admin-api/
RUN cd admin-api && GOWORK=off go mod download
COPY deploy/docker/gobuild.sh deploy/docker/
COPY shared/ shared/
COPY admin-api/ admin-api/
ARG VERSION
ARG COMMIT
RUN sh deploy/docker/gobuild.sh admin-api /out/admin-api

FROM alpine:${ALPINE_VERSION}
RUN addgroup -S -g 10001 gatehouse && adduser -S -D -H -u 10001 -G gatehouse -s /sbin/nologin gatehouse
COPY --from=build /out/admin-api /usr/local/bin/admin-api
USER 10001:10001
# Beyond loopback the Admin API refuses to start without GATEHOUSE_ADMIN_TOKEN.
ENV GATEHOUSE_ADMIN_LISTEN=0.0.0.0:8001
EXPOSE 8001
# GET /status answers 200 while the process serves, also while Postgres is
# down (it then says "reachable": false). The token is sent when one is set.
# Change the port here if GATEHOUSE_ADMIN_LISTEN uses another one.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
	CMD wget -q -T 2 -O /dev/null --header "Kong-Admin-Token: ${GATEHOUSE_ADMIN_TOKEN:-}" http://127.0.0.1:8001/status || exit 1
ENTRYPOINT ["admin-api"]
