// Package protocoltest runs an in-process control plane for data-plane
// tests: a hub that speaks the real session flow of package protocol
// (protocol/session.go) over real websockets on a real TLS listener with
// cluster certificates checked, and that tests script: hold a
// configuration, publish new revisions as deltas or snapshots, tamper with
// what is sent, inject malformed frames, close sessions with a code, go
// away, be killed and restarted on the same address, and record every
// message data planes send.
//
// A Hub behaves as sync-hub does unless told otherwise: after a data
// plane's Hello it runs protocol.CheckVersion and
// protocol.CheckConfiguredPlugins, then sends a Pong when the data plane is
// current, a coalesced Delta when the hub's history covers the data plane's
// revision (with the hash the hub had there), else a Snapshot; it sends one
// configuration message at a time and waits for its Ack or Nack, sends
// nothing more after a Nack until a newer revision exists or a snapshot is
// requested, answers every Ping with a Pong, and drops a data plane silent
// for Options.PingTimeout.
package protocoltest

import (
	"context"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/version"
)

// Options configures a Hub. The zero value is a hub at the running
// build's version with every bundled plugin loaded.
type Options struct {
	// Version is the hub's Gatehouse version, compared with each data
	// plane's by protocol.CheckVersion; empty means version.Version.
	Version string
	// Plugins are the plugins the hub has loaded, for
	// protocol.CheckConfiguredPlugins; nil means every bundled plugin at
	// Version.
	Plugins []protocol.PluginInfo
	// Codec encodes what the hub sends and decodes what it receives; its
	// MaxSize is also the websocket read limit.
	Codec protocol.Codec
	// PingTimeout drops a data plane the hub has heard nothing from for
	// that long; zero means protocol.DefaultPingTimeout.
	PingTimeout time.Duration
	// Manual stops the hub from sending configuration by itself: tests
	// send what they want with Send and SendRaw. Pings are still answered.
	Manual bool
	// Cluster is the cluster TLS configuration of the hub. When Cert is
	// empty the hub generates a shared-mode certificate and key in a
	// temporary directory; ClusterConfig returns what data planes need.
	Cluster clustertls.Config
}

// revision is one revision in the hub's history.
type revision struct {
	set     *configset.Set
	changes []protocol.Change // the changes from the previous revision
	trace   map[string]string
	plugins map[string]int // configured plugin names, with their counts
}

// Hub is an in-process control plane. Its methods are safe for concurrent
// use; the ones taking a testing.TB fail the test and must be called from
// the test's goroutine.
type Hub struct {
	opts     Options
	version  string
	plugins  []protocol.PluginInfo
	cluster  clustertls.Config
	material *clustertls.Material
	addr     string

	lifeCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup // session handlers

	mu        sync.Mutex
	srv       *httptest.Server
	srvCtx    context.Context // cancelled by Kill
	srvCancel context.CancelFunc
	sessions  map[*session]struct{}
	nextID    int
	history   map[int64]*revision
	histStart int64 // oldest revision deltas can start from
	current   int64
	tamper    func(protocol.Message) protocol.Message
	silent    bool
	log       []Event
	changed   chan struct{} // closed and replaced on every record
	closed    bool
}

// New starts a hub listening on a random loopback port with TLS, and
// stops it when the test ends. The hub starts at revision 0 with an empty
// configuration.
func New(tb testing.TB, opts Options) *Hub {
	tb.Helper()
	h := &Hub{
		opts:     opts,
		version:  opts.Version,
		plugins:  opts.Plugins,
		cluster:  opts.Cluster,
		sessions: map[*session]struct{}{},
		history:  map[int64]*revision{0: {set: configset.New(), plugins: map[string]int{}}},
		changed:  make(chan struct{}),
	}
	if h.version == "" {
		h.version = version.Version
	}
	if h.plugins == nil {
		for _, p := range plugin.Bundled() {
			h.plugins = append(h.plugins, protocol.PluginInfo{Name: p.Name, Version: h.version})
		}
	}
	if h.cluster.Cert == "" {
		dir := tb.TempDir()
		h.cluster = clustertls.Config{
			Mode: clustertls.Shared,
			Cert: filepath.Join(dir, "cluster.crt"),
			Key:  filepath.Join(dir, "cluster.key"),
		}
		if err := clustertls.Generate(h.cluster.Cert, h.cluster.Key, 1, time.Now()); err != nil {
			tb.Fatalf("protocoltest: generate cluster certificate: %v", err)
		}
	}
	m, err := clustertls.Load(h.cluster)
	if err != nil {
		tb.Fatalf("protocoltest: load cluster certificate: %v", err)
	}
	h.material = m
	h.lifeCtx, h.stop = context.WithCancel(context.Background())
	if err := h.listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("protocoltest: %v", err)
	}
	tb.Cleanup(h.Close)
	return h
}

// listen starts the TLS server on addr.
func (h *Hub) listen(addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(h.lifeCtx, "tcp", addr)
	if err != nil {
		return err
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(h.serveHTTP))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = h.material.ServerConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected in tests
	ctx, cancel := context.WithCancel(h.lifeCtx)
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.StartTLS()
	h.mu.Lock()
	h.srv, h.srvCtx, h.srvCancel = srv, ctx, cancel
	h.addr = ln.Addr().String()
	h.mu.Unlock()
	return nil
}

// Addr is the hub's address, host:port, as a data plane's
// GATEHOUSE_CLUSTER_CONTROL_PLANE names it. It stays the same across Kill
// and Restart.
func (h *Hub) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// ClusterConfig is the cluster TLS configuration a data plane needs to
// connect: in shared mode, the hub's own certificate and key files.
func (h *Hub) ClusterConfig() clustertls.Config { return h.cluster }

// Material is the hub's loaded cluster TLS material.
func (h *Hub) Material() *clustertls.Material { return h.material }

// Kill stops the hub as a crash would: the listener closes and every
// session's connection is dropped without a close frame. The hub's
// configuration and records survive; Restart listens again.
func (h *Hub) Kill() {
	h.mu.Lock()
	srv, cancel := h.srv, h.srvCancel
	h.srv = nil
	h.mu.Unlock()
	if srv == nil {
		return
	}
	cancel()
	_ = srv.Listener.Close()
	srv.CloseClientConnections()
	h.wg.Wait()
	srv.Close()
}

// Restart listens again on the same address after Kill, with the same
// configuration and history. It fails the test if the address cannot be
// bound.
func (h *Hub) Restart(tb testing.TB) {
	tb.Helper()
	h.mu.Lock()
	running := h.srv != nil
	h.mu.Unlock()
	if running {
		tb.Fatalf("protocoltest: Restart of a running hub")
	}
	// The port was ours a moment ago; retry briefly in case the kernel
	// has not released it yet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := h.listen(h.Addr())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("protocoltest: restart on %s: %v", h.Addr(), err)
		}
		timer := time.NewTimer(20 * time.Millisecond)
		<-timer.C
	}
}

// Close shuts the hub down: sessions are closed with CloseGoingAway, as
// sync-hub does on shutdown, and the listener stops. It is called when the
// test ends and may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.mu.Unlock()
	h.GoAway()
	h.Kill()
	h.stop()
	h.wg.Wait()
}

// serveHTTP accepts a session on protocol.Path.
func (h *Hub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != protocol.Path {
		http.NotFound(w, r)
		return
	}
	h.wg.Add(1)
	defer h.wg.Done()
	h.serveSession(w, r)
}

// Revision is the hub's newest revision.
func (h *Hub) Revision() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current
}

// Hash is the configuration hash (and digest) at the newest revision.
func (h *Hub) Hash() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.history[h.current].set.Hash()
}

// Set returns a copy of the configuration at the newest revision.
func (h *Hub) Set() *configset.Set {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.history[h.current].set.Clone()
}

// Publish makes a new revision from changes and wakes every session; it
// returns the revision. It fails the test when a change cannot be applied.
func (h *Hub) Publish(tb testing.TB, changes ...protocol.Change) int64 {
	tb.Helper()
	return h.PublishTraced(tb, nil, changes...)
}

// PublishTraced is Publish with the W3C trace context carrier of the
// change, which the messages taking a data plane to the revision carry.
func (h *Hub) PublishTraced(tb testing.TB, trace map[string]string, changes ...protocol.Change) int64 {
	tb.Helper()
	h.mu.Lock()
	next := h.history[h.current].set.Clone()
	if err := next.Apply(changes); err != nil {
		h.mu.Unlock()
		tb.Fatalf("protocoltest: publish: %v", err)
		return 0
	}
	rev := h.advance(next, changes, trace)
	h.mu.Unlock()
	h.wakeAll()
	return rev
}

// Replace makes a new revision holding exactly entities, with no change
// log from the previous one: data planes behind it get a Snapshot. It
// fails the test when the entities are not a valid set.
func (h *Hub) Replace(tb testing.TB, entities protocol.Entities) int64 {
	tb.Helper()
	next, err := configset.FromEntities(0, entities)
	if err != nil {
		tb.Fatalf("protocoltest: replace: %v", err)
		return 0
	}
	h.mu.Lock()
	rev := h.advance(next, nil, nil)
	h.histStart = rev
	h.mu.Unlock()
	h.wakeAll()
	return rev
}

// TrimHistory forgets the change log, as a trimmed sync-hub does: data
// planes behind the newest revision get a Snapshot.
func (h *Hub) TrimHistory() {
	h.mu.Lock()
	h.histStart = h.current
	h.mu.Unlock()
}

// advance records next as a new revision, made by changes (nil: a
// replacement). h.mu must be held.
func (h *Hub) advance(next *configset.Set, changes []protocol.Change, trace map[string]string) int64 {
	prev := h.history[h.current]
	plugins := map[string]int{}
	if changes == nil {
		next.Each("plugins", func(e map[string]any) { countPlugin(plugins, e, 1) })
	} else {
		// Kept per change, so a large configuration costs nothing here.
		maps.Copy(plugins, prev.plugins)
		for _, c := range changes {
			if c.Type != "plugins" {
				continue
			}
			if old, ok := prev.set.Get("plugins", c.ID); ok {
				countPlugin(plugins, old, -1)
			}
			if c.Op == protocol.OpUpsert {
				countPlugin(plugins, c.Entity, 1)
			}
		}
	}
	h.current++
	next.Revision = h.current
	h.history[h.current] = &revision{set: next, changes: changes, trace: trace, plugins: plugins}
	return h.current
}

func countPlugin(counts map[string]int, e map[string]any, delta int) {
	name, ok := e["name"].(string)
	if !ok {
		return
	}
	if counts[name] += delta; counts[name] <= 0 {
		delete(counts, name)
	}
}

// Tamper installs fn to rewrite every Snapshot and Delta the hub builds
// by itself before it is encoded (a wrong digest, a broken entity); nil
// removes it. fn receives a new message whose fields and slices it may
// change, and returns the message to send; the entity maps it holds are
// the hub's own, so copy an entity before changing it.
func (h *Hub) Tamper(fn func(protocol.Message) protocol.Message) {
	h.mu.Lock()
	h.tamper = fn
	h.mu.Unlock()
}

// Silence makes the hub stop sending anything, Pongs included, while
// silent is true: a hung control plane. Sessions still read and record.
func (h *Hub) Silence(silent bool) {
	h.mu.Lock()
	h.silent = silent
	h.mu.Unlock()
	if !silent {
		h.wakeAll()
	}
}

// Send encodes msg and writes it to every session, whatever the session
// flow says.
func (h *Hub) Send(tb testing.TB, msg protocol.Message) {
	tb.Helper()
	frame, err := h.opts.Codec.Encode(msg)
	if err != nil {
		tb.Fatalf("protocoltest: send: %v", err)
	}
	h.SendRaw(frame)
}

// SendRaw writes frame, as is, to every session: malformed frames, frames
// of unknown types, oversized frames.
func (h *Hub) SendRaw(frame []byte) {
	h.each(func(s *session) { s.do(func(ctx context.Context) { s.writeRaw(ctx, frame) }) })
}

// CloseSessions closes every session with a websocket close code and
// reason.
func (h *Hub) CloseSessions(code int, reason string) {
	h.each(func(s *session) { s.do(func(context.Context) { s.close(code, reason) }) })
}

// GoAway closes every session with protocol.CloseGoingAway, as sync-hub
// does when it shuts down; the hub keeps listening.
func (h *Hub) GoAway() {
	h.CloseSessions(protocol.CloseGoingAway, "going away")
}

// Sessions reports how many data planes are connected.
func (h *Hub) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

func (h *Hub) each(fn func(*session)) {
	h.mu.Lock()
	list := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	for _, s := range list {
		fn(s)
	}
}

func (h *Hub) wakeAll() {
	h.each(func(s *session) { s.wakeUp() })
}
