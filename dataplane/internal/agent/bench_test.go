package agent_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/agent"
	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/lkg"
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

// connected runs a data plane synced with a hub holding n entities.
func connected(b *testing.B, n int) (*protocoltest.Hub, *applies, func()) {
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
	a, err := agent.New(b.Context(), cfg, agent.Options{Sync: func(o *syncclient.Options) { o.Observe = seen.observe }})
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
			hub, seen, stop := connected(b, n)
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
			hub, seen, stop := connected(b, n)
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
