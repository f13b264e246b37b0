package proxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"gatehouse.dev/dataplane/internal/proxy/upstream"
)

// A client that goes away while the upstream has not answered yet ends the
// upstream request, as Kong's nginx does (proxy_ignore_client_abort off):
// the upstream connection is closed, so a long poll or a slow query does
// not hold it until the read timeout, and the request is logged with
// nginx's 499.
//
// fasthttp does not read from a connection while its handler runs, so
// nothing would notice the client's FIN. Instead the exchanges waiting for
// a response header are kept in a list, and a watcher owned by Serve
// checks the clients of those waiting longer than abortCheckAfter, every
// abortCheckEvery: an HTTP/1 client by polling its socket for a hang-up
// (POLLRDHUP, what nginx learns from epoll), an HTTP/2 one by its stream's
// context. Short requests never meet the watcher; each request pays two
// uncontended lock operations.
const (
	abortCheckAfter = 500 * time.Millisecond
	abortCheckEvery = 250 * time.Millisecond
)

// errClientClosed is the failure of a request whose client went away
// before the upstream answered (nginx's log text).
var errClientClosed = errors.New("client prematurely closed connection")

// waitList holds the exchanges waiting for an upstream's response header,
// linked through their wprev/wnext fields.
type waitList struct {
	mu   sync.Mutex
	head *exchange
	gen  uint64
}

// add lists x as waiting on the upstream connection c.
func (l *waitList) add(x *exchange, c *upstream.Conn) {
	l.mu.Lock()
	l.gen++
	x.wgen, x.wconn, x.waiting, x.aborted = l.gen, c, true, false
	x.wprev, x.wnext = nil, l.head
	if l.head != nil {
		l.head.wprev = x
	}
	l.head = x
	l.mu.Unlock()
}

// remove takes x off the list and reports whether its client went away
// meanwhile.
func (l *waitList) remove(x *exchange) bool {
	l.mu.Lock()
	if x.wprev != nil {
		x.wprev.wnext = x.wnext
	} else {
		l.head = x.wnext
	}
	if x.wnext != nil {
		x.wnext.wprev = x.wprev
	}
	aborted := x.aborted
	x.wprev, x.wnext, x.wconn, x.waiting, x.aborted = nil, nil, nil, false, false
	l.mu.Unlock()
	return aborted
}

// waiter is an exchange the watcher checks, as it was when listed.
type waiter struct {
	x    *exchange
	gen  uint64
	conn syscall.Conn    // an HTTP/1 client's socket
	ctx  context.Context // an HTTP/2 stream's context
}

// gone reports whether w's client went away.
func (w *waiter) gone() bool {
	if w.conn != nil {
		return hungUp(w.conn)
	}
	return w.ctx != nil && w.ctx.Err() != nil
}

// check aborts the upstream calls of the waiting exchanges, listed for
// longer than abortCheckAfter at now, whose client went away. The clients
// are checked outside the lock; an exchange that finished meanwhile (its
// generation changed) is left alone. ws is scratch space, returned for
// reuse.
func (l *waitList) check(now time.Time, ws []waiter) []waiter {
	l.mu.Lock()
	for x := l.head; x != nil; x = x.wnext {
		if now.Sub(x.upSent) < abortCheckAfter {
			continue
		}
		w := waiter{x: x, gen: x.wgen}
		if x.h1 != nil {
			w.conn = socketOf(x.h1.Conn())
		} else {
			w.ctx = x.engineCtx
		}
		ws = append(ws, w)
	}
	l.mu.Unlock()
	gone := ws[:0]
	for _, w := range ws {
		if w.gone() {
			gone = append(gone, w)
		}
	}
	if len(gone) > 0 {
		l.mu.Lock()
		for _, w := range gone {
			if x := w.x; x.waiting && x.wgen == w.gen {
				x.aborted = true
				x.wconn.AbortRead()
			}
		}
		l.mu.Unlock()
	}
	clear(ws)
	return ws[:0]
}

// watchClients runs the checks until ctx is done.
func (s *Server) watchClients(ctx context.Context) {
	t := time.NewTicker(abortCheckEvery)
	defer t.Stop()
	var ws []waiter
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			ws = s.waiting.check(now, ws)
		}
	}
}

// socketOf is the TCP socket under an accepted connection, nil if there
// is none to poll.
func socketOf(c net.Conn) syscall.Conn {
	switch v := c.(type) {
	case *plainConn:
		c = v.Conn
	case *tlsConn:
		c = v.NetConn()
	}
	sc, _ := c.(syscall.Conn)
	return sc
}

// readResponseHeader reads the upstream's response header on c while
// listed as waiting; it reports aborted when the client went away first.
func (x *exchange) readResponseHeader(c *upstream.Conn) (aborted bool, err error) {
	x.s.waiting.add(x, c)
	// Deferred, so that a panic while reading (recovered by the engine)
	// does not leave x linked in the list when it is reused.
	defer func() { aborted = x.s.waiting.remove(x) }()
	err = c.ReadResponseHeader(&x.resp.Header)
	return false, err
}

// clientAborted ends a try whose client went away: the upstream
// connection is closed and the request ends with nginx's 499, which no
// one will read.
func (x *exchange) clientAborted(c *upstream.Conn, span balancerSpan) tryFailure {
	c.Close()
	span.fail(errClientClosed)
	x.resp.Header.Reset()
	x.failure = errClientClosed
	x.Error(neutralStatus, "client closed the connection", nil)
	if x.h1 != nil {
		x.h1.SetConnectionClose()
	}
	return tryFailure{kind: tryClient, err: errClientClosed}
}
