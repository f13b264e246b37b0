package proxy

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// serveH1 is the fasthttp handler: HTTP/1.x requests, cleartext and TLS.
func (s *Server) serveH1(ctx *fasthttp.RequestCtx) {
	var sni string
	isTLS := false
	if c, ok := ctx.Conn().(*tlsConn); ok {
		isTLS, sni = true, c.sni
	}
	cs := stateOf(ctx.Conn())
	if cs != nil {
		s.ctr.move(cs, phaseWriting)
	}
	x := s.get()
	x.local = ctx.LocalAddr()
	if cs != nil {
		x.clientConn, x.connReqs = cs, cs.requests.Add(1)
	}
	x.h1 = ctx
	x.request, x.resp = &ctx.Request, &ctx.Response
	x.peer = addrOf(ctx.RemoteAddr())
	x.port = portOf(ctx.LocalAddr())
	x.tls, x.sni = isTLS, sni
	x.httpVersion = "1.1"
	if !ctx.Request.Header.IsHTTP11() {
		x.httpVersion = "1.0"
	}
	switch cl := ctx.Request.Header.ContentLength(); {
	case cl >= 0:
		x.bodyLen = int64(cl)
	case cl == -1:
		x.bodyLen = -1
	default:
		x.bodyLen = 0
	}
	if x.bodyLen != 0 {
		x.body = ctx.RequestBodyStream()
		if x.body == nil {
			x.body = strings.NewReader(b2s(ctx.Request.Body()))
		}
	}
	x.canHijack = true
	x.serve()
	switch {
	case x.tunnel:
		s.tunnelH1(ctx, x)
	case x.streaming:
		// The log phase runs when fasthttp closes the body stream. The
		// write deadline moves with every chunk (nginx's send_timeout is
		// between two writes).
		_ = ctx.SetWriteDeadline(time.Now().Add(clientTimeout))
	default:
		x.finish()
	}
}

// extendClientRead moves the client's read deadline ahead before a body
// read (nginx's client_body_timeout is between two reads).
func (x *exchange) extendClientRead() {
	if x.h1 != nil {
		_ = x.h1.SetReadDeadline(time.Now().Add(clientTimeout))
	}
}

// extendClientWrite moves the client's write deadline ahead before a body
// write.
func (x *exchange) extendClientWrite() {
	if x.h1 != nil {
		_ = x.h1.SetWriteDeadline(time.Now().Add(clientTimeout))
	}
}

// errorH1 answers requests fasthttp could not read, as Kong's nginx does:
// 494 for headers above the limit (414 when the request line alone does
// not fit), 408 for a client too slow to send them, 400 otherwise.
func (s *Server) errorH1(ctx *fasthttp.RequestCtx, err error) {
	status := 400
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		status = 494
		if requestLineTooLong(err) {
			status = 414
		}
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, fasthttp.ErrTimeout):
		status = 408
	}
	var rid [32]byte
	newRequestID(&rid)
	ctx.Response.Reset()
	ctx.Response.Header.SetStatusCode(status)
	ctx.Response.Header.SetContentType(typeJSON)
	ctx.Response.Header.SetServer(s.serverName)
	ctx.Response.Header.SetBytesV("X-Kong-Request-Id", rid[:])
	ctx.Response.SetBody(appendErrorBody(nil, typeJSON, defaultMessage(status), string(rid[:])))
	s.log.Debug("refused a request that could not be read", "status", status, "error", err.Error())
}

// requestLineTooLong reports whether a too-large header error happened
// before the request line ended: fasthttp's error shows the start and the
// end of its buffer, and neither holds a line end when the request line
// alone filled it.
func requestLineTooLong(err error) bool {
	msg := err.Error()
	i := strings.Index(msg, "contents: ")
	if i < 0 {
		return false
	}
	return !strings.Contains(msg[i:], `\n`)
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func portOf(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return int(ap.Port())
	}
	return 0
}
