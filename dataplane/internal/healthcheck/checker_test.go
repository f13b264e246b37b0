package healthcheck_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/healthcheck"
)

// switchable is an upstream whose answer the test switches.
type switchable struct {
	status atomic.Int64
	hits   atomic.Int64
	srv    *httptest.Server
}

func newSwitchable(t *testing.T) *switchable {
	t.Helper()
	s := &switchable{}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func probingConfig() *healthcheck.Config {
	c := healthcheck.Default()
	c.Active.HealthyInterval = 10 * time.Millisecond
	c.Active.UnhealthyInterval = 10 * time.Millisecond
	c.Active.Timeout = time.Second
	c.Active.Successes = 2
	c.Active.HTTPFailures = 2
	return &c
}

// run starts the checker and stops it (waiting) at cleanup.
func run(t *testing.T, c *healthcheck.Checker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func TestCheckerTakesOutAndBringsBack(t *testing.T) {
	t.Parallel()
	up := newSwitchable(t)
	tg := target(t, up.srv.Listener.Addr().String())
	cfg := probingConfig()
	var mu sync.Mutex
	var flips []healthcheck.Status
	c := healthcheck.NewChecker(
		func() healthcheck.Plan { return healthcheck.Plan{Config: cfg, Targets: []healthcheck.Target{tg}} },
		func(_ healthcheck.Target, s healthcheck.Status) {
			mu.Lock()
			flips = append(flips, s)
			mu.Unlock()
		},
	)
	run(t, c)

	eventually(t, "the healthy address is probed", func() bool { return up.hits.Load() >= 2 })
	if !tg.State.Available() {
		t.Fatal("a 200 answer made the address unavailable")
	}
	up.status.Store(http.StatusInternalServerError)
	eventually(t, "the address is unhealthy", func() bool { return tg.State.Status() == healthcheck.Unhealthy })
	up.status.Store(http.StatusOK)
	eventually(t, "the address is healthy again", func() bool { return tg.State.Status() == healthcheck.Healthy })

	mu.Lock()
	defer mu.Unlock()
	if len(flips) != 2 || flips[0] != healthcheck.Unhealthy || flips[1] != healthcheck.Healthy {
		t.Fatalf("flips = %v, want [unhealthy healthy]", flips)
	}
}

func TestCheckerProbesOnlyItsKind(t *testing.T) {
	t.Parallel()
	healthy, unhealthy := newSwitchable(t), newSwitchable(t)
	unhealthy.status.Store(http.StatusInternalServerError)
	th := target(t, healthy.srv.Listener.Addr().String())
	tu := target(t, unhealthy.srv.Listener.Addr().String())
	tu.State = healthcheck.NewState(false)
	cfg := probingConfig()
	cfg.Active.UnhealthyInterval = 0 // unhealthy addresses are never probed
	c := healthcheck.NewChecker(func() healthcheck.Plan {
		return healthcheck.Plan{Config: cfg, Targets: []healthcheck.Target{th, tu}}
	}, nil)
	run(t, c)
	eventually(t, "the healthy address is probed", func() bool { return healthy.hits.Load() >= 3 })
	if n := unhealthy.hits.Load(); n != 0 {
		t.Fatalf("the unhealthy address was probed %d times with unhealthy.interval 0", n)
	}
}

func TestCheckerReset(t *testing.T) {
	t.Parallel()
	up := newSwitchable(t)
	tg := target(t, up.srv.Listener.Addr().String())
	var cfg atomic.Pointer[healthcheck.Config]
	off := healthcheck.Default()
	cfg.Store(&off)
	c := healthcheck.NewChecker(func() healthcheck.Plan {
		return healthcheck.Plan{Config: cfg.Load(), Targets: []healthcheck.Target{tg}}
	}, nil)
	run(t, c)

	// With intervals at 0 nothing runs; the loops wait for a Reset.
	cfg.Store(probingConfig())
	c.Reset()
	eventually(t, "probing starts after Reset", func() bool { return up.hits.Load() >= 1 })
}

func TestCheckerConcurrency(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	cfg := probingConfig()
	cfg.Active.Concurrency = 3
	cfg.Active.Timeout = 5 * time.Second
	targets := make([]healthcheck.Target, 8)
	for i := range targets {
		targets[i] = target(t, srv.Listener.Addr().String())
	}
	c := healthcheck.NewChecker(func() healthcheck.Plan { return healthcheck.Plan{Config: cfg, Targets: targets} }, nil)
	run(t, c)
	eventually(t, "three probes are in flight", func() bool { return inFlight.Load() == 3 })
	time.Sleep(50 * time.Millisecond) // give a fourth probe the chance to start, if it wrongly could
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrent probes = %d, want 3", p)
	}
}
