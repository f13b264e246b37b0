package e2etest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// UpstreamReply is what an Upstream answers, as JSON.
type UpstreamReply struct {
	// Upstream is the server's name.
	Upstream string `json:"upstream"`
	// Method and Path are the request's, as the upstream received them.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Headers are the request's headers (first value of each).
	Headers map[string]string `json:"headers"`
}

// Upstream is a real HTTP server behind the data planes: it answers every
// request 200 with an UpstreamReply, and counts them. Its methods are safe
// for concurrent use.
type Upstream struct {
	*httptest.Server
	// Name is said in every reply.
	Name string

	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request
}

// NewUpstream starts an upstream named name; it is closed when the test
// ends.
func NewUpstream(tb testing.TB, name string) *Upstream {
	tb.Helper()
	u := &Upstream{Name: name}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	tb.Cleanup(u.Close)
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.hits.Add(1)
	u.mu.Lock()
	u.last = r.Clone(r.Context())
	u.mu.Unlock()
	reply := UpstreamReply{Upstream: u.Name, Method: r.Method, Path: r.URL.RequestURI(), Headers: map[string]string{}}
	for k := range r.Header {
		reply.Headers[http.CanonicalHeaderKey(k)] = r.Header.Get(k)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Upstream", u.Name)
	_ = json.NewEncoder(w).Encode(reply)
}

// Hits is how many requests the upstream has served.
func (u *Upstream) Hits() int64 { return u.hits.Load() }

// LastRequest is the last request the upstream received (nil for none).
func (u *Upstream) LastRequest() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// Host is the upstream's host (127.0.0.1).
func (u *Upstream) Host() string {
	h, _, _ := net.SplitHostPort(u.Listener.Addr().String())
	return h
}

// Port is the upstream's port.
func (u *Upstream) Port() int { return Port(u.Listener.Addr().String()) }

// HostPort is host:port, for a target.
func (u *Upstream) HostPort() string { return u.Host() + ":" + strconv.Itoa(u.Port()) }

// DecodeReply decodes a proxied answer from an Upstream.
func DecodeReply(r *Response) (UpstreamReply, error) {
	var reply UpstreamReply
	err := json.Unmarshal(r.Body, &reply)
	return reply, err
}
