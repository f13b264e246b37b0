# dataplane: the proxy, with its cache and status listener. The build context
# is the repository root:
#
#   docker build -f deploy/docker/dataplane.Dockerfile -t gatehouse/dataplane .
#
# Build arguments: VERSION and COMMIT (stamped into the binary, as
# `make build` does), GOPROXY, GO_VERSION and ALPINE_VERSION.
ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
ARG GOPROXY
WORKDIR /src
# status-api is the status listener's library (a module beside dataplane).
# Modules first: a source change does not download them again.
COPY shared/go.mod shared/go.sum shared/
COPY status-api/go.mod status-api/go.sum status-api/
COPY dataplane/go.mod dataplane/go.sum dataplane/
RUN cd dataplane && GOWORK=off go mod download
COPY deploy/docker/gobuild.sh deploy/docker/
COPY shared/ shared/
COPY status-api/ status-api/
COPY dataplane/ dataplane/
ARG VERSION
ARG COMMIT
RUN sh deploy/docker/gobuild.sh dataplane /out/dataplane

FROM alpine:${ALPINE_VERSION}
RUN addgroup -S -g 10001 gatehouse && adduser -S -D -H -u 10001 -G gatehouse -s /sbin/nologin gatehouse \
	&& mkdir -p /var/lib/gatehouse /etc/gatehouse/cluster \
	&& chown gatehouse:gatehouse /var/lib/gatehouse /etc/gatehouse/cluster
COPY --from=build /out/dataplane /usr/local/bin/dataplane
USER 10001:10001
# The prefix holds the node id and the cache: keep it on a volume so the data
# plane restarts on its last configuration. The cluster certificate is read
# from /etc/gatehouse/cluster (the volume `sync-hub cert` fills).
ENV GATEHOUSE_PREFIX=/var/lib/gatehouse \
	GATEHOUSE_CLUSTER_CERT=/etc/gatehouse/cluster/cluster.crt \
	GATEHOUSE_CLUSTER_CERT_KEY=/etc/gatehouse/cluster/cluster.key
VOLUME /var/lib/gatehouse
EXPOSE 8000 8443 8100
# Alive: the status API answers. Load balancers should use /status/ready,
# which answers 503 until a non-empty configuration is served.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
	CMD wget -q -T 2 -O /dev/null http://127.0.0.1:8100/status || exit 1
ENTRYPOINT ["dataplane"]
