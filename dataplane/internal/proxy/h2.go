package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
)

// h2Handler serves HTTP/2 requests through the same request path: the
// request is copied into the exchange's own fasthttp request, and the
// response copied out of its fasthttp response.
type h2Handler struct{ s *Server }

// h2ConnKey carries the connection of an HTTP/2 request in its context.
type h2ConnKey struct{}

func (h h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	c, _ := r.Context().Value(h2ConnKey{}).(*tlsConn)
	if c != nil && c.cs.inflight.Add(1) == 1 {
		s.ctr.move(&c.cs, phaseWriting)
	}
	x := s.get()
	if x.h2 == nil {
		x.h2 = &h2State{}
	}
	req := &x.h2.req
	req.Header.SetMethod(r.Method)
	req.Header.SetRequestURI(r.RequestURI)
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	x.h2.resp.Header.SetNoDefaultContentType(true)
	x.request, x.resp = req, &x.h2.resp
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		x.peer = ap.Addr().Unmap()
	}
	if c != nil {
		x.port, x.sni = portOf(c.LocalAddr()), c.sni
		x.local = c.LocalAddr()
		x.clientConn, x.connReqs = &c.cs, c.cs.requests.Add(1)
	}
	x.tls = true
	x.httpVersion = "2"
	x.engineCtx = r.Context()
	x.bodyLen = r.ContentLength
	if r.Body == nil || r.Body == http.NoBody {
		x.bodyLen = 0
	}
	if x.bodyLen != 0 {
		x.body = r.Body
	}
	x.serve()
	writeH2(w, x)
	if c != nil && c.cs.inflight.Add(-1) == 0 {
		s.ctr.move(&c.cs, phaseWaiting)
	}
}

// writeH2 sends x's response on an HTTP/2 stream, then runs the log
// phase.
func writeH2(w http.ResponseWriter, x *exchange) {
	h := &x.resp.Header
	wh := w.Header()
	for k, v := range h.All() {
		switch string(k) {
		case "Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection", "Content-Length", "Date":
			continue
		}
		name := string(k)
		wh[name] = append(wh[name], string(v))
	}
	status := h.StatusCode()
	if x.streaming {
		if n := h.ContentLength(); n >= 0 {
			wh["Content-Length"] = []string{strconv.Itoa(n)}
		}
		w.WriteHeader(status)
		err := copyH2(w, &x.stream)
		_ = x.stream.CloseWithError(err)
		return
	}
	body := x.resp.Body()
	if !x.isHead && status != http.StatusNoContent && status != http.StatusNotModified {
		wh["Content-Length"] = []string{strconv.Itoa(len(body))}
	} else if n := h.ContentLength(); x.isHead && n >= 0 {
		wh["Content-Length"] = []string{strconv.Itoa(n)}
	}
	w.WriteHeader(status)
	if len(body) > 0 && !x.isHead {
		if _, err := w.Write(body); err != nil && x.failure == nil {
			x.failure = err
		}
	}
	x.finish()
}

// copyH2 streams a body to an HTTP/2 stream, flushing each piece so that
// a slow upstream's bytes are not held back.
func copyH2(w http.ResponseWriter, src io.Reader) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	f, _ := w.(http.Flusher)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if f != nil {
				f.Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
