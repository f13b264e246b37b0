#!/usr/bin/env bash
# dataplane.sh runs a standalone data plane as a deploy/bench/proxy.sh
# candidate: one service and one catch-all route to the bench upstream, the
# prometheus plugin on globally (metrics on), tracing sampled at 1% and
# exported over OTLP/HTTP to the upstream (which answers 200 to anything),
# the access log on or off. It reads the LISTEN_ADDR and UPSTREAM_ADDR that
# proxy.sh exports.
#
# Usage (from the repository root, after `make build/dataplane`):
#   deploy/bench/proxy.sh -n 5 \
#     'dataplane=deploy/bench/dataplane.sh bin/dataplane' \
#     'dataplane-log=ACCESS_LOG=on deploy/bench/dataplane.sh bin/dataplane'
#
# Environment: ACCESS_LOG (off by default: on writes one JSON line per
# request to the candidate's log file), SAMPLE (the trace sampling ratio,
# 0.01; off exports nothing, which turns tracing off), PLUGINS (a YAML plugins list replacing the global prometheus
# plugin; "[]" for none), PROFILE (a file: the data plane's CPU profile over
# its whole run is written there on exit, through GATEHOUSE_CPU_PROFILE; it
# needs a binary built with `go build -tags benchprofile`), CONFIG (a declarative
# file to serve instead of the one service and route; every {upstream} in it
# becomes UPSTREAM_ADDR, and PLUGINS is then ignored: benchtool gen-proxy
# writes such files).
set -euo pipefail

bin=${1:?usage: dataplane.sh PATH_TO_DATAPLANE_BINARY}
: "${LISTEN_ADDR:?LISTEN_ADDR is set by proxy.sh}"
: "${UPSTREAM_ADDR:?UPSTREAM_ADDR is set by proxy.sh}"
plugins=${PLUGINS:-'[{name: prometheus}]'}

prefix=$(mktemp -d "${TMPDIR:-/tmp}/dataplane-bench.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
if [ -n "${CONFIG:-}" ]; then
	sed "s|{upstream}|$UPSTREAM_ADDR|g" "$CONFIG" >"$prefix/kong.yaml"
else
	cat >"$prefix/kong.yaml" <<YAML
_format_version: "3.0"
services:
- name: bench
  url: http://$UPSTREAM_ADDR
  routes:
  - name: all
    paths: [/]
    strip_path: false
plugins: $plugins
YAML
fi

export GATEHOUSE_PREFIX=$prefix
export GATEHOUSE_DECLARATIVE_CONFIG=$prefix/kong.yaml
export GATEHOUSE_PROXY_LISTEN=$LISTEN_ADDR
export GATEHOUSE_PROXY_SSL_LISTEN=off
export GATEHOUSE_STATUS_LISTEN=off
export GATEHOUSE_PROXY_ACCESS_LOG=${ACCESS_LOG:-off}
export GATEHOUSE_LOG_LEVEL=warn
if [ "${SAMPLE:-0.01}" != off ]; then
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://$UPSTREAM_ADDR
	export OTEL_TRACES_SAMPLER=parentbased_traceidratio
	export OTEL_TRACES_SAMPLER_ARG=${SAMPLE:-0.01}
fi
if [ -n "${PROFILE:-}" ]; then
	export GATEHOUSE_CPU_PROFILE=$PROFILE
fi
"$bin" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -rf "$prefix"' EXIT TERM INT
wait $pid
