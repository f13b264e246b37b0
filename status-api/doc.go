// Package statusapi is the data plane's read-only status API: Kong's
// Status API endpoints for a data plane (/status, /status/ready, /metrics
// and the upstream health endpoints), which the dataplane binary serves on
// its status listener (GATEHOUSE_STATUS_LISTEN).
//
// Handler serves them from a Source, a small interface the data plane
// implements over its in-memory runtime; the package never opens the data
// plane's cache. NewCollector exports Kong's data-plane gauges from the
// same Source for the data plane's Prometheus registry. Nothing the API
// answers changes state, except POST /status/ready with status=draining,
// whose flag the handler holds.
package statusapi
