package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/agent"
	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/lkg"
	"gatehouse.dev/dataplane/internal/plugins"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/syncclient"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/protocol/protocoltest"
)

// benchSizes are the configuration sizes the benchmarks run at (entities).
var benchSizes = []int{1000, 10000, 30000}

var (
	benchMu       sync.Mutex
	benchEntities = map[int]protocol.Entities{}
)

// sized returns a realistic configuration of n entities, made once.
func sized(n int) protocol.Entities {
	benchMu.Lock()
	defer benchMu.Unlock()
	if e, ok := benchEntities[n]; ok {
		return e
	}
	e := fixture.Entities(fixture.Catalog(), n)
	benchEntities[n] = e
	return e
}

func loadConfig(b *testing.B, prefix string) *config.Config {
	b.Helper()
	cfg, _, err := config.Load(nil, func(k string) string {
		return map[string]string{"GATEHOUSE_PREFIX": prefix}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkColdStart measures a data plane starting from a cache of n
// entities until it is ready to serve (cache opened and verified, runtime
// built), and the heap the served configuration keeps.
func BenchmarkColdStart(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			prefix := b.TempDir()
			set, err := configset.FromEntities(1, sized(n))
			if err != nil {
				b.Fatal(err)
			}
			store, err := lkg.Open(b.Context(), filepath.Join(prefix, agent.CacheDir), lkg.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := store.SaveSnapshot(b.Context(), set, set.Hash()); err != nil {
				b.Fatal(err)
			}
			if err := store.Close(); err != nil {
				b.Fatal(err)
			}
			cfg := loadConfig(b, prefix)
			set = nil

			b.ReportAllocs()
			for b.Loop() {
				a, err := agent.New(b.Context(), cfg, agent.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if st := a.State().Status(); !st.Ready || st.Entities != n/6*6 {
					b.Fatalf("not ready: %+v", st)
				}
				if err := a.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			before := heapInUse()
			a, err := agent.New(b.Context(), cfg, agent.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(heapInUse()-before)/(1<<20), "heap-MB")
			runtime.KeepAlive(a.Holder().Load())
			_ = a.Close()
		})
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// applies collects what the sync client reports, by revision.
type applies struct {
	mu   sync.Mutex
	byRv map[int64]syncclient.Applied
	cond *sync.Cond
}

func newApplies() *applies {
	a := &applies{byRv: map[int64]syncclient.Applied{}}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (a *applies) observe(ap syncclient.Applied) {
	a.mu.Lock()
	a.byRv[ap.Revision] = ap
	a.mu.Unlock()
	a.cond.Broadcast()
}

// wait returns the apply of revision rev.
func (a *applies) wait(b *testing.B, rev int64) syncclient.Applied {
	b.Helper()
	timer := time.AfterFunc(30*time.Second, func() { a.cond.Broadcast() })
	defer timer.Stop()
	deadline := time.Now().Add(30 * time.Second)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		if ap, ok := a.byRv[rev]; ok {
			if ap.Err != nil || ap.Reply != protocol.TypeAck {
				b.Fatalf("revision %d: %s %v", rev, ap.Reply, ap.Err)
			}
			return ap
		}
		if time.Now().After(deadline) {
			b.Fatalf("revision %d was not applied", rev)
		}
		a.cond.Wait()
	}
}

// connected runs a data plane synced with a hub holding n entities; full
// builds the production runtime (router, TLS, plugin chains, balancers),
// else only the configuration path's.
func connected(b *testing.B, n int, full bool) (*protocoltest.Hub, *applies, func()) {
	b.Helper()
	hub := protocoltest.New(b, protocoltest.Options{})
	rev := hub.Replace(b, sized(n))
	c := hub.ClusterConfig()
	env := map[string]string{
		"GATEHOUSE_PREFIX": b.TempDir(), "GATEHOUSE_CLUSTER_CONTROL_PLANE": hub.Addr(),
		"GATEHOUSE_CLUSTER_CERT": c.Cert, "GATEHOUSE_CLUSTER_CERT_KEY": c.Key,
	}
	cfg, _, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	seen := newApplies()
	opts := agent.Options{Sync: func(o *syncclient.Options) { o.Observe = seen.observe }}
	if full {
		opts.Extensions = productionExtensions(b, cfg)
	}
	a, err := agent.New(b.Context(), cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	seen.wait(b, rev)
	return hub, seen, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

// reportLatencies reports the median and 99th percentile of d.
func reportLatencies(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkDeltaApply measures a one-entity delta on a data plane holding
// n entities, from the frame received to the new runtime swapped in
// (validated, built, persisted with a synced write).
func BenchmarkDeltaApply(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			hub, seen, stop := connected(b, n, false)
			defer stop()
			cat := fixture.Catalog()
			var lat []time.Duration
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				in := fixture.Service(i % (n / 6))
				in["name"] = fmt.Sprintf("renamed-%d", i)
				svc := fixture.Write(cat, entity.Services, in)
				i++
				rev := hub.Publish(b, protocol.Change{Op: protocol.OpUpsert, Type: entity.Services, ID: svc["id"].(string), Entity: svc})
				ap := seen.wait(b, rev)
				lat = append(lat, ap.Swapped.Sub(ap.Received))
			}
			reportLatencies(b, lat)
		})
	}
}

// BenchmarkSnapshotApply measures a full snapshot of n entities, from the
// frame received to the new runtime swapped in.
func BenchmarkSnapshotApply(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			hub, seen, stop := connected(b, n, false)
			defer stop()
			cat := fixture.Catalog()
			base := sized(n)
			var lat []time.Duration
			i := 0
			for b.Loop() {
				// The same configuration with one service renamed, sent as
				// a snapshot.
				in := fixture.Service(0)
				in["name"] = fmt.Sprintf("snapshot-%d", i)
				i++
				next := maps.Clone(base)
				services := slices.Clone(base[entity.Services])
				services[0] = fixture.Write(cat, entity.Services, in)
				next[entity.Services] = services
				rev := hub.Replace(b, next)
				ap := seen.wait(b, rev)
				lat = append(lat, ap.Swapped.Sub(ap.Received))
			}
			reportLatencies(b, lat)
		})
	}
}

// productionExtensions are the runtime parts main.go builds.
func productionExtensions(b *testing.B, cfg *config.Config) []gateway.Extension {
	b.Helper()
	m, err := balancer.New(b.Context(), balancer.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	return []gateway.Extension{
		proxy.RouterExtension(nil),
		proxy.TLSExtension(nil),
		chain.NewExtension(chain.Options{Factories: plugins.Loaded(cfg.PluginSet), Registerer: prometheus.NewRegistry()}),
		proxy.BalancerExtension(m),
	}
}

// BenchmarkRuntimeDeltaApply is BenchmarkDeltaApply with the production
// runtime, for each kind of one-entity change: a service renamed, a route
// added, a plugin's configuration changed, a consumer added.
func BenchmarkRuntimeDeltaApply(b *testing.B) {
	cat := fixture.Catalog()
	changes := []struct {
		name string
		make func(i, n int) protocol.Change
	}{
		{"service", func(i, n int) protocol.Change {
			in := fixture.Service(i % (n / 6))
			in["name"] = fmt.Sprintf("renamed-%d", i)
			return upsert(entity.Services, fixture.Write(cat, entity.Services, in))
		}},
		{"route", func(i, n int) protocol.Change {
			return upsert(entity.Routes, fixture.Write(cat, entity.Routes, map[string]any{
				"id": fixture.ID("new-route", i), "paths": []any{fmt.Sprintf("/added-%d", i)},
				"service": map[string]any{"id": fixture.ID("service", i%(n/6))},
			}))
		}},
		{"plugin", func(i, n int) protocol.Change {
			g := 2 * (i % (n / 12)) // a rate-limiting plugin
			return upsert(entity.Plugins, fixture.Write(cat, entity.Plugins, map[string]any{
				"id": fixture.ID("plugin", g), "name": "rate-limiting", "service": map[string]any{"id": fixture.ID("service", g)},
				"config": map[string]any{"minute": int64(1000 + i), "policy": "local"},
			}))
		}},
		{"consumer", func(i, _ int) protocol.Change {
			return upsert(entity.Consumers, fixture.Write(cat, entity.Consumers, map[string]any{
				"id": fixture.ID("new-consumer", i), "username": fmt.Sprintf("new-user-%d", i),
			}))
		}},
	}
	for _, n := range benchSizes {
		for _, ch := range changes {
			b.Run(fmt.Sprintf("entities=%d/change=%s", n, ch.name), func(b *testing.B) {
				hub, seen, stop := connected(b, n, true)
				defer stop()
				var lat []time.Duration
				i := 0
				for b.Loop() {
					rev := hub.Publish(b, ch.make(i, n))
					i++
					ap := seen.wait(b, rev)
					lat = append(lat, ap.Swapped.Sub(ap.Received))
				}
				reportLatencies(b, lat)
			})
		}
	}
}

func upsert(typ string, e map[string]any) protocol.Change {
	return protocol.Change{Op: protocol.OpUpsert, Type: typ, ID: e["id"].(string), Entity: e}
}
