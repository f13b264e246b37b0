package e2etest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TCPProxy forwards TCP connections from its own address to a target, and
// lets the test break the link: Cut closes every connection and refuses
// new ones (a network failure the peers notice at once), Restore lets
// connections through again. Put one between a data plane and sync-hub,
// a service and Postgres, or a data plane and Redis. Its methods are safe
// for concurrent use.
type TCPProxy struct {
	ln     net.Listener
	target string

	cut      atomic.Bool
	accepted atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewTCPProxy listens on a free loopback port and forwards to target
// (host:port). It is closed when the test ends.
func NewTCPProxy(tb testing.TB, target string) *TCPProxy {
	tb.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("tcp proxy: %v", err)
	}
	p := &TCPProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	tb.Cleanup(p.Close)
	return p
}

// Addr is the proxy's address (127.0.0.1:port): give it to the client
// side instead of the target's.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Accepted is how many connections the proxy accepted, cut or not.
func (p *TCPProxy) Accepted() int64 { return p.accepted.Load() }

// Cut breaks the link: every open connection is closed (both sides see a
// reset or EOF) and new ones are closed as soon as they are accepted.
func (p *TCPProxy) Cut() {
	p.cut.Store(true)
	p.mu.Lock()
	for c := range p.conns {
		closeHard(c)
	}
	p.mu.Unlock()
}

// Restore lets new connections through again.
func (p *TCPProxy) Restore() { p.cut.Store(false) }

// IsCut reports whether the link is cut.
func (p *TCPProxy) IsCut() bool { return p.cut.Load() }

// Close stops the proxy and closes every connection.
func (p *TCPProxy) Close() {
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *TCPProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if p.cut.Load() {
			closeHard(c)
			continue
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *TCPProxy) forward(client net.Conn) {
	d := net.Dialer{Timeout: 5 * time.Second}
	server, err := d.DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		closeHard(client)
		return
	}
	if !p.track(client, server) {
		closeHard(client)
		closeHard(server)
		return
	}
	defer p.untrack(client, server)
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			closeHard(dst)
			closeHard(src)
			return
		}
		// Pass a half-close on, so a peer that shuts its writing side
		// down is seen doing so.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	wg.Go(func() { pipe(server, client) })
	wg.Go(func() { pipe(client, server) })
	wg.Wait()
	_ = client.Close()
	_ = server.Close()
}

// track records a connection pair; it reports false if the link was cut
// meanwhile.
func (p *TCPProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut.Load() {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *TCPProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// closeHard closes c with a reset rather than a FIN, as a broken network
// path or a dead peer's kernel would.
func closeHard(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
