package proxy

import (
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/pdk"
)

// finish ends the request once its response was handed to the client (or
// the client went away): the upstream connection is released, the try
// reported to the balancer, the log phase and the access log run, the
// span ends, and the exchange goes back to the pool.
func (x *exchange) finish() {
	if x.done {
		return
	}
	x.done = true
	end := time.Now()
	x.releaseConn()
	if !x.addr.IsZero() {
		var resp time.Duration
		if !x.upSent.IsZero() {
			resp = end.Sub(x.upSent)
		}
		x.addr.Report(balancer.Outcome{Status: x.upstreamStatus, ConnectTime: x.connTime, ResponseTime: resp})
		x.addr = balancer.Address{}
	}
	x.latencies = pdk.Latencies{Request: end.Sub(x.start)}
	if x.proxied {
		x.latencies.Proxy = x.upStart.Sub(x.start)
		if !x.upHeaders.IsZero() {
			x.latencies.Upstream = x.upHeaders.Sub(x.upSent)
		}
	} else {
		x.latencies.Proxy = x.latencies.Request
	}
	if x.hasChain {
		x.exec.Log(x)
	}
	if x.s.access != nil {
		x.s.access.log(x, end)
	}
	x.endSpan()
	x.s.release(x)
}

// get takes an exchange from the pool.
func (s *Server) get() *exchange { return s.pool.Get().(*exchange) }

// release puts x back in the pool.
func (s *Server) release(x *exchange) {
	x.reset()
	s.pool.Put(x)
}
