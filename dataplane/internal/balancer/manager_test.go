package balancer_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
)

func TestManagerStopsOnContextCancel(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	srv := dnstest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := balancer.New(ctx, balancer.Options{
		Resolver: &dns.Client{Servers: []string{srv.Addr}, Timeout: time.Second},
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := upstream(t, map[string]any{"healthchecks": activeChecks})
	update(t, m, []map[string]any{u}, target(t, u, a.addr(), 100))
	eventually(t, "the checker runs", func() bool { return a.hits.Load() > 0 })
	cancel()
	done := make(chan struct{})
	go func() {
		m.Close() // waits for every goroutine the manager started
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the context ended")
	}
	m.Close() // idempotent
	if _, err := m.Update(t.Context(), nil, nil); !errors.Is(err, balancer.ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
}

func TestCheckersFollowConfiguration(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": activeChecks})
	tg := target(t, u, a.addr(), 100)
	update(t, m, []map[string]any{u}, tg)
	eventually(t, "the checker runs", func() bool { return a.hits.Load() > 2 })

	// Health checks off: probing stops.
	off := upstream(t, nil)
	off["id"] = u["id"]
	update(t, m, []map[string]any{off}, tg)
	stopped := a.hits.Load()
	time.Sleep(100 * time.Millisecond) // five intervals
	if n := a.hits.Load(); n > stopped+1 {
		t.Fatalf("%d probes after health checks were turned off", n-stopped)
	}

	// On again, then the upstream removed: probing starts, then stops.
	update(t, m, []map[string]any{u}, tg)
	eventually(t, "the checker runs again", func() bool { return a.hits.Load() > stopped+2 })
	update(t, m, nil)
	stopped = a.hits.Load()
	time.Sleep(100 * time.Millisecond)
	if n := a.hits.Load(); n > stopped+1 {
		t.Fatalf("%d probes after the upstream was removed", n-stopped)
	}
}

func TestUpdateErrors(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	tests := []struct {
		name      string
		upstreams []map[string]any
		targets   []map[string]any
	}{
		{"upstream without a name", []map[string]any{{"id": "x"}}, nil},
		{"unknown algorithm", []map[string]any{{"id": "x", "name": "a", "algorithm": "random"}}, nil},
		{"bad healthchecks", []map[string]any{{"id": "x", "name": "a", "healthchecks": map[string]any{"threshold": "high"}}}, nil},
		{"two upstreams of one name", []map[string]any{{"id": "x", "name": "a"}, {"id": "y", "name": "a"}}, nil},
		{"bad target", []map[string]any{u}, []map[string]any{{"upstream": map[string]any{"id": u["id"]}, "target": "a b"}}},
		{"bad weight", []map[string]any{u}, []map[string]any{{"upstream": map[string]any{"id": u["id"]}, "target": "a:1", "weight": -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := m.Update(t.Context(), tt.upstreams, tt.targets); err == nil {
				t.Fatal("Update accepted it")
			}
		})
	}
}

func TestTargetsOfUnknownUpstreamsAreIgnored(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	stray := map[string]any{"upstream": map[string]any{"id": "00000000-0000-0000-0000-000000000000"}, "target": "10.0.0.9:80"}
	set := update(t, m, []map[string]any{u}, target(t, u, "10.0.0.1:80", 100), stray)
	if h, _ := set.Health("backend.test"); len(h.Targets) != 1 {
		t.Fatalf("targets = %+v", h.Targets)
	}
	if h, ok := set.Health(u["id"].(string)); !ok || h.Name != "backend.test" {
		t.Fatal("Health by id failed")
	}
	if _, ok := set.Health("nope"); ok {
		t.Fatal("Health of an unknown upstream")
	}
	if all := set.HealthAll(); len(all) != 1 {
		t.Fatalf("HealthAll = %d upstreams", len(all))
	}
}

func TestPickConcurrentSafe(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	hc := map[string]any{
		"threshold": 10,
		"passive":   map[string]any{"unhealthy": map[string]any{"http_failures": 2}, "healthy": map[string]any{"successes": 1}},
	}
	var ups []map[string]any
	var tgts []map[string]any
	for i, alg := range []string{"round-robin", "least-connections", "latency"} {
		u := upstream(t, map[string]any{"name": alg + ".test", "algorithm": alg, "healthchecks": hc})
		ups = append(ups, u)
		for j := range 4 {
			tgts = append(tgts, target(t, u, "10.0."+strconv.Itoa(i)+"."+strconv.Itoa(j)+":80", 100))
		}
	}
	ch := upstream(t, map[string]any{"name": "ch.test", "hash_on": "ip", "healthchecks": hc})
	ups = append(ups, ch)
	for j := range 4 {
		tgts = append(tgts, target(t, ch, "10.1.0."+strconv.Itoa(j)+":80", 100))
	}
	update(t, m, ups, tgts...)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				set := m.Current()
				for _, name := range []string{"round-robin.test", "least-connections.test", "latency.test", "ch.test"} {
					a, err := set.Pick(ctx, name, 80, strconv.Itoa(i), nil)
					if err != nil {
						continue // the balancer may be unhealthy for a moment
					}
					status := 200
					if (i+w)%3 == 0 {
						status = 500
					}
					a.Report(balancer.Outcome{Status: status, ResponseTime: time.Millisecond})
				}
				if i%50 == 0 {
					set.HealthAll()
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			for _, ts := range [][]map[string]any{tgts[1:], tgts} {
				if _, err := m.Update(context.WithoutCancel(ctx), ups, ts); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	wg.Wait()
}
