package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// tunnelH1 passes an accepted websocket upgrade through: the connection
// is hijacked, the upstream's 101 (after the header filter) written to
// it, and bytes piped both ways until either side closes or stays silent
// for the service's read timeout (nginx's proxy_read_timeout). The log
// phase runs when the tunnel closes.
func (s *Server) tunnelH1(ctx *fasthttp.RequestCtx, x *exchange) {
	head := x.resp.Header.Header()
	up := x.conn
	x.conn = nil
	s.conns.Add(1)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.conns.Done()
		raw := c
		if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
			raw = u.UnsafeConn()
		}
		if _, err := c.Write(head); err != nil {
			x.failure = err
			up.Close()
			x.finish()
			return
		}
		timeout := x.si.readTimeout
		var wg sync.WaitGroup
		wg.Go(func() {
			n, err := pipe(up.NetConn(), c, timeout)
			x.bodyBytes += n
			if tc, ok := up.NetConn().(interface{ CloseWrite() error }); ok && err == nil {
				_ = tc.CloseWrite()
			} else {
				up.Close()
			}
		})
		n, err := pipe(raw, up.Reader(), timeout, up.NetConn())
		x.respBytes += n
		if err != nil && x.failure == nil {
			x.failure = err
		}
		_ = raw.SetReadDeadline(time.Now()) // stops the client reader
		wg.Wait()
		up.Close()
		x.finish()
	})
}

// pipe copies src to dst until src ends, each read within timeout of the
// previous one. deadlines are the connections whose read deadline that
// is (src's own when none is given).
func pipe(dst io.Writer, src io.Reader, timeout time.Duration, deadlines ...net.Conn) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if len(deadlines) == 0 {
		if c, ok := src.(net.Conn); ok {
			deadlines = []net.Conn{c}
		}
	}
	var total int64
	for {
		if timeout > 0 {
			for _, c := range deadlines {
				_ = c.SetReadDeadline(time.Now().Add(timeout))
			}
		}
		n, err := src.Read(buf)
		if n > 0 {
			if dc, ok := dst.(net.Conn); ok && timeout > 0 {
				_ = dc.SetWriteDeadline(time.Now().Add(timeout))
			}
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}
