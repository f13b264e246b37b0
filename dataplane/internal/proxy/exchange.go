package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/proxy/upstream"
	"gatehouse.dev/dataplane/internal/router"
)

// exchange is one request through the proxy, whatever the engine: the
// client's request, what routing and the plugins decided, the upstream
// call and the response. Exchanges are pooled; an exchange implements
// pdk.Context for the plugins.
type exchange struct {
	s *Server
	v *view

	// Filled by the engine before serve.
	request     *fasthttp.Request  // the client's request (not modified)
	resp        *fasthttp.Response // the response to the client
	peer        netip.Addr
	tls         bool
	sni         string
	port        int // the port the client connected to
	local       net.Addr
	clientConn  *connState // the client connection's (nil when not accepted by the proxy)
	connReqs    uint64     // this request's number on its connection
	httpVersion string     // "1.0", "1.1" or "2"
	body        io.Reader
	bodyLen     int64 // -1: unknown (chunked)
	engineCtx   context.Context
	h1          *fasthttp.RequestCtx // the HTTP/1 engine's request, nil for HTTP/2
	h2          *h2State             // the HTTP/2 engine's request and response, kept with the exchange
	canHijack   bool                 // the engine can tunnel a websocket

	// The request, as the proxy sees it.
	start       time.Time
	rid         [32]byte
	peerTrusted bool
	clientIP    netip.Addr
	ipText      []byte // clientIP as text
	method      string // aliases fasthttp's buffer
	host        string // the Host header as sent; aliases
	hostName    string // lower case, without port (nginx's $host)
	rawPath     string // the request path as sent; aliases
	rawQuery    string
	hasQuery    bool // the request URI has a '?'
	isHead      bool
	upgrade     bool // a websocket upgrade was asked

	// Routing and plugins.
	match       router.Match
	matched     bool
	svc         *router.Service
	si          *serviceInfo
	exec        chain.Execution
	hasChain    bool
	shared      map[string]any
	consumer    *pdk.Consumer
	cred        *pdk.Credential
	exited      bool
	edits       edits
	pathBuf     []byte
	bodyBuf     []byte
	scratch     []byte
	hostBuf     []byte   // the upstream Host header
	num         [64]byte // formats numbers, addresses and trace ids
	bodyRead    bool     // the client body was read whole (bodyBuf)
	bodyStarted bool
	bodyBytes   int64 // client body bytes forwarded

	// The upstream call.
	hashValue, setCookie string
	addr                 balancer.Address
	tried                []balancer.Address
	triedBuf             [4]balancer.Address
	tries                int
	conn                 *upstream.Conn
	ubody                upstream.Body
	stream               bodyStream
	upClose              bool // the upstream asked to close
	proxied              bool
	connTime             time.Duration
	upStart              time.Time // the balancer started (end of Kong's proxy latency)
	upSent               time.Time // the request was sent
	upHeaders            time.Time // the response header arrived
	upstreamStatus       int
	upstreamAddr         string // the last try's address
	failure              error

	// Waiting for the upstream's response header (abort.go), guarded by
	// the server's waitList.
	wprev, wnext *exchange
	wconn        *upstream.Conn
	wgen         uint64
	waiting      bool
	aborted      bool

	// The response.
	status       int
	fromUpstream bool
	streaming    bool
	tunnel       bool // a websocket was accepted: the engine tunnels
	respBytes    int64
	done         bool
	latencies    pdk.Latencies

	// Observability.
	ctx    context.Context
	span   trace.Span
	logger *slog.Logger

	// The plugin views.
	reqView  requestView
	upView   upstreamView
	respView responseView
	hash     hashView
}

func newExchange(s *Server) *exchange {
	x := &exchange{s: s}
	x.reqView.x, x.upView.x, x.respView.x, x.hash.x = x, x, x, x
	x.stream.x = x
	return x
}

// reset clears x for reuse, keeping its buffers.
func (x *exchange) reset() {
	if x.h2 != nil {
		x.h2.req.Reset()
		x.h2.resp.Reset()
	}
	x.exec.Reset()
	clear(x.shared)
	*x = exchange{
		s: x.s, exec: x.exec, shared: x.shared,
		h2: x.h2, ipText: x.ipText[:0], pathBuf: x.pathBuf[:0], bodyBuf: x.bodyBuf[:0], scratch: x.scratch[:0], hostBuf: x.hostBuf[:0],
		edits:   x.edits.reset(),
		reqView: x.reqView, upView: x.upView, respView: x.respView, hash: x.hash, stream: bodyStream{x: x},
	}
}

// b2s views b as a string without copying. The string must not outlive
// b's contents: the proxy uses it for fasthttp's buffers, which stay
// unchanged until the exchange is released.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b)) //nolint:gosec // see the comment: the buffer outlives every use.
}

// h2State is the fasthttp request and response an HTTP/2 request is
// copied into and out of.
type h2State struct {
	req  fasthttp.Request
	resp fasthttp.Response
}
