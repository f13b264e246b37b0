package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/proxy/upstream"
	"gatehouse.dev/dataplane/internal/router"
)

var http11 = []byte("HTTP/1.1")

// bufPool holds the buffers bodies are copied through.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

const hexDigits = "0123456789abcdef"

// newRequestID fills rid with 32 random hex digits, as Kong's
// X-Kong-Request-Id.
func newRequestID(rid *[32]byte) {
	// Request ids must be unique, not secret: math/rand/v2's generator is
	// ChaCha8 seeded by the runtime, and costs no system call.
	a, b := rand.Uint64(), rand.Uint64() //nolint:gosec // see above
	for i := range 16 {
		rid[i] = hexDigits[a&15]
		a >>= 4
		rid[16+i] = hexDigits[b&15]
		b >>= 4
	}
}

// begin reads what every request needs from the client's request: the
// client address, the request id, host and path, the trace context.
func (x *exchange) begin() {
	x.start = time.Now()
	x.v = x.s.view()
	x.s.ctr.requests.Add(1)
	x.tried = x.triedBuf[:0]
	newRequestID(&x.rid)
	h := &x.request.Header
	x.peerTrusted = x.s.realIP.Trusted(x.peer)
	x.clientIP = x.peer
	if x.peerTrusted {
		x.clientIP = x.s.realIP.ClientIP(x.peer, b2s(h.Peek(x.s.realIP.Header())))
	}
	x.ipText = x.clientIP.AppendTo(x.ipText[:0])
	x.method = methodString(h.Method())
	x.isHead = x.method == "HEAD"
	x.host = b2s(h.Host())
	x.hostName = hostName(x.host)
	uri := h.RequestURI()
	if i := indexByte(uri, '?'); i >= 0 {
		x.rawPath, x.rawQuery, x.hasQuery = b2s(uri[:i]), b2s(uri[i+1:]), true
	} else {
		x.rawPath = b2s(uri)
	}
	if strings.HasPrefix(x.rawPath, "http://") || strings.HasPrefix(x.rawPath, "https://") {
		// An absolute-form request target: route on its path.
		rest := x.rawPath[strings.Index(x.rawPath, "//")+2:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			x.rawPath = rest[i:]
		} else {
			x.rawPath = "/"
		}
	}
	if x.s.opts.ClientMaxBodySize > 0 && x.bodyLen > x.s.opts.ClientMaxBodySize {
		x.bodyLen = 0 // never read: the request is refused
	}
	x.upgrade = h.ConnectionUpgrade() && strings.EqualFold(b2s(h.Peek("Upgrade")), "websocket")
	x.startSpan()
}

// methodString returns the method as a constant for the common ones, so
// that it outlives the request's buffers.
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	}
	return b2s(m)
}

func indexByte(b []byte, c byte) int {
	for i, v := range b {
		if v == c {
			return i
		}
	}
	return -1
}

// hostName is nginx's $host: the host in lower case, without port.
func hostName(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[:i+1]
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	for i := range len(h) {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// routerHeaders adapts the client's headers for the router.
type routerHeaders struct{ x *exchange }

func (r routerHeaders) Values(name string) []string {
	var out []string
	for _, v := range r.x.request.Header.PeekAll(lookupName(name)) {
		out = append(out, string(v))
	}
	return out
}

// serve runs the request up to a response ready in x.resp. The engine
// then sends it; x.streaming says whether its body streams from the
// upstream (finish runs when the stream closes) or is in x.resp
// (the engine calls finish).
func (x *exchange) serve() {
	x.begin()
	if len(x.request.Header.RequestURI()) > maxRequestLine {
		x.startPlan("", "")
		x.fail(414, "")
		return
	}
	if !x.route() {
		x.startPlan("", "")
		x.fail(404, msgNoRoute)
		return
	}
	svcID := ""
	if x.svc != nil {
		svcID = x.svc.ID
	}
	x.startPlan(x.match.Route.ID, svcID)
	if limit := x.s.opts.ClientMaxBodySize; limit > 0 && x.request.Header.ContentLength() > 0 &&
		int64(x.request.Header.ContentLength()) > limit {
		x.fail(413, msgBodyTooLarge)
		return
	}
	if x.match.Route.HTTPSOnly() && x.forwardedProto() != "https" {
		x.refuseHTTP()
		return
	}
	if x.hasChain {
		x.exec.Access(x)
		if x.exited {
			x.respondLocal()
			return
		}
	}
	if x.svc == nil {
		x.fail(503, msgNoService)
		return
	}
	x.si = x.v.service(x.svc)
	x.proxy()
}

// route matches the request; false when no route matches.
func (x *exchange) route() bool {
	if x.v.router == nil {
		return false
	}
	end := x.childSpan("kong.router")
	req := router.Request{
		Method: x.method, Host: x.host, Port: x.port, Path: x.rawPath,
		Headers: routerHeaders{x}, SNI: x.sni, TLS: x.tls,
	}
	x.match, x.matched = x.v.router.Match(&req)
	end(x.matched)
	if x.matched {
		x.svc = x.match.Service
	}
	return x.matched
}

// startPlan starts the plugin chain of a route (or the global one).
func (x *exchange) startPlan(routeID, serviceID string) {
	if x.v.chains == nil {
		return
	}
	x.hasChain = true
	x.exec.Start(x.v.chains.Plan(routeID, serviceID))
}

// refuseHTTP answers a plain-HTTP request on an https-only route: 426
// with Kong's upgrade headers, or a redirect to https.
func (x *exchange) refuseHTTP() {
	code := x.match.Route.HTTPSRedirectStatusCode
	switch code {
	case 301, 302, 307, 308:
		x.exitStatus(code)
		x.resp.Header.Set("Location", "https://"+x.forwardedHost()+b2s(x.request.Header.RequestURI()))
		x.respondLocal()
	default:
		x.Error(426, msgUseHTTPS, nil)
		x.resp.Header.Set("Connection", "Upgrade")
		x.resp.Header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
		x.respondLocal()
	}
}

// fail answers with Kong's error body and runs the response phases.
func (x *exchange) fail(status int, message string) {
	x.Error(status, message, nil)
	x.respondLocal()
}

// exitStatus makes x.resp an empty response with status.
func (x *exchange) exitStatus(status int) {
	x.exited = true
	x.status = status
	x.resp.Header.SetStatusCode(status)
	x.resp.ResetBody()
}

// respondLocal finishes a response the proxy or a plugin produced: the
// header filter, Kong's headers, and the body filter.
func (x *exchange) respondLocal() {
	h := &x.resp.Header
	if x.hasChain {
		x.exec.HeaderFilter(x)
	}
	if x.proxied {
		x.setProxiedHeaders()
	} else {
		h.SetBytesV("X-Kong-Response-Latency", strconv.AppendInt(x.num[:0], int64(time.Since(x.start)/time.Millisecond), 10))
		if len(h.Server()) == 0 {
			h.SetServer(x.s.serverName)
		}
	}
	h.SetBytesV("X-Kong-Request-Id", x.rid[:])
	if x.hasChain && x.exec.WantsBody(x) {
		body := x.exec.BodyFilter(x, x.resp.Body())
		x.resp.SetBody(body)
	}
	x.respBytes = int64(len(x.resp.Body()))
}

// setProxiedHeaders sets Kong's headers of a proxied response: the
// latencies and Via.
func (x *exchange) setProxiedHeaders() {
	h := &x.resp.Header
	waiting := time.Duration(0)
	if !x.upHeaders.IsZero() {
		waiting = x.upHeaders.Sub(x.upSent)
	}
	h.SetBytesV("X-Kong-Upstream-Latency", strconv.AppendInt(x.num[:0], int64(waiting/time.Millisecond), 10))
	h.SetBytesV("X-Kong-Proxy-Latency", strconv.AppendInt(x.num[:0], int64(x.upStart.Sub(x.start)/time.Millisecond), 10))
	via := "1.1 " + x.s.serverName
	if prev := h.Peek("Via"); len(prev) > 0 {
		via = string(prev) + ", " + via
	}
	h.Set("Via", via)
	if len(h.Server()) == 0 {
		h.SetServer(x.s.serverName)
	}
}

// proxy calls the upstream and prepares its response.
func (x *exchange) proxy() {
	x.proxied = true
	x.upStart = time.Now()
	if x.bodyLen > 0 && x.bodyLen <= replayableBody && !x.edits.bodySet {
		if err := x.readWholeBody(0); err != nil {
			x.clientBodyFailed(err)
			return
		}
	}
	if x.upgrade && !x.canHijack {
		x.upgrade = false
	}
	if !x.forward() {
		x.respondLocal()
		return
	}
	x.respondUpstream()
}

// clientBodyFailed answers a request whose body could not be read.
func (x *exchange) clientBodyFailed(err error) {
	x.clientBodyError(err)
	x.respondLocal()
}

// clientBodyError sets the answer to a request whose body could not be
// read: 413 above the size limit, 408 for a client too slow, else 400.
func (x *exchange) clientBodyError(err error) {
	x.failure = err
	switch {
	case errors.Is(err, errBodyTooLarge):
		x.Error(413, msgBodyTooLarge, nil)
	case upstream.IsTimeout(err):
		x.Error(408, "", nil)
	default:
		x.Error(400, "", nil)
	}
}

// neutralStatus is reported to the balancer for a try that failed for a
// reason the upstream is not to blame for (the client's body, the
// proxy's configuration): nginx's 499, in no default health list.
const neutralStatus = 499

// maxStaleRetries bounds the retries of tries that failed on a pooled
// connection the upstream had closed.
const maxStaleRetries = 2

// forward runs the tries until one gets a response header (true), or
// answers the failure (false).
func (x *exchange) forward() bool {
	var set *balancer.Set
	if x.v.balancers != nil {
		set = x.v.balancers
		if b := set.Balancer(x.svc.Host); b != nil {
			x.hashValue, x.setCookie = b.HashValue(&x.hash)
		}
	}
	stale := 0
	var last tryFailure
	for {
		addr, err := x.pick(set)
		if err != nil {
			if x.tries > 0 {
				break // answer the last try's failure
			}
			if be, ok := errors.AsType[*balancer.Error](err); ok {
				x.failure = err
				x.Error(be.Status, be.Message, nil)
				return false
			}
			x.failure = err
			x.Error(500, msgUnexpected, nil)
			return false
		}
		x.tries++
		x.addr = addr
		for {
			f := x.try(addr)
			if f.kind == tryOK {
				return true
			}
			if f.kind == tryStale {
				if stale < maxStaleRetries {
					stale++
					continue
				}
				f = tryFailure{kind: tryFailed, status: 502, health: balancer.FailureTCP, err: f.err}
			}
			last = f
			break
		}
		o := balancer.Outcome{Failure: last.health, ConnectTime: x.connTime}
		if last.health == balancer.FailureNone {
			o.Status = neutralStatus
		}
		addr.Report(o)
		if last.kind == tryClient {
			x.addr = balancer.Address{}
			return false // the answer is set
		}
		x.tried = append(x.tried, addr)
		x.addr = balancer.Address{}
		if !last.retry || x.tries > x.si.retries {
			break
		}
	}
	x.failure = last.err
	if last.status == 0 {
		last.status = 502
	}
	x.Error(last.status, "", nil)
	return false
}

// pick returns the address of the next try.
func (x *exchange) pick(set *balancer.Set) (balancer.Address, error) {
	if set != nil {
		return set.Pick(x.ctx, x.svc.Host, x.svc.Port, x.hashValue, x.tried)
	}
	return balancer.Address{}, nil
}

// tryFailure says how a try went.
type tryFailure struct {
	kind   int
	retry  bool // another address may be tried
	status int  // the answer if no try succeeds
	health balancer.Failure
	err    error
}

const (
	tryOK = iota
	tryFailed
	tryStale  // a pooled connection the upstream had closed: try again at once
	tryClient // the client's body failed: the answer is set
)

// try sends the request to addr and reads the response header into
// x.resp.Header.
func (x *exchange) try(addr balancer.Address) tryFailure {
	si := x.si
	x.hostBuf = x.hostHeader(x.hostBuf[:0], addr)
	host := x.hostBuf
	dial := addr.HostPort
	target := ""
	if addr.IsZero() {
		target = net.JoinHostPort(x.svc.Host, strconv.Itoa(x.svc.Port))
	} else {
		target = dial()
	}
	x.upstreamAddr = target
	key := upstream.Key{Addr: target}
	var te *tlsEntry
	if si.https {
		upCert := ""
		if b := addr.Balancer(); b != nil {
			upCert = b.ClientCertificate()
		}
		te = si.upstreamTLS(x.v.certs, serverName(host), upCert)
		if te.err != nil {
			x.s.log.Error("upstream TLS configuration: "+te.err.Error(), slog.String("service", x.svc.ID))
			return tryFailure{kind: tryFailed, status: 502, health: balancer.FailureNone, err: te.err}
		}
		key.TLS = te.pool
	}
	pool := x.s.transport.Pool(key)
	span := x.startBalancerSpan(target)
	c, err := pool.Get(x.ctx, si.connectTimeout, tlsConfigOf(te))
	if err != nil {
		x.connTime = si.connectTimeout
		span.fail(err)
		if upstream.IsTimeout(err) {
			return tryFailure{kind: tryFailed, retry: true, status: 504, health: balancer.FailureTimeout, err: err}
		}
		return tryFailure{kind: tryFailed, retry: true, status: 502, health: balancer.FailureTCP, err: err}
	}
	x.connTime = c.ConnectTime()
	w := c.Writer()
	if x.upstreamBodyLen() != 0 {
		// A request head alone fits in the socket's buffer: only bodies
		// can block on a stalled upstream.
		c.SetWriteDeadline(si.writeTimeout)
	}
	x.writeHead(w, host, span.context())
	err = x.writeBody(c)
	if err == nil {
		err = w.Flush()
	}
	x.upSent = time.Now()
	if err != nil {
		if errors.Is(err, errClientBody) || errors.Is(err, errBodyTooLarge) {
			c.Close()
			span.fail(err)
			x.clientBodyError(err)
			return tryFailure{kind: tryClient, err: err}
		}
		// The upstream may have answered early (a 413, a redirect) and
		// closed: read its answer if there is one.
		c.SetReadDeadline(time.Second)
		if rerr := c.ReadResponseHeader(&x.resp.Header); rerr == nil {
			x.conn, x.upClose = c, true
			x.upHeaders = time.Now()
			span.ok(x.resp.Header.StatusCode())
			return tryFailure{kind: tryOK}
		}
		c.Close()
		span.fail(err)
		return x.brokenTry(c, err)
	}
	c.SetReadDeadline(si.readTimeout)
	aborted, err := x.readResponseHeader(c)
	if aborted {
		return x.clientAborted(c, span)
	}
	if err != nil {
		c.Close()
		span.fail(err)
		if upstream.IsTimeout(err) {
			return tryFailure{kind: tryFailed, status: 504, health: balancer.FailureTimeout, err: err}
		}
		if !errors.Is(err, upstream.ErrNoResponse) && !isNetError(err) {
			return tryFailure{kind: tryFailed, status: 502, health: balancer.FailureTCP, err: err}
		}
		return x.brokenTry(c, err)
	}
	x.upHeaders = time.Now()
	x.conn = c
	span.ok(x.resp.Header.StatusCode())
	return tryFailure{kind: tryOK}
}

// brokenTry classifies a connection that broke before a response.
func (x *exchange) brokenTry(c *upstream.Conn, err error) tryFailure {
	if upstream.IsTimeout(err) {
		return tryFailure{kind: tryFailed, status: 504, health: balancer.FailureTimeout, err: err}
	}
	safe := x.replayable() && x.idempotent()
	if c.Reused() && safe {
		x.resp.Header.Reset()
		return tryFailure{kind: tryStale, err: err}
	}
	return tryFailure{kind: tryFailed, retry: safe, status: 502, health: balancer.FailureTCP, err: err}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// respondUpstream prepares the upstream's response for the client.
func (x *exchange) respondUpstream() {
	h := &x.resp.Header
	x.status = h.StatusCode()
	x.upstreamStatus = x.status
	x.fromUpstream = true
	x.upClose = x.upClose || h.ConnectionClose()
	h.ResetConnectionClose()
	if !h.IsHTTP11() {
		// The proxy answers with its own version (RFC 9110 section 7.6.3):
		// an HTTP/1.0 status line would make the client ignore chunking.
		h.SetProtocol(http11)
	}
	h.SetNoDefaultContentType(true)
	x.stripResponseHopByHop()
	if x.setCookie != "" {
		h.Add("Set-Cookie", x.setCookie)
	}
	if x.status == 101 {
		if !x.upgrade {
			x.conn.Close()
			x.conn = nil
			x.failure = errors.New("the upstream switched protocols unasked")
			x.fromUpstream = false
			x.resp.Header.Reset()
			x.Error(502, "", nil)
			x.respondLocal()
			return
		}
		x.tunnel = true
		if x.hasChain {
			x.exec.HeaderFilter(x)
		}
		x.setProxiedHeaders()
		h.SetBytesV("X-Kong-Request-Id", x.rid[:])
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		return
	}
	noBody := x.isHead || x.status < 200 || x.status == 204 || x.status == 304
	length := int64(h.ContentLength())
	if x.hasChain {
		x.exec.HeaderFilter(x)
	}
	x.setProxiedHeaders()
	h.SetBytesV("X-Kong-Request-Id", x.rid[:])
	switch {
	case noBody:
		x.ubody.Reset(x.conn, 0, 0)
		x.releaseConn()
		if x.isHead && length >= 0 {
			h.SetContentLength(int(length))
		}
	case x.hasChain && x.exec.WantsBody(x):
		x.ubody.Reset(x.conn, length, x.si.readTimeout)
		body, err := io.ReadAll(io.LimitReader(&x.ubody, maxBufferedResponse))
		x.releaseConn()
		if err != nil || !x.ubody.Done() {
			x.failure = err
			x.s.log.Error("read the upstream response body for a body filter", slog.String("error", errString(err)))
		}
		x.resp.SetBody(x.exec.BodyFilter(x, body))
		x.respBytes = int64(len(x.resp.Body()))
	case length >= 0 && length <= int64(x.conn.Reader().Size()):
		x.ubody.Reset(x.conn, length, x.si.readTimeout)
		if length > 0 {
			if x.si.readTimeout > 0 {
				x.conn.SetReadDeadline(x.si.readTimeout)
			}
			b, err := x.conn.Reader().Peek(int(length))
			if err != nil {
				x.failure = err
				x.upClose = true
				x.conn.Close()
				x.conn = nil
				x.resp.SetBody(b)
				h.SetConnectionClose() // the client sees the cut
				return
			}
			x.resp.SetBody(b)
			_, _ = x.conn.Reader().Discard(int(length))
		}
		x.respBytes = length
		x.ubody.Reset(x.conn, 0, 0)
		x.releaseConn()
	default:
		x.ubody.Reset(x.conn, length, x.si.readTimeout)
		x.streaming = true
		size := int(length)
		if length < 0 {
			size = -1
		}
		x.resp.SetBodyStream(&x.stream, size)
		x.resp.ImmediateHeaderFlush = true
	}
}

// releaseConn gives the upstream connection back (to its pool when the
// body ended cleanly and nobody asked to close).
func (x *exchange) releaseConn() {
	if x.conn == nil {
		return
	}
	x.conn.Release(x.ubody.Reusable() && !x.upClose)
	x.conn = nil
}

// stripResponseHopByHop removes the response's hop-by-hop headers
// (Kong's header_filter.before): those named by Connection, Keep-Alive,
// Proxy-Connection, Trailer (trailers are not forwarded), and Upgrade
// unless a websocket was asked.
func (x *exchange) stripResponseHopByHop() {
	h := &x.resp.Header
	if conn := h.Peek("Connection"); len(conn) > 0 {
		var names [8]string
		n := 0
		for tok := range strings.SplitSeq(string(conn), ",") {
			tok = strings.TrimSpace(tok)
			switch strings.ToLower(tok) {
			case "", "close", "keep-alive", "upgrade":
				continue
			}
			if n < len(names) {
				names[n] = tok
				n++
			}
		}
		h.Del("Connection")
		for _, name := range names[:n] {
			h.Del(name)
		}
	}
	h.Del("Keep-Alive")
	h.Del("Proxy-Connection")
	if len(h.Peek("Trailer")) > 0 {
		h.Del("Trailer")
	}
	if !x.upgrade {
		h.Del("Upgrade")
	}
}

// bodyStream is the streamed response body the engine sends: it reads
// the upstream body, and runs the log phase when the engine closes it.
type bodyStream struct{ x *exchange }

// Read reads the upstream body, extending the client's write deadline.
func (b *bodyStream) Read(p []byte) (int, error) {
	x := b.x
	x.extendClientWrite()
	n, err := x.ubody.Read(p)
	x.respBytes += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && x.failure == nil {
		x.failure = err
	}
	return n, err
}

// CloseWithError ends the stream: fasthttp calls it once the body was
// written, or writing failed with err.
func (b *bodyStream) CloseWithError(err error) error {
	x := b.x
	if x == nil || x.done {
		return nil
	}
	if err != nil && x.failure == nil {
		x.failure = err
	}
	x.finish()
	return nil
}

func tlsConfigOf(te *tlsEntry) *tls.Config {
	if te == nil {
		return nil
	}
	return te.cfg
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
