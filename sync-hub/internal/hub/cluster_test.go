package hub_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// TestTwoHubs runs two hubs on one database: a data plane on each sees
// every change, the registry shows both, and a data plane that moved from
// hub A to hub B stays connected when its old session on A ends.
func TestTwoHubs(t *testing.T) {
	t.Parallel()
	material, _, _ := hubtest.SharedCert(t)
	client := material.ClientConfig("127.0.0.1")
	a := newEnv(t, envOptions{material: material, client: client, hub: func(o *hub.Options) { o.HubID = "hub-a" }})
	b := newEnv(t, envOptions{dbURL: a.dbURL, material: material, client: client, hub: func(o *hub.Options) { o.HubID = "hub-b" }})
	onA, onB := a.connect(hello()), b.connect(hello())
	var rev int64
	for _, name := range []string{"one", "two", "three"} {
		_, rev = hubtest.Service(t, a.direct, name)
		for _, dp := range []*hubtest.DP{onA, onB} {
			if err := dp.WaitRevision(ctxT(t), rev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if onA.Set.Hash() != onB.Set.Hash() {
		t.Fatal("the data planes on the two hubs hold different configurations")
	}
	rowA := a.row(onA.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision == rev })
	rowB := a.row(onB.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision == rev })
	if rowA.HubID != "hub-a" || rowB.HubID != "hub-b" || !rowA.Connected || !rowB.Connected {
		t.Errorf("rows: A on %q connected %v, B on %q connected %v", rowA.HubID, rowA.Connected, rowB.HubID, rowB.Connected)
	}

	// onA moves to hub B (its old connection is not closed yet), then its
	// session on A ends: the row stays connected, on B.
	moved, err := hubtest.Reconnect(ctxT(t), b.h.Addr(), client, onA)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if pong, ok := recv(t, moved).(*protocol.Pong); !ok || pong.Revision != rev {
		t.Fatalf("the moved data plane got %#v, want a pong (it is current)", pong)
	}
	a.row(onA.Hello.NodeID, func(r store.DataPlane) bool { return r.HubID == "hub-b" })
	onA.Close()
	a.log.WaitFor(slog.LevelInfo, "data plane disconnected: closed by the data plane (StatusNormalClosure) [id: "+onA.Hello.NodeID, 5*time.Second)
	a.stop() // writes hub A's pending rows before returning
	row, err := a.direct.GetDataPlane(context.Background(), onA.Hello.NodeID)
	if err != nil || !row.Connected || row.HubID != "hub-b" {
		t.Errorf("moved data plane's row: connected %v on %q (%v); want connected on hub-b", row.Connected, row.HubID, err)
	}
}

// TestPostgresLostAndRegained cuts the hub's way to Postgres while data
// planes are connected: they keep being served from memory, and the hub
// catches up once Postgres is back.
func TestPostgresLostAndRegained(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{viaProxy: true, follow: follow.Options{PollInterval: 50 * time.Millisecond}})
	_, r1 := hubtest.Service(t, e.direct, "before")
	dp := e.connect(hello())
	if err := dp.WaitRevision(ctxT(t), r1); err != nil {
		t.Fatal(err)
	}
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision == r1 })

	e.proxy.Cut()
	waitFor(t, "the hub to notice", func() bool { return !e.f.Health().Reachable })
	_, r2 := hubtest.Service(t, e.direct, "during")
	// Still served: pings answered with what the hub holds.
	if err := dp.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if pong, ok := recv(t, dp).(*protocol.Pong); !ok || pong.Revision != r1 {
		t.Fatalf("during the outage: %#v, want a pong at %d", pong, r1)
	}
	// A data plane can even connect meanwhile.
	late := e.connect(hello())
	if err := late.WaitRevision(ctxT(t), r1); err != nil {
		t.Fatal(err)
	}

	e.proxy.Restore()
	for _, d := range []*hubtest.DP{dp, late} {
		if err := d.WaitRevision(ctxT(t), r2); err != nil {
			t.Fatal(err)
		}
	}
	// The registry writes caught up too.
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision == r2 })
	e.row(late.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision == r2 })
}

// TestRegistry checks the rows: written on connect with what the data plane
// said, updated on ack, marked disconnected on close, expired rows purged.
func TestRegistry(t *testing.T) {
	t.Parallel()
	dbURL := hubtest.NewDatabase(t)
	st := hubtest.Open(t, dbURL)
	// An expired row from long ago: purged at start.
	expired := hubtest.NewHello(cpVersion)
	if err := st.UpsertDataPlane(context.Background(), store.DataPlane{
		ID: expired.NodeID, Hostname: "old", IP: "10.0.0.1", SyncStatus: "normal", ConfigHash: protocol.EmptyHash,
	}, -time.Minute); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{dbURL: dbURL, hub: func(o *hub.Options) { o.PurgeDelay = time.Hour }})
	waitFor(t, "the expired row to be purged", func() bool {
		var n int
		err := st.Pool().QueryRow(context.Background(), "SELECT count(*) FROM clustering_data_planes WHERE id = $1", expired.NodeID).Scan(&n)
		return err == nil && n == 0
	})

	h := hello()
	h.Hostname = "dp-1.example.com"
	h.Labels = map[string]string{"region": "eu"}
	dp := e.connect(h)
	row := e.row(h.NodeID, func(r store.DataPlane) bool { return r.Connected && r.SyncStatus == "normal" })
	if row.Hostname != "dp-1.example.com" || row.IP != "127.0.0.1" || row.Version != cpVersion || row.Labels["region"] != "eu" ||
		row.HubID != "hub-"+t.Name() || row.SessionID != e.h.DataPlanes()[0].SessionID {
		t.Errorf("row = %+v", row)
	}
	if ttl := time.Until(row.TTL); ttl < 58*time.Minute || ttl > time.Hour {
		t.Errorf("ttl in %v, want about the purge delay (1h)", ttl)
	}
	_, rev := hubtest.Service(t, e.direct, "svc")
	if err := dp.WaitRevision(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	row = e.row(h.NodeID, func(r store.DataPlane) bool { return r.Revision == rev })
	if row.ConfigHash != e.f.Current().Hash {
		t.Errorf("row hash %s, want %s", row.ConfigHash, e.f.Current().Hash)
	}
	dp.Close()
	e.row(h.NodeID, func(r store.DataPlane) bool { return !r.Connected })
	if len(e.h.DataPlanes()) != 0 {
		t.Errorf("DataPlanes after disconnect = %v", e.h.DataPlanes())
	}
}

// TestTracing checks a change is one trace: the Admin API's span (made
// here), the hub's ingest span and its push span share the trace id, and
// the delta carries the trace context for the data plane.
func TestTracing(t *testing.T) {
	t.Parallel()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(t, envOptions{
		follow: follow.Options{Tracer: tp.Tracer("follow")},
		hub:    func(o *hub.Options) { o.Tracer = tp.Tracer("hub") },
	})
	dp := e.connect(hello())
	if _, ok := recv(t, dp).(*protocol.Pong); !ok {
		t.Fatal("want a pong")
	}

	ctx, admin := tp.Tracer("admin-api").Start(context.Background(), "PUT /services/svc")
	svc := hubtest.Build(t, e.direct, "services", map[string]any{"name": "svc", "host": "example.com"})
	rev, err := e.direct.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, "services", svc, store.PutOptions{})
	})
	admin.End()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dp.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := msg.(*protocol.Delta)
	if !ok || d.Revision != rev {
		t.Fatalf("got %#v, want a delta to %d", msg, rev)
	}
	traceID := admin.SpanContext().TraceID()
	if got := telemetry.LinkFrom(d.Trace).SpanContext.TraceID(); got != traceID {
		t.Errorf("the delta carries trace %s, want %s", got, traceID)
	}
	waitFor(t, "the push span to end", func() bool {
		for _, s := range exporter.GetSpans() {
			if s.Name == "sync-hub push" {
				return true
			}
		}
		return false
	})
	found := map[string]bool{}
	for _, s := range exporter.GetSpans() {
		if s.SpanContext.TraceID() == traceID {
			found[s.Name] = true
		}
	}
	for _, name := range []string{"PUT /services/svc", "sync-hub ingest revision", "sync-hub push"} {
		if !found[name] {
			t.Errorf("no %q span in the change's trace (found %v)", name, found)
		}
	}
}
