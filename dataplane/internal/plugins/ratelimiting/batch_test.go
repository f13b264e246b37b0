package ratelimiting

import (
	"strconv"
	"sync"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk/pdktest"
)

// TestBatchIsOneRoundTrip: requests handed to the batch loop together go
// to Redis as one pipeline, and each gets its own counts.
func TestBatchIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	in := newInstance(t, pdktest.NewEnv(), s, redisConfig(map[string]any{"minute": 1000, "hour": 1000, "limit_by": "ip"}))
	c := in.redis
	k := bucketKey{scope: in.scope, id: "10.40.0.1"}
	now := t0.Unix()
	reqs := make([]*countReq, 5)
	for i := range reqs {
		reqs[i] = &countReq{keys: counterKeys(k, now, in.limits), ttls: in.ttls, n: len(in.limits), done: make(chan error, 1)}
	}
	before := c.client.RoundTrips()
	c.sendBatch(reqs)
	if n := c.client.RoundTrips() - before; n != 1 {
		t.Errorf("%d round trips for a batch of %d, want 1", n, len(reqs))
	}
	for i, r := range reqs {
		if err := <-r.done; err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for p := range in.limits {
			if r.counts[p] != int64(i) {
				t.Errorf("request %d, period %d: count before it %d, want %d", i, p, r.counts[p], i)
			}
		}
	}
}

// TestConcurrentRealtimeCountsExact: many requests at once, batched as
// they come, are each counted once: the remaining counts they are told
// are all different, and the next request sees them all.
func TestConcurrentRealtimeCountsExact(t *testing.T) {
	t.Parallel()
	const n, limit = 200, 1000
	s := newScope(t)
	in := newInstance(t, pdktest.NewEnv(), s, redisConfig(map[string]any{"minute": limit, "limit_by": "ip"}))
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	for range 20 {
		wg.Go(func() {
			for range n / 20 {
				r := do(in, get("10.40.0.2"))
				mu.Lock()
				v := r.headers.Get("X-RateLimit-Remaining-Minute")
				if r.status != 200 || seen[v] {
					t.Errorf("status %d, remaining %q (seen before: %v)", r.status, v, seen[v])
				}
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r := do(in, get("10.40.0.2"))
	if got, want := r.headers.Get("X-RateLimit-Remaining-Minute"), strconv.Itoa(limit-n-1); got != want {
		t.Errorf("after %d concurrent requests: remaining %s, want %s", n, got, want)
	}
}
