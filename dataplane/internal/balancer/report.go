package balancer

import (
	"net/http"
	"time"

	"gatehouse.dev/dataplane/internal/healthcheck"
)

// Failure is how a try failed before it got an HTTP status.
type Failure = healthcheck.Failure

// The failure kinds of an Outcome.
const (
	// FailureNone: the upstream answered; Outcome.Status holds the status.
	FailureNone = healthcheck.FailureNone
	// FailureTCP: connecting, or sending or reading, failed.
	FailureTCP = healthcheck.FailureTCP
	// FailureTimeout: connecting, sending or reading timed out.
	FailureTimeout = healthcheck.FailureTimeout
)

// Outcome is how one try of a request to a picked address went.
type Outcome struct {
	// Status is the upstream's response status (0 without a response).
	Status int
	// Failure says how the try failed before a response, if it did.
	Failure Failure
	// ConnectTime and ResponseTime are nginx's upstream_connect_time and
	// upstream_response_time: the latency algorithm's round trip is their
	// sum.
	ConnectTime  time.Duration
	ResponseTime time.Duration
}

// Report records how a try to a picked address went, and releases the
// address: it must be called exactly once for every Address Pick
// returned, when the try ends (for least-connections it ends the
// request's count on the address). It feeds the passive health checks
// (a 504 counts as a timeout, as in Kong), the least-connections counts
// and the latency averages. Reporting the zero Address, or an address
// resolved from a service host, does nothing. Report does not allocate
// unless the address changes health.
func (a Address) Report(o Outcome) {
	if a.a == nil || a.b == nil {
		return
	}
	b, st := a.b, a.a.st
	switch b.spec.algorithm {
	case leastConnectionsAlgo:
		st.active.Add(-1)
	case latencyAlgo:
		st.lat.observe(o.ConnectTime+o.ResponseTime, monoNow())
	case roundRobinAlgo, consistentHashingAlgo:
	}
	if b.spec.hc == nil {
		return
	}
	r := healthcheck.Result{Status: o.Status, Failure: o.Failure}
	if o.Failure == FailureNone && o.Status == http.StatusGatewayTimeout {
		r = healthcheck.Result{Failure: FailureTimeout}
	}
	if status, flipped := st.health.Record(&b.spec.hc.Passive, r); flipped {
		b.flipped(a.a, status, "passive")
	}
}
