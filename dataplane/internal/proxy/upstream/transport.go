package upstream

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults are Kong's (kong.conf upstream_keepalive_*).
const (
	DefaultPoolSize    = 512
	DefaultMaxRequests = 10000
	DefaultIdleTimeout = 60 * time.Second
)

// Buffer sizes of a connection: a response body up to the read buffer is
// copied out at once and the connection released before the client has
// received it.
const (
	readBufferSize  = 16 << 10
	writeBufferSize = 8 << 10
)

// Options configure a Transport. Zero values take Kong's defaults.
type Options struct {
	// PoolSize is the number of idle connections kept per pool
	// (upstream_keepalive_pool_size); a negative value keeps none.
	PoolSize int
	// MaxRequests is how many requests one connection serves
	// (upstream_keepalive_max_requests); negative means no limit.
	MaxRequests int
	// IdleTimeout closes connections idle for longer
	// (upstream_keepalive_idle_timeout).
	IdleTimeout time.Duration
	// Dial opens TCP connections; nil uses net.Dialer.
	Dial func(ctx context.Context, network, addr string) (NetConn, error)
}

// Key identifies a pool: connections are shared only between requests to
// the same address with the same TLS identity.
type Key struct {
	// Addr is the address to dial, "ip:port".
	Addr string
	// TLS is "" for plain connections, else a string naming every TLS
	// parameter (server name, verification, CA and client certificate
	// ids) so that connections made with different ones never mix.
	TLS string
}

// Transport owns the pools. It is safe for concurrent use.
type Transport struct {
	opts    Options
	mu      sync.RWMutex
	pools   map[Key]*Pool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	aborted atomic.Bool
}

// New returns a transport and starts its idle sweeper, which Close stops.
func New(opts Options) *Transport {
	if opts.PoolSize == 0 {
		opts.PoolSize = DefaultPoolSize
	}
	if opts.PoolSize < 0 {
		opts.PoolSize = 0
	}
	if opts.MaxRequests == 0 {
		opts.MaxRequests = DefaultMaxRequests
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Dial == nil {
		opts.Dial = dialTCP
	}
	t := &Transport{opts: opts, pools: map[Key]*Pool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go t.sweep()
	return t
}

// Pool returns the pool of key, creating it.
func (t *Transport) Pool(key Key) *Pool {
	t.mu.RLock()
	p := t.pools[key]
	t.mu.RUnlock()
	if p != nil {
		return p
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p = t.pools[key]; p == nil {
		p = &Pool{t: t, key: key, active: map[*Conn]struct{}{}}
		t.pools[key] = p
	}
	return p
}

// Idle reports the number of idle connections held, over every pool.
func (t *Transport) Idle() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for _, p := range t.pools {
		p.mu.Lock()
		n += len(p.idle)
		p.mu.Unlock()
	}
	return n
}

// Close stops the sweeper and closes every idle connection; connections
// in use are closed when released.
func (t *Transport) Close() {
	t.once.Do(func() {
		close(t.stop)
		<-t.done
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, p := range t.pools {
			p.closeAll(false)
		}
	})
}

// Abort closes every connection, idle or in use: the requests still
// using one fail at once. New connections are refused from then on. The
// proxy calls it when its shutdown deadline passes.
func (t *Transport) Abort() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.aborted.Store(true)
	for _, p := range t.pools {
		p.closeAll(true)
	}
}

// closed reports whether Close was called.
func (t *Transport) closed() bool {
	select {
	case <-t.stop:
		return true
	default:
		return false
	}
}

// sweep closes connections idle beyond the idle timeout, and forgets
// pools that have held no connection for as long.
func (t *Transport) sweep() {
	defer close(t.done)
	every := max(t.opts.IdleTimeout/4, 250*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.mu.Lock()
			for k, p := range t.pools {
				if p.expire(now, t.opts.IdleTimeout) {
					delete(t.pools, k)
				}
			}
			t.mu.Unlock()
		}
	}
}
