package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// NetConn is a network connection the transport can dial.
type NetConn = net.Conn

// checkAfter is how long a connection must have been idle before it is
// checked for a close from the upstream when taken from the pool. A
// fresher connection is used as is: an upstream's keep-alive timeout is
// seconds, not milliseconds.
const checkAfter = time.Second

// Pool is the connections to one address with one TLS identity.
type Pool struct {
	t        *Transport
	key      Key
	mu       sync.Mutex
	idle     []*Conn // LIFO: the most recently used last
	active   map[*Conn]struct{}
	lastUsed time.Time
}

// Key returns the pool's key.
func (p *Pool) Key() Key { return p.key }

// ErrConnect marks errors that happened before anything was sent: the
// TCP connect or the TLS handshake failed or timed out. A request is
// always safe to try again after one.
var ErrConnect = errors.New("connect upstream")

// Get returns a connection: an idle one, else a new one dialled within
// connectTimeout (covering the TLS handshake when cfg is not nil; cfg is
// used as is, so its ServerName must be set). Errors wrap ErrConnect.
func (p *Pool) Get(ctx context.Context, connectTimeout time.Duration, cfg *tls.Config) (*Conn, error) {
	if c := p.takeIdle(); c != nil {
		return c, nil
	}
	return p.dial(ctx, connectTimeout, cfg)
}

// Dial returns a new connection, never an idle one (for protocol
// upgrades, whose connection is never pooled).
func (p *Pool) Dial(ctx context.Context, connectTimeout time.Duration, cfg *tls.Config) (*Conn, error) {
	return p.dial(ctx, connectTimeout, cfg)
}

func (p *Pool) takeIdle() *Conn {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.active[c] = struct{}{}
		p.mu.Unlock()
		idle := now.Sub(c.idleAt)
		if idle >= p.t.opts.IdleTimeout || (idle >= checkAfter && !alive(c.nc)) {
			p.forget(c)
			_ = c.nc.Close()
			continue
		}
		c.reused = true
		c.connectTime = 0
		return c
	}
}

func (p *Pool) dial(ctx context.Context, connectTimeout time.Duration, cfg *tls.Config) (*Conn, error) {
	start := time.Now()
	if connectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	nc, err := p.t.opts.Dial(ctx, "tcp", p.key.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrConnect, p.key.Addr, err)
	}
	if cfg != nil {
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("%w %s: tls handshake: %w", ErrConnect, p.key.Addr, err)
		}
		nc = tc
	}
	c := &Conn{
		nc: nc, pool: p, connectTime: time.Since(start),
		br: bufio.NewReaderSize(nc, readBufferSize),
		bw: bufio.NewWriterSize(nc, writeBufferSize),
	}
	p.mu.Lock()
	p.active[c] = struct{}{}
	p.mu.Unlock()
	if p.t.aborted.Load() {
		c.Close()
		return nil, fmt.Errorf("%w %s: %w", ErrConnect, p.key.Addr, net.ErrClosed)
	}
	return c, nil
}

// forget drops c from the connections in use.
func (p *Pool) forget(c *Conn) {
	p.mu.Lock()
	delete(p.active, c)
	p.mu.Unlock()
}

// put keeps c for reuse, or closes it when the pool is full.
func (p *Pool) put(c *Conn) {
	c.idleAt = time.Now()
	p.mu.Lock()
	delete(p.active, c)
	p.lastUsed = c.idleAt
	if len(p.idle) < p.t.opts.PoolSize && !p.t.closed() {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = c.nc.Close()
}

// expire closes the connections idle beyond timeout and reports whether
// the pool is empty and unused for that long.
func (p *Pool) expire(now time.Time, timeout time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.idleAt) >= timeout {
			_ = c.nc.Close()
			continue
		}
		keep = append(keep, c)
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	return len(p.idle) == 0 && len(p.active) == 0 && now.Sub(p.lastUsed) >= timeout
}

func (p *Pool) closeAll(active bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		_ = c.nc.Close()
	}
	clear(p.idle)
	p.idle = p.idle[:0]
	if active {
		for c := range p.active {
			_ = c.nc.Close()
		}
	}
}

func dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
