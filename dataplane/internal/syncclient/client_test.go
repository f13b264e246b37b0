package syncclient_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/lkg"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/dataplane/internal/syncclient"
	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/protocol/protocoltest"
	"gatehouse.dev/shared/version"
)

func TestMain(m *testing.M) {
	// As telemetry.Setup does in the binary.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	goleak.VerifyTestMain(m)
}

const nodeID = "5a2b0a4c-3d1e-4f6a-9b8c-7d6e5f4a3b2c"

var (
	fixtureOnce sync.Once
	catalog     *entity.Catalog
	config      protocol.Entities
)

// setup returns the catalog and a small realistic configuration, shared
// by the tests (which must not modify it).
func setup() (*entity.Catalog, protocol.Entities) {
	fixtureOnce.Do(func() {
		catalog = fixture.Catalog()
		config = fixture.Entities(catalog, 60)
	})
	return catalog, config
}

// dataPlane is a sync client with a real cache, as the agent runs it.
type dataPlane struct {
	t      *testing.T
	holder *gateway.Holder
	store  syncclient.Store
	lkg    *lkg.Store
	state  *state.State
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	applied []syncclient.Applied
}

type dpOption func(*syncclient.Options, *dataPlane)

// startDataPlane runs a client against the control planes cps, with its
// cache in dir (a new one when dir is "").
func startDataPlane(t *testing.T, cps []string, tls clustertls.Config, dir string, opts ...dpOption) *dataPlane {
	t.Helper()
	cat, _ := setup()
	material, err := clustertls.Load(tls)
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "cache")
	}
	store, err := lkg.Open(t.Context(), dir, lkg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	builder := gateway.NewBuilder(cat)
	rt, err := builder.Empty(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cacheDigest := ""
	if set, meta, ok := store.Load(); ok {
		cacheDigest = meta.Digest
		if rt, err = builder.Restore(t.Context(), set, meta.ConfigHash); err != nil {
			t.Fatal(err)
		}
	}
	dp := &dataPlane{t: t, holder: gateway.NewHolder(rt), store: store, lkg: store, done: make(chan error, 1)}
	dp.state = state.New(dp.holder, nodeID, "dp-test", map[string]string{"region": "eu"}, false)
	so := syncclient.Options{
		ControlPlanes: cps,
		TLS:           material,
		Identity: syncclient.Identity{
			NodeID: nodeID, Hostname: "dp-test", Version: version.Version,
			Plugins: []protocol.PluginInfo{{Name: "key-auth", Version: version.Version}, {Name: "rate-limiting", Version: version.Version}},
			Labels:  map[string]string{"region": "eu"},
		},
		PingInterval:   200 * time.Millisecond,
		PingTimeout:    3 * time.Second,
		BackoffInitial: 20 * time.Millisecond,
		BackoffCap:     200 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
		CacheDigest:    cacheDigest,
		Observe: func(a syncclient.Applied) {
			dp.mu.Lock()
			dp.applied = append(dp.applied, a)
			dp.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&so, dp)
	}
	client := syncclient.New(so, dp.holder, builder, dp.store, dp.state)
	ctx, cancel := context.WithCancel(context.Background())
	dp.cancel = cancel
	go func() { dp.done <- client.Run(ctx) }()
	t.Cleanup(dp.stop)
	return dp
}

// stop ends the client and closes the cache; it may be called twice.
func (dp *dataPlane) stop() {
	if dp.cancel == nil {
		return
	}
	dp.cancel()
	if err := <-dp.done; err != nil {
		dp.t.Errorf("Run: %v", err)
	}
	dp.cancel = nil
	if err := dp.lkg.Close(); err != nil {
		dp.t.Errorf("close cache: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(protocoltest.DefaultWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		timer := time.NewTimer(5 * time.Millisecond)
		<-timer.C
	}
}

func (dp *dataPlane) waitRevision(rev int64) {
	dp.t.Helper()
	waitFor(dp.t, "the data plane to serve revision "+itoa(rev), func() bool { return dp.holder.Load().Revision() == rev })
}

func (dp *dataPlane) appliedList() []syncclient.Applied {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return append([]syncclient.Applied(nil), dp.applied...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cached reopens the cache of a stopped data plane and returns what it
// holds.
func cached(t *testing.T, dir string) (*configset.Set, lkg.Meta, bool) {
	t.Helper()
	s, err := lkg.Open(t.Context(), dir, lkg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	return s.Load()
}

func upsert(typ string, e map[string]any) protocol.Change {
	return protocol.Change{Op: protocol.OpUpsert, Type: typ, ID: e["id"].(string), Entity: e}
}

func renamedService(i int, name string) map[string]any {
	cat, _ := setup()
	in := fixture.Service(i)
	in["name"] = name
	return fixture.Write(cat, entity.Services, in)
}

func TestFirstSyncThenDeltas(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	dir := filepath.Join(t.TempDir(), "cache")
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), dir)

	hello := hub.WaitHellos(t, 1)[0]
	if hello.NodeID != nodeID || hello.Revision != 0 || hello.ConfigHash != protocol.EmptyHash || hello.Labels["region"] != "eu" {
		t.Errorf("hello = %+v", hello)
	}
	ack := hub.WaitAck(t, rev1)
	if ack.ConfigHash != hub.Hash() || ack.Digest != hub.Hash() {
		t.Errorf("ack = %+v, want hash %s", ack, hub.Hash())
	}
	dp.waitRevision(rev1)
	if st := dp.state.Status(); !st.Ready || st.Origin != state.OriginControlPlane || st.LastSync.IsZero() || !st.ControlPlane.Connected {
		t.Errorf("status = %+v", st)
	}

	// A delta: rename a service, delete a route, add a consumer.
	route := cfg[entity.Routes][0]["id"].(string)
	consumer := fixture.Write(setupCatalog(), entity.Consumers, map[string]any{"username": "new-user"})
	rev2 := hub.Publish(t, upsert(entity.Services, renamedService(1, "renamed")),
		protocol.Change{Op: protocol.OpDelete, Type: entity.Routes, ID: route},
		upsert(entity.Consumers, consumer))
	hub.WaitAck(t, rev2)
	dp.waitRevision(rev2)
	rt := dp.holder.Load()
	if rt.Digest() != hub.Hash() || rt.ConfigHash() != hub.Hash() {
		t.Errorf("runtime digest %s, hub %s", rt.Digest(), hub.Hash())
	}
	if svc, _ := rt.Set().Get(entity.Services, fixture.ID("service", 1)); svc["name"] != "renamed" {
		t.Errorf("service after the delta = %v", svc)
	}
	if deltas := protocoltest.SentOf[*protocol.Delta](hub); len(deltas) != 1 || deltas[0].FromRevision != rev1 {
		t.Errorf("deltas sent = %v, want one from %d", deltas, rev1)
	}
	// A ping follows each ack at once.
	hub.Wait(t, "a ping with the new hash", func() bool {
		for _, p := range hub.Pings() {
			if p.Revision == rev2 && p.ConfigHash == hub.Hash() {
				return true
			}
		}
		return false
	})
	if applied := dp.appliedList(); len(applied) != 2 || applied[1].Kind != protocol.TypeDelta || applied[1].Swapped.Before(applied[1].Received) {
		t.Errorf("applied = %+v", applied)
	}

	dp.stop()
	set, meta, ok := cached(t, dir)
	if !ok || set.Hash() != hub.Hash() || meta.Revision != rev2 || meta.ConfigHash != hub.Hash() {
		t.Fatalf("cache holds ok=%v revision %d", ok, meta.Revision)
	}
}

func setupCatalog() *entity.Catalog {
	cat, _ := setup()
	return cat
}

func TestDeltaDigestMismatchRequestsOneSnapshot(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "")
	hub.WaitAck(t, rev1)

	// The next delta says the wrong digest; the snapshot that follows is
	// right.
	hub.Tamper(func(m protocol.Message) protocol.Message {
		if d, ok := m.(*protocol.Delta); ok {
			d.Digest = "0123456789abcdef0123456789abcdef"
		}
		return m
	})
	rev2 := hub.Publish(t, upsert(entity.Services, renamedService(2, "two")))
	reqs := func() []*protocol.SnapshotRequest { return hub.SnapshotRequests() }
	hub.Wait(t, "a snapshot request", func() bool { return len(reqs()) == 1 })
	if r := reqs()[0]; r.Revision != rev1 || !strings.Contains(r.Reason, "digest mismatch") {
		t.Errorf("snapshot request = %+v", r)
	}
	hub.WaitAck(t, rev2)
	dp.waitRevision(rev2)
	if dp.holder.Load().Digest() != hub.Hash() {
		t.Error("the data plane does not hold the hub's configuration")
	}
	if n := len(hub.Nacks()); n != 0 {
		t.Errorf("nacks = %d", n)
	}
}

func TestSnapshotDigestMismatchIsNackedNotLooped(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	hub.Tamper(func(m protocol.Message) protocol.Message {
		if s, ok := m.(*protocol.Snapshot); ok {
			s.Digest = "0123456789abcdef0123456789abcdef"
		}
		return m
	})
	rev1 := hub.Replace(t, cfg)
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "")
	nack := hub.WaitNacks(t, 1)[0]
	if nack.Revision != rev1 || !strings.Contains(nack.Error, "digest mismatch") {
		t.Errorf("nack = %+v", nack)
	}
	// Several pings later, still one nack and no snapshot request.
	n := len(hub.Pings())
	hub.Wait(t, "more pings", func() bool { return len(hub.Pings()) >= n+3 })
	if len(hub.Nacks()) != 1 || len(hub.SnapshotRequests()) != 0 {
		t.Errorf("nacks %d, snapshot requests %d: want 1 and 0", len(hub.Nacks()), len(hub.SnapshotRequests()))
	}
	if rt := dp.holder.Load(); rt.Loaded() {
		t.Errorf("a snapshot with a wrong digest was served (revision %d)", rt.Revision())
	}
	if st := dp.state.Status(); !strings.Contains(st.LastSyncError, "digest mismatch") || st.Ready {
		t.Errorf("status = %+v", st)
	}
	// A newer revision, sent right, is taken.
	hub.Tamper(nil)
	rev2 := hub.Publish(t, upsert(entity.Services, renamedService(3, "three")))
	hub.WaitAck(t, rev2)
	if st := dp.state.Status(); st.LastSyncError != "" || !st.Ready {
		t.Errorf("status after recovery = %+v", st)
	}
}

func TestInvalidConfigurationIsNackedAndNotPersisted(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	dir := filepath.Join(t.TempDir(), "cache")
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), dir)
	hub.WaitAck(t, rev1)

	bad := fixture.Wire(cfg[entity.Routes][0])
	bad["paths"] = []any{"no-slash"}
	bad["service"] = map[string]any{"id": fixture.ID("service", 4242)}
	rev2 := hub.Publish(t, upsert(entity.Routes, bad))
	nack := hub.WaitNacks(t, 1)[0]
	id := bad["id"].(string)
	if nack.Revision != rev2 || nack.Fields["routes."+id+".paths.1"] == "" ||
		nack.Fields["routes."+id+".service"] != "invalid reference 'service: "+fixture.ID("service", 4242)+"' (no such entry in 'services')" {
		t.Errorf("nack = %+v", nack)
	}
	if rt := dp.holder.Load(); rt.Revision() != rev1 {
		t.Errorf("serving revision %d after a nack, want %d", rt.Revision(), rev1)
	}
	if st := dp.state.Status(); !st.Ready || !strings.Contains(st.LastSyncError, "invalid configuration") {
		t.Errorf("status = %+v", st)
	}

	dp.stop()
	if _, meta, ok := cached(t, dir); !ok || meta.Revision != rev1 {
		t.Fatalf("cache holds revision %d, want %d (the refused one must not be persisted)", meta.Revision, rev1)
	}
}

// failingStore fails every write.
type failingStore struct{}

func (failingStore) SaveSnapshot(context.Context, *configset.Set, string) error {
	return errors.New("disk on fire")
}

func (failingStore) SaveDelta(context.Context, []protocol.Change, int64, string, string) error {
	return errors.New("disk on fire")
}

func TestPersistFailureIsNackedAndNotSwapped(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "", func(_ *syncclient.Options, dp *dataPlane) {
		dp.store = failingStore{}
	})
	nack := hub.WaitNacks(t, 1)[0]
	if nack.Revision != rev1 || !strings.Contains(nack.Error, "persist: disk on fire") {
		t.Errorf("nack = %+v", nack)
	}
	if dp.holder.Load().Loaded() {
		t.Error("a configuration that could not be persisted was swapped in")
	}
}

func TestControlPlaneKilledAndRestarted(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "")
	hub.WaitAck(t, rev1)

	hub.Kill()
	waitFor(t, "the data plane to notice", func() bool { return !dp.state.Status().ControlPlane.Connected })
	if st := dp.state.Status(); !st.Ready || st.Revision != rev1 {
		t.Errorf("without a control plane the data plane must keep serving: %+v", st)
	}
	// Changes made while the hub is down reach the data plane after.
	hub.Publish(t, upsert(entity.Services, renamedService(4, "four")))
	rev3 := hub.Publish(t, upsert(entity.Services, renamedService(5, "five")))
	hub.Restart(t)
	hub.WaitAck(t, rev3)
	dp.waitRevision(rev3)
	if hellos := hub.Hellos(); len(hellos) < 2 || hellos[len(hellos)-1].Revision != rev1 {
		t.Errorf("hellos = %+v, want a second one at revision %d", hellos, rev1)
	}
}

func TestGoingAwayMovesToTheNextControlPlaneAtOnce(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	first := protocoltest.New(t, protocoltest.Options{})
	second := protocoltest.New(t, protocoltest.Options{Cluster: first.ClusterConfig()})
	rev := first.Replace(t, cfg)
	second.Replace(t, cfg)
	// A long backoff: only an immediate reconnect passes in time.
	dp := startDataPlane(t, []string{first.Addr(), second.Addr()}, first.ClusterConfig(), "", func(o *syncclient.Options, _ *dataPlane) {
		o.BackoffInitial, o.BackoffCap = time.Minute, time.Minute
	})
	first.WaitAck(t, rev)
	first.GoAway()
	second.WaitHellos(t, 1)
	second.WaitSessions(t, 1)
	waitFor(t, "connected to the second hub", func() bool {
		cp := dp.state.Status().ControlPlane
		return cp.Connected && cp.Address == second.Addr()
	})
	if hello := second.Hellos()[0]; hello.Revision != rev || hello.ConfigHash != first.Hash() {
		t.Errorf("hello to the second hub = %+v", hello)
	}
	// Same configuration, same revision: the second hub has nothing to send.
	if n := len(protocoltest.SentOf[*protocol.Snapshot](second)); n != 0 {
		t.Errorf("second hub sent %d snapshots", n)
	}
}

func TestDeadControlPlaneIsSkipped(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	live := protocoltest.New(t, protocoltest.Options{})
	rev := live.Replace(t, cfg)
	dead := protocoltest.New(t, protocoltest.Options{Cluster: live.ClusterConfig()})
	dead.Kill()
	dp := startDataPlane(t, []string{dead.Addr(), live.Addr()}, live.ClusterConfig(), "", func(o *syncclient.Options, _ *dataPlane) {
		o.BackoffInitial, o.BackoffCap = time.Minute, time.Minute
	})
	live.WaitAck(t, rev)
	dp.waitRevision(rev)
}

func TestSilentControlPlaneIsAbandoned(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, cfg)
	startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "", func(o *syncclient.Options, _ *dataPlane) {
		o.PingInterval, o.PingTimeout = 50*time.Millisecond, 400*time.Millisecond
	})
	hub.WaitAck(t, rev)
	hub.Silence(true)
	// The data plane gives up on the session and opens a new one.
	hub.WaitHellos(t, 2)
	hub.Silence(false)
	hub.WaitSessions(t, 1)
}

func TestMalformedFrameEndsTheSession(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, cfg)
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "")
	hub.WaitAck(t, rev)
	hub.SendRaw([]byte(`{"type":"snapshot","protocol":1}`))
	hub.WaitHellos(t, 2)
	if st := dp.state.Status(); !strings.Contains(st.ControlPlane.LastError, "bad message from control plane") || !st.Ready {
		t.Errorf("status = %+v", st)
	}
	// A message of a type this side does not know is skipped.
	hub.SendRaw([]byte(`{"type":"from_the_future","protocol":1}`))
	n := len(hub.Pings())
	hub.Wait(t, "pings on the same session", func() bool { return len(hub.Pings()) >= n+2 })
	if len(hub.Hellos()) != 2 {
		t.Errorf("an unknown message type ended the session")
	}
}

func TestWithheldConfigurationIsReported(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	hub.Replace(t, protocol.Entities{entity.Plugins: {fixture.Write(setupCatalog(), entity.Plugins, map[string]any{"name": "cors"})}})
	dp := startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "")
	waitFor(t, "the withheld error", func() bool {
		return strings.Contains(dp.state.Status().LastSyncError, "plugin_set_incompatible: configured cors plugin")
	})
}

func TestApplyContinuesTheChangesTrace(t *testing.T) {
	t.Parallel()
	_, cfg := setup()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	// The change's trace, as the Admin API stores it with the revision.
	parentCtx, parent := tp.Tracer("admin").Start(context.Background(), "PATCH /services")
	parent.End()
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(parentCtx, carrier)

	hub := protocoltest.New(t, protocoltest.Options{})
	rev1 := hub.Replace(t, cfg)
	startDataPlane(t, []string{hub.Addr()}, hub.ClusterConfig(), "", func(o *syncclient.Options, _ *dataPlane) {
		o.Tracer = tp.Tracer("dataplane")
	})
	hub.WaitAck(t, rev1)
	rev2 := hub.PublishTraced(t, carrier, upsert(entity.Services, renamedService(6, "six")))
	hub.WaitAck(t, rev2)
	waitFor(t, "the apply span", func() bool {
		for _, s := range rec.Ended() {
			if s.Name() == "dataplane apply delta" {
				return true
			}
		}
		return false
	})
	for _, s := range rec.Ended() {
		if s.Name() != "dataplane apply delta" {
			continue
		}
		if s.SpanContext().TraceID() != parent.SpanContext().TraceID() || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("apply span trace %s parent %s, want trace %s parent %s", s.SpanContext().TraceID(), s.Parent().SpanID(),
				parent.SpanContext().TraceID(), parent.SpanContext().SpanID())
		}
	}
}
