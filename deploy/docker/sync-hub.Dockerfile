# sync-hub: pushes the configuration in Postgres to the data planes (also
# runs `sync-hub cert`). The build context is the repository root:
#
#   docker build -f deploy/docker/sync-hub.Dockerfile -t gatehouse/sync-hub .
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
COPY sync-hub/go.mod sync-hub/go.sum sync-hub/
RUN cd sync-hub && GOWORK=off go mod download
COPY deploy/docker/gobuild.sh deploy/docker/
COPY shared/ shared/
COPY sync-hub/ sync-hub/
ARG VERSION
ARG COMMIT
RUN sh deploy/docker/gobuild.sh sync-hub /out/sync-hub

FROM alpine:${ALPINE_VERSION}
RUN addgroup -S -g 10001 gatehouse && adduser -S -D -H -u 10001 -G gatehouse -s /sbin/nologin gatehouse \
	&& mkdir -p /etc/gatehouse/cluster && chown gatehouse:gatehouse /etc/gatehouse/cluster
COPY --from=build /out/sync-hub /usr/local/bin/sync-hub
USER 10001:10001
# The cluster certificate lives in /etc/gatehouse/cluster (a volume that
# `sync-hub cert` fills, owned by the gatehouse user). The status listener
# (read-only: /status, /status/ready, /metrics) is reachable from outside the
# container so that Prometheus can scrape it.
ENV GATEHOUSE_CLUSTER_CERT=/etc/gatehouse/cluster/cluster.crt \
	GATEHOUSE_CLUSTER_CERT_KEY=/etc/gatehouse/cluster/cluster.key \
	GATEHOUSE_STATUS_LISTEN=0.0.0.0:8007
EXPOSE 8005 8007
# Ready: the configuration was read from Postgres, Postgres answers, and the
# cluster listener listens.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
	CMD wget -q -T 2 -O /dev/null http://127.0.0.1:8007/status/ready || exit 1
ENTRYPOINT ["sync-hub"]
