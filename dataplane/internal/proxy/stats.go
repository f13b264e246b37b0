package proxy

import (
	"net"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Stats are the proxy's connection and request counters, with nginx's
// stub_status meanings (what Kong's /status reports): connections
// accepted and handled since start, connections open now, split into
// reading a request, writing a response (or tunnelling a websocket, or an
// HTTP/2 connection with streams in flight) and waiting (idle keep-alive),
// and requests served since start.
type Stats struct {
	Accepted, Handled, Active int64
	Reading, Writing, Waiting int64
	TotalRequests             int64
}

type counters struct {
	accepted, active          atomic.Int64
	reading, writing, waiting atomic.Int64
	requests                  atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Accepted: c.accepted.Load(), Handled: c.accepted.Load(), Active: c.active.Load(),
		Reading: c.reading.Load(), Writing: c.writing.Load(), Waiting: c.waiting.Load(),
		TotalRequests: c.requests.Load(),
	}
}

// Connection phases, for the reading/writing/waiting gauges.
const (
	phaseNone int32 = iota
	phaseWaiting
	phaseReading
	phaseWriting
)

func (c *counters) gauge(p int32) *atomic.Int64 {
	switch p {
	case phaseWaiting:
		return &c.waiting
	case phaseReading:
		return &c.reading
	case phaseWriting:
		return &c.writing
	}
	return nil
}

// move moves a connection from its phase to p.
func (c *counters) move(cs *connState, p int32) {
	old := cs.phase.Swap(p)
	if old == p {
		return
	}
	if g := c.gauge(old); g != nil {
		g.Add(-1)
	}
	if g := c.gauge(p); g != nil {
		g.Add(1)
	}
}

// connState is what the proxy tracks of one client connection.
type connState struct {
	phase  atomic.Int32
	closed atomic.Bool
	// serial numbers the connection (nginx's $connection); requests
	// counts its requests ($connection_requests).
	serial   uint64
	requests atomic.Uint64
	// inflight counts an HTTP/2 connection's streams.
	inflight atomic.Int32
}

// stateOf returns the state of a connection the proxy accepted.
func stateOf(c net.Conn) *connState {
	if sc, ok := c.(interface{ state() *connState }); ok {
		return sc.state()
	}
	return nil
}

// accepted counts a new connection, waiting for its first request.
func (c *counters) opened(cs *connState) {
	cs.serial = uint64(c.accepted.Add(1)) //nolint:gosec // a count, never negative
	c.active.Add(1)
	c.move(cs, phaseWaiting)
}

// closed uncounts a connection; it is safe to call more than once.
func (c *counters) closed(cs *connState) {
	if cs.closed.Swap(true) {
		return
	}
	c.move(cs, phaseNone)
	c.active.Add(-1)
}

// connStateHook is fasthttp's ConnState callback.
func (c *counters) connStateHook(nc net.Conn, st fasthttp.ConnState) {
	cs := stateOf(nc)
	if cs == nil {
		return
	}
	switch st {
	case fasthttp.StateActive:
		c.move(cs, phaseReading)
	case fasthttp.StateIdle:
		c.move(cs, phaseWaiting)
	case fasthttp.StateClosed:
		c.closed(cs)
	case fasthttp.StateHijacked:
		c.move(cs, phaseWriting)
	case fasthttp.StateNew:
	}
}
