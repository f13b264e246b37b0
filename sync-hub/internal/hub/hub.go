// Package hub is sync-hub's cluster listener: the server side of the
// session flow in shared/protocol (session.go) over websockets with mutual
// TLS. Each data plane gets one session with a reader goroutine and one
// writer; whenever the writer is free it sends one message that takes the
// data plane from its last acknowledged revision to the newest (a
// coalesced delta, else a snapshot), then waits for the acknowledgement.
// Snapshots and deltas are encoded once and shared by every data plane at
// the same revision and compatibility level. The hub records every data
// plane in the clustering_data_planes table.
package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/compat"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/version"
	"gatehouse.dev/sync-hub/internal/follow"
)

// Defaults of Options.
const (
	DefaultHelloTimeout = 10 * time.Second
	DefaultAckTimeout   = 60 * time.Second
	DefaultAheadGrace   = 5 * time.Second
	DefaultPurgeDelay   = 14 * 24 * time.Hour
	// shutdownTimeout bounds how long Run waits for sessions to close and
	// registry rows to be written once its context is done.
	shutdownTimeout = 10 * time.Second
)

// CloseTryAgainLater closes a session whose data plane did not answer a
// configuration within the ack timeout: it reconnects with backoff and
// says again what it holds (RFC 6455 code 1013).
const CloseTryAgainLater = 1013

// Options configure a Hub. Addr, TLS, Follower and Store are required.
type Options struct {
	// Addr is the address to listen on (host:port; port 0 picks one).
	Addr string
	// TLS is the cluster certificate material (shared or pki mode).
	TLS *clustertls.Material
	// Follower provides the configuration.
	Follower *follow.Follower
	// Store reads older change-log ranges and writes the data-plane
	// registry.
	Store *store.Store
	// Plugins are the plugins the control plane loaded, for the
	// compatibility checks.
	Plugins []protocol.PluginInfo
	// Version is the control plane's version (default version.Version).
	Version string
	// HubID and PurgeDelay go into the data-plane registry.
	HubID      string
	PurgeDelay time.Duration
	// MaxPayload limits every websocket message in both directions
	// (default protocol.DefaultMaxSize).
	MaxPayload int64
	// Compat is the table of fields older data planes do not know
	// (default compat.Removed).
	Compat compat.Table
	// Timeouts: a write (protocol.DefaultWriteTimeout), the data plane's
	// hello (10 s), its answer to a configuration (60 s), silence from it
	// (protocol.DefaultPingTimeout), and how long a data plane that claims
	// a revision newer than the hub's may wait for the hub to catch up
	// before it gets a snapshot (5 s).
	WriteTimeout, HelloTimeout, AckTimeout, PingTimeout, AheadGrace time.Duration
	// PingInterval throttles registry writes on pings (default
	// protocol.DefaultPingInterval).
	PingInterval time.Duration
	// Logger, Tracer and Metrics default to slog.Default(), the global
	// tracer provider and new metrics.
	Logger  *slog.Logger
	Tracer  trace.Tracer
	Metrics *Metrics
	// OnAck, when set, is called by each session after its data plane
	// acknowledged a revision (benchmarks and tests).
	OnAck func(nodeID string, revision int64)
}

// Hub is the cluster listener. Create it with New and run it with Run.
type Hub struct {
	opts     Options
	log      *slog.Logger
	follower *follow.Follower
	store    *store.Store
	metrics  *Metrics
	codec    protocol.Codec
	registry *registry
	builder  *builder

	addr      atomic.Pointer[string]
	listening atomic.Bool
	seq       atomic.Uint64

	mu       sync.Mutex
	closing  bool
	lifeCtx  context.Context // the Run context: sessions end with it
	sessions map[*session]struct{}
	wg       sync.WaitGroup // running sessions
}

// New returns a Hub. It does not listen until Run.
func New(opts Options) (*Hub, error) {
	if opts.TLS == nil || opts.Follower == nil || opts.Store == nil {
		return nil, errors.New("hub: TLS, Follower and Store are required")
	}
	if opts.Version == "" {
		opts.Version = version.Version
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = protocol.DefaultMaxSize
	}
	if opts.Compat == nil {
		opts.Compat = compat.Removed
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.WriteTimeout, protocol.DefaultWriteTimeout)
	def(&opts.HelloTimeout, DefaultHelloTimeout)
	def(&opts.AckTimeout, DefaultAckTimeout)
	def(&opts.PingTimeout, protocol.DefaultPingTimeout)
	def(&opts.AheadGrace, DefaultAheadGrace)
	def(&opts.PingInterval, protocol.DefaultPingInterval)
	def(&opts.PurgeDelay, DefaultPurgeDelay)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Tracer == nil {
		opts.Tracer = otel.Tracer("gatehouse.dev/sync-hub/hub")
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	h := &Hub{
		opts:     opts,
		log:      opts.Logger,
		follower: opts.Follower,
		store:    opts.Store,
		metrics:  opts.Metrics,
		codec:    protocol.Codec{MaxSize: opts.MaxPayload},
		sessions: map[*session]struct{}{},
	}
	h.registry = newRegistry(opts.Store, opts.PurgeDelay, opts.Logger)
	h.builder = newBuilder(h)
	if err := opts.Metrics.Registry.Register(newStateCollector(h)); err != nil {
		return nil, fmt.Errorf("hub: register metrics: %w", err)
	}
	return h, nil
}

// Addr is the address the hub listens on, once Run has started listening.
func (h *Hub) Addr() string {
	if a := h.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Listening reports whether the cluster listener accepts connections.
func (h *Hub) Listening() bool { return h.listening.Load() }

// Metrics returns the hub's metrics.
func (h *Hub) Metrics() *Metrics { return h.metrics }

// Run listens and serves data planes until ctx is done, then closes every
// session with CloseGoingAway, writes the data planes' rows and returns
// nil. It returns an error when it cannot listen.
func (h *Hub) Run(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", h.opts.Addr)
	if err != nil {
		return fmt.Errorf("cluster listener: %w", err)
	}
	addr := ln.Addr().String()
	h.addr.Store(&addr)
	lifeCtx, endSessions := context.WithCancel(ctx)
	defer endSessions()
	h.mu.Lock()
	h.lifeCtx = lifeCtx
	h.mu.Unlock()

	mux := http.NewServeMux()
	mux.HandleFunc(protocol.Path, h.serveSync)
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         serverTLS(h.opts.TLS, h.log),
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake failures are logged with Kong's texts by the TLS
		// configuration; the server's own lines are noise at debug.
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}

	regCtx, stopRegistry := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { h.registry.run(regCtx) })

	serveErr := make(chan error, 1)
	background.Go(func() {
		serveErr <- srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	})
	h.listening.Store(true)
	h.log.Info("cluster listener started", "address", addr, "mtls", string(h.opts.TLS.Mode))

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("cluster listener: %w", err)
	}
	h.listening.Store(false)

	h.mu.Lock()
	h.closing = true
	n := len(h.sessions)
	h.mu.Unlock()
	h.log.Info("cluster listener stopping; closing data-plane sessions", "sessions", n)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && runErr == nil && !errors.Is(err, context.DeadlineExceeded) {
		runErr = fmt.Errorf("cluster listener shutdown: %w", err)
	}
	// Sessions watch lifeCtx, done by now unless Serve failed: each closes
	// with CloseGoingAway.
	endSessions()
	sessionsDone := make(chan struct{})
	go func() { h.wg.Wait(); close(sessionsDone) }()
	select {
	case <-sessionsDone:
	case <-shutdownCtx.Done():
		h.log.Warn("some data-plane sessions did not close in time")
	}
	h.registry.flush(shutdownCtx)
	stopRegistry()
	background.Wait()
	return runErr
}

// serveSync upgrades a data plane's request to a websocket and runs its
// session until it ends.
func (h *Hub) serveSync(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r.RemoteAddr)
	if r.URL.Path != protocol.Path {
		http.NotFound(w, r)
		return
	}
	if !offers(r, protocol.Subprotocol) {
		h.log.Warn("data plane did not offer the websocket subprotocol " + protocol.Subprotocol + " [ip: " + ip + "]")
		http.Error(w, "the websocket subprotocol "+protocol.Subprotocol+" is required", http.StatusBadRequest)
		return
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		// The TLS configuration refuses such connections; this is a guard.
		h.log.Error(clustertls.ErrNoClientCert.Error() + " [ip: " + ip + "]")
		http.Error(w, clustertls.ErrNoClientCert.Error(), http.StatusForbidden)
		return
	}
	h.mu.Lock()
	if h.closing || h.lifeCtx == nil {
		h.mu.Unlock()
		http.Error(w, "sync-hub is shutting down", http.StatusServiceUnavailable)
		return
	}
	lifeCtx := h.lifeCtx
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{protocol.Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		h.log.Warn("failed to perform server side websocket handshake: " + err.Error() + " [ip: " + ip + "]")
		return
	}
	conn.SetReadLimit(h.opts.MaxPayload)
	s := newSession(h, conn, ip, r.TLS.PeerCertificates[0])
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
	}()
	s.run(lifeCtx) //nolint:contextcheck // a session lives as long as the hub, not the HTTP request.
}

// DataPlane is a connected data plane as the hub sees it.
type DataPlane struct {
	NodeID, Hostname, IP, Version string
	SyncStatus                    protocol.SyncStatus
	// Revision is the revision it acknowledged; ConfigHash the hash it
	// reports.
	Revision   int64
	ConfigHash string
	LastError  string
	SessionID  string
	Connected  time.Time
}

// DataPlanes lists the data planes connected to this hub that said hello,
// by node id.
func (h *Hub) DataPlanes() []DataPlane {
	h.mu.Lock()
	list := make([]DataPlane, 0, len(h.sessions))
	for s := range h.sessions {
		if v := s.view.Load(); v != nil {
			list = append(list, *v)
		}
	}
	h.mu.Unlock()
	slices.SortFunc(list, func(a, b DataPlane) int { return strings.Compare(a.NodeID, b.NodeID) })
	return list
}

// offers reports whether the request offers the websocket subprotocol.
func offers(r *http.Request, want string) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == want {
				return true
			}
		}
	}
	return false
}

func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
