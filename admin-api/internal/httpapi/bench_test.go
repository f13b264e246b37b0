package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reportLatencies reports the p50 and p99 of a set of latencies, in ms.
func reportLatencies(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkWrite measures the latency of one entity write through HTTP
// (POST /consumers: validation, one revision, change log, notify).
func BenchmarkWrite(b *testing.B) {
	s := newServer(b)
	var lat []time.Duration
	i := 0
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		r := s.post("/consumers", map[string]any{"username": fmt.Sprint("u", i)})
		lat = append(lat, time.Since(t0))
		if r.status != http.StatusCreated {
			b.Fatalf("%d %s", r.status, r.raw)
		}
		i++
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "writes/s")
	reportLatencies(b, lat)
}

// BenchmarkConcurrentWrites runs 8 clients writing at once; each
// iteration is one write by each client. Writers serialise on the
// revision counter, so this is the write throughput of one database.
func BenchmarkConcurrentWrites(b *testing.B) {
	const clients = 8
	s := newServer(b)
	var (
		mu    sync.Mutex
		lat   []time.Duration
		n     atomic.Int64
		fails atomic.Int64
	)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				t0 := time.Now()
				r := s.post("/consumers", map[string]any{"username": fmt.Sprint("u", n.Add(1))})
				d := time.Since(t0)
				if r.status != http.StatusCreated {
					fails.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	if fails.Load() > 0 {
		b.Fatalf("%d writes failed", fails.Load())
	}
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "writes/s")
	reportLatencies(b, lat)
}

// config10k is a declarative file of 10,000 entities: 2,000 services,
// each with 3 routes and a plugin.
func config10k() []byte {
	var services []any
	for i := range 2000 {
		routes := make([]any, 3)
		for j := range routes {
			routes[j] = map[string]any{"name": fmt.Sprintf("r%d-%d", i, j), "paths": []any{fmt.Sprintf("/s%d/r%d", i, j)}}
		}
		services = append(services, map[string]any{
			"name": fmt.Sprint("s", i), "url": fmt.Sprintf("http://upstream-%d.example:8080", i), "routes": routes,
			"plugins": []any{map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 100}}},
		})
	}
	b, _ := json.Marshal(map[string]any{"_format_version": "3.0", "services": services})
	return b
}

// BenchmarkPostConfig10k replaces the whole configuration with a file of
// 10,000 entities (one revision: every old entity deleted, every new one
// inserted).
func BenchmarkPostConfig10k(b *testing.B) {
	s := newServer(b)
	body := config10k()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if r := s.request(http.MethodPost, "/config", body, "application/json"); r.status != http.StatusCreated {
			b.Fatalf("%d %.300s", r.status, r.raw)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "entities/s")
}

// routes10k is a declarative file of 100 services with 100 routes each.
func routes10k() []byte {
	var services []any
	for i := range 100 {
		routes := make([]any, 100)
		for j := range routes {
			routes[j] = map[string]any{"name": fmt.Sprintf("r%d-%d", i, j), "paths": []any{fmt.Sprintf("/s%d/r%d", i, j)}, "tags": []any{"bench"}}
		}
		services = append(services, map[string]any{"name": fmt.Sprint("s", i), "host": "a.example", "routes": routes})
	}
	b, _ := json.Marshal(map[string]any{"_format_version": "3.0", "services": services})
	return b
}

// BenchmarkListRoutes10k lists 10,000 routes page by page (size 1000), as
// decK dumps a configuration.
func BenchmarkListRoutes10k(b *testing.B) {
	s := newServer(b)
	if r := s.request(http.MethodPost, "/config", routes10k(), "application/json"); r.status != http.StatusCreated {
		b.Fatalf("%d %.300s", r.status, r.raw)
	}
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		path, n := "/routes?size=1000", 0
		for path != "" {
			r := s.get(path)
			if r.status != http.StatusOK {
				b.Fatalf("%d %.300s", r.status, r.raw)
			}
			n += len(r.data())
			path = r.str("next")
		}
		if n != 10000 {
			b.Fatalf("listed %d routes, want 10000", n)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "routes/s")
}
