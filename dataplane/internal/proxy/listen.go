package proxy

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
)

// plainConn is an accepted cleartext connection with the proxy's state.
type plainConn struct {
	net.Conn
	cs      connState
	ctr     *counters
	tracked *sync.Map // the server's open connections
}

func (c *plainConn) state() *connState { return &c.cs }

// Close uncounts the connection.
func (c *plainConn) Close() error {
	c.ctr.closed(&c.cs)
	if c.tracked != nil {
		c.tracked.Delete(net.Conn(c))
	}
	return c.Conn.Close()
}

// tlsConn is an accepted, handshaken TLS connection. fasthttp recognises
// it as TLS by its ConnectionState method.
type tlsConn struct {
	*tls.Conn
	sni     string
	cs      connState
	ctr     *counters
	tracked *sync.Map
}

func (c *tlsConn) state() *connState { return &c.cs }

// Close uncounts the connection.
func (c *tlsConn) Close() error {
	c.ctr.closed(&c.cs)
	if c.tracked != nil {
		c.tracked.Delete(net.Conn(c))
	}
	return c.Conn.Close()
}

// countingListener wraps a cleartext listener's connections.
type countingListener struct {
	net.Listener
	ctr     *counters
	tracked *sync.Map
}

// Accept counts and wraps the next connection.
func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc := &plainConn{Conn: c, ctr: l.ctr, tracked: l.tracked}
	l.ctr.opened(&pc.cs)
	l.tracked.Store(net.Conn(pc), struct{}{})
	return pc, nil
}

// chanListener hands handshaken HTTP/1.1 TLS connections to fasthttp.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next connection, or net.ErrClosed once closed.
func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the TLS listener's address.
func (l *chanListener) Addr() net.Addr { return l.addr }

// give hands c to fasthttp; it reports false once the listener is closed.
func (l *chanListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// isClosed reports whether err is a closed listener's Accept error.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
