package proxy

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/proxy/upstream"
	"gatehouse.dev/shared/uri"
)

// skipHeader reports whether a client header (name in fasthttp's
// canonical form) is not forwarded as is: hop-by-hop headers, the framing
// headers (the proxy frames the body itself) and the headers the proxy
// sets, and the names nginx drops (an underscore, see lookupName).
func (x *exchange) skipHeader(name []byte) bool {
	if droppedName(name) {
		return true
	}
	switch string(name) {
	case "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy", "Te", "Trailer",
		"Transfer-Encoding", "Content-Length", "Expect", "Upgrade",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
		"X-Forwarded-Path", "X-Forwarded-Prefix", "X-Real-Ip", "Via", "X-Kong-Request-Id":
		return true
	case "Traceparent", "Tracestate":
		// The proxy writes its own trace context when it traces; else
		// the client's goes through unless a plugin replaced it.
		if x.s.tracing {
			return true
		}
	}
	if len(x.edits.replaced) > 0 && x.edits.isReplaced(b2s(name)) {
		return true
	}
	if conn := x.request.Header.Peek("Connection"); len(conn) > 0 {
		for tok := range strings.SplitSeq(b2s(conn), ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && strings.EqualFold(tok, b2s(name)) {
				return true
			}
		}
	}
	return false
}

// upstreamMethod is the method sent upstream.
func (x *exchange) upstreamMethod() string {
	if x.edits.method != "" {
		return x.edits.method
	}
	return x.method
}

// upstreamPath returns the unescaped upstream path: a plugin's, else the
// router's (Kong's get_upstream_uri).
func (x *exchange) upstreamPath() string {
	if x.edits.pathSet {
		return x.edits.path
	}
	if len(x.pathBuf) == 0 && x.matched {
		x.pathBuf = x.match.AppendUpstreamPath(x.pathBuf[:0])
	}
	return b2s(x.pathBuf)
}

// upstreamQuery returns the query string sent upstream and whether a '?'
// is written (Kong keeps a bare '?').
func (x *exchange) upstreamQuery() (string, bool) {
	if x.edits.querySet {
		return x.edits.query, x.edits.query != ""
	}
	return x.rawQuery, x.hasQuery
}

// hostHeader appends the upstream Host header value for addr: the
// client's with preserve_host, else the address's host name with its port
// unless the scheme's default (Kong's set_host_header); a plugin's Host
// wins over both.
func (x *exchange) hostHeader(dst []byte, addr balancer.Address) []byte {
	if x.edits.hostSet {
		return append(dst, x.edits.host...)
	}
	if h, ok := x.match.UpstreamHost(); ok {
		return append(dst, h...)
	}
	name, port := x.svc.Host, x.svc.Port
	if !addr.IsZero() {
		name, port = addr.Hostname(), addr.Port()
	}
	if strings.IndexByte(name, ':') >= 0 && !strings.HasPrefix(name, "[") {
		dst = append(append(append(dst, '['), name...), ']')
	} else {
		dst = append(dst, name...)
	}
	if (x.si.https && port != 443) || (!x.si.https && port != 80) {
		dst = strconv.AppendInt(append(dst, ':'), int64(port), 10)
	}
	return dst
}

// serverName is the TLS server name for an upstream: the Host without
// port (no SNI is sent for an IP address).
func serverName(host []byte) string {
	h := string(host)
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// writeHead writes the upstream request line and headers for a try to
// addr, carrying the trace context sc.
func (x *exchange) writeHead(w *bufio.Writer, host []byte, sc trace.SpanContext) {
	_, _ = w.WriteString(x.upstreamMethod())
	_ = w.WriteByte(' ')
	path := x.upstreamPath()
	if path == "" {
		path = "/"
	}
	_, _ = w.WriteString(uri.Escape(path))
	if q, ok := x.upstreamQuery(); ok {
		_ = w.WriteByte('?')
		_, _ = w.WriteString(q)
	}
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.Write(host)
	_, _ = w.WriteString("\r\n")

	for k, v := range x.request.Header.All() {
		if x.skipHeader(k) {
			continue
		}
		writeHeader(w, k, v)
	}
	for _, h := range x.edits.headers {
		if skipEdited(h.name) {
			continue
		}
		_, _ = w.WriteString(h.name)
		_, _ = w.WriteString(": ")
		_, _ = w.WriteString(h.value)
		_, _ = w.WriteString("\r\n")
	}
	x.writeForwarded(w)
	if sc.IsValid() {
		x.writeTraceContext(w, sc)
	}
	if x.upgrade {
		_, _ = w.WriteString("Connection: Upgrade\r\nUpgrade: websocket\r\n")
	}
	switch n := x.upstreamBodyLen(); {
	case n >= 0:
		if n > 0 || x.methodHasBody() {
			_, _ = w.WriteString("Content-Length: ")
			_, _ = w.Write(strconv.AppendInt(x.num[:0], n, 10))
			_, _ = w.WriteString("\r\n")
		}
	default:
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

// skipEdited reports headers plugins may not set: the framing ones.
func skipEdited(name string) bool {
	switch name {
	case "Content-Length", "Transfer-Encoding", "Connection", "Upgrade":
		return true
	}
	return false
}

func writeHeader(w *bufio.Writer, k, v []byte) {
	_, _ = w.Write(k)
	_, _ = w.WriteString(": ")
	_, _ = w.Write(v)
	_, _ = w.WriteString("\r\n")
}

// writeForwarded writes Kong's X-Forwarded-*, X-Real-IP, Via and request
// id headers.
func (x *exchange) writeForwarded(w *bufio.Writer) {
	h := &x.request.Header
	_, _ = w.WriteString("X-Forwarded-For: ")
	if xff := h.Peek("X-Forwarded-For"); len(xff) > 0 {
		_, _ = w.Write(xff)
		_, _ = w.WriteString(", ")
		_, _ = w.Write(x.peer.AppendTo(x.num[:0]))
	} else {
		_, _ = w.Write(x.ipText)
	}
	_, _ = w.WriteString("\r\nX-Forwarded-Proto: ")
	_, _ = w.WriteString(x.forwardedProto())
	_, _ = w.WriteString("\r\nX-Forwarded-Host: ")
	if v := x.trustedHeader("X-Forwarded-Host"); v != nil {
		_, _ = w.Write(v)
	} else {
		_, _ = w.WriteString(x.hostName)
	}
	_, _ = w.WriteString("\r\nX-Forwarded-Port: ")
	if v := x.trustedHeader("X-Forwarded-Port"); v != nil {
		_, _ = w.Write(v)
	} else {
		_, _ = w.Write(strconv.AppendInt(x.num[:0], int64(x.port), 10))
	}
	_, _ = w.WriteString("\r\nX-Forwarded-Path: ")
	if v := x.trustedHeader("X-Forwarded-Path"); v != nil {
		_, _ = w.Write(v)
	} else {
		_, _ = w.WriteString(x.rawPath)
	}
	if v := x.trustedHeader("X-Forwarded-Prefix"); v != nil {
		_, _ = w.WriteString("\r\nX-Forwarded-Prefix: ")
		_, _ = w.Write(v)
	} else if p := x.match.StrippedPrefix(); x.matched && p != "" && p != "/" {
		_, _ = w.WriteString("\r\nX-Forwarded-Prefix: ")
		_, _ = w.WriteString(p)
	}
	_, _ = w.WriteString("\r\nX-Real-IP: ")
	_, _ = w.Write(x.ipText)
	_, _ = w.WriteString("\r\nVia: ")
	if via := h.Peek("Via"); len(via) > 0 {
		_, _ = w.Write(via)
		_, _ = w.WriteString(", ")
	}
	_, _ = w.WriteString(x.httpVersion)
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(x.s.serverName)
	_, _ = w.WriteString("\r\nX-Kong-Request-Id: ")
	_, _ = w.Write(x.rid[:])
	_, _ = w.WriteString("\r\n")
}

// trustedHeader returns a client header's value when the peer is
// trusted, else nil.
func (x *exchange) trustedHeader(name string) []byte {
	if !x.peerTrusted {
		return nil
	}
	if v := x.request.Header.Peek(name); len(v) > 0 {
		return v
	}
	return nil
}

// forwardedProto is Kong's forwarded_proto: a trusted peer's
// X-Forwarded-Proto, else the scheme the client used.
func (x *exchange) forwardedProto() string {
	if v := x.trustedHeader("X-Forwarded-Proto"); v != nil {
		return b2s(v)
	}
	if x.tls {
		return "https"
	}
	return "http"
}

// forwardedHost is Kong's forwarded_host.
func (x *exchange) forwardedHost() string {
	if v := x.trustedHeader("X-Forwarded-Host"); v != nil {
		return b2s(v)
	}
	return x.hostName
}

// writeTraceContext writes the W3C traceparent (and tracestate) of sc.
func (x *exchange) writeTraceContext(w *bufio.Writer, sc trace.SpanContext) {
	b := append(x.num[:0], "00-"...)
	tid, sid := sc.TraceID(), sc.SpanID()
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	b = append(b, '-', '0', '0')
	if sc.IsSampled() {
		b[len(b)-1] = '1'
	}
	_, _ = w.WriteString("Traceparent: ")
	_, _ = w.Write(b)
	_, _ = w.WriteString("\r\n")
	if ts := sc.TraceState(); ts.Len() > 0 {
		_, _ = w.WriteString("Tracestate: ")
		_, _ = w.WriteString(ts.String())
		_, _ = w.WriteString("\r\n")
	}
}

// methodHasBody reports methods whose requests carry Content-Length: 0
// when empty.
func (x *exchange) methodHasBody() bool {
	switch x.upstreamMethod() {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

// upstreamBodyLen is the length of the body sent upstream, -1 when it is
// streamed chunked.
func (x *exchange) upstreamBodyLen() int64 {
	switch {
	case x.edits.bodySet:
		return int64(len(x.edits.body))
	case x.bodyRead:
		return int64(len(x.bodyBuf))
	default:
		return x.bodyLen
	}
}

// replayable reports whether the request body can be sent again: it is
// held in memory, or empty, or none of it was read yet.
func (x *exchange) replayable() bool {
	return x.edits.bodySet || x.bodyRead || x.bodyLen == 0 || !x.bodyStarted
}

// idempotent reports methods a broken try may repeat (RFC 9110 9.2.2).
func (x *exchange) idempotent() bool {
	switch x.upstreamMethod() {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// errClientBody marks a failure to read the client's body, and
// errBodyTooLarge one above the configured limit.
var (
	errClientBody   = errors.New("read client body")
	errBodyTooLarge = errors.New("client body too large")
)

// writeBody sends the request body to c, writing with deadlines.
func (x *exchange) writeBody(c *upstream.Conn) error {
	w := c.Writer()
	switch {
	case x.edits.bodySet:
		_, err := w.Write(x.edits.body)
		return err
	case x.bodyRead:
		_, err := w.Write(x.bodyBuf)
		return err
	case x.bodyLen == 0:
		return nil
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var dst io.Writer = w
	chunked := x.bodyLen < 0
	if chunked {
		dst = upstream.ChunkedWriter{W: w}
	}
	for {
		n, rerr := x.readClient(buf)
		if n > 0 {
			c.SetWriteDeadline(x.si.writeTimeout)
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if chunked {
		if err := (upstream.ChunkedWriter{W: w}).Close(); err != nil {
			return err
		}
	}
	return nil
}

// readClient reads the client's body, within the body size limit.
func (x *exchange) readClient(p []byte) (int, error) {
	if x.bodyLen >= 0 {
		left := x.bodyLen - x.bodyBytes
		if left <= 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	x.extendClientRead()
	x.bodyStarted = true
	n, err := x.body.Read(p)
	x.bodyBytes += int64(n)
	if limit := x.s.opts.ClientMaxBodySize; limit > 0 && x.bodyBytes > limit {
		return n, errBodyTooLarge
	}
	if errors.Is(err, io.EOF) {
		if x.bodyLen >= 0 && x.bodyBytes < x.bodyLen {
			return n, fmt.Errorf("%w: %w", errClientBody, io.ErrUnexpectedEOF)
		}
		return n, io.EOF
	}
	if err != nil {
		return n, fmt.Errorf("%w: %w", errClientBody, err)
	}
	return n, nil
}

// readWholeBody reads the client body into x.bodyBuf, at most limit
// bytes (0: no limit beyond the configured maximum).
func (x *exchange) readWholeBody(limit int64) error {
	if x.bodyRead || x.bodyLen == 0 {
		x.bodyRead = true
		return nil
	}
	if x.bodyStarted {
		return errors.New("the request body is being streamed")
	}
	if limit > 0 && x.bodyLen > limit {
		return fmt.Errorf("request body of %d bytes above the limit of %d", x.bodyLen, limit)
	}
	buf := x.bodyBuf[:0]
	if x.bodyLen > 0 && int64(cap(buf)) < x.bodyLen {
		buf = make([]byte, 0, x.bodyLen)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := x.readClient(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if limit > 0 && int64(len(buf)) > limit {
			x.bodyBuf = buf
			return fmt.Errorf("request body above the limit of %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			x.bodyBuf = buf
			return err
		}
	}
	x.bodyBuf, x.bodyRead = buf, true
	return nil
}
