package upstream

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Conn is one connection to an upstream, owned by one request at a time.
type Conn struct {
	nc          net.Conn
	br          *bufio.Reader
	bw          *bufio.Writer
	pool        *Pool
	reused      bool
	requests    int
	idleAt      time.Time
	connectTime time.Duration
	// writeDeadline reports a write deadline set since the last release.
	writeDeadline bool
}

// ConnectTime is how long connecting took (the TCP connect and the TLS
// handshake), 0 for a pooled connection (nginx's upstream_connect_time).
func (c *Conn) ConnectTime() time.Duration { return c.connectTime }

// Reused reports whether the connection served an earlier request (it
// came from the pool): a failure before any response byte may then be the
// upstream having closed it while idle.
func (c *Conn) Reused() bool { return c.reused }

// Writer is the buffered writer of the connection: the request is
// written to it, then flushed.
func (c *Conn) Writer() *bufio.Writer { return c.bw }

// Reader is the buffered reader of the connection.
func (c *Conn) Reader() *bufio.Reader { return c.br }

// NetConn is the underlying connection (for a protocol upgrade).
func (c *Conn) NetConn() net.Conn { return c.nc }

// TLS reports the TLS state, or nil for a plain connection.
func (c *Conn) TLS() *tls.ConnectionState {
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// SetWriteDeadline sets the write deadline to now+d (none for d <= 0).
func (c *Conn) SetWriteDeadline(d time.Duration) {
	c.writeDeadline = d > 0
	_ = c.nc.SetWriteDeadline(deadline(d))
}

// SetReadDeadline sets the read deadline to now+d (none for d <= 0).
func (c *Conn) SetReadDeadline(d time.Duration) {
	_ = c.nc.SetReadDeadline(deadline(d))
}

// AbortRead makes a read blocked on the connection, now or later, fail
// at once with a timeout; it may be called from another goroutine.
func (c *Conn) AbortRead() {
	_ = c.nc.SetReadDeadline(time.Now())
}

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// Release ends the request's use of the connection: it goes back to its
// pool when reusable is true (the response was read to its clean end and
// nothing asked to close) and the connection has requests left, and is
// closed otherwise.
func (c *Conn) Release(reusable bool) {
	c.requests++
	limit := c.pool.t.opts.MaxRequests
	if !reusable || (limit > 0 && c.requests >= limit) || c.br.Buffered() > 0 {
		c.pool.forget(c)
		_ = c.nc.Close()
		return
	}
	if c.writeDeadline {
		// Reads always set their deadline first; a write deadline left
		// would fail a later request's head.
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.writeDeadline = false
	}
	c.pool.put(c)
}

// Close closes the connection; it is not reused.
func (c *Conn) Close() {
	c.pool.forget(c)
	_ = c.nc.Close()
}

// ErrNoResponse marks a failure to read a response header after the
// request was written: the connection closed or broke before the first
// response byte.
var ErrNoResponse = errors.New("upstream closed the connection before responding")

// ReadResponseHeader reads the response header into h. Interim 1xx
// responses other than 101 are skipped. An upstream that closed the
// connection before any byte is ErrNoResponse; a deadline is
// os.ErrDeadlineExceeded (check with IsTimeout).
func (c *Conn) ReadResponseHeader(h *fasthttp.ResponseHeader) error {
	for {
		err := h.Read(c.br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ErrNoResponse
			}
			if errors.Is(err, fasthttp.ErrTimeout) {
				return fmt.Errorf("read response header: %w", errTimeout)
			}
			return fmt.Errorf("read response header: %w", err)
		}
		if st := h.StatusCode(); st >= 200 || st == fasthttp.StatusSwitchingProtocols {
			return nil
		}
		h.Reset()
	}
}

// errTimeout is what a timed-out header read reports.
var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// IsTimeout reports whether err is a timeout: a deadline of a read or a
// write, or of the connect.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
